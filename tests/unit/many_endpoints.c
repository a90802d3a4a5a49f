/* 8 publishers x 8 subscriptions on one topic (and the limits beyond). */
#include "harness.h"
#include "peer.h"

#define N 8
#define MESSAGES 20

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("many");
    zl_publisher *pubs[ZL_TOPIC_PUBLISHERS_MAX];
    zl_subscription *subs[ZL_TOPIC_SUBSCRIPTIONS_MAX];
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 64;
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.chunks_per_subscription = 80;
    /* Interleaved creation. */
    for (int i = 0; i < N; i++) {
        CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pubs[i]));
        CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &subs[i]));
    }
    for (int round = 1; round <= MESSAGES; round++)
        for (int i = 0; i < N; i++) {
            test_msg m;
            test_msg_fill(&m, (uint64_t)i, (uint64_t)round);
            CHECK_OK(zl_publisher_publish(pubs[i], &m));
        }
    for (int s = 0; s < N; s++) {
        uint64_t last[N] = {0};
        int count = 0;
        test_msg m;
        while (zl_subscription_take(subs[s], &m, NULL) == 0) {
            CHECK(test_msg_valid(&m));
            CHECK(m.tag < N);
            CHECK_EQ(m.sequence, last[m.tag] + 1); /* in order per publisher */
            last[m.tag] = m.sequence;
            count++;
        }
        CHECK_EQ(count, N * MESSAGES);
        zl_subscription_stats stats;
        CHECK_OK(zl_subscription_get_stats(subs[s], &stats));
        CHECK_EQ(stats.publishers, N);
    }
    /* Fill up to the limit; one more is refused. */
    for (int i = N; i < ZL_TOPIC_PUBLISHERS_MAX; i++)
        CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pubs[i]));
    zl_publisher *extra;
    CHECK_RC(zl_publisher_create(context, topic, &test_msg_type, NULL, &extra), ZL_ELIMIT);
    for (int i = N; i < ZL_TOPIC_SUBSCRIPTIONS_MAX; i++)
        CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &subs[i]));
    zl_subscription *extra_sub;
    CHECK_RC(zl_subscription_create(context, topic, &test_msg_type, NULL, &extra_sub), ZL_ELIMIT);
    /* Destroy in an odd order. */
    for (int i = 0; i < ZL_TOPIC_PUBLISHERS_MAX; i += 2)
        CHECK_OK(zl_publisher_destroy(pubs[i]));
    for (int i = ZL_TOPIC_SUBSCRIPTIONS_MAX - 1; i >= 0; i--)
        CHECK_OK(zl_subscription_destroy(subs[i]));
    for (int i = 1; i < ZL_TOPIC_PUBLISHERS_MAX; i += 2)
        CHECK_OK(zl_publisher_destroy(pubs[i]));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
