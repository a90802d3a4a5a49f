/* Internal: what user memory (user_memory.c) needs from a publisher. */
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

#endif
