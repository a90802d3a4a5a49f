/* Across processes, batched publishes (zl_publisher_publish_loans): 100,000
 * messages in batches of 1 to 8 reach a lossless subscription in another
 * process exactly, in order, intact, while it takes them in sequences and
 * sleeps at random (the batches wait for it, in parts); a keep-last
 * subscription beside it, slower still, receives them in order and counts
 * every one it lost (received + lost == published). */
#include "lossless_pair.h"

#define MESSAGES 100000u
#define BATCH_MAX 8u

static void subscriber(const char *topic, bool lossless, int ready_fd)
{
    zl_context *context;
    zl_subscription *sub;
    zl_waitset *ws;
    pair_open(topic, lossless, lossless ? 6 : 3, 4, &context, &sub, &ws);
    CHECK(write(ready_fd, "r", 1) == 1);
    unsigned seed = (unsigned)getpid();
    uint64_t expected = 1, received = 0;
    while (expected <= MESSAGES) {
        const void *loans[4];
        size_t count = 0;
        int rc = zl_subscription_take_loan_sequence(sub, loans, NULL, 4, &count);
        if (rc == ZL_ENODATA) {
            pair_wait(ws);
            continue;
        }
        CHECK_OK(rc);
        for (size_t i = 0; i < count; i++) {
            pair_check(loans[i], lossless, &expected, &received);
            CHECK_OK(zl_subscription_return_loan(sub, loans[i]));
        }
        pair_dawdle(lossless, &seed);
    }
    pair_finish(context, sub, ws, lossless, received, MESSAGES);
}

int main(void)
{
    const char *topic = test_topic("batch_lossless");
    pid_t children[2];
    pair_fork(topic, children, subscriber);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_loans = BATCH_MAX;
    popts.max_blocking_time_ns = 30 * 1000000000LL;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.subscriptions, 2);
    unsigned seed = 12345;
    uint64_t batches = 0;
    for (uint64_t next = 1; next <= MESSAGES;) {
        size_t n = 1 + (size_t)(rand_r(&seed) % BATCH_MAX);
        if (n > MESSAGES - next + 1)
            n = MESSAGES - next + 1;
        void *loans[BATCH_MAX];
        for (size_t i = 0; i < n; i++) {
            CHECK_OK(zl_publisher_loan(pub, &loans[i]));
            test_msg_fill(loans[i], 1, next + i);
        }
        size_t published = 0;
        CHECK_OK(zl_publisher_publish_loans(pub, loans, n, &published));
        CHECK_EQ(published, n);
        next += n;
        batches++;
    }
    pair_wait_children(children);
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.published, MESSAGES);
    CHECK_EQ(stats.timeouts, 0);
    CHECK_EQ(stats.loans_held, 0);
    printf("publisher: %llu batches, published %llu, waited %llu times, dropped %llu (keep-last)\n",
           (unsigned long long)batches, (unsigned long long)stats.published,
           (unsigned long long)stats.blocked, (unsigned long long)stats.dropped);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
