/* The cost of one batched return (zl_subscription_return_loans) of N loans
 * by the order it gives them back in, in one process on the shared-memory
 * transport: as taken, reversed, and shuffled (a fixed permutation). Each
 * round publishes N messages and takes them in one sequence, untimed, then
 * times the one return; the orders interleave round by round.
 *
 *   zloan_bench_return_order N ROUNDS      (N: 1..1024 loans)
 *
 * Prints, per order, "order N median_us p90_us max_us" over the rounds.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <zloan/zloan.h>

#define LOANS_MAX 1024
#define ROUNDS_MAX 10000

typedef struct sample {
    uint64_t value[8];
} sample;

static const zl_type sample_type = ZL_TYPE_PLAIN(sample);

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

#define MUST(call)                                                                   \
    do {                                                                             \
        int must_rc_ = (call);                                                       \
        if (must_rc_ != 0) {                                                         \
            fprintf(stderr, "%s: %s (%s)\n", #call, zl_strerror(must_rc_),           \
                    zl_last_error_detail());                                         \
            exit(2);                                                                 \
        }                                                                            \
    } while (0)

enum { AS_TAKEN, REVERSED, SHUFFLED, ORDERS };
static const char *const order_names[ORDERS] = {"as-taken", "reversed", "shuffled"};

/* The place of loan i of n in the batch, for each order. The shuffle is
 * i * step mod n, step the first of 7, 11, 13, ... prime to n. */
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
    zl_publisher *pub;
    MUST(zl_publisher_create(context, topic, &sample_type, &popts, &pub));

    static const void *loans[LOANS_MAX], *batch[LOANS_MAX];
    static int64_t took[ORDERS][ROUNDS_MAX];
    for (size_t r = 0; r < rounds; r++) {
        for (int order = 0; order < ORDERS; order++) {
            for (size_t i = 0; i < n; i++) {
                sample m = {{i}};
                MUST(zl_publisher_publish(pub, &m));
            }
            size_t taken = 0;
            MUST(zl_subscription_take_loan_sequence(sub, loans, NULL, n, &taken));
            if (taken != n) {
                fprintf(stderr, "took %zu of %zu\n", taken, n);
                return 1;
            }
            for (size_t i = 0; i < n; i++)
                batch[place(order, i, n, step)] = loans[i];
            size_t returned = 0;
            int64_t start = now_ns();
            MUST(zl_subscription_return_loans(sub, batch, n, &returned));
            took[order][r] = now_ns() - start;
            if (returned != n) {
                fprintf(stderr, "returned %zu of %zu\n", returned, n);
                return 1;
            }
        }
    }
    for (int order = 0; order < ORDERS; order++) {
        qsort(took[order], rounds, sizeof took[order][0], compare);
        printf("%s %zu %.1f %.1f %.1f\n", order_names[order], n,
               (double)took[order][rounds / 2] / 1000.0,
               (double)took[order][rounds * 9 / 10] / 1000.0,
               (double)took[order][rounds - 1] / 1000.0);
    }
    MUST(zl_subscription_destroy(sub));
    MUST(zl_publisher_destroy(pub));
    MUST(zl_context_destroy(context));
    return 0;
}
