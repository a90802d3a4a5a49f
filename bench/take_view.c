/* The C figure beside bench/python_take.py: the cost of taking one loaned
 * message, reading one byte of it and returning it, per message, in one
 * process (a publisher and a subscription of `size`-byte messages; each
 * round publishes one message untimed, then times take -> read -> return).
 *
 *   zloan_bench_take_view SIZE ROUNDS
 *
 * Prints "median_ns p90_ns p99_ns" (the clock reads are included, ~20 ns).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <zloan/zloan.h>

#include "small.h"


int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SIZE ROUNDS\n", argv[0]);
        return 2;
    }
    size_t size = (size_t)strtoull(argv[1], NULL, 10);
    long rounds = strtol(argv[2], NULL, 10);
    char name[64], topic[64];
    snprintf(name, sizeof name, "blob_%zu", size);
    snprintf(topic, sizeof topic, "/bench/take_view_c_%d", (int)getpid());
    /* The same pool and queue as the Python side (python_take.py). */
    zl_type type = {.name = name, .size = size, .alignment = 8, .plain = true};
    zl_publisher_options publisher_options;
    zl_publisher_options_init(&publisher_options);
    publisher_options.max_subscriptions = 1;
    publisher_options.chunks_per_subscription = 5;
    zl_subscription_options subscription_options;
    zl_subscription_options_init(&subscription_options);
    subscription_options.depth = 2;
    subscription_options.max_loans = 2;
    zl_context *ctx;
    zl_publisher *pub;
    zl_subscription *sub;
    MUST(zl_context_create(NULL, &ctx));
    MUST(zl_publisher_create(ctx, topic, &type, &publisher_options, &pub));
    MUST(zl_subscription_create(ctx, topic, &type, &subscription_options, &sub));
    int64_t *samples = malloc(sizeof(int64_t) * (size_t)rounds);
    volatile unsigned char sink = 0;
    for (long i = 0; i < rounds && samples != NULL; i++) {
        void *loan;
        MUST(zl_publisher_loan(pub, &loan));
        ((unsigned char *)loan)[0] = (unsigned char)i;
        MUST(zl_publisher_publish_loan(pub, loan));
        const void *message;
        int64_t start = small_now_ns();
        MUST(zl_subscription_take_loan(sub, &message, NULL));
        sink = *(const unsigned char *)message;
        MUST(zl_subscription_return_loan(sub, message));
        samples[i] = small_now_ns() - start;
    }
    (void)sink;
    qsort(samples, (size_t)rounds, sizeof(int64_t), small_compare_i64);
    printf("%lld %lld %lld\n", (long long)samples[rounds / 2], (long long)samples[rounds * 9 / 10],
           (long long)samples[rounds * 99 / 100]);
    free(samples);
    zl_subscription_destroy(sub);
    zl_publisher_destroy(pub);
    zl_context_destroy(ctx);
    return 0;
}
