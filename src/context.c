/* Contexts: domain, allocator, and the choice of transport. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zloan/error.h"
#include "zloan/topic.h"

#include "context.h"
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

static bool env_flag(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' && strcmp(value, "0") != 0;
}

void zl_context_options_init(zl_context_options *options)
{
    memset(options, 0, sizeof *options);
    options->allocator = *zl_allocator_default();
    options->log_level = ZL_LOG_WARN;
    const char *log = getenv(ZL_ENV_LOG);
    zl_log_level level;
    if (log != NULL && zl__log_level_parse(log, &level))
        options->log_level = level;
    const char *domain = getenv("ZLOAN_DOMAIN_ID");
    if (domain != NULL && domain[0] != '\0') {
        char *end = NULL;
        unsigned long value = strtoul(domain, &end, 10);
        if (end != NULL && *end == '\0' && value <= ZL_DOMAIN_ID_MAX)
            options->domain_id = (uint32_t)value;
    }
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
    if (options->domain_id > ZL_DOMAIN_ID_MAX)
        return zl__fail(ZL_EINVAL, "domain id %u is above %d", options->domain_id,
                        ZL_DOMAIN_ID_MAX);
    if (options->allocator.allocate == NULL || options->allocator.deallocate == NULL)
        return zl__fail(ZL_EINVAL, "the allocator needs both hooks");
    if ((unsigned)options->log_level > ZL_LOG_DEBUG)
        return zl__fail(ZL_EINVAL, "log level %d is not one of ZL_LOG_ERROR..ZL_LOG_DEBUG",
                        (int)options->log_level);
    const char *log = getenv(ZL_ENV_LOG);
    zl_log_level level;
    if (log != NULL && log[0] != '\0' && !zl__log_level_parse(log, &level))
        return zl__fail(ZL_EINVAL, "%s=%s: expected error, warn, info or debug", ZL_ENV_LOG, log);
    int rc = check_name(options->name);
    if (rc != 0)
        return rc;
    zl_context *c =
        options->allocator.allocate(sizeof *c, _Alignof(zl_context), options->allocator.state);
    if (c == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the context failed");
    memset(c, 0, sizeof *c);
    c->allocator = options->allocator;
    c->domain_id = options->domain_id;
    c->disable_loans = options->disable_loans || env_flag(ZL_ENV_DISABLE_LOANS);
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

int zl_context_destroy(zl_context *context)
{
    zl__clear_detail();
    if (context == NULL)
        return zl__fail(ZL_EINVAL, "context is NULL");
    uint32_t endpoints = zl__load_acquire(&context->endpoints);
    if (endpoints != 0)
        return zl__fail(ZL_EBUSY, "the context still has %u endpoints", endpoints);
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
    config->payload_size = type->plain ? type->size : type->serialized_size_max;
    config->payload_alignment = type->plain ? type->alignment : 8;
    return 0;
}
