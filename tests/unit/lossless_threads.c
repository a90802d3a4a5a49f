/* A publisher held back by a lossless subscription and woken by several
 * threads (meant for ThreadSanitizer): the subscription may hold more loans
 * than the publisher grants it (chunks_per_subscription), so the publisher
 * waits both for takes (a full queue) and for returns (its budget held).
 * One thread takes, three return the loans in random order after random
 * pauses. Every message arrives, in order, intact; the publisher never
 * times out, and it did wait. The liveness monitor runs (even under
 * ThreadSanitizer: this test forks nothing), so the waiting publisher has
 * no periodic wake-up of its own: a lost wake-up shows as ZL_ETIMEOUT
 * after 10 s. */
#include <pthread.h>
#include <sched.h>

#include "harness.h"
#include "peer.h"

#define MESSAGES 20000u
#define RETURNERS 3
#define HANDOFF 64

typedef struct shared {
    zl_subscription *sub;
    pthread_mutex_t lock;
    const void *handoff[HANDOFF];
    unsigned count;
    bool done;
} shared;

static void *returner(void *arg)
{
    shared *s = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (s->count == 0) {
            bool done = s->done;
            pthread_mutex_unlock(&s->lock);
            if (done)
                return NULL;
            sched_yield();
            continue;
        }
        unsigned pick = (unsigned)rand_r(&seed) % s->count;
        const void *loan = s->handoff[pick];
        s->handoff[pick] = s->handoff[--s->count];
        pthread_mutex_unlock(&s->lock);
        if (rand_r(&seed) % 16 == 0)
            sched_yield();
        CHECK_OK(zl_subscription_return_loan(s->sub, loan));
    }
}

static void *taker(void *arg)
{
    shared *s = arg;
    uint64_t expected = 1;
    while (expected <= MESSAGES) {
        const void *loan;
        int rc = zl_subscription_take_loan(s->sub, &loan, NULL);
        if (rc == ZL_ENODATA || rc == ZL_ETOOMANYLOANS) {
            sched_yield();
            continue;
        }
        CHECK_OK(rc);
        const test_msg *m = loan;
        CHECK(test_msg_valid(m));
        CHECK_EQ(m->sequence, expected);
        expected++;
        for (;;) {
            pthread_mutex_lock(&s->lock);
            bool room = s->count < HANDOFF;
            if (room)
                s->handoff[s->count++] = loan;
            pthread_mutex_unlock(&s->lock);
            if (room)
                break;
            sched_yield();
        }
    }
    pthread_mutex_lock(&s->lock);
    s->done = true;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int main(void)
{
    setenv("ZLOAN_LIVENESS_PERIOD_MS", "20", 1);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("lossless_threads");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 2;
    sopts.max_loans = 16; /* more than the publisher grants: returns matter */
    sopts.reliability = ZL_LOSSLESS;
    shared s = {.count = 0, .done = false};
    pthread_mutex_init(&s.lock, NULL);
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &s.sub));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.chunks_per_subscription = 6;
    popts.max_subscriptions = 1;
    popts.max_blocking_time_ns = 10 * 1000000000LL;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));

    pthread_t threads[RETURNERS + 1];
    CHECK(pthread_create(&threads[0], NULL, taker, &s) == 0);
    for (int i = 1; i <= RETURNERS; i++)
        CHECK(pthread_create(&threads[i], NULL, returner, &s) == 0);
    for (uint64_t i = 1; i <= MESSAGES; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(pub, &loan));
        test_msg_fill(loan, 1, i);
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
    }
    for (int i = 0; i <= RETURNERS; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.published, MESSAGES);
    CHECK_EQ(pstats.timeouts, 0);
    CHECK_EQ(pstats.dropped, 0);
    CHECK(pstats.blocked > 0);
    CHECK_EQ(pstats.chunks_free, pstats.chunks_total); /* every loan came back */
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(s.sub, &sstats));
    CHECK_EQ(sstats.lost, 0);
    CHECK_EQ(sstats.received, MESSAGES);
    printf("published %u; the publisher waited %llu times\n", MESSAGES,
           (unsigned long long)pstats.blocked);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(s.sub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
