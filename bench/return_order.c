/* The cost of giving N loans back by the order they come back in, in one
 * process on the shared-memory transport: as taken, reversed, and shuffled
 * (a fixed permutation). Eight cases, interleaved round by round:
 *
 *   batch-as-taken, batch-reversed, batch-shuffled
 *       one zl_subscription_return_loans of the N loans one
 *       zl_subscription_take_loan_sequence took;
 *   single-as-taken, single-reversed, single-shuffled
 *       N zl_subscription_return_loan calls, after N single takes;
 *   publisher-as-lent, publisher-reversed
 *       N zl_publisher_return_loan calls, after N zl_publisher_loan.
 *
 * Each round lends N loans untimed, then times the returns, all N.
 *
 *   zloan_bench_return_order N ROUNDS      (N: 1..1024 loans)
 *
 * Prints, per case, "case N median_us p90_us max_us" over the rounds.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <zloan/zloan.h>

#include "small.h"

#define LOANS_MAX 1024
#define ROUNDS_MAX 10000

typedef struct sample {
    uint64_t value[8];
} sample;

static const zl_type sample_type = ZL_TYPE_PLAIN(sample);


enum { AS_TAKEN, REVERSED, SHUFFLED };

typedef struct bench_case {
    const char *name;
    int order;
    enum { BATCH, SINGLE, PUBLISHER } how;
} bench_case;

static const bench_case cases[] = {
    {"batch-as-taken", AS_TAKEN, BATCH},   {"batch-reversed", REVERSED, BATCH},
    {"batch-shuffled", SHUFFLED, BATCH},   {"single-as-taken", AS_TAKEN, SINGLE},
    {"single-reversed", REVERSED, SINGLE}, {"single-shuffled", SHUFFLED, SINGLE},
    {"publisher-as-lent", AS_TAKEN, PUBLISHER}, {"publisher-reversed", REVERSED, PUBLISHER},
};
#define CASES (sizeof cases / sizeof cases[0])

/* The place of loan i of n in the order given back, for each order. The
 * shuffle is i * step mod n, step the first of 7, 11, 13, ... prime to n. */
static size_t place(int order, size_t i, size_t n, size_t step)
{
    switch (order) {
    case REVERSED:
        return n - 1 - i;
    case SHUFFLED:
        return i * step % n;
    default:
        return i;
    }
}

static size_t gcd(size_t a, size_t b)
{
    while (b != 0) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int main(int argc, char **argv)
{
    long n_arg = argc > 1 ? atol(argv[1]) : 1024;
    long rounds_arg = argc > 2 ? atol(argv[2]) : 200;
    if (argc > 3 || n_arg < 1 || n_arg > LOANS_MAX || rounds_arg < 1 || rounds_arg > ROUNDS_MAX) {
        fprintf(stderr, "usage: zloan_bench_return_order N ROUNDS (N 1..%d, ROUNDS 1..%d)\n",
                LOANS_MAX, ROUNDS_MAX);
        return 2;
    }
    size_t n = (size_t)n_arg, rounds = (size_t)rounds_arg;
    size_t step = 7;
    while (gcd(step, n) != 1)
        step += 2;
    char topic[64];
    snprintf(topic, sizeof topic, "bench/return_order/p%ld", (long)getpid());
    zl_context *context;
    MUST(zl_context_create(NULL, &context));
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = (uint32_t)n;
    sopts.max_loans = (uint32_t)n;
    zl_subscription *sub;
    MUST(zl_subscription_create(context, topic, &sample_type, &sopts, &sub));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.chunks_per_subscription = (uint32_t)(3 * n + 8); /* the whole depth beside the loans */
    popts.max_loans = (uint32_t)n;
    zl_publisher *pub;
    MUST(zl_publisher_create(context, topic, &sample_type, &popts, &pub));

    static const void *loans[LOANS_MAX], *back[LOANS_MAX];
    static void *lent[LOANS_MAX];
    static int64_t took[CASES][ROUNDS_MAX];
    for (size_t r = 0; r < rounds; r++) {
        for (size_t c = 0; c < CASES; c++) {
            const bench_case *bc = &cases[c];
            if (bc->how == PUBLISHER) {
                for (size_t i = 0; i < n; i++)
                    MUST(zl_publisher_loan(pub, &lent[i]));
                int64_t start = small_now_ns();
                for (size_t i = 0; i < n; i++)
                    MUST(zl_publisher_return_loan(pub, lent[place(bc->order, i, n, step)]));
                took[c][r] = small_now_ns() - start;
                continue;
            }
            for (size_t i = 0; i < n; i++) {
                sample m = {{i}};
                MUST(zl_publisher_publish(pub, &m));
            }
            if (bc->how == BATCH) {
                size_t taken = 0;
                MUST(zl_subscription_take_loan_sequence(sub, loans, NULL, n, &taken));
                if (taken != n) {
                    fprintf(stderr, "took %zu of %zu\n", taken, n);
                    return 1;
                }
            } else {
                for (size_t i = 0; i < n; i++)
                    MUST(zl_subscription_take_loan(sub, &loans[i], NULL));
            }
            for (size_t i = 0; i < n; i++)
                back[place(bc->order, i, n, step)] = loans[i];
            int64_t start = small_now_ns();
            if (bc->how == BATCH) {
                size_t returned = 0;
                MUST(zl_subscription_return_loans(sub, back, n, &returned));
                if (returned != n) {
                    fprintf(stderr, "returned %zu of %zu\n", returned, n);
                    return 1;
                }
            } else {
                for (size_t i = 0; i < n; i++)
                    MUST(zl_subscription_return_loan(sub, back[i]));
            }
            took[c][r] = small_now_ns() - start;
        }
    }
    for (size_t c = 0; c < CASES; c++) {
        qsort(took[c], rounds, sizeof took[c][0], small_compare_i64);
        printf("%s %zu %.1f %.1f %.1f\n", cases[c].name, n, (double)took[c][rounds / 2] / 1000.0,
               (double)took[c][rounds * 9 / 10] / 1000.0, (double)took[c][rounds - 1] / 1000.0);
    }
    MUST(zl_subscription_destroy(sub));
    MUST(zl_publisher_destroy(pub));
    MUST(zl_context_destroy(context));
    return 0;
}
