/* Endpoints created and destroyed in every order: messages flow whenever
 * both exist, loans a subscription holds stay readable after their
 * publisher left, and the last one out removes every shared object. */
#include "harness.h"
#include "peer.h"

static void publish(zl_publisher *pub, uint64_t seq)
{
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    test_msg_fill(loan, 1, seq);
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("destroy");
    const char *fragment = test_shm_fragment(topic);
    /* Orders of (create P, create S) x (destroy P first, destroy S first). */
    for (int order = 0; order < 4; order++) {
        bool pub_first = order & 1, destroy_pub_first = order & 2;
        zl_publisher *pub = NULL;
        zl_subscription *sub = NULL;
        if (pub_first)
            CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
        CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
        if (!pub_first)
            CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
        CHECK_EQ(test_count_shm(fragment), 4); /* registry, pool and its first segment, queue */
        publish(pub, 1);
        publish(pub, 2);
        const void *held;
        CHECK_OK(zl_subscription_take_loan(sub, &held, NULL));
        test_msg copy;
        memcpy(&copy, held, sizeof copy);
        if (destroy_pub_first) {
            CHECK_OK(zl_publisher_destroy(pub));
            /* The loan is still there and unchanged; the queued one too. */
            CHECK(memcmp(held, &copy, sizeof copy) == 0);
            test_msg m;
            CHECK_OK(zl_subscription_take(sub, &m, NULL));
            CHECK_EQ(m.sequence, 2);
            CHECK_OK(zl_subscription_return_loan(sub, held));
            CHECK_RC(zl_subscription_take(sub, &m, NULL), ZL_ENODATA);
            zl_subscription_stats stats;
            CHECK_OK(zl_subscription_get_stats(sub, &stats));
            CHECK_EQ(stats.publishers, 0);
            CHECK_OK(zl_subscription_destroy(sub));
        } else {
            /* Refused while a loan is held; then its queued message and
             * the returned loan go back to the pool. */
            CHECK_RC(zl_subscription_destroy(sub), ZL_EBUSY);
            CHECK(memcmp(held, &copy, sizeof copy) == 0);
            CHECK_OK(zl_subscription_return_loan(sub, held));
            CHECK_OK(zl_subscription_destroy(sub));
            zl_publisher_stats stats;
            CHECK_OK(zl_publisher_get_stats(pub, &stats));
            CHECK_EQ(stats.subscriptions, 0);
            CHECK_EQ(stats.chunks_free, stats.chunks_total);
            CHECK_OK(zl_publisher_destroy(pub));
        }
        CHECK_EQ(test_count_shm(fragment), 0);
    }
    /* A publisher that comes back finds a new subscription, and an old one. */
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    for (uint64_t round = 1; round <= 20; round++) {
        CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
        publish(pub, round);
        CHECK_OK(zl_publisher_destroy(pub));
        test_msg m;
        fprintf(stderr, "round %d\n", (int)round);
        CHECK_OK(zl_subscription_take(sub, &m, NULL));
        CHECK_EQ(m.sequence, round);
    }
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_EQ(test_count_shm(fragment), 0);
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
