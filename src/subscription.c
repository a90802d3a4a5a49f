/* Subscriptions: loans from the transport, or copies into the allocator's
 * memory when the subscription cannot lend (the refusal path). */
#include <string.h>

#include "zloan/error.h"
#include "zloan/subscription.h"

#include "context.h"
#include "error_detail.h"
#include "futex.h"
#include "subscription.h"

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
    /* The user's loans of either kind; returns may come from any thread.
     * Also a private futex word: LOANS_WAITER is set while an executor
     * sleeps until a loan comes back (zl__subscription_loans_wait_begin). */
    zl__atomic_u32 loans_held;
    /* Allocator loans (refusal path): the owner thread claims a free entry
     * (0 -> address), any returner frees it (address -> 0), each by CAS;
     * allocated_bytes[i] is written before the address is published. */
    _Atomic(uintptr_t) *allocated;
    size_t *allocated_bytes;
    bool sized;
    uint64_t reception_sequence;
    /* Wait-set entries (executors' included) that name this subscription. */
    zl__atomic_u32 attachments;
    /* Messages taken from the transport and dropped because they could not
     * be deserialized (or had the wrong size): counted in stats.lost, so
     * that every message is received or lost. Owner thread only. */
    uint64_t rejected;
};

/* The bit of loans_held that says a waiter sleeps on it; the count is the
 * rest (at most 1024). */
#define LOANS_WAITER 0x80000000u

static uint32_t loans_of(uint32_t loans_held) { return loans_held & ~LOANS_WAITER; }

void zl_subscription_options_init(zl_subscription_options *options)
{
    memset(options, 0, sizeof *options);
    options->depth = 8;
    options->max_loans = 8;
}

