/* Across processes, batches: 100,000 messages reach a lossless
 * subscription in another process exactly, in order, intact, while it
 * takes them in sequences and sleeps at random (the publisher waits for
 * it); a keep-last subscription beside it, slower still, receives them in
 * order and counts every one it lost (received + lost == published).
 * Every chunk is back in the pool at the end. Two cases:
 *   (no argument) batched publishes (zl_publisher_publish_loans), 1 to 8 a
 *       call, waiting in parts; taken in sequences of 4, returned singly;
 *   returns: single publishes; taken in sequences of 1 to 16, each given
 *       back in one call of zl_subscription_return_loans (in order,
 *       reversed, or only after the next sequence was taken). */
#include "lossless_pair.h"

#define MESSAGES 100000u
#define BATCH_MAX 8u
#define TAKE_MAX 16u

static bool batched_returns; /* the "returns" case */

/* Gives a sequence of count loans back: singly, or (batched_returns) in
 * one call, in order or reversed, or keeps it in kept (given back with
 * the next sequence). */
static void give_back(zl_subscription *sub, const void **loans, size_t count,
                      const void **kept, size_t *kept_count, unsigned *seed)
{
    if (!batched_returns) {
        for (size_t i = 0; i < count; i++)
            CHECK_OK(zl_subscription_return_loan(sub, loans[i]));
        return;
    }
    size_t returned = 0;
    if (*kept_count > 0) {
        for (size_t i = 0; i < *kept_count; i++)
            CHECK(test_msg_valid(kept[i])); /* unchanged while held */
        CHECK_OK(zl_subscription_return_loans(sub, kept, *kept_count, &returned));
        CHECK_EQ(returned, *kept_count);
        *kept_count = 0;
    }
    int how = rand_r(seed) % 4;
    if (how == 0) {
        memcpy(kept, loans, count * sizeof loans[0]);
        *kept_count = count;
        return;
    }
    if (how == 1)
        for (size_t i = 0; i < count / 2; i++) {
            const void *t = loans[i];
            loans[i] = loans[count - 1 - i];
            loans[count - 1 - i] = t;
        }
    CHECK_OK(zl_subscription_return_loans(sub, loans, count, &returned));
    CHECK_EQ(returned, count);
}

static void subscriber(const char *topic, bool lossless, int ready_fd)
{
    zl_context *context;
    zl_subscription *sub;
    zl_waitset *ws;
    pair_open(topic, lossless, lossless ? 6 : 3, batched_returns ? 2 * TAKE_MAX : 4, &context,
              &sub, &ws);
    CHECK(write(ready_fd, "r", 1) == 1);
    unsigned seed = (unsigned)getpid();
    uint64_t expected = 1, received = 0;
    const void *kept[TAKE_MAX];
    size_t kept_count = 0;
    while (expected <= MESSAGES) {
        const void *loans[TAKE_MAX];
        size_t count = 0;
        size_t capacity = batched_returns ? 1 + (size_t)(rand_r(&seed) % TAKE_MAX) : 4;
        int rc = zl_subscription_take_loan_sequence(sub, loans, NULL, capacity, &count);
        if (rc == ZL_ENODATA) {
            pair_wait(ws);
            continue;
        }
        CHECK_OK(rc);
        for (size_t i = 0; i < count; i++)
            pair_check(loans[i], lossless, &expected, &received);
        give_back(sub, loans, count, kept, &kept_count, &seed);
        pair_dawdle(lossless, &seed);
    }
    size_t returned = 0;
    if (kept_count > 0)
        CHECK_OK(zl_subscription_return_loans(sub, kept, kept_count, &returned));
    CHECK_EQ(returned, kept_count);
    pair_finish(context, sub, ws, lossless, received, MESSAGES);
}

int main(int argc, char **argv)
{
    batched_returns = argc > 1 && strcmp(argv[1], "returns") == 0;
    const char *topic = test_topic(batched_returns ? "batch_returns" : "batch_lossless");
    pid_t children[2];
    pair_fork(topic, children, subscriber);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_loans = BATCH_MAX;
    popts.max_blocking_time_ns = 30 * 1000000000LL;
    /* Room for the lossless queue beside every loan it may hold (else its
     * queue is shortened). */
    popts.chunks_per_subscription = 4 * TAKE_MAX;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.subscriptions, 2);
    unsigned seed = 12345;
    uint64_t batches = 0;
    for (uint64_t next = 1; next <= MESSAGES;) {
        size_t n = batched_returns ? 1 : 1 + (size_t)(rand_r(&seed) % BATCH_MAX);
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
    CHECK_OK(zl_publisher_update_connections(pub));
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_free, stats.chunks_total);
    printf("publisher: %llu batches, published %llu, waited %llu times, dropped %llu (keep-last)\n",
           (unsigned long long)batches, (unsigned long long)stats.published,
           (unsigned long long)stats.blocked, (unsigned long long)stats.dropped);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
