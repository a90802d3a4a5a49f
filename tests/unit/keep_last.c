/* Keep-last: a slow subscription loses the oldest messages (counted), the
 * publisher never blocks, and loans held meanwhile never change even while
 * the publisher publishes 10,000 more messages. */
#include "harness.h"
#include "peer.h"

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("keep_last");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 4;
    sopts.max_loans = 3;
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));

    for (uint64_t i = 1; i <= 100; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(pub, &loan));
        test_msg_fill(loan, 5, i);
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
    }
    /* The newest four are left; 96 were dropped and counted on both sides. */
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.lost, 96);
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.dropped, 96);

    /* Hold three loans: 97, 98, 99. */
    const void *held[3];
    test_msg copies[3];
    for (int i = 0; i < 3; i++) {
        CHECK_OK(zl_subscription_take_loan(sub, &held[i], NULL));
        memcpy(&copies[i], held[i], sizeof copies[i]);
        CHECK_EQ(copies[i].sequence, 97 + i);
    }
    /* 10,000 more: the pool keeps cycling through the free chunks and never
     * touches the held ones. */
    for (uint64_t i = 101; i <= 10100; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(pub, &loan));
        test_msg_fill(loan, 5, i);
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
    }
    for (int i = 0; i < 3; i++) {
        CHECK(memcmp(held[i], &copies[i], sizeof copies[i]) == 0);
        bool consistent = false;
        CHECK_OK(zl_subscription_is_consistent(sub, held[i], &consistent));
        CHECK(consistent);
    }
    /* Still keep-last for the queue: the newest four are there. */
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.lost, 96 + 10000 + 1 - 4);
    for (int i = 0; i < 3; i++)
        CHECK_OK(zl_subscription_return_loan(sub, held[i]));
    test_msg m;
    for (uint64_t want = 10097; want <= 10100; want++) {
        CHECK_OK(zl_subscription_take(sub, &m, NULL));
        CHECK_EQ(m.sequence, want);
    }
    CHECK_RC(zl_subscription_take(sub, &m, NULL), ZL_ENODATA);
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.chunks_free, pstats.chunks_total);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
