/* Internal: the subscription object as the three files of the client
 * library's subscription share it.
 *   subscription.c       create, destroy, statistics, what wait sets and
 *                        executors need
 *   subscription_loan.c  take and return of loans (the hot path)
 *   subscription_copy.c  takes into the user's memory, and the refusal
 *                        path's allocator loans
 *
 * Invariants
 *   C6. loans_held counts the user's loans of either kind (the transport's
 *       and the allocator's), at most max_loans: incremented by the owner
 *       thread when it lends one, decremented (release) by whichever thread
 *       returns it, as the last access of that return (destroy may free the
 *       subscription right after). LOANS_WAITER, its top bit, is set while
 *       the owner sleeps until a loan comes back; a returner that sees it
 *       wakes the word.
 *   C7. Every message taken from the transport is either the user's
 *       (counted in reception_sequence) or lost (counted in rejected): a
 *       payload whose size does not fit the type (I3: a peer wrote it) or
 *       that cannot be deserialized goes straight back to the transport.
 *   C8. An allocator loan (refusal path) is an entry of `allocated`: the
 *       owner claims a free one (0 -> address, release, after its size),
 *       any returner frees it (address -> 0, CAS): exactly one return wins.
 */
#ifndef ZL_SUBSCRIPTION_OBJECT_H
#define ZL_SUBSCRIPTION_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/subscription.h"

#include "atomic.h"
#include "context.h"
#include "error_detail.h"
#include "futex.h"
#include "mw.h"

struct zl_subscription {
    zl_context *context;
    const zl__mw_ops *mw;
    zl__mw_subscription *impl;
    zl__topic_place place; /* among the context's transports */
    zl_type type;
    char type_name[ZL_TYPE_NAME_MAX];
    bool can_loan;  /* take_loan lends the transport's memory (else the allocator's) */
    bool zero_copy; /* ... and that memory is the publisher's: the transport lends */
    uint32_t max_loans;
    /* C6; also a private futex word (zl__subscription_loans_wait_begin). */
    zl__atomic_u32 loans_held;
    /* C8: allocator loans; allocated_bytes[i] is written before the
     * address is published. */
    _Atomic(uintptr_t) *allocated;
    size_t *allocated_bytes;
    bool sized;
    uint64_t reception_sequence;
    /* Wait-set entries (executors' included) that name this subscription. */
    zl__atomic_u32 attachments;
    /* C7: messages taken from the transport and dropped. Owner thread. */
    uint64_t rejected;
};

/* The bit of loans_held that says a waiter sleeps on it; the count is the
 * rest (at most 1024). */
#define ZL__LOANS_WAITER 0x80000000u

static inline uint32_t zl__loans_of(uint32_t loans_held)
{
    return loans_held & ~ZL__LOANS_WAITER;
}

static inline void zl__subscription_free_message(zl_subscription *s, void *message, size_t bytes)
{
    if (!s->type.plain && s->type.fini != NULL)
        s->type.fini(message, &s->context->allocator);
    zl__context_deallocate(s->context, message, bytes, s->type.alignment);
}

/* Counts a loan the user gave back (C6). The decrement is the last access
 * to the subscription by a returner on another thread (destroy may free it
 * right after): the wake-up only names the word's address. */
static inline void zl__subscription_loans_returned(zl_subscription *s, uint32_t n)
{
    /* Release: pairs with the acquire load in zl_subscription_destroy. The
     * read-modify-write is ordered with the waiter's setting LOANS_WAITER
     * (both change the same word): either we see the bit and wake, or the
     * waiter's futex sees the count changed and does not sleep. */
    uint32_t before = atomic_fetch_sub_explicit(&s->loans_held, n, memory_order_release);
    if (before & ZL__LOANS_WAITER)
        /* Waking a private futex reads no memory; if the subscription was
         * freed meanwhile, the worst is a spurious wake-up elsewhere. */
        zl__futex_wake_private(&s->loans_held);
}

/* The failure of zl__subscription_check_size, out of the way of the take
 * path (subscription_loan.c). */
__attribute__((cold, noinline)) int zl__subscription_size_refused(const zl_subscription *s,
                                                                  size_t size);

/* Checks the size of a payload the transport handed us against the type
 * (I3: a peer wrote it) and fills info's size and count. Inline: on every
 * take; a fixed-size type's check is one comparison. */
static inline int zl__subscription_check_size(const zl_subscription *s, size_t size,
                                              zl_message_info *info)
{
    size_t count = 0;
    if (s->sized) {
        size_t tail = size - s->type.size;
        if (size < s->type.size || tail % s->type.element_size != 0 ||
            (s->type.max_count != 0 && tail / s->type.element_size > s->type.max_count))
            return zl__subscription_size_refused(s, size);
        count = tail / s->type.element_size;
    } else if (s->type.plain && size != s->type.size) {
        return zl__subscription_size_refused(s, size);
    }
    if (info != NULL) {
        info->size = size;
        info->count = count;
    }
    return 0;
}

/* Takes one payload from the transport whose size fits the type: 0 with
 * *payload and *size (info's size and count filled), or the transport's
 * error; a payload that fails the check goes back, lost (C7). Inline: the
 * take's path. */
static inline int zl__subscription_take_checked(zl_subscription *s, const void **payload,
                                                size_t *size, zl_message_info *info)
{
    int rc = s->mw->subscription_take_loan(s->impl, payload, size, info);
    if (rc != 0)
        return rc;
    rc = zl__subscription_check_size(s, *size, info);
    if (rc != 0) {
        s->mw->subscription_return_loan(s->impl, *payload);
        s->rejected++;
    }
    return rc;
}

/* C7: one more message is the user's. */
static inline void zl__subscription_count_reception(zl_subscription *s, zl_message_info *info)
{
    ++s->reception_sequence;
    if (info != NULL)
        info->reception_sequence = s->reception_sequence;
}

static inline void zl__subscription_loan_returned(zl_subscription *s)
{
    zl__subscription_loans_returned(s, 1);
}

/* subscription_copy.c: the refusal path's take_loan (C8), return (0, or
 * ZL_ENOTLOAN with a detail), return of a batch (all or none: ZL_EINVAL
 * for a loan twice, ZL_ENOTLOAN) and is_consistent. */
int zl__subscription_take_allocated(zl_subscription *s, const void **message,
                                    zl_message_info *info);
int zl__subscription_return_allocated(zl_subscription *s, const void *message);
int zl__subscription_return_allocated_batch(zl_subscription *s, const void *const *messages,
                                            size_t count, size_t *returned);
int zl__subscription_allocated_consistent(zl_subscription *s, const void *message,
                                          bool *consistent);

#endif
