/* `zloan pool`, `zloan topic info -v` and the introspection API give a
 * pool's chunks as zl_publisher_get_stats() counts them, and its watermark
 * as the most chunks ever in use at once (issue 22, item 1): a 64 KiB type
 * (4 chunks at creation, a second segment for the fifth loan) holds 6 loans
 * and returns them, then a subscription takes and returns what is published
 * (chunks that come back through its return ring).
 *   tool_pool_figures TOOL */
#include "tools/tool.h"

typedef struct block {
    uint8_t bytes[64 * 1024];
} block;
static const zl_type block_type = ZL_TYPE_PLAIN(block);

static char out[65536];

/* The publisher's figures as the introspection API reads them. */
static const zl_endpoint_info *endpoint_of(const char *topic, zl_topic_info *info)
{
    CHECK_OK(zl_introspection_topic_info(215, topic, info));
    CHECK_EQ(info->endpoint_count >= 1, 1);
    CHECK_EQ(info->endpoints[0].kind, ZL_ENDPOINT_PUBLISHER);
    return &info->endpoints[0];
}

/* Every face of the tools says total chunks, free chunks and the most in
 * use, and they are get_stats's (and the expected watermark). */
static void check_figures(const char *tool, const char *topic, zl_publisher *pub,
                          uint32_t used_max, zl_topic_info *info)
{
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    const zl_endpoint_info *e = endpoint_of(topic, info);
    printf("get_stats: %u chunks, %u free; introspection: %u chunks, %u free, %u most used\n",
           stats.chunks_total, stats.chunks_free, e->chunks_total, e->chunks_free,
           e->chunks_used_max);
    CHECK_EQ(e->chunks_total, stats.chunks_total);
    CHECK_EQ(e->chunks_free, stats.chunks_free);
    CHECK_EQ(e->chunks_used_max, used_max);

    CHECK_EQ(tool_run(tool, out, sizeof out, "pool"), 0);
    printf("%s", out);
    const char *line = strstr(out, topic);
    CHECK(line != NULL);
    unsigned long long chunk_bytes, reserved;
    unsigned chunks, in_use, free_chunks, max_used;
    char executable[64];
    int pid;
    CHECK_EQ(sscanf(line + strlen(topic), "%d %63s %llu %u %u %u %u %llu", &pid, executable,
                    &chunk_bytes, &chunks, &in_use, &free_chunks, &max_used, &reserved),
             8);
    CHECK_EQ(pid, getpid());
    CHECK_EQ(chunks, stats.chunks_total);
    CHECK_EQ(in_use, stats.chunks_total - stats.chunks_free);
    CHECK_EQ(free_chunks, stats.chunks_free);
    CHECK_EQ(max_used, used_max);
    CHECK_EQ(reserved, stats.shm_bytes);

    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v %s", topic), 0);
    printf("%s", out);
    char expected[200];
    snprintf(expected, sizeof expected,
             "pool: %u chunks of up to %llu bytes, %u free, at most %u in use (watermark), "
             "%llu bytes reserved\n",
             stats.chunks_total, chunk_bytes, stats.chunks_free, used_max,
             (unsigned long long)stats.shm_bytes);
    CHECK_EQ(count_of(out, expected), 1);

    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v --json %s", topic), 0);
    snprintf(expected, sizeof expected,
             "\"chunks_total\": %u, \"chunks_free\": %u, \"chunks_used_max\": %u,",
             stats.chunks_total, stats.chunks_free, used_max);
    CHECK_EQ(count_of(out, expected), 1);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];
    /* A domain of its own (the tools inherit it): `zloan pool` lists every
     * topic of its domain, and another test's topic mid-removal there is
     * none of this test's business. */
    CHECK_EQ(setenv("ZLOAN_DOMAIN_ID", "215", 1), 0);
    const char *topic = test_topic("tool_pool_figures");
    zl_topic_info *info = malloc(sizeof *info);
    CHECK(info != NULL);
    zl_context *ctx;
    CHECK_OK(zl_context_create(NULL, &ctx));
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    options.max_loans = 16;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(ctx, topic, &block_type, &options, &pub));
    check_figures(tool, topic, pub, 0, info);

    /* 6 loans held: 4 chunks at creation, 4 more from growth. */
    void *loans[6];
    for (int i = 0; i < 6; i++)
        CHECK_OK(zl_publisher_loan(pub, &loans[i]));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_total, 8);
    CHECK_EQ(stats.chunks_free, 2);
    check_figures(tool, topic, pub, 6, info);
    for (int i = 0; i < 6; i++)
        CHECK_OK(zl_publisher_return_loan(pub, loans[i]));
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_free, stats.chunks_total);
    check_figures(tool, topic, pub, 6, info);

    /* Chunks a subscription holds, then gives back through its return
     * ring: taken back by get_stats, and the tools say so. */
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(ctx, topic, &block_type, NULL, &sub));
    const void *held[3];
    for (int i = 0; i < 3; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(pub, &loan));
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
        CHECK_OK(zl_subscription_take_loan(sub, &held[i], NULL));
    }
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_free, stats.chunks_total - 3);
    check_figures(tool, topic, pub, 6, info);
    for (int i = 0; i < 3; i++)
        CHECK_OK(zl_subscription_return_loan(sub, held[i]));
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_free, stats.chunks_total);
    check_figures(tool, topic, pub, 6, info);

    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(ctx));
    free(info);
    printf("ok\n");
    return 0;
}
