/* Subscriptions: create, destroy, statistics, and what wait sets and
 * executors need (subscription.h). Takes and returns are
 * subscription_loan.c's and subscription_copy.c's (subscription_object.h
 * names the three).
 *
 * Invariants this file enforces
 *   C9. Destroy refuses (ZL_EBUSY, nothing changed) while a wait-set or
 *       executor entry names the subscription or the user holds a loan of
 *       it (C6: the acquire load sees every return complete).
 *   C10. can_loan (the transport's memory is lent) and zero_copy (that
 *       memory is the publisher's) are fixed at creation, from the type,
 *       the options and what the transport declares.
 */
#include <string.h>

#include "zloan/error.h"
#include "zloan/subscription.h"

#include "context.h"
#include "error_detail.h"
#include "subscription.h"
#include "subscription_object.h"

void zl_subscription_options_init(zl_subscription_options *options)
{
    if (options == NULL)
        return;
    memset(options, 0, sizeof *options);
    options->depth = 8;
    options->max_loans = 8;
}

static int check_options(const zl_subscription_options *options)
{
    if (options->depth == 0 || options->depth > 4096 || options->max_loans == 0 ||
        options->max_loans > 1024 ||
        (options->reliability != ZL_KEEP_LAST && options->reliability != ZL_LOSSLESS))
        return zl__fail(ZL_EINVAL, "subscription options out of range: depth 1..4096, "
                                   "max_loans 1..1024, reliability ZL_KEEP_LAST or ZL_LOSSLESS");
    return 0;
}

/* The allocator loans' table (C8): max_loans addresses, then their sizes. */
static size_t allocated_table_bytes(uint32_t max_loans)
{
    return (sizeof(uintptr_t) + sizeof(size_t)) * max_loans;
}

/* Keeps the type as the subscription needs it. */
static void keep_type(zl_subscription *s, const zl_type *type, uint64_t layout_hash)
{
    zl__context_keep_type(&s->type, s->type_name, type, layout_hash);
    s->sized = type->element_size != 0;
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
    int rc = check_options(options);
    if (rc != 0)
        return rc;
    char qualified[ZL_TOPIC_NAME_MAX + 1];
    zl__mw_subscription_config config;
    memset(&config, 0, sizeof config);
    char description[ZL_TYPE_DESCRIPTION_MAX];
    rc = zl__context_endpoint_config(context, topic, type, qualified, description,
                                     &config.endpoint);
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
    size_t table = allocated_table_bytes(options->max_loans);
    s->allocated = zl__context_allocate(context, table, _Alignof(uintptr_t));
    if (s->allocated == NULL) {
        zl__context_deallocate(context, s, sizeof *s, _Alignof(zl_subscription));
        return zl__fail(ZL_ENOMEM, "allocating the subscription failed");
    }
    s->allocated_bytes = (size_t *)(void *)(s->allocated + options->max_loans);
    for (uint32_t i = 0; i < options->max_loans; i++)
        atomic_init(&s->allocated[i], 0);
    s->context = context;
    keep_type(s, type, config.endpoint.layout_hash);
    s->max_loans = options->max_loans;
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
    /* Acquire pairs with the release decrement in
     * zl__subscription_loan_returned: a loan returned on another thread is
     * wholly given back (its allocator entry cleared, its chunk handed to
     * the transport) before we free either. */
    uint32_t held = zl__loans_of(zl__load_acquire(&subscription->loans_held));
    if (held != 0)
        return zl__fail(ZL_EBUSY, "the user still holds %u loan%s of this subscription: "
                                  "return them first", held, held == 1 ? "" : "s");
    zl_context *context = subscription->context;
    subscription->mw->subscription_destroy(subscription->impl);
    zl__context_topic_leave(context, &subscription->place);
    zl__context_deallocate(context, subscription->allocated,
                           allocated_table_bytes(subscription->max_loans), _Alignof(uintptr_t));
    zl__context_deallocate(context, subscription, sizeof *subscription, _Alignof(zl_subscription));
    zl__context_release(context, ZL__CONTEXT_SUBSCRIPTION);
    return 0;
}

bool zl_subscription_can_loan(const zl_subscription *subscription)
{
    return subscription != NULL && subscription->zero_copy;
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
    stats->loans_held = zl__loans_of(zl__load_relaxed(&subscription->loans_held));
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
    while (zl__loans_of(held) >= subscription->max_loans) {
        if ((held & ZL__LOANS_WAITER) ||
            atomic_compare_exchange_weak_explicit(&subscription->loans_held, &held,
                                                  held | ZL__LOANS_WAITER, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *word = &subscription->loans_held;
            *expected = held | ZL__LOANS_WAITER;
            return true;
        }
    }
    return false;
}

void zl__subscription_loans_wait_end(zl_subscription *subscription)
{
    /* Relaxed: only stops returners from waking us; a return that still
     * saw the bit makes one spurious wake-up. */
    atomic_fetch_and_explicit(&subscription->loans_held, ~ZL__LOANS_WAITER, memory_order_relaxed);
}

bool zl__subscription_lends(const zl_subscription *subscription)
{
    return subscription->can_loan;
}

const zl_type *zl__subscription_type(const zl_subscription *subscription)
{
    return &subscription->type;
}
