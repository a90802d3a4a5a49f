/* A publisher or subscription in its own process, for multi-process tests.
 *
 *   zloan_test_peer pub TOPIC TAG COUNT [--interval-us U] [--wait-subs S]
 *                       [--history H] [--linger-ms M] [--copy] [--budget B]
 *     waits (up to 10 s) until S subscriptions are connected, publishes COUNT
 *     test messages (loans, or copies with --copy), keeps serving for M ms
 *     (late joiners, returns), prints "published N" and exits 0.
 *
 *   zloan_test_peer sub TOPIC EXPECT [--timeout-ms T] [--depth D] [--history]
 *                       [--hold K] [--exact]
 *     takes loans until EXPECT messages arrived (with --exact: until
 *     received + lost reaches EXPECT) or the timeout; checks every message's
 *     contents and that sequences per publisher increase; holds the first K
 *     loans to the end and checks they did not change. Prints "received R
 *     lost L bad B" and exits 0 when B == 0 and R >= EXPECT (--exact:
 *     R + L == EXPECT), else 1.
 *
 * Exit code 2: a zloan call failed (the message says which).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "peer.h"

static long option(int argc, char **argv, const char *name, long fallback)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtol(argv[i + 1], NULL, 10);
    return fallback;
}

static bool flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

#define MUST(call)                                                                            \
    do {                                                                                      \
        int must_rc_ = (call);                                                                \
        if (must_rc_ != 0) {                                                                  \
            fprintf(stderr, "peer %d: %s: %s (%s)\n", (int)getpid(), #call,                   \
                    zl_strerror(must_rc_), zl_last_error_detail());                           \
            exit(2);                                                                          \
        }                                                                                     \
    } while (0)

static int run_publisher(int argc, char **argv)
{
    const char *topic = argv[2];
    uint64_t tag = strtoull(argv[3], NULL, 10);
    long count = strtol(argv[4], NULL, 10);
    long interval_us = option(argc, argv, "--interval-us", 0);
    long wait_subs = option(argc, argv, "--wait-subs", 0);
    long linger_ms = option(argc, argv, "--linger-ms", 0);
    bool copy = flag(argc, argv, "--copy");
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    options.history = (uint32_t)option(argc, argv, "--history", 0);
    options.chunks_per_subscription =
        (uint32_t)option(argc, argv, "--budget", options.chunks_per_subscription);
    zl_context *context;
    zl_publisher *publisher;
    MUST(zl_context_create(NULL, &context));
    MUST(zl_publisher_create(context, topic, &test_msg_type, &options, &publisher));
    int64_t deadline = test_now_ns() + 10000000000LL;
    zl_publisher_stats stats;
    for (;;) {
        MUST(zl_publisher_get_stats(publisher, &stats));
        if (stats.subscriptions >= (uint32_t)wait_subs)
            break;
        if (test_now_ns() > deadline) {
            fprintf(stderr, "peer pub: only %u of %ld subscriptions connected\n",
                    stats.subscriptions, wait_subs);
            return 1;
        }
        test_sleep_ms(1);
    }
    for (long i = 1; i <= count; i++) {
        if (copy) {
            test_msg m;
            test_msg_fill(&m, tag, (uint64_t)i);
            MUST(zl_publisher_publish(publisher, &m));
        } else {
            void *loan;
            MUST(zl_publisher_loan(publisher, &loan));
            test_msg_fill(loan, tag, (uint64_t)i);
            MUST(zl_publisher_publish_loan(publisher, loan));
        }
        if (interval_us > 0) {
            struct timespec ts = {interval_us / 1000000, (interval_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
    }
    int64_t linger_end = test_now_ns() + linger_ms * 1000000LL;
    while (test_now_ns() < linger_end) {
        MUST(zl_publisher_update_connections(publisher));
        test_sleep_ms(1);
    }
    printf("published %ld\n", count);
    fflush(stdout);
    MUST(zl_publisher_destroy(publisher));
    MUST(zl_context_destroy(context));
    return 0;
}

#define MAX_TAGS 16

static int run_subscription(int argc, char **argv)
{
    const char *topic = argv[2];
    long expect = strtol(argv[3], NULL, 10);
    long timeout_ms = option(argc, argv, "--timeout-ms", 10000);
    long hold = option(argc, argv, "--hold", 0);
    bool exact = flag(argc, argv, "--exact");
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.depth = (uint32_t)option(argc, argv, "--depth", 8);
    options.history = flag(argc, argv, "--history");
    if (hold + 1 > (long)options.max_loans)
        options.max_loans = (uint32_t)hold + 1;
    zl_context *context;
    zl_subscription *subscription;
    MUST(zl_context_create(NULL, &context));
    MUST(zl_subscription_create(context, topic, &test_msg_type, &options, &subscription));
    printf("ready\n");
    fflush(stdout);
    const void **held = calloc((size_t)hold + 1, sizeof *held);
    test_msg *copies = calloc((size_t)hold + 1, sizeof *copies);
    long held_count = 0;
    uint64_t last_sequence[MAX_TAGS] = {0};
    long received = 0, bad = 0;
    int64_t deadline = test_now_ns() + timeout_ms * 1000000LL;
    uint64_t lost = 0;
    while (received + (exact ? (long)lost : 0) < expect && test_now_ns() < deadline) {
        const void *loan;
        zl_message_info info;
        int rc = zl_subscription_take_loan(subscription, &loan, &info);
        if (rc == ZL_ENODATA) {
            zl_subscription_stats now;
            MUST(zl_subscription_get_stats(subscription, &now));
            lost = now.lost;
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
            continue;
        }
        MUST(rc);
        const test_msg *m = loan;
        received++;
        if (!test_msg_valid(m) || m->tag >= MAX_TAGS || m->sequence <= last_sequence[m->tag] ||
            info.publication_sequence != m->sequence) {
            fprintf(stderr, "peer sub: bad message tag %llu seq %llu (last %llu, info seq %llu)\n",
                    (unsigned long long)m->tag, (unsigned long long)m->sequence,
                    (unsigned long long)(m->tag < MAX_TAGS ? last_sequence[m->tag] : 0),
                    (unsigned long long)info.publication_sequence);
            bad++;
        } else {
            last_sequence[m->tag] = m->sequence;
        }
        if (held_count < hold) {
            held[held_count] = loan;
            memcpy(&copies[held_count], m, sizeof *m);
            held_count++;
        } else {
            MUST(zl_subscription_return_loan(subscription, loan));
        }
    }
    for (long i = 0; i < held_count; i++) {
        bool consistent = false;
        MUST(zl_subscription_is_consistent(subscription, held[i], &consistent));
        if (!consistent || memcmp(held[i], &copies[i], sizeof copies[i]) != 0) {
            fprintf(stderr, "peer sub: held loan %ld changed\n", i);
            bad++;
        }
        MUST(zl_subscription_return_loan(subscription, held[i]));
    }
    zl_subscription_stats stats;
    MUST(zl_subscription_get_stats(subscription, &stats));
    printf("received %ld lost %llu bad %ld\n", received, (unsigned long long)stats.lost, bad);
    fflush(stdout);
    free(held);
    free(copies);
    MUST(zl_subscription_destroy(subscription));
    MUST(zl_context_destroy(context));
    if (exact)
        return received + (long)stats.lost == expect && bad == 0 ? 0 : 1;
    return received >= expect && bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "pub") == 0)
        return run_publisher(argc, argv);
    if (argc >= 4 && strcmp(argv[1], "sub") == 0)
        return run_subscription(argc, argv);
    fprintf(stderr, "usage: see the comment at the top of tests/peer.c\n");
    return 2;
}
