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
    if (options == NULL)
        return;
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
    zl__transport_list transports;
    rc = zl__transport_list_choose(options->transports, &transports);
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
    c->transports = transports;
    c->logger.callback = options->log_callback;
    c->logger.state = options->log_state;
    c->logger.level = options->log_level;
    c->liveness_period_ms = zl__environment_number_or(
        ZL__ENV_LIVENESS_PERIOD_MS, ZL__LIVENESS_PERIOD_MS_MAX, ZL__LIVENESS_PERIOD_MS_DEFAULT);
    if (options->name != NULL)
        snprintf(c->name, sizeof c->name, "%s", options->name);
    pthread_mutex_init(&c->topics_lock, NULL);
    /* A start after a crash: remove what killed processes left (I5). */
    for (size_t i = 0; i < c->transports.count; i++) {
        if (c->transports.ops[i]->sweep == NULL)
            continue;
        int removed = c->transports.ops[i]->sweep();
        if (removed > 0)
            zl__log(&c->logger, ZL_LOG_INFO,
                    "removed %d %s objects that killed processes left", removed,
                    c->transports.ops[i]->name);
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
    pthread_mutex_destroy(&context->topics_lock); /* no endpoint left: no topic record */
    zl_allocator a = context->allocator;
    a.deallocate(context, sizeof *context, _Alignof(zl_context), a.state);
    return 0;
}

uint32_t zl_context_domain_id(const zl_context *context)
{
    return context != NULL ? context->domain_id : UINT32_MAX;
}

const char *zl_context_name(const zl_context *context)
{
    return context != NULL ? context->name : "";
}

/* The detail when every transport refused an endpoint. */
/* A topic with endpoints in a context of several transports: how many of
 * them sit on each transport. Freed when the last one goes. */
struct zl__topic_node {
    struct zl__topic_node *next;
    uint32_t endpoints[ZL__TRANSPORTS_MAX];
    char topic[ZL_TOPIC_NAME_MAX + 1];
};

static struct zl__topic_node *topic_find(zl_context *context, const char *topic)
{
    for (struct zl__topic_node *n = context->topics; n != NULL; n = n->next)
        if (strcmp(n->topic, topic) == 0)
            return n;
    return NULL;
}

static void topic_free_if_empty(zl_context *context, struct zl__topic_node *node)
{
    for (size_t i = 0; i < ZL__TRANSPORTS_MAX; i++)
        if (node->endpoints[i] != 0)
            return;
    for (struct zl__topic_node **p = &context->topics; *p != NULL; p = &(*p)->next)
        if (*p == node) {
            *p = node->next;
            zl__context_deallocate(context, node, sizeof *node, _Alignof(struct zl__topic_node));
            return;
        }
}

/* The transport most of the topic's endpoints use, or count when none. */
static size_t topic_preferred(const zl_context *context, const struct zl__topic_node *node)
{
    size_t best = context->transports.count;
    for (size_t i = 0; node != NULL && i < context->transports.count; i++)
        if (node->endpoints[i] != 0 &&
            (best == context->transports.count || node->endpoints[i] > node->endpoints[best]))
            best = i;
    return best;
}

/* What every transport refusing an endpoint says: their names and the last
 * refusal's reason (loopback's names lossless delivery). */
static int all_refused(const zl_context *context, const char *kind, const char *topic,
                       const char *reason)
{
    char names[64] = "";
    size_t used = 0;
    for (size_t i = 0; i < context->transports.count && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i == 0 ? "" : ", ",
                                 context->transports.ops[i]->name);
    return zl__fail(ZL_ENOTSUP, "no transport of the context (%s) carries this %s of '%s'%s%s",
                    names, kind, topic, reason[0] != '\0' ? ": " : "", reason);
}

/* One endpoint kind's create and destroy, for place_endpoint. */
typedef struct endpoint_maker {
    const char *kind;
    const char *topic;
    int (*make)(const zl__mw_ops *ops, void *arg);
    void (*unmake)(const zl__mw_ops *ops, void *arg);
    void *arg;
} endpoint_maker;

