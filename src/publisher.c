/* Publishers: loans from the transport, or from the allocator when the
 * transport cannot lend (the refusal path), and the copy path. */
#include <string.h>

#include "zloan/error.h"
#include "zloan/publisher.h"

#include "atomic.h"
#include "context.h"
#include "error_detail.h"
#include "publisher.h"

struct zl_publisher {
    zl_context *context;
    const zl__mw_ops *mw;
    zl__mw_publisher *impl;
    zl_type type;
    char type_name[ZL_TYPE_NAME_MAX];
    bool can_loan;
    uint32_t max_loans;
    uint32_t loans_held; /* the user's, of either kind */
    void **allocated;    /* loans from the allocator (refusal path); NULL: free */
    zl__atomic_u32 attachments; /* wait-set entries naming it (destroy refuses) */
};

void zl_publisher_options_init(zl_publisher_options *options)
{
    memset(options, 0, sizeof *options);
    options->history = 0;
    options->max_loans = 4;
    options->max_subscriptions = 8;
    options->chunks_per_subscription = 24;
    options->max_blocking_time_ns = ZL_MAX_BLOCKING_TIME_DEFAULT_NS;
}

int zl_publisher_create(zl_context *context, const char *topic, const zl_type *type,
                        const zl_publisher_options *options, zl_publisher **publisher)
{
    zl__clear_detail();
    zl_publisher_options defaults;
    if (context == NULL || topic == NULL || type == NULL || publisher == NULL)
        return zl__fail(ZL_EINVAL, "context, topic, type and publisher must not be NULL");
    if (options == NULL) {
        zl_publisher_options_init(&defaults);
        options = &defaults;
    }
    if (options->history > 64 || options->max_loans == 0 || options->max_loans > 1024 ||
        options->max_subscriptions == 0 ||
        options->max_subscriptions > ZL_TOPIC_SUBSCRIPTIONS_MAX ||
        options->chunks_per_subscription < 2 || options->chunks_per_subscription > 4096 ||
        options->max_blocking_time_ns < 0 ||
        options->max_blocking_time_ns > ZL_MAX_BLOCKING_TIME_MAX_NS)
        return zl__fail(ZL_EINVAL,
                        "publisher options out of range: history 0..64, max_loans 1..1024, "
                        "max_subscriptions 1..%d, chunks_per_subscription 2..4096, "
                        "max_blocking_time_ns 0..%lld",
                        ZL_TOPIC_SUBSCRIPTIONS_MAX, (long long)ZL_MAX_BLOCKING_TIME_MAX_NS);
    char qualified[ZL_TOPIC_NAME_MAX + 1];
    zl__mw_publisher_config config;
    memset(&config, 0, sizeof config);
    int rc = zl__context_endpoint_config(context, topic, type, qualified, &config.endpoint);
    if (rc != 0)
        return rc;
    config.endpoint.max_loans = options->max_loans + 1; /* one more for the copy path */
    config.history = options->history;
    config.max_subscriptions = options->max_subscriptions;
    config.chunks_per_subscription = options->chunks_per_subscription;
    config.pool_bytes_max = options->pool_bytes_max;
    config.max_blocking_time_ns = options->max_blocking_time_ns;

    zl_publisher *p = zl__context_allocate(context, sizeof *p, _Alignof(zl_publisher));
    if (p == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the publisher failed");
    memset(p, 0, sizeof *p);
    p->allocated = zl__context_allocate(context, sizeof(void *) * options->max_loans,
                                        _Alignof(void *));
    if (p->allocated == NULL) {
        zl__context_deallocate(context, p, sizeof *p, _Alignof(zl_publisher));
        return zl__fail(ZL_ENOMEM, "allocating the publisher failed");
    }
    memset(p->allocated, 0, sizeof(void *) * options->max_loans);
    p->context = context;
    p->mw = context->transport;
    p->type = *type;
    memcpy(p->type_name, type->name, strlen(type->name) + 1);
    p->type.name = p->type_name;
    p->type.layout = NULL; /* already folded into the hash */
    p->type.fields = NULL; /* likewise */
    p->type.field_count = 0;
    p->type.layout_hash = config.endpoint.layout_hash;
    p->max_loans = options->max_loans;
    p->can_loan = type->plain && !options->disable_loans && !context->disable_loans;
    rc = p->mw->publisher_create(&config, &p->impl);
    if (rc != 0) {
        zl__context_deallocate(context, p->allocated, sizeof(void *) * p->max_loans,
                               _Alignof(void *));
        zl__context_deallocate(context, p, sizeof *p, _Alignof(zl_publisher));
        return rc;
    }
    zl__context_hold(context, ZL__CONTEXT_PUBLISHER);
    *publisher = p;
    return 0;
}

static void free_message(zl_publisher *p, void *message)
{
    if (!p->type.plain && p->type.fini != NULL)
        p->type.fini(message, &p->context->allocator);
    zl__context_deallocate(p->context, message, p->type.size, p->type.alignment);
}

int zl_publisher_destroy(zl_publisher *publisher)
{
    zl__clear_detail();
    if (publisher == NULL)
        return zl__fail(ZL_EINVAL, "publisher is NULL");
    /* Relaxed: attaching and detaching happen on threads the user already
     * ordered before this call (a wait set is used by one thread at a time). */
    uint32_t attachments = zl__load_relaxed(&publisher->attachments);
    if (attachments != 0)
        return zl__fail(ZL_EBUSY,
                        "the publisher is attached to %u wait set entries: detach it first",
                        attachments);
    zl_context *context = publisher->context;
    for (uint32_t i = 0; i < publisher->max_loans; i++)
        if (publisher->allocated[i] != NULL)
            free_message(publisher, publisher->allocated[i]);
    publisher->mw->publisher_destroy(publisher->impl);
    zl__context_deallocate(context, publisher->allocated, sizeof(void *) * publisher->max_loans,
                           _Alignof(void *));
    zl__context_deallocate(context, publisher, sizeof *publisher, _Alignof(zl_publisher));
    zl__context_release(context, ZL__CONTEXT_PUBLISHER);
    return 0;
}

bool zl_publisher_can_loan(const zl_publisher *publisher)
{
    return publisher != NULL && publisher->can_loan;
}

static int allocated_index(const zl_publisher *p, const void *message)
{
    for (uint32_t i = 0; i < p->max_loans; i++)
        if (p->allocated[i] == message)
            return (int)i;
    return -1;
}

int zl_publisher_loan(zl_publisher *publisher, void **message)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    if (publisher->loans_held >= publisher->max_loans)
        return zl__fail(ZL_ETOOMANYLOANS, "the publisher's %u loans are all held",
                        publisher->max_loans);
    if (publisher->can_loan) {
        int rc = publisher->mw->publisher_loan(publisher->impl, message);
        if (rc == 0)
            publisher->loans_held++;
        return rc;
    }
    int slot = allocated_index(publisher, NULL);
    void *memory = zl__context_allocate(publisher->context, publisher->type.size,
                                        publisher->type.alignment);
    if (memory == NULL)
        return zl__fail(ZL_ENOMEM, "the allocator failed for a loan of %zu bytes",
                        publisher->type.size);
    if (!publisher->type.plain)
        memset(memory, 0, publisher->type.size); /* its pointers start out NULL */
    publisher->allocated[slot] = memory;
    publisher->loans_held++;
    *message = memory;
    return 0;
}

