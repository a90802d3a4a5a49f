/* The tool's figures say what the user configured and what is alive:
 * `max loans` is the max_loans an endpoint was created with (it showed one
 * more, the transport's spare for the copy paths), `topic list -c` counts
 * live endpoints and names the dead apart (it counted a subscription
 * killed with -9 as one of the topic's), and a topic that does not exist
 * is said not to exist (it said "nothing to take").
 *   tool_figures_truthful TOOL */
#include <signal.h>
#include <sys/wait.h>

#include "peer.h"
#include "tools/tool.h"

static char out[65536];

/* A child with a context holding what make() creates, ready when it writes
 * a byte to ready_fd; it never returns. */
static pid_t child(int ready_fd, const char *topic, bool with_publisher)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid > 0) {
        tool_track_child(pid);
        return pid;
    }
    zl_context *ctx;
    CHECK_OK(zl_context_create(NULL, &ctx));
    if (with_publisher) {
        zl_publisher_options po;
        zl_publisher_options_init(&po);
        po.max_loans = 2;
        zl_publisher *pub;
        CHECK_OK(zl_publisher_create(ctx, topic, &test_msg_type, &po, &pub));
    }
    zl_subscription_options so;
    zl_subscription_options_init(&so);
    so.max_loans = 3;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(ctx, topic, &test_msg_type, &so, &sub));
    CHECK(write(ready_fd, "r", 1) == 1);
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];
    /* A domain of its own (the tools inherit it). */
    CHECK_EQ(setenv("ZLOAN_DOMAIN_ID", "210", 1), 0);
    const char *topic = test_topic("tool_figures_truthful");

    /* A missing topic: it does not exist, and nothing hints at a take. */
    const char *missing = "/tool_figures_truthful_missing";
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info %s", missing), 3);
    printf("topic info of a missing topic: %s", out);
    CHECK(strstr(out, "does not exist") != NULL);
    CHECK(strstr(out, "nothing to take") == NULL);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic echo %s --once", missing), 3);
    printf("topic echo of a missing topic: %s", out);
    CHECK(strstr(out, "does not exist") != NULL);
    CHECK(strstr(out, "nothing to take") == NULL);

    int ready[2];
    CHECK_EQ(pipe(ready), 0);
    pid_t owner = child(ready[1], topic, true);
    pid_t doomed = child(ready[1], topic, false);
    char byte[2];
    CHECK(read(ready[0], byte, 1) == 1 && read(ready[0], byte + 1, 1) == 1);

    /* The configured max_loans, in the API and in the text. */
    zl_topic_info *info = malloc(sizeof *info);
    CHECK(info != NULL);
    CHECK_OK(zl_introspection_topic_info(210, topic, info));
    CHECK_EQ(info->endpoint_count, 3);
    for (uint32_t i = 0; i < info->endpoint_count; i++)
        CHECK_EQ(info->endpoints[i].max_loans,
                 info->endpoints[i].kind == ZL_ENDPOINT_PUBLISHER ? 2u : 3u);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v %s", topic), 0);
    printf("%s", out);
    CHECK_EQ(count_of(out, "max loans 2;"), 1);
    CHECK_EQ(count_of(out, "max loans 3;"), 2);
    CHECK_EQ(count_of(out, "max loans 4;"), 0);
    CHECK_EQ(tool_run(tool, out, sizeof out, "--json topic info %s", topic), 0);
    CHECK_EQ(count_of(out, "\"max_loans\": 2,"), 1);
    CHECK_EQ(count_of(out, "\"max_loans\": 3,"), 2);

    /* Kill one subscription; the owner is stopped first so that its sweep
     * leaves the dead record for the tool to see. */
    CHECK_EQ(kill(owner, SIGSTOP), 0);
    CHECK_EQ(kill(doomed, SIGKILL), 0);
    CHECK_EQ(waitpid(doomed, NULL, 0), doomed);

    size_t count = 0;
    zl_topic_summary topics[64];
    CHECK_OK(zl_introspection_list_topics(210, topics, 64, &count));
    bool found = false;
    for (size_t i = 0; i < count && i < 64; i++)
        if (strcmp(topics[i].name, topic) == 0) {
            found = true;
            CHECK_EQ(topics[i].publishers, 1);
            CHECK_EQ(topics[i].subscriptions, 2);
            CHECK_EQ(topics[i].dead_publishers, 0);
            CHECK_EQ(topics[i].dead_subscriptions, 1);
        }
    CHECK(found);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic list -c"), 0);
    printf("topic list -c: %s", out);
    CHECK(strstr(out, "1 publisher, 1 subscription (and 1 dead)") != NULL);
    CHECK_EQ(tool_run(tool, out, sizeof out, "--json topic list"), 0);
    CHECK(strstr(out, "\"subscriptions\": 2, \"dead_publishers\": 0, "
                      "\"dead_subscriptions\": 1") != NULL);

    /* A new endpoint of the topic reclaims the dead record as it joins. */
    CHECK_EQ(kill(owner, SIGCONT), 0);
    zl_context *ctx;
    CHECK_OK(zl_context_create(NULL, &ctx));
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(ctx, topic, &test_msg_type, NULL, &sub));
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic list -c"), 0);
    printf("topic list -c: %s", out);
    CHECK(strstr(out, "1 publisher, 2 subscriptions\n") != NULL);
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(ctx));
    free(info);
    printf("ok\n");
    return 0;
}
