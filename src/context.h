/* Internal: what endpoints need from their context. */
#ifndef ZL_CONTEXT_INTERNAL_H
#define ZL_CONTEXT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "zloan/context.h"

#include "atomic.h"
#include "log.h"
#include "mw.h"
#include "transport_list.h"

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
    uint32_t liveness_period_ms; /* ZLOAN_LIVENESS_PERIOD_MS, read at creation */
    bool share_with_group;
    /* Tried in order when an endpoint is made (zl__context_publisher_create). */
    zl__transport_list transports;
    /* Objects made from the context and not yet destroyed, by kind. */
    zl__atomic_u32 objects[ZL__CONTEXT_OBJECT_KINDS];
    zl__logger logger;
    char name[ZL_CONTEXT_NAME_MAX];
    /* With several transports: where the context's endpoints of each topic
     * are (zl__topic_place), under topics_lock, which is also held while
     * an endpoint is made so that two endpoints of a topic made at once
     * choose alike. Unused with one transport. */
    pthread_mutex_t topics_lock;
    struct zl__topic_node *topics;
};

/* Where one endpoint of a context sits among the context's transports.
 * With several transports, endpoints of one topic in one context go to the
 * transport its endpoints already use when it accepts them, so they meet;
 * one it refuses (a lossless subscription on loopback) goes to the next,
 * apart from them, with a warning in the log and the detail, and counted
 * in the stats' other_transport (issue 22). node is NULL with one
 * transport. */
typedef struct zl__topic_place {
    struct zl__topic_node *node;
    size_t transport; /* index in the context's list */
} zl__topic_place;

/* Forgets an endpoint at its destruction (nothing when node is NULL). */
void zl__context_topic_leave(zl_context *context, zl__topic_place *place);
/* Endpoints of the place's topic in this context on another transport. */
uint32_t zl__context_topic_apart(zl_context *context, const zl__topic_place *place);

/* Counts an object made from the context: hold when it is created,
 * release as the last step of its destruction (after its memory is given
 * back to the context's allocator). */
void zl__context_hold(zl_context *context, zl__context_object kind);
void zl__context_release(zl_context *context, zl__context_object kind);

/* Fills the transport-facing description shared by both endpoint kinds.
 * The type's field description is written into description
 * (ZL_TYPE_DESCRIPTION_MAX bytes, the caller's: valid during the create
 * call; not a thread-local, so that the library's thread-local block stays
 * small enough for dlopen, error_detail.h). */
int zl__context_endpoint_config(zl_context *context, const char *topic, const zl_type *type,
                                char *qualified_topic, char *description,
                                zl__mw_endpoint_config *config);

/* Keeps a copy of type as an endpoint needs it (*kept, its name copied
 * into name): the layout and fields dropped, since the config's
 * layout_hash (zl__context_endpoint_config) has folded them in already. */
void zl__context_keep_type(zl_type *kept, char name[ZL_TYPE_NAME_MAX], const zl_type *type,
                           uint64_t layout_hash);

/* Makes the endpoint with the first of the context's transports that does
 * not refuse it with ZL_ENOTSUP, trying first the one the topic's
 * endpoints in this context use (zl__topic_place); *ops receives that
 * transport, *place where it sits. ZL_ENOTSUP
 * (with a detail naming them) when every one refused; any other code from a
 * transport is returned at once. */
int zl__context_publisher_create(zl_context *context, const zl__mw_publisher_config *config,
                                 const zl__mw_ops **ops, zl__mw_publisher **publisher,
                                 zl__topic_place *place);
int zl__context_subscription_create(zl_context *context, const zl__mw_subscription_config *config,
                                    const zl__mw_ops **ops, zl__mw_subscription **subscription,
                                    zl__topic_place *place);

void *zl__context_allocate(const zl_context *context, size_t size, size_t alignment);
void zl__context_deallocate(const zl_context *context, void *ptr, size_t size, size_t alignment);

#endif
