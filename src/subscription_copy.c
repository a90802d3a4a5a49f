/* Subscriptions' copies: takes into memory the user provides (S1), and the
 * refusal path's loans, the allocator's memory filled by copy or
 * deserialization (P3 from the subscription's side). Every payload taken
 * from the transport here goes straight back to it.
 *
 * Invariants this file enforces: C7 and C8 of subscription_object.h, and
 * C6 for allocator loans.
 */
#include <string.h>

#include "zloan/error.h"
#include "zloan/subscription.h"

#include "error_detail.h"
#include "subscription_object.h"

/* Takes one payload from the transport and copies (or deserializes) it
 * into message, which holds capacity bytes; the transport's loan goes
 * straight back. */
static int take_copy(zl_subscription *s, void *message, size_t capacity, zl_message_info *info)
{
    const void *payload;
    size_t size;
    int rc = zl__subscription_take_checked(s, &payload, &size, info);
    if (rc != 0)
        return rc;
    if (s->type.plain) {
        if (size > capacity)
            rc = zl__fail(ZL_ESERIALIZE, "a '%s' message of %zu bytes does not fit in %zu",
                          s->type.name, size, capacity);
        else
            memcpy(message, payload, size);
    } else {
        rc = s->type.deserialize(payload, size, message, &s->context->allocator);
        if (rc != 0)
            rc = zl__fail(ZL_ESERIALIZE, "deserializing a '%s' failed (%d)", s->type.name, rc);
    }
    s->mw->subscription_return_loan(s->impl, payload);
    if (rc == 0)
        zl__subscription_count_reception(s, info);
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

/* Fills memory (bytes) from the payload, or allocates it first for a
 * sized type, whose size only the payload tells: 0, or an error (*memory
 * and *bytes say what to free). */
static int fill_allocated(zl_subscription *s, const void *payload, size_t size, void **memory,
                          size_t *bytes)
{
    if (s->sized) {
        *bytes = size != 0 ? size : 1; /* an empty message still has an address */
        *memory = zl__context_allocate(s->context, *bytes, s->type.alignment);
        if (*memory == NULL)
            return zl__fail(ZL_ENOMEM, "the allocator failed for a loan of %zu bytes", *bytes);
    }
    if (s->type.plain) {
        memcpy(*memory, payload, size);
        return 0;
    }
    int rc = s->type.deserialize(payload, size, *memory, &s->context->allocator);
    if (rc != 0)
        return zl__fail(ZL_ESERIALIZE, "deserializing a '%s' failed (%d)", s->type.name, rc);
    return 0;
}

int zl__subscription_take_allocated(zl_subscription *s, const void **message,
                                    zl_message_info *info)
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
    int rc = zl__subscription_take_checked(s, &payload, &size, info);
    if (rc == 0) {
        rc = fill_allocated(s, payload, size, &memory, &bytes);
        s->mw->subscription_return_loan(s->impl, payload);
        if (rc != 0)
            s->rejected++; /* taken from the transport, never the user's: lost */
    }
    if (rc != 0) {
        if (memory != NULL)
            zl__context_deallocate(s->context, memory, bytes, s->type.alignment);
        return rc;
    }
    zl__subscription_count_reception(s, info);
    s->allocated_bytes[slot] = bytes;
    /* Release: the message's contents and its size are visible to a
     * returner on another thread that finds this entry (its acquire load in
     * zl__subscription_return_allocated). */
    zl__store_release(&s->allocated[slot], (uintptr_t)memory);
    zl__fetch_add_relaxed(&s->loans_held, 1);
    *message = memory;
    return 0;
}

int zl__subscription_return_allocated(zl_subscription *s, const void *message)
{
    for (uint32_t i = 0; i < s->max_loans; i++) {
        uintptr_t expected = (uintptr_t)message;
        /* Acquire pairs with the release store in take_allocated: we see
         * the message before we finalize it. One returner wins the CAS. */
        if (zl__load_acquire(&s->allocated[i]) != expected)
            continue;
        /* Read before the CAS frees the entry: the owner may reuse it (and
         * write its size) at once after. */
        size_t bytes = s->allocated_bytes[i];
        if (atomic_compare_exchange_strong_explicit(&s->allocated[i], &expected, 0,
                                                    memory_order_acq_rel, memory_order_relaxed)) {
            zl__subscription_free_message(s, (void *)message, bytes);
            zl__subscription_loan_returned(s);
            return 0;
        }
    }
    return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", message);
}

/* Whether message is an allocator loan held (C8). Any thread. */
static bool allocated_held(zl_subscription *s, const void *message)
{
    for (uint32_t i = 0; i < s->max_loans; i++)
        /* Acquire: as in zl__subscription_return_allocated. */
        if (zl__load_acquire(&s->allocated[i]) == (uintptr_t)message)
            return true;
    return false;
}

int zl__subscription_return_allocated_batch(zl_subscription *s, const void *const *messages,
                                            size_t count, size_t *returned)
{
    /* Validated whole before the first is freed: nothing changes on error
     * (a concurrent return of one of them is the caller's race, and then
     * its own return answers ZL_ENOTLOAN). */
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < i; j++)
            if (messages[j] == messages[i])
                return zl__fail(ZL_EINVAL, "messages[%zu] (%p) appears earlier in the batch too", i,
                                messages[i]);
        if (!allocated_held(s, messages[i]))
            return zl__fail(ZL_ENOTLOAN,
                            "messages[%zu] (%p) is not a loan held from this subscription", i,
                            messages[i]);
    }
    for (size_t i = 0; i < count; i++) {
        int rc = zl__subscription_return_allocated(s, messages[i]);
        if (rc != 0)
            return rc;
        ++*returned;
    }
    return 0;
}

int zl__subscription_allocated_consistent(zl_subscription *s, const void *message,
                                          bool *consistent)
{
    for (uint32_t i = 0; i < s->max_loans; i++)
        if (zl__load_acquire(&s->allocated[i]) == (uintptr_t)message) {
            *consistent = true; /* our own copy: nobody else writes it */
            return 0;
        }
    return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", message);
}
