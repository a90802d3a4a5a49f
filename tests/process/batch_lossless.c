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
#include "harness.h"
#include "peer.h"

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
    CHECK_OK(zl_context_create(NULL, &context));
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = lossless ? 6 : 3;
    sopts.max_loans = batched_returns ? 2 * TAKE_MAX : 4;
    sopts.reliability = lossless ? ZL_LOSSLESS : ZL_KEEP_LAST;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 1, &ws));
    CHECK_OK(zl_waitset_attach_subscription(ws, sub, NULL));
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
            int w = zl_waitset_wait(ws, 10 * 1000000000LL, NULL);
            CHECK(w == 0 || w == ZL_ETIMEOUT);
            continue;
        }
        CHECK_OK(rc);
        for (size_t i = 0; i < count; i++) {
            const test_msg *m = loans[i];
            CHECK(test_msg_valid(m));
            if (lossless)
                CHECK_EQ(m->sequence, expected); /* exactly the next one */
            else
                CHECK(m->sequence >= expected); /* in order, some lost */
            expected = m->sequence + 1;
            received++;
        }
        give_back(sub, loans, count, kept, &kept_count, &seed);
        int r = rand_r(&seed) % 1000;
        if (r < (lossless ? 2 : 8))
            test_sleep_ms(1 + rand_r(&seed) % 3);
    }
    size_t returned = 0;
    if (kept_count > 0)
        CHECK_OK(zl_subscription_return_loans(sub, kept, kept_count, &returned));
    CHECK_EQ(returned, kept_count);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK_EQ(stats.received, received);
    if (lossless) {
        CHECK_EQ(received, MESSAGES);
        CHECK_EQ(stats.lost, 0);
    } else {
        CHECK_EQ(received + stats.lost, MESSAGES);
    }
    printf("%s subscription: received %llu, lost %llu, held the publisher back %llu times\n",
           lossless ? "lossless" : "keep-last", (unsigned long long)received,
           (unsigned long long)stats.lost, (unsigned long long)stats.held_back);
    fflush(stdout);
    CHECK_OK(zl_waitset_destroy(ws));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    _exit(0);
}

int main(int argc, char **argv)
{
    batched_returns = argc > 1 && strcmp(argv[1], "returns") == 0;
    const char *topic = test_topic(batched_returns ? "batch_returns" : "batch_lossless");
    pid_t children[2];
    for (int i = 0; i < 2; i++) {
        int fds[2];
        CHECK(pipe(fds) == 0);
        children[i] = fork();
        CHECK(children[i] >= 0);
        if (children[i] == 0) {
            close(fds[0]);
            subscriber(topic, i == 0, fds[1]);
        }
        close(fds[1]);
        char byte;
        CHECK(read(fds[0], &byte, 1) == 1);
        close(fds[0]);
    }
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
    for (int i = 0; i < 2; i++)
        test_wait_child_ok(children[i], i == 0 ? "lossless subscription" : "keep-last subscription");
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
