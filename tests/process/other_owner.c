/* Endpoints of different users on one topic name stay isolated, but each
 * learns that the topic exists under another owner: a root publisher and a
 * subscription of another uid (a forked child that setuid()s to nobody)
 * exchange nothing, the child's create warns in zl_last_error_detail(), and
 * both see other_owners = 1 in their stats (0 again once the child left). */
#include <grp.h>

#include "harness.h"
#include "peer.h"

enum { NOBODY = 65534 };

static void child(const char *topic, int to_parent, int from_parent)
{
    CHECK_EQ(setgroups(0, NULL), 0);
    CHECK_EQ(setgid(NOBODY), 0);
    CHECK_EQ(setuid(NOBODY), 0);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    const char *detail = zl_last_error_detail();
    fprintf(stderr, "child's create: %s\n", detail);
    CHECK(strstr(detail, "warning") != NULL);
    CHECK(strstr(detail, "/dev/shm/zl.0.") != NULL);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK_EQ(stats.other_owners, 1);
    CHECK_EQ(stats.publishers, 0);
    char c = 'r';
    CHECK_EQ(write(to_parent, &c, 1), 1);
    CHECK_EQ(read(from_parent, &c, 1), 1); /* the parent published */
    test_msg m;
    CHECK_RC(zl_subscription_take(sub, &m, NULL), ZL_ENODATA); /* isolation holds */
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    _exit(0);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: needs root to setuid() a child\n");
        return 77;
    }
    const char *topic = test_topic("other_owner");
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    CHECK_EQ(zl_last_error_detail()[0], '\0'); /* nobody else yet */
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.other_owners, 0);

    int up[2], down[2];
    CHECK_EQ(pipe(up), 0);
    CHECK_EQ(pipe(down), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        child(topic, up[1], down[0]);
    close(up[1]); /* a child that fails ends the read below */
    close(down[0]);
    char c;
    if (read(up[0], &c, 1) != 1)
        test_wait_child_ok(pid, "subscription of another uid");
    /* The child's subscription exists. */
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.other_owners, 1);
    CHECK_EQ(stats.subscriptions, 0);
    test_msg m;
    test_msg_fill(&m, 1, 1);
    CHECK_OK(zl_publisher_publish(pub, &m));
    CHECK_EQ(write(down[1], &c, 1), 1);
    test_wait_child_ok(pid, "subscription of another uid");
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.other_owners, 0);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
