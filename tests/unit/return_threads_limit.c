/* Returns from other threads count at once for the loan limit (run it under
 * ThreadSanitizer too). One thread takes loans and hands each to one of four
 * returner threads; it takes another loan only while it holds fewer than
 * max_loans (counting a loan as held until its return_loan returned 0), and
 * a copy after every step. A return that returned 0 frees its loan for the
 * limit, whatever thread does the transport's bookkeeping: take_loan never
 * answers ZL_ETOOMANYLOANS, nor does the copying take, for loans the user
 * holds. A small max_loans makes one pending bookkeeping step enough to
 * show the defect. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "harness.h"
#include "peer.h"

#define RETURNERS 4
#define MAX_LOANS 2
#define HANDED 3000

static zl_subscription *sub;
static _Atomic(const void *) mailbox[RETURNERS];
static atomic_long returned; /* returns that returned 0 */
static atomic_bool finished;

/* Returners spin a while before they yield: threads that run at once (and
 * are preempted anywhere, the machine having fewer cores than threads) are
 * what makes one return wait for another's bookkeeping. */
static void *returner(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (unsigned idle = 0;;) {
        const void *loan = atomic_exchange(&mailbox[id], NULL);
        if (loan != NULL) {
            CHECK_OK(zl_subscription_return_loan(sub, loan));
            /* Release: the taker that sees this count sees the return done. */
            atomic_fetch_add_explicit(&returned, 1, memory_order_release);
            idle = 0;
        } else if (atomic_load(&finished)) {
            return NULL;
        } else if (++idle % 4096 == 0) {
            sched_yield();
        }
    }
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("return_limit");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.max_loans = MAX_LOANS;
    sopts.depth = 4;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    pthread_t threads[RETURNERS];
    for (int i = 0; i < RETURNERS; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, returner, (void *)(intptr_t)i), 0);
    long handed = 0, refused = 0, copies_refused = 0, round = 0;
    uint64_t sequence = 0;
    /* The deadline bounds the work on a loaded machine; nothing is timed. */
    int64_t deadline = test_now_ns() + 20000000000LL;
    for (; handed < HANDED && test_now_ns() < deadline; round++) {
        for (int k = 0; k < 2; k++) {
            test_msg m;
            test_msg_fill(&m, 1, ++sequence);
            CHECK_OK(zl_publisher_publish(pub, &m));
        }
        /* Acquire pairs with the returners' release increment. */
        long held = handed - atomic_load_explicit(&returned, memory_order_acquire);
        const void *loan;
        int rc = held < MAX_LOANS ? zl_subscription_take_loan(sub, &loan, NULL) : ZL_ENODATA;
        if (rc == ZL_ETOOMANYLOANS)
            refused++;
        else if (rc == 0) {
            CHECK(test_msg_valid(loan));
            int i = (int)(handed % RETURNERS);
            const void *expected = NULL;
            while (!atomic_compare_exchange_weak(&mailbox[i], &expected, loan)) {
                expected = NULL;
                sched_yield();
            }
            handed++;
        } else {
            CHECK_RC(rc, ZL_ENODATA);
        }
        test_msg copy;
        rc = zl_subscription_take(sub, &copy, NULL);
        if (rc == ZL_ETOOMANYLOANS)
            copies_refused++;
        else if (rc != ZL_ENODATA)
            CHECK_OK(rc);
    }
    atomic_store(&finished, true);
    for (int i = 0; i < RETURNERS; i++)
        CHECK_EQ(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < RETURNERS; i++) {
        const void *loan = atomic_exchange(&mailbox[i], NULL);
        if (loan != NULL)
            CHECK_OK(zl_subscription_return_loan(sub, loan));
    }
    printf("%ld rounds, %ld loans handed to other threads; take_loan refused %ld times, take "
           "%ld times\n", round, handed, refused, copies_refused);
    CHECK_EQ(refused, 0);
    CHECK_EQ(copies_refused, 0);
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.loans_held, 0);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