int zl_subscription_create(zl_context *context, const char *topic, const zl_type *type,
                           const zl_subscription_options *options, zl_subscription **subscription)
{
    zl__clear_detail();
    zl_subscription_options defaults;
    if (context == NULL || topic == NULL || type == NULL || subscription == NULL)
        return zl__fail(ZL_EINVAL, "context, topic, type and subscription must not be NULL");
    if (options == NULL) {
        zl_subscription_options_init(&defaults);
        options = &defaults;
    }
    if (options->depth == 0 || options->depth > 4096 || options->max_loans == 0 ||
        options->max_loans > 1024 ||
        (options->reliability != ZL_KEEP_LAST && options->reliability != ZL_LOSSLESS))
        return zl__fail(ZL_EINVAL, "subscription options out of range: depth 1..4096, "
                                   "max_loans 1..1024, reliability ZL_KEEP_LAST or ZL_LOSSLESS");
    char qualified[ZL_TOPIC_NAME_MAX + 1];
    zl__mw_subscription_config config;
    memset(&config, 0, sizeof config);
    int rc = zl__context_endpoint_config(context, topic, type, qualified, &config.endpoint);
    if (rc != 0)
        return rc;
    config.endpoint.max_loans = options->max_loans + 1; /* one more for copies */
    config.depth = options->depth;
    config.history = options->history;
    config.lossless = options->reliability == ZL_LOSSLESS;

    zl_subscription *s = zl__context_allocate(context, sizeof *s, _Alignof(zl_subscription));
    if (s == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the subscription failed");
    memset(s, 0, sizeof *s);
    size_t table = (sizeof(uintptr_t) + sizeof(size_t)) * options->max_loans;
    s->allocated = zl__context_allocate(context, table, _Alignof(uintptr_t));
    if (s->allocated == NULL) {
        zl__context_deallocate(context, s, sizeof *s, _Alignof(zl_subscription));
        return zl__fail(ZL_ENOMEM, "allocating the subscription failed");
    }
    s->allocated_bytes = (size_t *)(void *)(s->allocated + options->max_loans);
    for (uint32_t i = 0; i < options->max_loans; i++)
        atomic_init(&s->allocated[i], 0);
    s->context = context;
    s->type = *type;
    memcpy(s->type_name, type->name, strlen(type->name) + 1);
    s->type.name = s->type_name;
    s->type.layout = NULL; /* already folded into the hash */
    s->type.fields = NULL; /* likewise */
    s->type.field_count = 0;
    s->type.layout_hash = config.endpoint.layout_hash;
    s->max_loans = options->max_loans;
    s->sized = type->element_size != 0;
    s->can_loan = type->plain && !options->disable_loans && !context->disable_loans;
    rc = zl__context_subscription_create(context, &config, &s->mw, &s->impl, &s->place);
    if (rc != 0) {
        zl__context_deallocate(context, s->allocated, table, _Alignof(uintptr_t));
        zl__context_deallocate(context, s, sizeof *s, _Alignof(zl_subscription));
        return rc;
    }
    /* A copying transport (loopback) still lends its own copy to take_loan,
     * but that is not the publisher's memory: say so, as the publisher does. */
    s->zero_copy = s->can_loan && s->mw->capabilities.lends;
    zl__context_hold(context, ZL__CONTEXT_SUBSCRIPTION);
    *subscription = s;
    return 0;
}

static void free_message(zl_subscription *s, void *message, size_t bytes)
{
    if (!s->type.plain && s->type.fini != NULL)
        s->type.fini(message, &s->context->allocator);
    zl__context_deallocate(s->context, message, bytes, s->type.alignment);
}

int zl_subscription_destroy(zl_subscription *subscription)
{
    zl__clear_detail();
    if (subscription == NULL)
        return zl__fail(ZL_EINVAL, "subscription is NULL");
    /* Relaxed: attaching and detaching happen on threads the user already
     * ordered before this call (a wait set is used by one thread at a time). */
    uint32_t attachments = zl__load_relaxed(&subscription->attachments);
    if (attachments != 0)
        return zl__fail(ZL_EBUSY,
                        "the subscription is attached to %u wait set or executor entries: "
                        "detach it (or destroy the executor) first",
                        attachments);
    /* Acquire pairs with the release decrement in loan_returned(): a loan
     * returned on another thread is wholly given back (its allocator entry
     * cleared, its chunk handed to the transport) before we free either. */
    uint32_t held = loans_of(zl__load_acquire(&subscription->loans_held));
    if (held != 0)
        return zl__fail(ZL_EBUSY, "the user still holds %u loan%s of this subscription: "
                                  "return them first", held, held == 1 ? "" : "s");
    zl_context *context = subscription->context;
    subscription->mw->subscription_destroy(subscription->impl);
    zl__context_topic_leave(context, &subscription->place);
    zl__context_deallocate(context, subscription->allocated,
                           (sizeof(uintptr_t) + sizeof(size_t)) * subscription->max_loans,
                           _Alignof(uintptr_t));
    zl__context_deallocate(context, subscription, sizeof *subscription, _Alignof(zl_subscription));
    zl__context_release(context, ZL__CONTEXT_SUBSCRIPTION);
    return 0;
}

bool zl_subscription_can_loan(const zl_subscription *subscription)
{
    return subscription != NULL && subscription->zero_copy;
}

/* Counts a loan the user gave back. The decrement is the last access to
 * the subscription by a returner on another thread (destroy may free it
 * right after): the wake-up only names the word's address. */
static void loan_returned(zl_subscription *s)
{
    /* Release: pairs with the acquire load in zl_subscription_destroy. The
     * read-modify-write is ordered with the waiter's setting LOANS_WAITER
     * (both change the same word): either we see the bit and wake, or the
     * waiter's futex sees the count changed and does not sleep. */
    uint32_t before = atomic_fetch_sub_explicit(&s->loans_held, 1, memory_order_release);
    if (before & LOANS_WAITER)
        /* Waking a private futex reads no memory; if the subscription was
         * freed meanwhile, the worst is a spurious wake-up elsewhere. */
        zl__futex_wake_private(&s->loans_held);
}

/* Checks the size of a payload the transport handed us against the type
 * (I3: a peer wrote it) and fills info's size and count. */
/* The failure of check_size, out of the way of the take path. */
static __attribute__((cold, noinline)) int size_refused(const zl_subscription *s, size_t size)
{
    if (s->sized)
        return zl__fail(ZL_ESERIALIZE,
                        "a '%s' message of %zu bytes arrived: not a fixed part of %zu and "
                        "whole elements of %zu",
                        s->type.name, size, s->type.size, s->type.element_size);
    return zl__fail(ZL_ESERIALIZE, "a '%s' message of %zu bytes arrived, expected %zu",
                    s->type.name, size, s->type.size);
}

/* Inline: on every take; a fixed-size type's check is one comparison. */
static inline int check_size(const zl_subscription *s, size_t size, zl_message_info *info)
{
    size_t count = 0;
    if (s->sized) {
        size_t tail = size - s->type.size;
        if (size < s->type.size || tail % s->type.element_size != 0 ||
            (s->type.max_count != 0 && tail / s->type.element_size > s->type.max_count))
            return size_refused(s, size);
        count = tail / s->type.element_size;
    } else if (s->type.plain && size != s->type.size) {
        return size_refused(s, size);
    }
    if (info != NULL) {
        info->size = size;
        info->count = count;
    }
    return 0;
}

static void count_reception(zl_subscription *s, zl_message_info *info)
{
    ++s->reception_sequence;
    if (info != NULL)
        info->reception_sequence = s->reception_sequence;
}

/* Takes one payload from the transport and copies (or deserializes) it
 * into message, which holds capacity bytes; the transport's loan goes
 * straight back. */
static int take_copy(zl_subscription *s, void *message, size_t capacity, zl_message_info *info)
{
    const void *payload;
    size_t size;
    int rc = s->mw->subscription_take_loan(s->impl, &payload, &size, info);
    if (rc != 0)
        return rc;
    rc = check_size(s, size, info);
    if (rc == 0 && s->type.plain) {
        if (size > capacity)
            rc = zl__fail(ZL_ESERIALIZE, "a '%s' message of %zu bytes does not fit in %zu",
                          s->type.name, size, capacity);
        else
            memcpy(message, payload, size);
    } else if (rc == 0) {
        rc = s->type.deserialize(payload, size, message, &s->context->allocator);
        if (rc != 0)
            rc = zl__fail(ZL_ESERIALIZE, "deserializing a '%s' failed (%d)", s->type.name, rc);
    }
    s->mw->subscription_return_loan(s->impl, payload);
    if (rc == 0)
        count_reception(s, info);
    else
        s->rejected++; /* taken from the transport, never the user's: lost */
    return rc;
}

int zl_subscription_take(zl_subscription *subscription, void *message, zl_message_info *info)
{
    zl__clear_detail();
    if (subscription == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "subscription and message must not be NULL");
    const zl_type *t = &subscription->type;
    if (subscription->sized && t->max_count == 0)
        return zl__fail(ZL_EINVAL, "sized type '%s' has no max_count: use "
                                   "zl_subscription_take_sized", t->name);
    size_t capacity = subscription->sized ? zl_type_message_size(t, t->max_count) : t->size;
    return take_copy(subscription, message, capacity, info);
}

int zl_subscription_take_sized(zl_subscription *subscription, void *message, size_t capacity,
                               zl_message_info *info)
{
    zl__clear_detail();
    if (subscription == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "subscription and message must not be NULL");
    const zl_type *t = &subscription->type;
    if (subscription->sized && capacity > (ZL__PAYLOAD_UNBOUNDED - t->size) / t->element_size)
        capacity = (ZL__PAYLOAD_UNBOUNDED - t->size) / t->element_size;
    size_t bytes = subscription->sized ? t->size + capacity * t->element_size : t->size;
    return take_copy(subscription, message, bytes, info);
}

/* The refusal path: the loan is the allocator's memory, filled by copy or
 * deserialization. */
static int take_allocated(zl_subscription *s, const void **message, zl_message_info *info)
{
    uint32_t slot = 0;
    while (slot < s->max_loans && zl__load_relaxed(&s->allocated[slot]) != 0)
        slot++;
    if (slot == s->max_loans)
        return zl__fail(ZL_ETOOMANYLOANS, "the subscription's %u loans are all held",
                        s->max_loans);
    /* A fixed-size message's memory is allocated first, so that a failing
     * allocator takes nothing; a sized one's once its size is known. */
    size_t bytes = s->sized ? 0 : s->type.size;
    void *memory = NULL;
    if (!s->sized) {
        memory = zl__context_allocate(s->context, bytes, s->type.alignment);
        if (memory == NULL)
            return zl__fail(ZL_ENOMEM, "the allocator failed for a loan of %zu bytes", bytes);
    }
    const void *payload;
    size_t size;
    int rc = s->mw->subscription_take_loan(s->impl, &payload, &size, info);
    if (rc != 0) {
        if (memory != NULL)
            zl__context_deallocate(s->context, memory, bytes, s->type.alignment);
        return rc;
    }
    rc = check_size(s, size, info);
    if (rc == 0 && s->sized) {
        bytes = size != 0 ? size : 1; /* an empty message still has an address */
        memory = zl__context_allocate(s->context, bytes, s->type.alignment);
        if (memory == NULL)
            rc = zl__fail(ZL_ENOMEM, "the allocator failed for a loan of %zu bytes", bytes);
    }
    if (rc == 0 && s->type.plain) {
        memcpy(memory, payload, size);
    } else if (rc == 0) {
        rc = s->type.deserialize(payload, size, memory, &s->context->allocator);
        if (rc != 0)
            rc = zl__fail(ZL_ESERIALIZE, "deserializing a '%s' failed (%d)", s->type.name, rc);
    }
    s->mw->subscription_return_loan(s->impl, payload);
    if (rc != 0) {
        s->rejected++; /* taken from the transport, never the user's: lost */
        if (memory != NULL)
            zl__context_deallocate(s->context, memory, bytes, s->type.alignment);
        return rc;
    }
    count_reception(s, info);
    s->allocated_bytes[slot] = bytes;
    /* Release: the message's contents and its size are visible to a
     * returner on another thread that finds this entry (its acquire load in
     * return_loan). */
    zl__store_release(&s->allocated[slot], (uintptr_t)memory);
    zl__fetch_add_relaxed(&s->loans_held, 1);
    *message = memory;
    return 0;
}

int zl_subscription_take_loan(zl_subscription *subscription, const void **message,
                              zl_message_info *info)
{
    zl__clear_detail();
    if (subscription == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "subscription and message must not be NULL");
    zl_subscription *s = subscription;
    if (loans_of(zl__load_relaxed(&s->loans_held)) >= s->max_loans)
        return zl__fail(ZL_ETOOMANYLOANS, "the subscription's %u loans are all held",
                        s->max_loans);
    if (!s->can_loan)
        return take_allocated(s, message, info);
    const void *payload;
    size_t size;
    int rc = s->mw->subscription_take_loan(s->impl, &payload, &size, info);
    if (rc != 0)
        return rc;
    rc = check_size(s, size, info);
    if (rc != 0) {
        s->mw->subscription_return_loan(s->impl, payload);
        s->rejected++;
        return rc;
    }
    zl__fetch_add_relaxed(&s->loans_held, 1);
    count_reception(s, info);
    *message = payload;
    return 0;
}

int zl_subscription_take_loan_sequence(zl_subscription *subscription, const void **messages,
                                       zl_message_info *infos, size_t capacity, size_t *count)
{
    zl__clear_detail();
    if (subscription == NULL || messages == NULL || count == NULL || capacity == 0)
        return zl__fail(ZL_EINVAL, "subscription, messages and count must not be NULL, "
                                   "capacity not 0");
    size_t n = 0;
    int rc = 0;
    while (n < capacity) {
        rc = zl_subscription_take_loan(subscription, &messages[n], infos ? &infos[n] : NULL);
        if (rc == ZL_ESERIALIZE)
            continue; /* dropped and counted as lost: take the next one */
        if (rc != 0)
            break;
        n++;
    }
    *count = n;
    if (n > 0)
        return 0;
    return rc;
}

int zl_subscription_return_loan(zl_subscription *subscription, const void *message)
{
    zl__clear_detail();
    if (subscription == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "subscription and message must not be NULL");
    zl_subscription *s = subscription;
    /* Allocator loans exist only on the refusal path. */
    if (s->can_loan) {
        int rc = s->mw->subscription_return_loan(s->impl, message);
        if (rc == 0)
            loan_returned(s);
        return rc;
    }
    for (uint32_t i = 0; i < s->max_loans; i++) {
        uintptr_t expected = (uintptr_t)message;
        /* Acquire pairs with the release store in take_loan: we see the
         * message before we finalize it. One returner wins the CAS. */
        if (zl__load_acquire(&s->allocated[i]) != expected)
            continue;
        /* Read before the CAS frees the entry: the owner may reuse it (and
         * write its size) at once after. */
        size_t bytes = s->allocated_bytes[i];
        if (atomic_compare_exchange_strong_explicit(&s->allocated[i], &expected, 0,
                                                    memory_order_acq_rel, memory_order_relaxed)) {
            free_message(s, (void *)message, bytes);
            loan_returned(s);
            return 0;
        }
    }
    return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", message);
}

int zl_subscription_is_consistent(zl_subscription *subscription, const void *message,
                                  bool *consistent)
{
    zl__clear_detail();
    if (subscription == NULL || message == NULL || consistent == NULL)
        return zl__fail(ZL_EINVAL, "subscription, message and consistent must not be NULL");
    for (uint32_t i = 0; i < subscription->max_loans && !subscription->can_loan; i++)
        if (zl__load_acquire(&subscription->allocated[i]) == (uintptr_t)message) {
            *consistent = true; /* our own copy: nobody else writes it */
            return 0;
        }
    if (!subscription->can_loan)
        return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", message);
    return subscription->mw->subscription_is_consistent(subscription->impl, message, consistent);
}

int zl_subscription_get_stats(zl_subscription *subscription, zl_subscription_stats *stats)
{
    zl__clear_detail();
    if (subscription == NULL || stats == NULL)
        return zl__fail(ZL_EINVAL, "subscription and stats must not be NULL");
    memset(stats, 0, sizeof *stats);
    subscription->mw->subscription_stats(subscription->impl, stats);
    stats->received = subscription->reception_sequence;
    stats->lost += subscription->rejected;
    stats->loans_held = loans_of(zl__load_relaxed(&subscription->loans_held));
    stats->other_transport =
        zl__context_topic_apart(subscription->context, &subscription->place);
    return 0;
}

void zl__subscription_waitable(zl_subscription *subscription, zl__mw_waitable *waitable)
{
    subscription->mw->subscription_waitable(subscription->impl, waitable);
}

bool zl__subscription_ready(zl_subscription *subscription)
{
    return subscription->mw->subscription_ready(subscription->impl);
}

void zl__subscription_attached(zl_subscription *subscription, bool attached)
{
    /* Relaxed: a count read only by destroy (see there). */
    if (attached)
        zl__fetch_add_relaxed(&subscription->attachments, 1);
    else
        zl__fetch_sub_relaxed(&subscription->attachments, 1);
}

bool zl__subscription_loans_wait_begin(zl_subscription *subscription, zl__atomic_u32 **word,
                                       uint32_t *expected)
{
    /* Relaxed: the futex compares the word itself; what a returner did
     * before returning is not read through this. */
    uint32_t held = zl__load_relaxed(&subscription->loans_held);
    while (loans_of(held) >= subscription->max_loans) {
        if ((held & LOANS_WAITER) ||
            atomic_compare_exchange_weak_explicit(&subscription->loans_held, &held,
                                                  held | LOANS_WAITER, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *word = &subscription->loans_held;
            *expected = held | LOANS_WAITER;
            return true;
        }
    }
    return false;
}

void zl__subscription_loans_wait_end(zl_subscription *subscription)
{
    /* Relaxed: only stops returners from waking us; a return that still
     * saw the bit makes one spurious wake-up. */
    atomic_fetch_and_explicit(&subscription->loans_held, ~LOANS_WAITER, memory_order_relaxed);
}

bool zl__subscription_lends(const zl_subscription *subscription)
{
    return subscription->can_loan;
}

const zl_type *zl__subscription_type(const zl_subscription *subscription)
{
    return &subscription->type;
}
