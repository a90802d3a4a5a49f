/* Batched takes on the owner thread and batched returns from other
 * threads (run it under ThreadSanitizer), on a lossless subscription (each
 * batch returned with one fence and look for a waiting publisher, S6)
 * whose publisher runs on the owner thread: every message arrives in
 * order, no return is lost or counted twice, and the pool is whole at the
 * end. Some batches come back one loan at a time, newest first, some in
 * reverse order in one batch, beside others' batches, and the owner gives
 * some back itself. */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "peer.h"

#define RETURNERS 2
#define BATCH 8
#define MESSAGES 20000

typedef struct mailbox {
    atomic_int full; /* 1: loans and count are the returner's */
    const void *loans[BATCH];
    size_t count;
} mailbox;

static zl_subscription *sub;
static mailbox boxes[RETURNERS];
static atomic_bool finished;
static atomic_long returned;

typedef enum { IN_ORDER, SINGLY, REVERSED } giving;

static void give_back(const void *const *loans, size_t count, giving how)
{
    for (size_t i = 0; i < count; i++)
        CHECK(test_msg_valid(loans[i]));
    if (how == SINGLY) {
        for (size_t i = count; i-- > 0;)
            CHECK_OK(zl_subscription_return_loan(sub, loans[i]));
    } else if (how == REVERSED) {
        /* Not as taken: found by address (the batch sorted), not in turn. */
        const void *reversed[BATCH];
        for (size_t i = 0; i < count; i++)
            reversed[i] = loans[count - 1 - i];
        size_t n = 0;
        CHECK_OK(zl_subscription_return_loans(sub, reversed, count, &n));
        CHECK_EQ(n, count);
    } else {
        size_t n = 0;
        CHECK_OK(zl_subscription_return_loans(sub, loans, count, &n));
        CHECK_EQ(n, count);
    }
    atomic_fetch_add(&returned, (long)count);
}

static void *returner(void *arg)
{
    mailbox *box = arg;
    unsigned round = 0;
    for (;;) {
        if (atomic_load_explicit(&box->full, memory_order_acquire)) {
            if (++round % 16 == 0)
                test_sleep_ms(1); /* the owner waits for this box meanwhile */
            give_back(box->loans, box->count,
                      round % 4 == 0 ? SINGLY : round % 4 == 2 ? REVERSED : IN_ORDER);
            atomic_store_explicit(&box->full, 0, memory_order_release);
        } else if (atomic_load(&finished)) {
            return NULL;
        } else {
            sched_yield();
        }
    }
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("return_loans_threads");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = BATCH;
    sopts.max_loans = (RETURNERS + 1) * BATCH;
    sopts.reliability = ZL_LOSSLESS;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_blocking_time_ns = 20 * 1000000000LL;
    /* Room for the depth beside every loan (else the queue is shortened). */
    popts.chunks_per_subscription = (RETURNERS + 3) * BATCH;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    pthread_t threads[RETURNERS];
    for (int i = 0; i < RETURNERS; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, returner, &boxes[i]), 0);
    uint64_t published = 0, expected = 1;
    unsigned next_box = 0, own = 0;
    while (expected <= MESSAGES) {
        /* Never more queued than the depth: the publish would wait for a
         * take of ours. */
        if (published < MESSAGES && published - (expected - 1) < BATCH / 2) {
            test_msg m;
            test_msg_fill(&m, 5, published + 1);
            CHECK_OK(zl_publisher_publish(pub, &m));
            published++;
        }
        mailbox *box = &boxes[next_box];
        if (atomic_load_explicit(&box->full, memory_order_acquire)) {
            /* Busy: mostly wait for it; now and then take into our own
             * batch and give it back here. */
            if (++own % 8 != 0) {
                sched_yield();
                continue;
            }
            const void *loans[BATCH];
            size_t count = 0;
            int rc = zl_subscription_take_loan_sequence(sub, loans, NULL, BATCH, &count);
            if (rc == ZL_ENODATA || rc == ZL_ETOOMANYLOANS)
                continue;
            CHECK_OK(rc);
            for (size_t i = 0; i < count; i++)
                CHECK_EQ(((const test_msg *)loans[i])->sequence, expected++);
            give_back(loans, count, own % 3 == 0 ? SINGLY : own % 5 == 0 ? REVERSED : IN_ORDER);
            continue;
        }
        int rc = zl_subscription_take_loan_sequence(sub, box->loans, NULL, BATCH, &box->count);
        if (rc == ZL_ENODATA || rc == ZL_ETOOMANYLOANS)
            continue;
        CHECK_OK(rc);
        for (size_t i = 0; i < box->count; i++)
            CHECK_EQ(((const test_msg *)box->loans[i])->sequence, expected++);
        atomic_store_explicit(&box->full, 1, memory_order_release);
        next_box = (next_box + 1) % RETURNERS;
    }
    for (int i = 0; i < RETURNERS; i++)
        while (atomic_load_explicit(&boxes[i].full, memory_order_acquire))
            sched_yield();
    atomic_store(&finished, true);
    for (int i = 0; i < RETURNERS; i++)
        CHECK_EQ(pthread_join(threads[i], NULL), 0);
    CHECK_EQ(atomic_load(&returned), MESSAGES);
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.loans_held, 0);
    CHECK_EQ(sstats.received, MESSAGES);
    CHECK_EQ(sstats.lost, 0);
    /* A take pushes any return still pending (a full ring); then all is free. */
    const void *loan;
    CHECK_RC(zl_subscription_take_loan(sub, &loan, NULL), ZL_ENODATA);
    CHECK_OK(zl_publisher_update_connections(pub));
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.chunks_free, pstats.chunks_total);
    CHECK_EQ(pstats.published, MESSAGES);
    CHECK_EQ(pstats.timeouts, 0);
    CHECK_EQ(pstats.peer_errors, 0);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
