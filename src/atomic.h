/* Atomic operations with names that state their intent.
 *
 * Everything shared between threads or processes goes through these wrappers
 * so that each access names its memory order. The C11 <stdatomic.h> types are
 * used on shared memory too: on the platforms zloan supports (64-bit Linux)
 * 32- and 64-bit atomics are lock-free and address-free, which C11 requires
 * for use across processes (checked below).
 *
 * Each call site says what it publishes or observes and what it pairs with.
 */
#ifndef ZL_ATOMIC_H
#define ZL_ATOMIC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "zloan needs lock-free 32-bit atomics");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "zloan needs lock-free 64-bit atomics");

typedef _Atomic uint32_t zl__atomic_u32;
typedef _Atomic uint64_t zl__atomic_u64;

#define zl__load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define zl__load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define zl__store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define zl__store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define zl__exchange_acquire(p, v) atomic_exchange_explicit((p), (v), memory_order_acquire)
#define zl__fetch_add_release(p, v) atomic_fetch_add_explicit((p), (v), memory_order_release)
#define zl__fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define zl__fetch_sub_relaxed(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define zl__fetch_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define zl__fetch_sub_acq_rel(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
/* Compare-and-swap; on failure *expected receives the current value. */
#define zl__cas_acq_rel(p, expected, desired)                                       \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acq_rel, \
                                            memory_order_acquire)
#define zl__fence_seq_cst() atomic_thread_fence(memory_order_seq_cst)
#define zl__fence_acquire() atomic_thread_fence(memory_order_acquire)
#define zl__fence_release() atomic_thread_fence(memory_order_release)

#define ZL__CACHE_LINE 64

#endif