static int try_transports(zl_context *context, const endpoint_maker *m, size_t preferred,
                          size_t *chosen, char *reason, size_t reason_size)
{
    size_t n = context->transports.count;
    for (size_t k = 0; k <= n; k++) {
        /* The preferred transport first (k == 0), then the list in order. */
        size_t i = k == 0 ? preferred : k - 1;
        if (i >= n || (k > 0 && i == preferred))
            continue;
        int rc = m->make(context->transports.ops[i], m->arg);
        if (rc == ZL_ENOTSUP) {
            if (reason[0] == '\0')
                snprintf(reason, reason_size, "%s", zl_last_error_detail());
            continue;
        }
        *chosen = i;
        return rc;
    }
    return all_refused(context, m->kind, m->topic, reason);
}

static int place_endpoint(zl_context *context, const endpoint_maker *m, const zl__mw_ops **ops,
                          zl__topic_place *place)
{
    char reason[160] = "";
    size_t chosen = 0;
    place->node = NULL;
    place->transport = 0;
    if (context->transports.count == 1) {
        int rc = try_transports(context, m, 0, &chosen, reason, sizeof reason);
        if (rc == 0)
            *ops = context->transports.ops[0];
        return rc;
    }
    pthread_mutex_lock(&context->topics_lock);
    struct zl__topic_node *node = topic_find(context, m->topic);
    size_t preferred = topic_preferred(context, node);
    int rc = try_transports(context, m, preferred, &chosen, reason, sizeof reason);
    if (rc == 0 && node == NULL) {
        node = zl__context_allocate(context, sizeof *node, _Alignof(struct zl__topic_node));
        if (node == NULL) {
            m->unmake(context->transports.ops[chosen], m->arg);
            rc = zl__fail(ZL_ENOMEM, "allocating the context's record of topic %s failed",
                          m->topic);
        } else {
            memset(node, 0, sizeof *node);
            snprintf(node->topic, sizeof node->topic, "%s", m->topic);
            node->next = context->topics;
            context->topics = node;
        }
    }
    if (rc == 0) {
        node->endpoints[chosen]++;
        place->node = node;
        place->transport = chosen;
        *ops = context->transports.ops[chosen];
        /* Endpoints of the topic in this context on another transport:
         * the preferred one (which refused this endpoint), or, when this
         * one went to the preferred transport, one that an earlier
         * endpoint fell through to. */
        size_t other = preferred;
        if (other >= context->transports.count || other == chosen)
            for (other = 0; other < context->transports.count; other++)
                if (other != chosen && node->endpoints[other] > 0)
                    break;
        if (other < context->transports.count && node->endpoints[other] > 0) {
            /* Successful, yet apart: tell the user now, in the log and in
             * the detail (stats.other_transport counts it after). */
            char refused[200] = "";
            if (other == preferred && preferred != chosen)
                snprintf(refused, sizeof refused, ", which refused it (%s)", reason);
            (void)zl__fail(0,
                           "warning: this %s of %s is on transport %s, apart from the topic's "
                           "%u endpoint(s) of this context on %s%s: they never meet; list "
                           "one transport that takes them all first in the context's "
                           "transports",
                           m->kind, m->topic, context->transports.ops[chosen]->name,
                           node->endpoints[other], context->transports.ops[other]->name,
                           refused);
            /* The log's level says it is a warning already. */
            const char *detail = zl_last_error_detail();
            if (strncmp(detail, "warning: ", strlen("warning: ")) == 0)
                detail += strlen("warning: "); /* else the detail was lost (error.c) */
            zl__log(&context->logger, ZL_LOG_WARN, "%s", detail);
        } else if (reason[0] != '\0') {
            zl__clear_detail(); /* a refusal on the way does not outlive success */
        }
    }
    pthread_mutex_unlock(&context->topics_lock);
    return rc;
}