/* Copies or serializes message into a transport chunk and publishes it. */
static int publish_copy(zl_publisher *p, const void *message)
{
    void *chunk;
    int rc = p->mw->publisher_loan(p->impl, &chunk);
    if (rc != 0)
        return rc;
    size_t size = p->type.size;
    if (p->type.plain) {
        memcpy(chunk, message, size);
    } else {
        rc = p->type.serialize(message, chunk, p->type.serialized_size_max, &size);
        if (rc == 0 && size > p->type.serialized_size_max)
            rc = ZL_ESERIALIZE;
        if (rc != 0) {
            p->mw->publisher_return_loan(p->impl, chunk);
            return zl__fail(ZL_ESERIALIZE, "serializing a '%s' failed (%d)", p->type.name, rc);
        }
    }
    rc = p->mw->publisher_publish_loan(p->impl, chunk, size);
    if (rc != 0)
        p->mw->publisher_return_loan(p->impl, chunk);
    return rc;
}

int zl_publisher_publish_loan(zl_publisher *publisher, void *message)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    int slot = allocated_index(publisher, message);
    if (slot >= 0) {
        int rc = publish_copy(publisher, message);
        if (rc != 0)
            return rc; /* the caller keeps the loan */
        publisher->allocated[slot] = NULL;
        free_message(publisher, message);
        publisher->loans_held--;
        return 0;
    }
    if (!publisher->can_loan)
        return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this publisher", message);
    int rc = publisher->mw->publisher_publish_loan(publisher->impl, message, publisher->type.size);
    if (rc == 0)
        publisher->loans_held--;
    return rc;
}

int zl_publisher_return_loan(zl_publisher *publisher, void *message)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    int slot = allocated_index(publisher, message);
    if (slot >= 0) {
        publisher->allocated[slot] = NULL;
        free_message(publisher, message);
        publisher->loans_held--;
        return 0;
    }
    if (!publisher->can_loan)
        return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this publisher", message);
    int rc = publisher->mw->publisher_return_loan(publisher->impl, message);
    if (rc == 0)
        publisher->loans_held--;
    return rc;
}

int zl_publisher_publish(zl_publisher *publisher, const void *message)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    return publish_copy(publisher, message);
}

int zl_publisher_update_connections(zl_publisher *publisher)
{
    zl__clear_detail();
    if (publisher == NULL)
        return zl__fail(ZL_EINVAL, "publisher is NULL");
    return publisher->mw->publisher_update_connections(publisher->impl);
}

int zl_publisher_get_stats(zl_publisher *publisher, zl_publisher_stats *stats)
{
    zl__clear_detail();
    if (publisher == NULL || stats == NULL)
        return zl__fail(ZL_EINVAL, "publisher and stats must not be NULL");
    memset(stats, 0, sizeof *stats);
    publisher->mw->publisher_update_connections(publisher->impl);
    publisher->mw->publisher_stats(publisher->impl, stats);
    stats->loans_held = publisher->loans_held;
    return 0;
}

uint64_t zl_publisher_id(const zl_publisher *publisher)
{
    return publisher == NULL ? 0 : publisher->mw->publisher_id(publisher->impl);
}

void zl__publisher_waitable(zl_publisher *publisher, zl__mw_waitable *waitable)
{
    publisher->mw->publisher_waitable(publisher->impl, waitable);
}

bool zl__publisher_ready(zl_publisher *publisher)
{
    return publisher->mw->publisher_ready(publisher->impl);
}

void zl__publisher_attached(zl_publisher *publisher, bool attached)
{
    /* Relaxed: a count read only by destroy (see there). */
    if (attached)
        zl__fetch_add_relaxed(&publisher->attachments, 1);
    else
        zl__fetch_sub_relaxed(&publisher->attachments, 1);
}
