/* What the tests of loans given back in any order share (return_loans,
 * loan_order): the four setups they run on (the shared-memory transport
 * keep-last and lossless, the loopback transport, the refusal path's
 * allocator loans), the loan counts of the statistics, and the end of a
 * case: every chunk back in the publisher's pool, then everything
 * destroyed. */
#ifndef ZL_TEST_LOAN_CASES_H
#define ZL_TEST_LOAN_CASES_H

#include "harness.h"

typedef struct setup {
    const char *name;
    const char *transports;
    bool lossless;
    bool disable_loans;
} setup;

/* Runs check on each setup in turn, naming it on stderr first. */
static inline void run_loan_cases(void (*check)(const setup *))
{
    static const setup cases[] = {
        {"shm keep-last", "shm", false, false},
        {"shm lossless", "shm", true, false},
        {"loopback", "loopback", false, false},
        {"shm refusal path", "shm", false, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fprintf(stderr, "case %s\n", cases[i].name);
        check(&cases[i]);
    }
}

static inline uint32_t sub_loans_held(zl_subscription *sub)
{
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    return stats.loans_held;
}

static inline uint32_t pub_loans_held(zl_publisher *pub)
{
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    return stats.loans_held;
}

/* The start of a case: its context, and in *sopts a subscription's options
 * for `loans` loans, a queue of twice as many, the case's reliability and
 * loans. */
static inline zl_context *begin_loan_case(const setup *c, zl_subscription_options *sopts,
                                          uint32_t loans)
{
    zl_context_options coptions;
    zl_context_options_init(&coptions);
    coptions.transports = c->transports;
    zl_context *context;
    CHECK_OK(zl_context_create(&coptions, &context));
    zl_subscription_options_init(sopts);
    sopts->depth = 2 * loans;
    sopts->max_loans = loans;
    sopts->reliability = c->lossless ? ZL_LOSSLESS : ZL_KEEP_LAST;
    sopts->disable_loans = c->disable_loans;
    return context;
}

/* The end of a case: the publisher has its whole pool back once it drained
 * the returns, then sub, pub and context are destroyed. */
static inline void end_loan_case(zl_context *context, zl_publisher *pub, zl_subscription *sub)
{
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_update_connections(pub));
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_free, stats.chunks_total);
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
}

#endif
