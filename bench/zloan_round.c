/* One in-process round, loan -> publish -> take -> return, repeated: the
 * program bench/run.sh runs under callgrind with N and 2N rounds to count the
 * instructions of one round (the difference divided by N; setup and teardown
 * cancel out), and of each of the four calls (callgrind's inclusive cost of
 * the public function, the same difference).
 *
 *   zloan_bench_round ROUNDS [fixed|sized|lossless]
 *
 * Modes (fixed when none is given):
 *   fixed     a plain 64-byte type: zl_publisher_loan, zl_publisher_publish_loan,
 *             zl_subscription_take_loan, zl_subscription_return_loan;
 *   sized     a sized type (an 8-byte fixed part and a tail of bytes), each
 *             loan asked for 56 elements (64 bytes in all) with
 *             zl_publisher_loan_sized and published whole with
 *             zl_publisher_publish_loan_sized; the take asks for the
 *             message info, since a subscription of a sized type needs the
 *             count it carries;
 *   lossless  the fixed type with a ZL_LOSSLESS subscription (the queue never
 *             fills: one message in flight).
 *
 * The round writes the message's first byte and reads it back, so the count
 * is zloan's bookkeeping, not the payload. It also prints the wall time of
 * one round (the mean over all rounds, CLOCK_MONOTONIC), which means
 * something only outside valgrind.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
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
    uint64_t sequence;
    uint8_t bytes[];
} sized_payload;

#define SIZED_COUNT 56u /* 8 + 56 = 64 bytes, as the fixed type */

static const zl_type sized_type = ZL_TYPE_SIZED(sized_payload, bytes, 4096);

enum mode { MODE_FIXED, MODE_SIZED, MODE_LOSSLESS };

static void check_rc(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "zloan_bench_round: %s: %s (%s)\n", what, zl_strerror(rc),
                zl_last_error_detail());
        exit(3);
    }
}

/* One loan -> publish -> take -> return, as the mode makes it. Returns the
 * first byte read back (0 and *took false when nothing arrived). */
static unsigned round_trip(enum mode mode, zl_publisher *publisher, zl_subscription *subscription,
                           uint8_t value, int *take_rc)
{
    void *out;
    const void *in;
    if (mode == MODE_SIZED) {
        check_rc(zl_publisher_loan_sized(publisher, SIZED_COUNT, &out), "zl_publisher_loan_sized");
        ((sized_payload *)out)->bytes[0] = value;
        check_rc(zl_publisher_publish_loan_sized(publisher, out, SIZED_COUNT),
                 "zl_publisher_publish_loan_sized");
        zl_message_info info;
        *take_rc = zl_subscription_take_loan(subscription, &in, &info);
        if (*take_rc != 0)
            return 0;
        unsigned read = ((const sized_payload *)in)->bytes[0];
        if (info.count != SIZED_COUNT) {
            fprintf(stderr, "zloan_bench_round: %zu elements received, %u sent\n",
                    (size_t)info.count, SIZED_COUNT);
            exit(3);
        }
        check_rc(zl_subscription_return_loan(subscription, in), "zl_subscription_return_loan");
        return read;
    }
    check_rc(zl_publisher_loan(publisher, &out), "zl_publisher_loan");
    ((payload *)out)->bytes[0] = value;
    check_rc(zl_publisher_publish_loan(publisher, out), "zl_publisher_publish_loan");
    *take_rc = zl_subscription_take_loan(subscription, &in, NULL);
    if (*take_rc != 0)
        return 0;
    unsigned read = ((const payload *)in)->bytes[0];
    check_rc(zl_subscription_return_loan(subscription, in), "zl_subscription_return_loan");
    return read;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s ROUNDS [fixed|sized|lossless]\n", argv[0]);
        return 2;
    }
    unsigned long rounds = strtoul(argv[1], NULL, 10);
    const char *mode_name = argc == 3 ? argv[2] : "fixed";
    enum mode mode;
    if (strcmp(mode_name, "fixed") == 0)
        mode = MODE_FIXED;
    else if (strcmp(mode_name, "sized") == 0)
        mode = MODE_SIZED;
    else if (strcmp(mode_name, "lossless") == 0)
        mode = MODE_LOSSLESS;
    else {
        fprintf(stderr, "usage: %s ROUNDS [fixed|sized|lossless]\n", argv[0]);
        return 2;
    }
    char topic[64];
    snprintf(topic, sizeof topic, "/zloan_bench/round_%s_%lu", mode_name, rounds);
    const zl_type *type = mode == MODE_SIZED ? &sized_type : &payload_type;
    zl_subscription_options sub_options;
    zl_subscription_options_init(&sub_options);
    if (mode == MODE_LOSSLESS)
        sub_options.reliability = ZL_LOSSLESS;
    zl_context *context;
    zl_publisher *publisher;
    zl_subscription *subscription;
    check_rc(zl_context_create(NULL, &context), "zl_context_create");
    check_rc(zl_publisher_create(context, topic, type, NULL, &publisher), "zl_publisher_create");
    check_rc(zl_subscription_create(context, topic, type, &sub_options, &subscription),
             "zl_subscription_create");
    /* The publisher connects the subscription inside its own calls: publish
     * until one message arrives, so every counted round delivers. */
    for (int tries = 0;; tries++) {
        int rc;
        round_trip(mode, publisher, subscription, 0, &rc);
        if (rc == 0)
            break;
        if (rc != ZL_ENODATA || tries == 1000)
            check_rc(rc == 0 ? ZL_ENODATA : rc, "zl_subscription_take_loan (connecting)");
    }
    unsigned sum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < rounds; i++) {
        int rc;
        sum += round_trip(mode, publisher, subscription, (uint8_t)i, &rc);
        check_rc(rc, "zl_subscription_take_loan");
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    check_rc(zl_subscription_destroy(subscription), "zl_subscription_destroy");
    check_rc(zl_publisher_destroy(publisher), "zl_publisher_destroy");
    check_rc(zl_context_destroy(context), "zl_context_destroy");
    printf("rounds %lu mode %s checksum %u ns_per_round %.1f\n", rounds, mode_name, sum,
           rounds ? ns / (double)rounds : 0.0);
    fflush(stdout); /* before exit, in case anything after hangs */
    return 0;
}
