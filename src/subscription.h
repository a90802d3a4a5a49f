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

const zl_type *zl__subscription_type(const zl_subscription *subscription);

#endif
