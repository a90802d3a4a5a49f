/* History for late joiners: a subscription that asks for it receives the
 * publisher's last messages (up to its depth); one that does not, nothing. */
#include "harness.h"
#include "peer.h"

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("history");
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.history = 5;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    for (uint64_t i = 1; i <= 20; i++) {
        test_msg m;
        test_msg_fill(&m, 4, i);
        CHECK_OK(zl_publisher_publish(pub, &m));
    }
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_free, stats.chunks_total - 5); /* the history holds five */

    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.history = true;
    zl_subscription *late, *deep, *plain;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &late));
    sopts.depth = 3;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &deep));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &plain));
    /* An idle publisher serves them when asked to. */
    CHECK_OK(zl_publisher_update_connections(pub));
    test_msg m;
    for (uint64_t want = 16; want <= 20; want++) {
        CHECK_OK(zl_subscription_take(late, &m, NULL));
        CHECK_EQ(m.sequence, want);
        CHECK(test_msg_valid(&m));
    }
    CHECK_RC(zl_subscription_take(late, &m, NULL), ZL_ENODATA);
    for (uint64_t want = 18; want <= 20; want++) { /* depth 3: the newest three */
        CHECK_OK(zl_subscription_take(deep, &m, NULL));
        CHECK_EQ(m.sequence, want);
    }
    CHECK_RC(zl_subscription_take(plain, &m, NULL), ZL_ENODATA);
    /* New messages reach all three. */
    test_msg_fill(&m, 4, 21);
    CHECK_OK(zl_publisher_publish(pub, &m));
    CHECK_OK(zl_subscription_take(late, &m, NULL));
    CHECK_EQ(m.sequence, 21);
    CHECK_OK(zl_subscription_take(deep, &m, NULL));
    CHECK_OK(zl_subscription_take(plain, &m, NULL));
    CHECK_EQ(m.sequence, 21);
    CHECK_OK(zl_subscription_destroy(late));
    CHECK_OK(zl_subscription_destroy(deep));
    CHECK_OK(zl_subscription_destroy(plain));
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.subscriptions, 0);
    CHECK_EQ(stats.chunks_free, stats.chunks_total - 5);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
