/* Loans returned from other threads while the owner keeps taking (run it
 * under ThreadSanitizer): no return is lost, none counted twice, and the
 * pool is full again at the end. */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "peer.h"

#define RETURNERS 2
#define TAKES 5000

static zl_subscription *sub;
static _Atomic(const void *) mailbox[RETURNERS][4];
static atomic_bool finished;

static void *returner(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (;;) {
        bool any = false;
        for (int k = 0; k < 4; k++) {
            const void *loan = atomic_exchange(&mailbox[id][k], NULL);
            if (loan != NULL) {
                any = true;
                CHECK(test_msg_valid(loan));
                CHECK_OK(zl_subscription_return_loan(sub, loan));
                /* (Returning it twice is not checked here: the owner may
                 * already have taken the same chunk again, at the same
                 * address. loan_roundtrip checks double returns.) */
            }
        }
        if (!any && atomic_load(&finished))
            return NULL;
    }
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("return_threads");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.max_loans = RETURNERS * 4;
    sopts.depth = 4;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    pthread_t threads[RETURNERS];
    for (int i = 0; i < RETURNERS; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, returner, (void *)(intptr_t)i), 0);
    long taken = 0, published = 0;
    int64_t deadline = test_now_ns() + 30000000000LL;
    while (taken < TAKES && test_now_ns() < deadline) {
        test_msg m;
        test_msg_fill(&m, 1, (uint64_t)published + 1);
        int rc = zl_publisher_publish(pub, &m);
        CHECK_OK(rc);
        published++;
        const void *loan;
        rc = zl_subscription_take_loan(sub, &loan, NULL);
        if (rc == ZL_ETOOMANYLOANS || rc == ZL_ENODATA)
            continue;
        CHECK_OK(rc);
        taken++;
        /* Hand it to a returner's free mailbox slot, or return it here. */
        bool handed = false;
        for (int i = 0; i < RETURNERS * 4 && !handed; i++) {
            const void *expected = NULL;
            handed = atomic_compare_exchange_strong(&mailbox[i % RETURNERS][i / RETURNERS],
                                                    &expected, loan);
        }
        if (!handed)
            CHECK_OK(zl_subscription_return_loan(sub, loan));
    }
    atomic_store(&finished, true);
    for (int i = 0; i < RETURNERS; i++)
        CHECK_EQ(pthread_join(threads[i], NULL), 0);
    /* A returner may have looked at its mailbox just before the last
     * hand-off and seen `finished` just after: return what is left. */
    for (int i = 0; i < RETURNERS; i++)
        for (int k = 0; k < 4; k++) {
            const void *loan = atomic_exchange(&mailbox[i][k], NULL);
            if (loan != NULL)
                CHECK_OK(zl_subscription_return_loan(sub, loan));
        }
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.loans_held, 0);
    CHECK_EQ(taken, TAKES);
    /* One more take pushes any return still pending; then all is free. */
    const void *loan;
    while (zl_subscription_take_loan(sub, &loan, NULL) == 0)
        CHECK_OK(zl_subscription_return_loan(sub, loan));
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.chunks_free, pstats.chunks_total);
    CHECK_EQ(pstats.peer_errors, 0);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
