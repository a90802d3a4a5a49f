/* Across processes: 100,000 messages to a lossless subscription that sleeps
 * at random arrive exactly, in order, intact (received == published, lost
 * 0), while a keep-last subscription beside it, slower still, loses some
 * and counts every one (received + lost == published). The publisher never
 * times out; it waited (stats.blocked) whenever the lossless queue was
 * full. */
#include "lossless_pair.h"

#define MESSAGES 100000u

static void subscriber(const char *topic, bool lossless, int ready_fd)
{
    zl_context *context;
    zl_subscription *sub;
    zl_waitset *ws;
    pair_open(topic, lossless, lossless ? 8 : 2, 0, &context, &sub, &ws);
    CHECK(write(ready_fd, "r", 1) == 1);
    unsigned seed = (unsigned)getpid();
    uint64_t expected = 1, received = 0;
    while (expected <= MESSAGES) {
        const void *loan;
        int rc = zl_subscription_take_loan(sub, &loan, NULL);
        if (rc == ZL_ENODATA) {
            pair_wait(ws);
            continue;
        }
        CHECK_OK(rc);
        pair_check(loan, lossless, &expected, &received);
        CHECK_OK(zl_subscription_return_loan(sub, loan));
        pair_dawdle(lossless, &seed);
    }
    pair_finish(context, sub, ws, lossless, received, MESSAGES);
}

int main(void)
{
    const char *topic = test_topic("lossless_exact");
    pid_t children[2];
    pair_fork(topic, children, subscriber);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_blocking_time_ns = 30 * 1000000000LL;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.subscriptions, 2);
    for (uint64_t i = 1; i <= MESSAGES; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(pub, &loan));
        test_msg_fill(loan, 1, i);
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
    }
    pair_wait_children(children);
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.published, MESSAGES);
    CHECK_EQ(stats.timeouts, 0);
    printf("publisher: published %llu, waited %llu times, dropped %llu (keep-last)\n",
           (unsigned long long)stats.published, (unsigned long long)stats.blocked,
           (unsigned long long)stats.dropped);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
