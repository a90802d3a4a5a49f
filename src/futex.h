/* Internal: the futex system calls, for waiting on several words at once
 * (futex_waitv, Linux >= 5.16) and waking them. Words in shared memory use
 * shared futexes; words in process memory (guard conditions) private ones. */
#ifndef ZL_FUTEX_H
#define ZL_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

typedef struct futex_waitv zl__futex_waiter;

static inline void zl__futex_waiter_set(zl__futex_waiter *w, zl__atomic_u32 *word, uint32_t expected,
                                        int shared)
{
    w->val = expected;
    w->uaddr = (uint64_t)(uintptr_t)word;
    w->flags = FUTEX_32 | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    w->__reserved = 0;
}

/* Sleeps until one word differs from its expected value, a wake-up, or the
 * absolute CLOCK_MONOTONIC deadline (NULL: none). Returns 0 when woken or a
 * value differed, ETIMEDOUT, EINTR, or another errno. */
static inline int zl__futex_waitv(zl__futex_waiter *waiters, unsigned count,
                                  const struct timespec *deadline)
{
    long rc = syscall(SYS_futex_waitv, waiters, count, 0, deadline, CLOCK_MONOTONIC);
    if (rc >= 0)
        return 0;
    return errno == EAGAIN ? 0 : errno;
}

static inline void zl__futex_wake_private(zl__atomic_u32 *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Sleeps on one private word until it differs from expected, a wake-up or
 * the absolute CLOCK_MONOTONIC deadline. */
static inline void zl__futex_wait_private_until(zl__atomic_u32 *word, uint32_t expected,
                                                const struct timespec *deadline)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET_PRIVATE, expected, deadline, NULL,
            FUTEX_BITSET_MATCH_ANY);
}

#endif
