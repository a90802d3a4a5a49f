/* Wake-ups across processes: a futex word per subscription queue.
 *
 * Protocol (an event count with a sleepers flag, as in ck_ec):
 *   waiter:    e = load(wake); fetch_add(sleepers, 1); fence(seq_cst);
 *              if (nothing ready) futex_wait(&wake, e); fetch_sub(sleepers, 1)
 *              (the word is read first: see below and waitset.c)
 *   publisher: deliver (store tail, release); fence(seq_cst);
 *              if (load(sleepers) != 0) { fetch_add(wake, 1); futex_wake(&wake) }
 * The two seq_cst fences make the pair (tail store, sleepers load) and
 * (sleepers increment, readiness check) a store-buffer test: at least one side
 * sees the other's store. Either the waiter sees the message and does not
 * sleep, or the publisher sees the sleeper and bumps wake, so futex_wait with
 * the old value e returns at once. A publisher that finds no sleeper makes no
 * system call (I4). Spurious wake-ups are possible and harmless: the waiter
 * re-checks readiness.
 *
 * The same pair runs the other way for lossless subscriptions: a publisher
 * waiting for room sets the connection's publisher_sleeping flag and sleeps
 * on publisher_wake; the subscription, after it took or returned, fences and
 * calls zl__notify_room on those two words (publisher/lossless.c P6,
 * subscription/subscription.h S6). Only one thread (the publisher's) ever
 * sleeps there, so the flag can be taken down by the waker: the takes that
 * follow the first make no system call while the publisher is on its way
 * back.
 */
#ifndef ZL_SHM_NOTIFY_H
#define ZL_SHM_NOTIFY_H

#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../atomic.h"

/* The word lives in shared memory mapped by several processes, so the
 * futex calls must not use FUTEX_PRIVATE_FLAG. */
static inline void zl__notify_wake_all(zl__atomic_u32 *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* After a delivery (the caller issued the seq_cst fence): wakes sleepers. */
static inline void zl__notify_after_deliver(zl__atomic_u32 *wake, zl__atomic_u32 *sleepers)
{
    /* Relaxed: the seq_cst fence before this load (after the tail store)
     * is what orders it; see the protocol above. */
    if (zl__load_relaxed(sleepers) != 0) {
        /* Release: a waiter that sees the new wake value also sees the
         * delivery (pairs with its acquire load of wake). */
        zl__fetch_add_release(wake, 1);
        zl__notify_wake_all(wake);
    }
}

/* Lossless, after a take or a return (the caller issued the seq_cst fence):
 * wakes the publisher waiting for room, once per sleep. */
static inline void zl__notify_room(zl__atomic_u32 *wake, zl__atomic_u32 *sleeping)
{
    /* Relaxed load and exchange: the seq_cst fence before them orders the
     * load after our head or tail store (the store-buffer pair above); the
     * exchange only decides which of several wakers calls the kernel. */
    if (zl__load_relaxed(sleeping) != 0 &&
        atomic_exchange_explicit(sleeping, 0, memory_order_relaxed) != 0) {
        /* Release: a publisher that sees the new wake value also sees what
         * we moved (pairs with its acquire load of the word). */
        zl__fetch_add_release(wake, 1);
        zl__notify_wake_all(wake);
    }
}

#endif
