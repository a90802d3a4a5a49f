/* Internal: what wait sets and user memory (user_memory.c) need from a
 * publisher. */
#ifndef ZL_PUBLISHER_INTERNAL_H
#define ZL_PUBLISHER_INTERNAL_H

#include <stdbool.h>

#include "zloan/publisher.h"

#include "mw.h"

typedef struct zl__publisher_parts {
    zl_context *context;
    const zl__mw_ops *mw;
    zl__mw_publisher *impl;
    const zl_type *type;
    bool can_loan; /* the transport lends (zero copy) */
} zl__publisher_parts;

void zl__publisher_parts_get(zl_publisher *publisher, zl__publisher_parts *parts);

/* Counts a user memory registered with the publisher (registered true) or
 * one destroyed; destroy refuses while any is left. The publisher's thread. */
void zl__publisher_memory_registered(zl_publisher *publisher, bool registered);

/* Brings the publisher's connections up to date, then fills the futex words
 * to sleep on (and the sleepers count to raise) until a publish would not
 * wait for a lossless subscription. The publisher's thread. */
void zl__publisher_waitable(zl_publisher *publisher, zl__mw_waitable *waitable);

/* Whether a publish would not wait now (a hint). The publisher's thread. */
bool zl__publisher_ready(zl_publisher *publisher);

/* Counts a wait-set entry that names the publisher (attached true) or one
 * that no longer does; destroy refuses while any is left. */
void zl__publisher_attached(zl_publisher *publisher, bool attached);

#endif
