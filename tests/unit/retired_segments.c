/* Segments a subscription lets go of while loans point into them (its
 * publisher left): the loans stay mapped and unchanged until they are
 * returned, from this thread or others, and the segments are unmapped once
 * the last loan into them is back (at the next take), as /proc/self/maps
 * shows. Publishers come and go while returner threads read and return
 * the loans of earlier ones (run it under ThreadSanitizer). */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "peer.h"

#define LOANS 4
#define ROUNDS 60
#define RETURNERS 2

static zl_subscription *sub;
static _Atomic(const void *) mailbox[RETURNERS][LOANS];
static atomic_bool finished;
static atomic_long returned_by_threads;
static const char *fragment;

/* Mappings of this process of a pool (control object or segment) of the
 * topic. */
static int pool_mappings(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    CHECK(maps != NULL);
    char line[1024];
    int count = 0;
    while (fgets(line, sizeof line, maps) != NULL) {
        const char *name = strstr(line, fragment);
        if (name != NULL && strstr(name, ":p") != NULL)
            count++;
    }
    fclose(maps);
    return count;
}

static void *returner(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (;;) {
        bool any = false;
        for (int k = 0; k < LOANS; k++) {
            const void *loan = atomic_exchange(&mailbox[id][k], NULL);
            if (loan == NULL)
                continue;
            any = true;
            /* Its publisher is gone and its pool released by the
             * subscription: the memory is still the message. */
            CHECK(test_msg_valid(loan));
            CHECK_OK(zl_subscription_return_loan(sub, loan));
            atomic_fetch_add(&returned_by_threads, 1);
        }
        if (!any && atomic_load(&finished))
            return NULL;
    }
}

/* A publisher that publishes LOANS messages tagged round, all taken into
 * loans, and leaves: the loans' segments are retired by the take that
 * notices it. */
static void take_from_departed(zl_context *context, const char *topic, uint64_t round,
                               const void *loans[LOANS])
{
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    for (int i = 0; i < LOANS; i++) {
        test_msg m;
        test_msg_fill(&m, round, (uint64_t)i);
        CHECK_OK(zl_publisher_publish(pub, &m));
        CHECK_OK(zl_subscription_take_loan(sub, &loans[i], NULL));
    }
    CHECK_OK(zl_publisher_destroy(pub));
    const void *none;
    CHECK_RC(zl_subscription_take_loan(sub, &none, NULL), ZL_ENODATA);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK_EQ(stats.publishers, 0);
    for (int i = 0; i < LOANS; i++) {
        CHECK(test_msg_valid(loans[i]));
        CHECK_EQ(((const test_msg *)loans[i])->tag, round);
        CHECK(test_mapped_from(loans[i], fragment));
    }
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("retired_segments");
    fragment = test_shm_fragment(topic);
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.max_loans = 4 * LOANS;
    options.depth = LOANS;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &options, &sub));

    /* On this thread: mapped while one loan is left, unmapped after. */
    const void *loans[LOANS];
    take_from_departed(context, topic, 1, loans);
    CHECK(pool_mappings() > 0);
    for (int i = 0; i < LOANS - 1; i++)
        CHECK_OK(zl_subscription_return_loan(sub, loans[i]));
    const void *none;
    CHECK_RC(zl_subscription_take_loan(sub, &none, NULL), ZL_ENODATA);
    CHECK(pool_mappings() > 0);
    CHECK(test_msg_valid(loans[LOANS - 1]));
    CHECK(test_mapped_from(loans[LOANS - 1], fragment));
    CHECK_OK(zl_subscription_return_loan(sub, loans[LOANS - 1]));
    CHECK_RC(zl_subscription_take_loan(sub, &none, NULL), ZL_ENODATA);
    CHECK_EQ(pool_mappings(), 0);

    /* Returned by other threads while the next publishers come and go. */
    pthread_t threads[RETURNERS];
    for (int i = 0; i < RETURNERS; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, returner, (void *)(intptr_t)i), 0);
    for (uint64_t round = 2; round < 2 + ROUNDS; round++) {
        int id = (int)(round % RETURNERS);
        /* The returner's mailbox is empty before we fill it again (it
         * returns each loan right after it takes it out): held at most are
         * the last round's loans, one in each returner's hand and this
         * round's, within the loan limit of 4 * LOANS. */
        int64_t deadline = test_now_ns() + 30000000000LL;
        for (int k = 0; k < LOANS; k++)
            while (atomic_load(&mailbox[id][k]) != NULL) {
                CHECK(test_now_ns() < deadline);
                sched_yield();
            }
        take_from_departed(context, topic, round, loans);
        for (int k = 0; k < LOANS; k++)
            atomic_store(&mailbox[id][k], loans[k]);
    }
    atomic_store(&finished, true);
    for (int i = 0; i < RETURNERS; i++)
        CHECK_EQ(pthread_join(threads[i], NULL), 0);
    /* A returner may have looked at its mailbox just before the last
     * hand-off and seen `finished` just after: return what is left. */
    for (int i = 0; i < RETURNERS; i++)
        for (int k = 0; k < LOANS; k++) {
            const void *loan = atomic_exchange(&mailbox[i][k], NULL);
            if (loan == NULL)
                continue;
            CHECK(test_msg_valid(loan));
            CHECK_OK(zl_subscription_return_loan(sub, loan));
            atomic_fetch_add(&returned_by_threads, 1);
        }
    CHECK_EQ(atomic_load(&returned_by_threads), (long)ROUNDS * LOANS);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK_EQ(stats.loans_held, 0);
    /* The next take lets the last retired segments go. */
    CHECK_RC(zl_subscription_take_loan(sub, &none, NULL), ZL_ENODATA);
    CHECK_EQ(pool_mappings(), 0);
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_EQ(test_count_shm(fragment), 0);
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
