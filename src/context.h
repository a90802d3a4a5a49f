/* Internal: what endpoints need from their context. */
#ifndef ZL_CONTEXT_INTERNAL_H
#define ZL_CONTEXT_INTERNAL_H

#include <stdbool.h>

#include "zloan/context.h"

#include "atomic.h"
#include "log.h"
#include "mw.h"

struct zl_context {
    zl_allocator allocator;
    uint32_t domain_id;
    bool disable_loans; /* by option or environment */
    bool share_with_group;
    const zl__mw_ops *transport;
    zl__atomic_u32 endpoints; /* publishers and subscriptions alive */
    zl__logger logger;
    char name[ZL_CONTEXT_NAME_MAX];
};

/* Fills the transport-facing description shared by both endpoint kinds. */
int zl__context_endpoint_config(zl_context *context, const char *topic, const zl_type *type,
                                char *qualified_topic, zl__mw_endpoint_config *config);

void *zl__context_allocate(const zl_context *context, size_t size, size_t alignment);
void zl__context_deallocate(const zl_context *context, void *ptr, size_t size, size_t alignment);

#endif
