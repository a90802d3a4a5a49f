/* Internal: what endpoints need from their context. */
#ifndef ZL_CONTEXT_INTERNAL_H
#define ZL_CONTEXT_INTERNAL_H

#include <stdbool.h>

#include "zloan/context.h"

#include "atomic.h"
#include "log.h"
#include "mw.h"

/* What a context counts (zl_context_destroy refuses while any is left). An
 * executor's own wait set and guard condition count as well. */
typedef enum zl__context_object {
    ZL__CONTEXT_PUBLISHER,
    ZL__CONTEXT_SUBSCRIPTION,
    ZL__CONTEXT_WAITSET,
    ZL__CONTEXT_EXECUTOR,
    ZL__CONTEXT_GUARD_CONDITION,
    ZL__CONTEXT_TIMER,
    ZL__CONTEXT_OBJECT_KINDS
} zl__context_object;

struct zl_context {
    zl_allocator allocator;
    uint32_t domain_id;
    bool disable_loans; /* by option or environment */
    bool share_with_group;
    const zl__mw_ops *transport;
    /* Objects made from the context and not yet destroyed, by kind. */
    zl__atomic_u32 objects[ZL__CONTEXT_OBJECT_KINDS];
    zl__logger logger;
    char name[ZL_CONTEXT_NAME_MAX];
};

/* Counts an object made from the context: hold when it is created,
 * release as the last step of its destruction (after its memory is given
 * back to the context's allocator). */
void zl__context_hold(zl_context *context, zl__context_object kind);
void zl__context_release(zl_context *context, zl__context_object kind);

/* Fills the transport-facing description shared by both endpoint kinds. */
int zl__context_endpoint_config(zl_context *context, const char *topic, const zl_type *type,
                                char *qualified_topic, zl__mw_endpoint_config *config);

void *zl__context_allocate(const zl_context *context, size_t size, size_t alignment);
void zl__context_deallocate(const zl_context *context, void *ptr, size_t size, size_t alignment);

#endif
