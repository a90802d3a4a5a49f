/* Batched publishes against a subscription on another thread (meant for
 * ThreadSanitizer, which sees the multi-entry push: entries written
 * relaxed, one release store of the tail per part). A lossless and a
 * keep-last subscription, each taken by a thread of its own in sequences;
 * the publisher's thread publishes 20,000 messages in batches of 1 to 16.
 * The lossless one gets every message in order, intact; the keep-last one
 * gets them in order and counts the others lost. */
#include <pthread.h>

#include "harness.h"
#include "peer.h"

#define MESSAGES 20000u
#define BATCH_MAX 16u

typedef struct taker {
    zl_subscription *sub;
    bool lossless;
    uint64_t received;
} taker;

static void *take_all(void *arg)
{
    taker *t = arg;
    uint64_t expected = 1;
    while (expected <= MESSAGES) {
        const void *loans[5];
        size_t count = 0;
        int rc = zl_subscription_take_loan_sequence(t->sub, loans, NULL, 5, &count);
        if (rc == ZL_ENODATA) {
            sched_yield();
            continue;
        }
        CHECK_OK(rc);
        for (size_t i = 0; i < count; i++) {
            const test_msg *m = loans[i];
            CHECK(test_msg_valid(m));
            if (t->lossless)
                CHECK_EQ(m->sequence, expected);
            else
                CHECK(m->sequence >= expected);
            expected = m->sequence + 1;
            t->received++;
            CHECK_OK(zl_subscription_return_loan(t->sub, loans[i]));
        }
    }
    return NULL;
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("batch_threads");
    taker takers[2] = {{.lossless = true}, {.lossless = false}};
    for (int i = 0; i < 2; i++) {
        zl_subscription_options sopts;
        zl_subscription_options_init(&sopts);
        sopts.depth = takers[i].lossless ? 8 : 3;
        sopts.max_loans = 5;
        sopts.reliability = takers[i].lossless ? ZL_LOSSLESS : ZL_KEEP_LAST;
        CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &takers[i].sub));
    }
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_loans = BATCH_MAX;
    popts.chunks_per_subscription = 32;
    popts.max_blocking_time_ns = 30 * 1000000000LL;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, take_all, &takers[i]), 0);
    unsigned seed = 7;
    for (uint64_t next = 1; next <= MESSAGES;) {
        size_t n = 1 + (size_t)(rand_r(&seed) % BATCH_MAX);
        if (n > MESSAGES - next + 1)
            n = MESSAGES - next + 1;
        void *loans[BATCH_MAX];
        for (size_t i = 0; i < n; i++) {
            CHECK_OK(zl_publisher_loan(pub, &loans[i]));
            test_msg_fill(loans[i], 2, next + i);
        }
        size_t published = 0;
        CHECK_OK(zl_publisher_publish_loans(pub, loans, n, &published));
        CHECK_EQ(published, n);
        next += n;
    }
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_join(threads[i], NULL), 0);
    CHECK_EQ(takers[0].received, MESSAGES);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(takers[1].sub, &stats));
    CHECK_EQ(takers[1].received + stats.lost, MESSAGES);
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.published, MESSAGES);
    CHECK_EQ(pstats.timeouts, 0);
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_destroy(takers[i].sub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
