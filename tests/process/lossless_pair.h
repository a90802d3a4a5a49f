/* What the lossless process tests (lossless_exact.c, batch_lossless.c)
 * share: a lossless and a keep-last subscription, each in its own child
 * process, both created before the publisher (the pipe handshake), that
 * check every message they take against the one they expect and, at the
 * end, their statistics against what they received.
 *
 * A test defines the subscriber itself (how it takes), built from these. */
#ifndef ZLOAN_TEST_LOSSLESS_PAIR_H
#define ZLOAN_TEST_LOSSLESS_PAIR_H

#include "harness.h"
#include "peer.h"

/* A subscription of topic (depth, max_loans 0: the default) and a wait set
 * holding it, in a new context. */
static inline void pair_open(const char *topic, bool lossless, uint32_t depth, uint32_t max_loans,
                             zl_context **context, zl_subscription **sub, zl_waitset **ws)
{
    CHECK_OK(zl_context_create(NULL, context));
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = depth;
    if (max_loans != 0)
        sopts.max_loans = max_loans;
    sopts.reliability = lossless ? ZL_LOSSLESS : ZL_KEEP_LAST;
    CHECK_OK(zl_subscription_create(*context, topic, &test_msg_type, &sopts, sub));
    CHECK_OK(zl_waitset_create(*context, 1, ws));
    CHECK_OK(zl_waitset_attach_subscription(*ws, *sub, NULL));
}

/* Nothing to take: wait for more (a timeout is not a failure: look again). */
static inline void pair_wait(zl_waitset *ws)
{
    int w = zl_waitset_wait(ws, 10 * 1000000000LL, NULL);
    CHECK(w == 0 || w == ZL_ETIMEOUT);
}

/* Checks message m: intact, and exactly the next one (lossless) or a later
 * one (keep-last, some lost); counts it. */
static inline void pair_check(const void *m, bool lossless, uint64_t *expected, uint64_t *received)
{
    const test_msg *msg = m;
    CHECK(test_msg_valid(msg));
    if (lossless)
        CHECK_EQ(msg->sequence, *expected); /* exactly the next one */
    else
        CHECK(msg->sequence >= *expected); /* in order, some lost */
    *expected = msg->sequence + 1;
    (*received)++;
}

/* Sleeps at random: now and then, a little (the keep-last one more). */
static inline void pair_dawdle(bool lossless, unsigned *seed)
{
    int r = rand_r(seed) % 1000;
    if (r < (lossless ? 2 : 8))
        test_sleep_ms(1 + rand_r(seed) % 3);
}

/* The end of a subscriber: its statistics against what it received out of
 * `messages` (lossless: all of them, none lost; keep-last: every one
 * received or counted lost), then everything destroyed, and the child
 * exits. */
static inline void pair_finish(zl_context *context, zl_subscription *sub, zl_waitset *ws,
                               bool lossless, uint64_t received, uint64_t messages)
{
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK_EQ(stats.received, received);
    if (lossless) {
        CHECK_EQ(received, messages);
        CHECK_EQ(stats.lost, 0);
    } else {
        CHECK_EQ(received + stats.lost, messages);
    }
    printf("%s subscription: received %llu, lost %llu, held the publisher back %llu times\n",
           lossless ? "lossless" : "keep-last", (unsigned long long)received,
           (unsigned long long)stats.lost, (unsigned long long)stats.held_back);
    fflush(stdout);
    CHECK_OK(zl_waitset_destroy(ws));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    _exit(0);
}

/* Forks the two subscribers (children[0] lossless, children[1] keep-last),
 * each running subscriber(topic, lossless, ready_fd), and returns once both
 * have said they are ready. */
static inline void pair_fork(const char *topic, pid_t children[2],
                             void (*subscriber)(const char *topic, bool lossless, int ready_fd))
{
    for (int i = 0; i < 2; i++) {
        int fds[2];
        CHECK(pipe(fds) == 0);
        children[i] = fork();
        CHECK(children[i] >= 0);
        if (children[i] == 0) {
            close(fds[0]);
            subscriber(topic, i == 0, fds[1]);
        }
        close(fds[1]);
        char byte;
        CHECK(read(fds[0], &byte, 1) == 1);
        close(fds[0]);
    }
}

static inline void pair_wait_children(pid_t children[2])
{
    for (int i = 0; i < 2; i++)
        test_wait_child_ok(children[i], i == 0 ? "lossless subscription" : "keep-last subscription");
}

#endif
