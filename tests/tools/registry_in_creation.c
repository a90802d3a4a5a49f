/* White-box test (writes a registry through tests/hostile.h and the layout
 * in src/shm/): a registry its first endpoint is still creating (created
 * but not yet sized, or sized but not yet initialised) is a topic that does
 * not exist yet, not a corrupt one: the listing leaves it out, topic info
 * says it does not exist, `zloan pool` and `zloan doctor` find nothing
 * wrong. Tools running beside a process that creates topics exited 3 with
 * "corrupt" before. Then an endpoint on the topic finishes the creation.
 *   tool_registry_in_creation TOOL */
#include <fcntl.h>
#include <sys/mman.h>

#include "hostile.h"
#include "peer.h"
#include "shm/layout.h"
#include "tools/tool.h"

static char out[65536];

/* What every face of the introspection shows of topic, half created. */
static void check_absent(const char *tool, const char *topic, const char *stage)
{
    printf("-- %s\n", stage);
    size_t count = 0;
    CHECK_OK(zl_introspection_list_topics(209, NULL, 0, &count));
    zl_topic_summary *topics = calloc(count + 1, sizeof *topics);
    CHECK(topics != NULL);
    CHECK_OK(zl_introspection_list_topics(209, topics, count + 1, &count));
    for (size_t i = 0; i < count; i++)
        CHECK(strcmp(topics[i].name, topic) != 0);
    free(topics);

    zl_topic_info *info = malloc(sizeof *info);
    CHECK(info != NULL);
    CHECK_EQ(zl_introspection_topic_info(209, topic, info), ZL_ENODATA);
    free(info);

    CHECK_EQ(tool_run(tool, out, sizeof out, "topic list -c"), 0);
    CHECK(strstr(out, topic) == NULL);
    CHECK_EQ(tool_run(tool, out, sizeof out, "pool"), 0);
    CHECK(strstr(out, topic) == NULL);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info %s", topic), 3);
    CHECK(strstr(out, "does not exist") != NULL);
    /* doctor looks at every domain's objects: beside tests that kill
     * processes, it may find their leftovers (exit 1); never this topic. */
    int doctor = tool_run(tool, out, sizeof out, "doctor");
    CHECK(doctor == 0 || doctor == 1);
    CHECK(strstr(out, topic) == NULL);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];
    /* A domain of its own (the tools inherit it), so that the figures of
     * every topic are this test's. */
    CHECK_EQ(setenv("ZLOAN_DOMAIN_ID", "209", 1), 0);
    const char *topic = test_topic("tool_registry_in_creation");
    char name[400];
    hostile_registry_name(name, sizeof name, 209, topic);

    /* As the first endpoint leaves it between shm_open and fallocate. */
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    check_absent(tool, topic, "created, size 0");

    /* Sized, still zero: before init_registry's release store of magic. */
    CHECK_EQ(ftruncate(fd, (off_t)sizeof(zl__registry_shm)), 0);
    check_absent(tool, topic, "sized, not initialised");
    close(fd);

    /* The next endpoint initialises it; then it is a topic like any. */
    zl_context *ctx;
    CHECK_OK(zl_context_create(NULL, &ctx));
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(ctx, topic, &test_msg_type, NULL, &pub));
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info %s", topic), 0);
    CHECK(strstr(out, topic) != NULL);
    CHECK_EQ(tool_run(tool, out, sizeof out, "pool"), 0);
    CHECK(strstr(out, topic) != NULL);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(ctx));
    printf("ok\n");
    return 0;
}
