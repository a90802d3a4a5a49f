/* Contexts: domain, allocator, and the choice of transport. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zloan/error.h"
#include "zloan/topic.h"

#include "context.h"
#include "environment.h"
#include "error_detail.h"

/* NULL, or 1..ZL_CONTEXT_NAME_MAX-1 printable ASCII bytes. */
static int check_name(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = strnlen(name, ZL_CONTEXT_NAME_MAX);
    if (n == 0 || n >= ZL_CONTEXT_NAME_MAX)
        return zl__fail(ZL_EINVAL, "a context name has 1..%d bytes", ZL_CONTEXT_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if (name[i] < 0x20 || name[i] > 0x7e)
            return zl__fail(ZL_EINVAL, "the context name has a byte 0x%02x that is not printable",
                            (unsigned)(unsigned char)name[i]);
    return 0;
}

void zl_context_options_init(zl_context_options *options)
{
    memset(options, 0, sizeof *options);
    options->allocator = *zl_allocator_default();
    /* An invalid value leaves the default here; zl_context_create refuses it. */
    options->log_level = ZL_LOG_WARN;
    const char *log = getenv(ZL_ENV_LOG);
    zl_log_level level;
    if (log != NULL && zl__log_level_parse(log, &level))
        options->log_level = level;
    options->domain_id = zl__environment_number_or(ZL__ENV_DOMAIN_ID, ZL_DOMAIN_ID_MAX, 0);
}

int zl_context_create(const zl_context_options *options, zl_context **context)
{
    zl__clear_detail();
    zl_context_options defaults;
    if (context == NULL)
        return zl__fail(ZL_EINVAL, "context is NULL");
    if (options == NULL) {
        zl_context_options_init(&defaults);
        options = &defaults;
    }
    /* A bad variable would silently join the wrong domain or run
     * differently from what the user asked: refuse it. */
    int rc = zl__environment_check();
    if (rc != 0)
        return rc;
    bool env_disable_loans;
    zl__environment_switch(ZL_ENV_DISABLE_LOANS, &env_disable_loans);
    if (options->domain_id > ZL_DOMAIN_ID_MAX)
        return zl__fail(ZL_EINVAL, "domain id %u is above %d", options->domain_id,
                        ZL_DOMAIN_ID_MAX);
    if (options->allocator.allocate == NULL || options->allocator.deallocate == NULL)
        return zl__fail(ZL_EINVAL, "the allocator needs both hooks");
    if ((unsigned)options->log_level > ZL_LOG_DEBUG)
        return zl__fail(ZL_EINVAL, "log level %d is not one of ZL_LOG_ERROR..ZL_LOG_DEBUG",
                        (int)options->log_level);
    rc = check_name(options->name);
    if (rc != 0)
        return rc;
    zl_context *c =
        options->allocator.allocate(sizeof *c, _Alignof(zl_context), options->allocator.state);
    if (c == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the context failed");
    memset(c, 0, sizeof *c);
    c->allocator = options->allocator;
    c->domain_id = options->domain_id;
    c->disable_loans = options->disable_loans || env_disable_loans;
    c->share_with_group = options->share_with_group;
    c->transport = &zl__shm_ops;
    c->logger.callback = options->log_callback;
    c->logger.state = options->log_state;
    c->logger.level = options->log_level;
    if (options->name != NULL)
        snprintf(c->name, sizeof c->name, "%s", options->name);
    /* A start after a crash: remove what killed processes left (I5). */
    if (c->transport->sweep != NULL) {
        int removed = c->transport->sweep();
        if (removed > 0)
            zl__log(&c->logger, ZL_LOG_INFO,
                    "removed %d shared-memory objects that killed processes left", removed);
    }
    *context = c;
    return 0;
}

void zl__context_hold(zl_context *context, zl__context_object kind)
{
    /* Relaxed: only the count matters; destroy's acquire pairs with the
     * release below. */
    zl__fetch_add_relaxed(&context->objects[kind], 1);
}

void zl__context_release(zl_context *context, zl__context_object kind)
{
    /* Release: the object's last use of the context (giving its memory back
     * to the allocator) comes before zl_context_destroy's acquire load sees
     * the count drop. */
    atomic_fetch_sub_explicit(&context->objects[kind], 1, memory_order_release);
}

/* Whether objects made from the context are left; if so, records a detail
 * naming them (an executor's own wait set and guard condition are part of
 * the executor, not listed apart). */
static bool objects_left(zl_context *context)
{
    static const char *const names[] = {"publisher", "subscription", "wait set",
                                        "executor",  "guard condition", "timer"};
    _Static_assert(sizeof names / sizeof names[0] == ZL__CONTEXT_OBJECT_KINDS, "a name per kind");
    uint32_t count[ZL__CONTEXT_OBJECT_KINDS];
    bool any = false;
    for (size_t kind = 0; kind < ZL__CONTEXT_OBJECT_KINDS; kind++) {
        /* Acquire pairs with the release in zl__context_release. */
        count[kind] = zl__load_acquire(&context->objects[kind]);
        any |= count[kind] != 0;
    }
    if (!any)
        return false;
    uint32_t executors = count[ZL__CONTEXT_EXECUTOR];
    count[ZL__CONTEXT_WAITSET] -= executors <= count[ZL__CONTEXT_WAITSET] ? executors : 0;
    count[ZL__CONTEXT_GUARD_CONDITION] -=
        executors <= count[ZL__CONTEXT_GUARD_CONDITION] ? executors : 0;
    char left[256] = "";
    size_t used = 0;
    for (size_t kind = 0; kind < ZL__CONTEXT_OBJECT_KINDS; kind++)
        if (count[kind] != 0 && used < sizeof left)
            used += (size_t)snprintf(left + used, sizeof left - used, "%s%u %s%s",
                                     used == 0 ? "" : ", ", count[kind], names[kind],
                                     count[kind] == 1 ? "" : "s");
    zl__fail(ZL_EBUSY, "the context still has %s made from it: destroy them first", left);
    return true;
}

int zl_context_destroy(zl_context *context)
{
    zl__clear_detail();
    if (context == NULL)
        return zl__fail(ZL_EINVAL, "context is NULL");
    if (objects_left(context))
        return ZL_EBUSY;
    zl_allocator a = context->allocator;
    a.deallocate(context, sizeof *context, _Alignof(zl_context), a.state);
    return 0;
}

uint32_t zl_context_domain_id(const zl_context *context) { return context->domain_id; }

const char *zl_context_name(const zl_context *context) { return context->name; }

void *zl__context_allocate(const zl_context *context, size_t size, size_t alignment)
{
    return context->allocator.allocate(size, alignment, context->allocator.state);
}

void zl__context_deallocate(const zl_context *context, void *ptr, size_t size, size_t alignment)
{
    if (ptr != NULL)
        context->allocator.deallocate(ptr, size, alignment, context->allocator.state);
}

int zl__context_endpoint_config(zl_context *context, const char *topic, const zl_type *type,
                                char *qualified_topic, zl__mw_endpoint_config *config)
{
    int rc = zl_type_validate(type);
    if (rc != 0)
        return rc;
    rc = zl_topic_name_qualify(topic, qualified_topic, ZL_TOPIC_NAME_MAX + 1);
    if (rc != 0)
        return rc;
    memset(config, 0, sizeof *config);
    config->topic = qualified_topic;
    config->domain_id = context->domain_id;
    config->allocator = &context->allocator;
    config->logger = &context->logger;
    config->context_name = context->name;
    config->share_with_group = context->share_with_group;
    config->type_name = type->name;
    config->type_size = type->size;
    config->layout_hash = zl_type_layout_hash(type);
    config->plain = type->plain;
    /* Valid until the endpoint's create call returns, on this thread. */
    static _Thread_local char description[ZL_TYPE_DESCRIPTION_MAX];
    rc = zl_type_describe(type, description, sizeof description);
    if (rc != 0)
        return rc;
    config->description = description;
    if (type->element_size != 0)
        config->payload_size = type->max_count != 0 ? zl_type_message_size(type, type->max_count)
                                                    : ZL__PAYLOAD_UNBOUNDED;
    else
        config->payload_size = type->plain ? type->size : type->serialized_size_max;
    config->payload_alignment = type->plain ? type->alignment : 8;
    return 0;
}
