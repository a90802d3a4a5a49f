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

/* The most loans one batched take of the transport lends (the sizes are
 * kept on the stack); a larger capacity takes several. */
#define TAKE_LOANS_MAX 64

/* Keeps the loans of a batch the transport lent whose size fits the type
 * (C7: the others go back, counted as lost), packed at the front of
 * messages and infos: how many were kept. Each kept one is counted as the
 * user's (C6) and received (C7). */
static size_t keep_fitting(zl_subscription *s, const void **messages, const size_t *sizes,
                           zl_message_info *infos, size_t count)
{
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        zl_message_info *info = infos != NULL ? &infos[kept] : NULL;
        if (infos != NULL && kept != i)
            infos[kept] = infos[i];
        if (zl__subscription_check_size(s, sizes[i], info) != 0) {
            s->mw->subscription_return_loan(s->impl, messages[i]);
            s->rejected++;
            continue;
        }
        zl__subscription_count_reception(s, info);
        messages[kept++] = messages[i];
    }
    zl__fetch_add_relaxed(&s->loans_held, (uint32_t)kept);
    return kept;
}

/* take_loan_sequence through the transport's batched take: up to capacity
 * loans, within the loan limit. */
static int take_loans_batched(zl_subscription *s, const void **messages, zl_message_info *infos,
                              size_t capacity, size_t *count)
{
    size_t n = 0;
    int rc = 0;
    while (n < capacity) {
        size_t room = s->max_loans - zl__loans_of(zl__load_relaxed(&s->loans_held));
        if (room == 0) {
            rc = zl__fail(ZL_ETOOMANYLOANS, "the subscription's %u loans are all held",
                          s->max_loans);
            break;
        }
        size_t want = capacity - n;
        if (want > room)
            want = room;
        if (want > TAKE_LOANS_MAX)
            want = TAKE_LOANS_MAX;
        size_t sizes[TAKE_LOANS_MAX];
        size_t lent = 0;
        rc = s->mw->subscription_take_loans(s->impl, &messages[n], sizes,
                                            infos != NULL ? &infos[n] : NULL, want, &lent);
        if (rc != 0)
            break;
        n += keep_fitting(s, &messages[n], sizes, infos != NULL ? &infos[n] : NULL, lent);
        if (lent < want)
            break; /* the queue is empty (or as good as) */
    }
    *count = n;
    if (n > 0) {
        zl__clear_detail();
        return 0;
    }
    return rc != 0 ? rc : ZL_ENODATA;
}

int zl_subscription_take_loan_sequence(zl_subscription *subscription, const void **messages,
                                       zl_message_info *infos, size_t capacity, size_t *count)
{
    zl__clear_detail();
    if (subscription == NULL || messages == NULL || count == NULL || capacity == 0)
        return zl__fail(ZL_EINVAL, "subscription, messages and count must not be NULL, "
                                   "capacity not 0");
    if (subscription->can_loan && subscription->mw->subscription_take_loans != NULL)
        return take_loans_batched(subscription, messages, infos, capacity, count);
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
    if (n > 0) {
        zl__clear_detail(); /* what stopped it is not a failure of the call */
        return 0;
    }
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

/* A batch refused whole: the cause, and that nothing was returned (as a
 * refused batched publish says nothing was published). */
static int refused_whole(int rc)
{
    return zl__fail_more(rc, ": nothing was returned");
}

/* A batch with a NULL at messages[null]: refused, naming the first element
 * that fails in the batch's order, as a transport names it (mw.h) and as a
 * batched publish does: one before the NULL that appears earlier in the
 * batch too or is no loan held, else the NULL. Nothing is returned. */
static __attribute__((cold, noinline)) int refuse_with_null(zl_subscription *s,
                                                           const void *const *messages,
                                                           size_t null)
{
    for (size_t i = 0; i < null; i++) {
        for (size_t j = 0; j < i; j++)
            if (messages[j] == messages[i])
                return zl__fail(ZL_EINVAL, "messages[%zu] (%p) appears earlier in the batch too: "
                                           "nothing was returned",
                                i, messages[i]);
        bool consistent;
        int rc = s->can_loan
                     ? s->mw->subscription_is_consistent(s->impl, messages[i], &consistent)
                     : zl__subscription_allocated_consistent(s, messages[i], &consistent);
        if (rc == ZL_ENOTLOAN)
            return zl__fail(ZL_ENOTLOAN, "messages[%zu] (%p) is not a loan held from this "
                                         "subscription: nothing was returned",
                            i, messages[i]);
    }
    return zl__fail(ZL_EINVAL, "messages[%zu] is NULL: nothing was returned", null);
}

int zl_subscription_return_loans(zl_subscription *subscription, const void *const *messages,
                                 size_t count, size_t *returned)
{
    zl__clear_detail();
    if (returned != NULL)
        *returned = 0;
    if (subscription == NULL || messages == NULL || returned == NULL)
        return zl__fail(ZL_EINVAL, "subscription, messages and returned must not be NULL");
    if (count == 0)
        return zl__fail(ZL_EINVAL, "a batch of 0 loans: nothing to return");
    zl_subscription *s = subscription;
    for (size_t i = 0; i < count; i++)
        if (messages[i] == NULL)
            return refuse_with_null(s, messages, i);
    /* Allocator loans exist only on the refusal path. */
    if (!s->can_loan) {
        int rc = zl__subscription_return_allocated_batch(s, messages, count, returned);
        return rc != 0 && *returned == 0 ? refused_whole(rc) : rc;
    }
    int rc = s->mw->subscription_return_loans(s->impl, messages, count);
    if (rc != 0)
        return refused_whole(rc); /* the transport returns all or none */
    *returned = count;
    /* C6: the last access, as for a single return. */
    zl__subscription_loans_returned(s, (uint32_t)count);
    return 0;
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
