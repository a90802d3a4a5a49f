/* `zloan topic info -v` tells a lossless subscription apart and shows how
 * often a publisher found its queue full (held back), where a keep-last
 * one shows what it lost: a publisher that may not wait (max blocking time
 * 0) publishes into a lossless subscription of depth 1 that never takes,
 * and three publishes after the first are held back.
 *   tool_lossless_info TOOL */
#include "tools/tool.h"

typedef struct { uint64_t value; } sample;
static const zl_type sample_type = ZL_TYPE_PLAIN(sample);

static char out[65536];

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];
    const char *topic = test_topic("tool_lossless_info");
    zl_context *ctx;
    CHECK_OK(zl_context_create(NULL, &ctx));
    zl_subscription_options lossless_options, keep_last_options;
    zl_subscription_options_init(&lossless_options);
    lossless_options.reliability = ZL_LOSSLESS;
    lossless_options.depth = 1;
    zl_subscription_options_init(&keep_last_options);
    keep_last_options.depth = 1;
    zl_subscription *lossless, *keep_last;
    CHECK_OK(zl_subscription_create(ctx, topic, &sample_type, &lossless_options, &lossless));
    CHECK_OK(zl_subscription_create(ctx, topic, &sample_type, &keep_last_options, &keep_last));
    zl_publisher_options publisher_options;
    zl_publisher_options_init(&publisher_options);
    publisher_options.max_blocking_time_ns = 0;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(ctx, topic, &sample_type, &publisher_options, &pub));

    sample s = {1};
    CHECK_OK(zl_publisher_publish(pub, &s));
    for (int i = 0; i < 3; i++)
        CHECK_RC(zl_publisher_publish(pub, &s), ZL_ETIMEOUT);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(lossless, &stats));
    CHECK_EQ(stats.held_back, 3);

    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v %s", topic), 0);
    printf("%s", out);
    /* One lossless subscription, its queue held back three times; the
     * keep-last one's queue line speaks of losses, not of holding back. */
    CHECK_EQ(count_of(out, ", lossless;"), 1);
    CHECK_EQ(count_of(out, ": 1 of 1 queued, held back 3\n"), 1);
    CHECK_EQ(count_of(out, ": 1 of 1 queued, lost 0\n"), 1);
    /* The pool line names the largest chunk: a pool that grew holds
     * chunks of several size classes. */
    CHECK_EQ(count_of(out, "pool: "), 1);
    CHECK_EQ(count_of(out, " chunks of up to "), 1);

    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v --json %s", topic), 0);
    CHECK_EQ(count_of(out, "\"lossless\": true"), 1);
    CHECK_EQ(count_of(out, "\"lossless\": false"), 1);
    CHECK_EQ(count_of(out, "\"held_back\": 3}"), 1);
    CHECK_EQ(count_of(out, "\"held_back\": 0}"), 1);

    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(lossless));
    CHECK_OK(zl_subscription_destroy(keep_last));
    CHECK_OK(zl_context_destroy(ctx));
    printf("ok\n");
    return 0;
}
