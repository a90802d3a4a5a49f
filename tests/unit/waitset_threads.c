/* Wait and publish from several threads (run it under ThreadSanitizer):
 * two publisher threads, each on its own topic, publish in bursts with
 * pauses, so the waiter often sleeps; one thread waits in a wait set on
 * both subscriptions and a guard condition and takes everything. No
 * wake-up is lost: every message is received or counted lost (keep-last),
 * and the waiter never sleeps through the end (the last publication wakes
 * it; the guard says "done"). */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "peer.h"

#define PER_THREAD 20000

static zl_context *context;
static zl_publisher *pubs[2];
static zl_guard_condition *done;
static atomic_int finished;

static void *publisher(void *arg)
{
    zl_publisher *pub = pubs[(intptr_t)arg];
    for (uint64_t i = 1; i <= PER_THREAD; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(pub, &loan));
        test_msg_fill(loan, (uint64_t)(intptr_t)arg, i);
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
        if (i % 64 == 0) /* a pause: the waiter goes to sleep */
            test_sleep_ms(0 == i % 4096 ? 1 : 0);
    }
    if (atomic_fetch_add(&finished, 1) == 1)
        CHECK_OK(zl_guard_condition_trigger(done));
    return NULL;
}

int main(void)
{
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topics[2] = {test_topic("wst_a"), test_topic("wst_b")};
    zl_subscription *subs[2];
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 16;
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 3, &ws));
    for (int i = 0; i < 2; i++) {
        CHECK_OK(zl_subscription_create(context, topics[i], &test_msg_type, &sopts, &subs[i]));
        CHECK_OK(zl_publisher_create(context, topics[i], &test_msg_type, NULL, &pubs[i]));
        CHECK_OK(zl_waitset_attach_subscription(ws, subs[i], NULL));
    }
    CHECK_OK(zl_guard_condition_create(context, &done));
    size_t done_index;
    CHECK_OK(zl_waitset_attach_guard_condition(ws, done, &done_index));
    pthread_t threads[2];
    for (intptr_t i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, publisher, (void *)i), 0);
    long received[2] = {0, 0};
    uint64_t last[2] = {0, 0};
    bool all_published = false;
    for (;;) {
        int rc = zl_waitset_wait(ws, 10000000000LL, NULL); /* 10 s: a lost wake-up fails */
        CHECK_EQ(rc, 0);
        if (zl_waitset_ready(ws, done_index))
            all_published = true;
        for (int i = 0; i < 2; i++) {
            const void *loan;
            while (zl_subscription_take_loan(subs[i], &loan, NULL) == 0) {
                const test_msg *m = loan;
                CHECK(test_msg_valid(m));
                CHECK(m->sequence > last[i]);
                last[i] = m->sequence;
                received[i]++;
                CHECK_OK(zl_subscription_return_loan(subs[i], loan));
            }
        }
        if (all_published)
            break;
    }
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        const void *loan;
        while (zl_subscription_take_loan(subs[i], &loan, NULL) == 0) {
            received[i]++;
            last[i] = ((const test_msg *)loan)->sequence;
            CHECK_OK(zl_subscription_return_loan(subs[i], loan));
        }
        zl_subscription_stats stats;
        CHECK_OK(zl_subscription_get_stats(subs[i], &stats));
        CHECK_EQ(received[i] + (long)stats.lost, PER_THREAD);
        CHECK_EQ(last[i], PER_THREAD); /* the newest always arrives */
        printf("topic %d: received %ld, lost %llu\n", i, received[i],
               (unsigned long long)stats.lost);
    }
    CHECK_OK(zl_waitset_destroy(ws));
    CHECK_OK(zl_guard_condition_destroy(done));
    for (int i = 0; i < 2; i++) {
        CHECK_OK(zl_publisher_destroy(pubs[i]));
        CHECK_OK(zl_subscription_destroy(subs[i]));
    }
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