void zl__context_topic_leave(zl_context *context, zl__topic_place *place)
{
    if (place->node == NULL)
        return;
    pthread_mutex_lock(&context->topics_lock);
    place->node->endpoints[place->transport]--;
    topic_free_if_empty(context, place->node);
    pthread_mutex_unlock(&context->topics_lock);
    place->node = NULL;
}

uint32_t zl__context_topic_apart(zl_context *context, const zl__topic_place *place)
{
    if (place->node == NULL)
        return 0;
    uint32_t apart = 0;
    pthread_mutex_lock(&context->topics_lock);
    for (size_t i = 0; i < context->transports.count; i++)
        if (i != place->transport)
            apart += place->node->endpoints[i];
    pthread_mutex_unlock(&context->topics_lock);
    return apart;
}

typedef struct publisher_making {
    const zl__mw_publisher_config *config;
    zl__mw_publisher **publisher;
} publisher_making;

static int make_publisher(const zl__mw_ops *ops, void *arg)
{
    publisher_making *p = arg;
    return ops->publisher_create(p->config, p->publisher);
}

static void unmake_publisher(const zl__mw_ops *ops, void *arg)
{
    publisher_making *p = arg;
    ops->publisher_destroy(*p->publisher);
}

int zl__context_publisher_create(zl_context *context, const zl__mw_publisher_config *config,
                                 const zl__mw_ops **ops, zl__mw_publisher **publisher,
                                 zl__topic_place *place)
{
    publisher_making making = {config, publisher};
    endpoint_maker m = {"publisher", config->endpoint.topic, make_publisher, unmake_publisher,
                        &making};
    return place_endpoint(context, &m, ops, place);
}

typedef struct subscription_making {
    const zl__mw_subscription_config *config;
    zl__mw_subscription **subscription;
} subscription_making;

static int make_subscription(const zl__mw_ops *ops, void *arg)
{
    subscription_making *s = arg;
    return ops->subscription_create(s->config, s->subscription);
}

static void unmake_subscription(const zl__mw_ops *ops, void *arg)
{
    subscription_making *s = arg;
    ops->subscription_destroy(*s->subscription);
}

int zl__context_subscription_create(zl_context *context, const zl__mw_subscription_config *config,
                                    const zl__mw_ops **ops, zl__mw_subscription **subscription,
                                    zl__topic_place *place)
{
    subscription_making making = {config, subscription};
    endpoint_maker m = {"subscription", config->endpoint.topic, make_subscription,
                        unmake_subscription, &making};
    return place_endpoint(context, &m, ops, place);
}

void *zl__context_allocate(const zl_context *context, size_t size, size_t alignment)
{
    return context->allocator.allocate(size, alignment, context->allocator.state);
}

void zl__context_deallocate(const zl_context *context, void *ptr, size_t size, size_t alignment)
{
    if (ptr != NULL)
        context->allocator.deallocate(ptr, size, alignment, context->allocator.state);
}

void zl__context_keep_type(zl_type *kept, char name[ZL_TYPE_NAME_MAX], const zl_type *type,
                           uint64_t layout_hash)
{
    *kept = *type;
    memcpy(name, type->name, strlen(type->name) + 1);
    kept->name = name;
    kept->layout = NULL; /* already folded into the hash */
    kept->fields = NULL; /* likewise */
    kept->field_count = 0;
    kept->layout_hash = layout_hash;
}

int zl__context_endpoint_config(zl_context *context, const char *topic, const zl_type *type,
                                char *qualified_topic, char *description,
                                zl__mw_endpoint_config *config)
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
    config->liveness_period_ms = context->liveness_period_ms;
    config->type_name = type->name;
    config->type_size = type->size;
    config->layout_hash = zl_type_layout_hash(type);
    config->plain = type->plain;
    config->type_alignment = type->alignment;
    config->element_size = type->element_size;
    config->max_count = type->max_count;
    rc = zl_type_describe(type, description, ZL_TYPE_DESCRIPTION_MAX);
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
