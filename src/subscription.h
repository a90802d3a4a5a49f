/* Internal: what wait sets and executors need from a subscription. */
#ifndef ZL_SUBSCRIPTION_INTERNAL_H
#define ZL_SUBSCRIPTION_INTERNAL_H

#include <stdbool.h>

#include "zloan/subscription.h"

#include "mw.h"

/* The futex words to sleep on and the sleepers counter to raise meanwhile. */
void zl__subscription_waitable(zl_subscription *subscription, zl__mw_waitable *waitable);

/* Whether a take would find something (owner thread). */
bool zl__subscription_ready(zl_subscription *subscription);

/* Counts a wait-set entry that names the subscription (attached true) or
 * one that no longer does; destroy refuses while any is left. */
void zl__subscription_attached(zl_subscription *subscription, bool attached);

/* For waiting until a loan comes back (owner thread): when every loan is
 * held, marks that a waiter will sleep and gives the private futex word and
 * the value to sleep on (it changes when a loan is returned), returning
 * true; false when a loan is free. Every true is followed by one
 * zl__subscription_loans_wait_end. One waiter per subscription at a time
 * (the take thread's). */
bool zl__subscription_loans_wait_begin(zl_subscription *subscription, zl__atomic_u32 **word,
                                       uint32_t *expected);
void zl__subscription_loans_wait_end(zl_subscription *subscription);

const zl_type *zl__subscription_type(const zl_subscription *subscription);

/* Whether take_loan lends the transport's memory without a copy of its
 * own: the publisher's (shm) or the transport's copy (loopback). */
bool zl__subscription_lends(const zl_subscription *subscription);

#endif
