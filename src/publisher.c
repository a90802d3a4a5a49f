/* Publishers: create, destroy, statistics, and what wait sets and user
 * memory need (publisher.h). The loans are publisher_loan.c's, the copy
 * path publisher_copy.c's (publisher_object.h names the three).
 *
 * Invariants this file enforces
 *   C4. Destroy refuses (ZL_EBUSY, nothing changed) while a wait-set entry
 *       names the publisher or a user memory is registered with it; it
 *       frees the allocator loans still held (C3) and gives the transport's
 *       back by destroying the transport's endpoint.
 *   C5. The refusal path is chosen by what the transport declares
 *       (capabilities.lends), never by its name: can_loan is fixed at
 *       creation.
 */
#include <string.h>

#include "zloan/error.h"
#include "zloan/publisher.h"

#include "atomic.h"
#include "context.h"
#include "error_detail.h"
#include "publisher.h"
#include "publisher_object.h"

void zl_publisher_options_init(zl_publisher_options *options)
{
    if (options == NULL)
        return;
    memset(options, 0, sizeof *options);
    options->history = 0;
    options->max_loans = 4;
    options->max_subscriptions = 8;
    options->chunks_per_subscription = 24;
    options->max_blocking_time_ns = ZL_MAX_BLOCKING_TIME_DEFAULT_NS;
}

static int check_options(const zl_publisher_options *options)
{
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
    return 0;
}

/* The transport's configuration of a publisher of type on topic. */
static int fill_config(zl_context *context, const char *topic, const zl_type *type,
                       const zl_publisher_options *options, char *qualified,
                       char *description, zl__mw_publisher_config *config)
{
    memset(config, 0, sizeof *config);
    int rc = zl__context_endpoint_config(context, topic, type, qualified, description,
                                         &config->endpoint);
    if (rc != 0)
        return rc;
    config->endpoint.max_loans = options->max_loans + 1; /* one more for the copy path */
    config->history = options->history;
    config->max_subscriptions = options->max_subscriptions;
    config->chunks_per_subscription = options->chunks_per_subscription;
    config->pool_bytes_max = options->pool_bytes_max;
    /* A fixed-size type's first chunks are made now; a sized type's when
     * the first loan says which size. */
    config->initial_payload = type->element_size == 0 ? config->endpoint.payload_size : 0;
    config->max_blocking_time_ns = options->max_blocking_time_ns;
    return 0;
}

/* Keeps the type as the publisher needs it, and its sized bounds. */
static void keep_type(zl_publisher *p, const zl_type *type, uint64_t layout_hash)
{
    zl__context_keep_type(&p->type, p->type_name, type, layout_hash);
    p->sized = type->element_size != 0;
    p->round = p->sized ? type->alignment - 1 : 0;
    if (p->sized)
        p->count_max = type->max_count != 0
                           ? type->max_count
                           : (ZL__PAYLOAD_UNBOUNDED - type->size) / type->element_size;
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
    int rc = check_options(options);
    if (rc != 0)
        return rc;
    char qualified[ZL_TOPIC_NAME_MAX + 1];
    char description[ZL_TYPE_DESCRIPTION_MAX];
    zl__mw_publisher_config config;
    rc = fill_config(context, topic, type, options, qualified, description, &config);
    if (rc != 0)
        return rc;

    zl_publisher *p = zl__context_allocate(context, sizeof *p, _Alignof(zl_publisher));
    if (p == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the publisher failed");
    memset(p, 0, sizeof *p);
    size_t table = zl__publisher_table_bytes(options->max_loans);
    p->loans = zl__context_allocate(context, table, _Alignof(zl__loan_record));
    if (p->loans == NULL) {
        zl__context_deallocate(context, p, sizeof *p, _Alignof(zl_publisher));
        return zl__fail(ZL_ENOMEM, "allocating the publisher failed");
    }
    memset(p->loans, 0, table);
    p->context = context;
    p->max_loans = options->max_loans;
    p->records = zl__publisher_records(p->max_loans);
    p->home_shift = 64u - zl__address_table_bits(2 * p->max_loans);
    zl__publisher_table_split(p);
    keep_type(p, type, config.endpoint.layout_hash);
    rc = zl__context_publisher_create(context, &config, &p->mw, &p->impl, &p->place);
    if (rc == 0 && p->mw->publisher_publish_copy != NULL && !type->plain) {
        p->scratch = zl__context_allocate(context, type->serialized_size_max, 8);
        if (p->scratch == NULL) {
            p->mw->publisher_destroy(p->impl);
            zl__context_topic_leave(context, &p->place);
            rc = zl__fail(ZL_ENOMEM, "allocating the publisher failed");
        }
    }
    if (rc != 0) {
        zl__context_deallocate(context, p->loans, table, _Alignof(zl__loan_record));
        zl__context_deallocate(context, p, sizeof *p, _Alignof(zl_publisher));
        return rc;
    }
    /* C5: a transport that does not lend gets allocator loans. */
    p->can_loan = type->plain && !options->disable_loans && !context->disable_loans &&
                  p->mw->capabilities.lends;
    zl__context_hold(context, ZL__CONTEXT_PUBLISHER);
    *publisher = p;
    return 0;
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
                        "the publisher is attached to %u wait set entr%s: detach it first",
                        attachments, attachments == 1 ? "y" : "ies");
    if (publisher->memories != 0)
        return zl__fail(ZL_EBUSY,
                        "%u user memories are registered with the publisher: destroy them first",
                        publisher->memories);
    zl_context *context = publisher->context;
    for (uint32_t i = 0; i < publisher->records; i++)
        if (publisher->loans[i].pointer != NULL && publisher->loans[i].from_allocator)
            zl__publisher_free_message(publisher, publisher->loans[i].pointer,
                                       publisher->loans[i].bytes);
    publisher->mw->publisher_destroy(publisher->impl);
    zl__context_topic_leave(context, &publisher->place);
    if (publisher->scratch != NULL)
        zl__context_deallocate(context, publisher->scratch, publisher->type.serialized_size_max,
                               8);
    zl__context_deallocate(context, publisher->loans,
                           zl__publisher_table_bytes(publisher->max_loans),
                           _Alignof(zl__loan_record));
    zl__context_deallocate(context, publisher, sizeof *publisher, _Alignof(zl_publisher));
    zl__context_release(context, ZL__CONTEXT_PUBLISHER);
    return 0;
}

bool zl_publisher_can_loan(const zl_publisher *publisher)
{
    return publisher != NULL && publisher->can_loan;
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
    stats->other_transport = zl__context_topic_apart(publisher->context, &publisher->place);
    return 0;
}

uint64_t zl_publisher_id(const zl_publisher *publisher)
{
    return publisher == NULL ? 0 : publisher->mw->publisher_id(publisher->impl);
}

void zl__publisher_parts_get(zl_publisher *publisher, zl__publisher_parts *parts)
{
    parts->context = publisher->context;
    parts->mw = publisher->mw;
    parts->impl = publisher->impl;
    parts->type = &publisher->type;
    parts->can_loan = publisher->can_loan;
}

void zl__publisher_memory_registered(zl_publisher *publisher, bool registered)
{
    publisher->memories += registered ? 1u : (uint32_t)-1;
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
