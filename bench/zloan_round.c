/* One in-process round, loan -> publish -> take -> return, repeated: the
 * program bench/run.sh runs under callgrind with N and 2N rounds to count the
 * instructions of one round (the difference divided by N; setup and teardown
 * cancel out).
 *
 *   zloan_bench_round ROUNDS [fixed|sized|lossless]
 *
 * The message is 64 bytes; the round writes its first byte and reads it back,
 * so the count is zloan's bookkeeping, not the payload. fixed (the default):
 * a plain 64 B type; sized: a sized type (ZL_TYPE_SIZED) whose loans ask for
 * 56 tail bytes beside an 8-byte fixed part; lossless: the fixed type with a
 * ZL_LOSSLESS subscription. It also prints the
 * wall time of one round (the mean over all rounds, CLOCK_MONOTONIC), which
 * means something only outside valgrind.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zloan/zloan.h"

typedef struct payload {
    _Alignas(64) uint8_t bytes[64];
} payload;

static const zl_type payload_type = ZL_TYPE_PLAIN(payload);

typedef struct sized_payload {
    uint64_t head;
    uint8_t tail[];
} sized_payload;

static const zl_type sized_type = ZL_TYPE_SIZED(sized_payload, tail, 0);
#define SIZED_COUNT 56u

static void check_rc(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "zloan_bench_round: %s: %s (%s)\n", what, zl_strerror(rc),
                zl_last_error_detail());
        exit(3);
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc == 3 ? argv[2] : "fixed";
    bool sized = strcmp(mode, "sized") == 0, lossless = strcmp(mode, "lossless") == 0;
    if ((argc != 2 && argc != 3) || (!sized && !lossless && strcmp(mode, "fixed") != 0)) {
        fprintf(stderr, "usage: %s ROUNDS [fixed|sized|lossless]\n", argv[0]);
        return 2;
    }
    unsigned long rounds = strtoul(argv[1], NULL, 10);
    char topic[64];
    snprintf(topic, sizeof topic, "/zloan_bench/round_%s_%lu", mode, (unsigned long)rounds);
    const zl_type *type = sized ? &sized_type : &payload_type;
    size_t count = sized ? SIZED_COUNT : 0;
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    if (lossless)
        options.reliability = ZL_LOSSLESS;
    zl_context *context;
    zl_publisher *publisher;
    zl_subscription *subscription;
    check_rc(zl_context_create(NULL, &context), "zl_context_create");
    check_rc(zl_publisher_create(context, topic, type, NULL, &publisher),
             "zl_publisher_create");
    check_rc(zl_subscription_create(context, topic, type, &options, &subscription),
             "zl_subscription_create");
    /* The publisher connects the subscription inside its own calls: publish
     * until one message arrives, so every counted round delivers. */
    for (int tries = 0;; tries++) {
        void *out;
        check_rc(sized ? zl_publisher_loan_sized(publisher, count, &out)
                       : zl_publisher_loan(publisher, &out),
                 "zl_publisher_loan");
        check_rc(zl_publisher_publish_loan(publisher, out), "zl_publisher_publish_loan");
        const void *in;
        int rc = zl_subscription_take_loan(subscription, &in, NULL);
        if (rc == 0) {
            check_rc(zl_subscription_return_loan(subscription, in), "zl_subscription_return_loan");
            break;
        }
        if (rc != ZL_ENODATA || tries == 1000)
            check_rc(rc == 0 ? ZL_ENODATA : rc, "zl_subscription_take_loan (connecting)");
    }
    unsigned sum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < rounds; i++) {
        void *out;
        check_rc(sized ? zl_publisher_loan_sized(publisher, count, &out)
                       : zl_publisher_loan(publisher, &out),
                 "zl_publisher_loan");
        *(uint8_t *)out = (uint8_t)i;
        check_rc(zl_publisher_publish_loan(publisher, out), "zl_publisher_publish_loan");
        const void *in;
        check_rc(zl_subscription_take_loan(subscription, &in, NULL), "zl_subscription_take_loan");
        sum += *(const uint8_t *)in;
        check_rc(zl_subscription_return_loan(subscription, in), "zl_subscription_return_loan");
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    check_rc(zl_subscription_destroy(subscription), "zl_subscription_destroy");
    check_rc(zl_publisher_destroy(publisher), "zl_publisher_destroy");
    check_rc(zl_context_destroy(context), "zl_context_destroy");
    printf("rounds %lu checksum %u ns_per_round %.1f\n", rounds, sum,
           rounds ? ns / (double)rounds : 0.0);
    return 0;
}
