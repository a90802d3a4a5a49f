/* White-box test (writes a registry through tests/hostile.h and the layout
 * in src/shm/): a registry that fails validation makes every tool command
 * print an error and exit non-zero, never crash: a record whose fields are
 * out of range, then a header that is not a registry's.
 *   tool_corrupt TOOL */
#include "hostile.h"
#include "peer.h"
#include "shm/layout.h"
#include "tools/tool.h"

static char out[65536];

/* Every command against topic: none crashes, each says so and fails. */
static void check_tools(const char *tool, const char *topic)
{
    /* Each command is "<before> TOPIC <after>" or, without TOPIC, <before>. */
    static const char *const commands[][2] = {
        {"topic info -v", ""}, {"--json topic info", ""}, {"topic list -t -c", NULL},
        {"topic hz", "--duration 0.3"}, {"topic bw", "--duration 0.3"},
        {"topic echo", "--once --timeout 1"}, {"topic pub", "tag=1"}, {"pool", NULL},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char args[300];
        if (commands[i][1] == NULL)
            snprintf(args, sizeof args, "%s", commands[i][0]);
        else
            snprintf(args, sizeof args, "%s %s %s", commands[i][0], topic, commands[i][1]);
        int rc = tool_run(tool, out, sizeof out, "%s", args);
        if (rc != 3 || strstr(out, "zloan: ") == NULL) {
            fprintf(stderr, "zloan %s exited with %d and printed:\n%s", args, rc, out);
            exit(1);
        }
    }
    int rc = tool_run(tool, out, sizeof out, "doctor");
    if (rc != 1 || strstr(out, "problem: topic") == NULL) {
        fprintf(stderr, "zloan doctor exited with %d and printed:\n%s", rc, out);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];
    /* A domain of its own (the tools it runs inherit it): the corrupt
     * registry must not fail the listings of tool tests running beside. */
    CHECK_EQ(setenv("ZLOAN_DOMAIN_ID", "208", 1), 0);
    zl_context *ctx;
    CHECK_OK(zl_context_create(NULL, &ctx));
    const char *topic = test_topic("tool_corrupt");
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(ctx, topic, &test_msg_type, NULL, &pub));
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v %s", topic), 0);

    hostile_map map;
    CHECK(hostile_map_object(zl_context_domain_id(ctx), topic, 'r', 0, &map));
    zl__registry_shm *shm = map.base;

    /* A record out of range (a depth no endpoint accepts), header intact. */
    zl__slot *slot = &shm->publishers[0];
    uint64_t saved = slot->words[offsetof(zl__endpoint_record, depth) / 8];
    zl__endpoint_record record;
    memcpy(&record, slot->words, sizeof record);
    CHECK(record.id == zl_publisher_id(pub));
    record.depth = 1u << 30;
    slot->words[offsetof(zl__endpoint_record, depth) / 8] =
        ((uint64_t *)(void *)&record)[offsetof(zl__endpoint_record, depth) / 8];
    check_tools(tool, topic);
    slot->words[offsetof(zl__endpoint_record, depth) / 8] = saved;
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v %s", topic), 0);

    /* A header that is no registry's. */
    uint64_t magic = shm->magic;
    shm->magic = 0x0123456789abcdefull;
    check_tools(tool, topic);
    shm->magic = magic;
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v %s", topic), 0);

    hostile_unmap(&map);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(ctx));
    printf("tool_corrupt: ok\n");
    return 0;
}
