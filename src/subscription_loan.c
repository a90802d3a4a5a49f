/* Subscriptions' loans: take and return, the hot path, with the
 * transport's memory (or, on the refusal path, through subscription_copy.c
 * with the allocator's).
 *
 * Invariants this file enforces: C6 (a loan is counted before it is the
 * user's, and uncounted as the last step of its return) and C7 (a payload
 * that fails the size check goes back to the transport, counted as lost)
 * of subscription_object.h. The transport keeps the table of its loans
 * (which chunk, which connection) and answers ZL_ENOTLOAN for a pointer it
 * does not hold; an error changes nothing.
 */
#include "zloan/error.h"
#include "zloan/subscription.h"

#include "error_detail.h"
#include "subscription_object.h"

int zl__subscription_size_refused(const zl_subscription *s, size_t size)
{
    if (s->sized)
        return zl__fail(ZL_ESERIALIZE,
                        "a '%s' message of %zu bytes arrived: not a fixed part of %zu and "
                        "whole elements of %zu",
                        s->type.name, size, s->type.size, s->type.element_size);
    return zl__fail(ZL_ESERIALIZE, "a '%s' message of %zu bytes arrived, expected %zu",
                    s->type.name, size, s->type.size);
}

int zl_subscription_take_loan(zl_subscription *subscription, const void **message,
                              zl_message_info *info)
{
    zl__clear_detail();
    if (subscription == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "subscription and message must not be NULL");
    zl_subscription *s = subscription;
    if (zl__loans_of(zl__load_relaxed(&s->loans_held)) >= s->max_loans)
        return zl__fail(ZL_ETOOMANYLOANS, "the subscription's %u loans are all held",
                        s->max_loans);
    if (!s->can_loan)
        return zl__subscription_take_allocated(s, message, info);
    const void *payload;
    size_t size;
    int rc = zl__subscription_take_checked(s, &payload, &size, info);
    if (rc != 0)
        return rc;
    zl__fetch_add_relaxed(&s->loans_held, 1);
    zl__subscription_count_reception(s, info);
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
    if (!s->can_loan)
        return zl__subscription_return_allocated(s, message);
    int rc = s->mw->subscription_return_loan(s->impl, message);
    if (rc == 0)
        zl__subscription_loan_returned(s);
    return rc;
}

int zl_subscription_is_consistent(zl_subscription *subscription, const void *message,
                                  bool *consistent)
{
    zl__clear_detail();
    if (subscription == NULL || message == NULL || consistent == NULL)
        return zl__fail(ZL_EINVAL, "subscription, message and consistent must not be NULL");
    if (!subscription->can_loan)
        return zl__subscription_allocated_consistent(subscription, message, consistent);
    return subscription->mw->subscription_is_consistent(subscription->impl, message, consistent);
}
