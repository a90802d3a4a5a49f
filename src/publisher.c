/* Publishers: loans from the transport, or from the allocator when the
 * transport cannot lend (the refusal path), and the copy path.
 *
 * Every loan the user holds is one record here (pointer, size, origin, the
 * transport's handle), whatever its origin: publish and return find the
 * record by the pointer and hand the transport its handle, so the
 * transport looks nothing up. The record lent last is looked at first, and
 * a loan takes the record freed last first: one loan at a time (or the
 * newest of several) costs one comparison each way, whatever max_loans. */
#include <string.h>

#include "zloan/error.h"
#include "zloan/publisher.h"

#include "atomic.h"
#include "context.h"
#include "error_detail.h"
#include "publisher.h"

typedef struct loan_record {
    void *pointer;                 /* NULL: the record is free */
    size_t count;                  /* sized types: tail elements it has room for */
    size_t bytes;                  /* bytes lent */
    bool from_allocator;           /* the refusal path's memory, else the transport's */
    zl__mw_loan_handle handle;     /* the transport's name for it */
} loan_record;

struct zl_publisher {
    zl_context *context;
    const zl__mw_ops *mw;
    zl__mw_publisher *impl;
    zl__topic_place place; /* among the context's transports */
    zl_type type;
    char type_name[ZL_TYPE_NAME_MAX];
    bool can_loan;
    bool sized;
    /* Sized types: the most tail elements a loan or message may have
     * (max_count, or what keeps it under 1 TiB), resolved at creation. */
    size_t count_max;
    /* A non-plain type on a transport that copies: where its
     * serialization goes before the transport copies it (serialized_size_max
     * bytes, allocated at creation), else NULL. */
    void *scratch;
    uint32_t max_loans;
    uint32_t loans_held; /* records in use */
    uint32_t last_lent;  /* the record lent last: where publish looks first */
    uint32_t last_freed; /* the record freed last: where a loan looks first */
    loan_record *loans;  /* max_loans records */
    zl__atomic_u32 attachments; /* wait-set entries naming it (destroy refuses) */
    uint32_t memories;          /* user memories registered (destroy refuses) */
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
    /* A fixed-size type's first chunks are made now; a sized type's when
     * the first loan says which size. */
    config.initial_payload = type->element_size == 0 ? config.endpoint.payload_size : 0;
    config.max_blocking_time_ns = options->max_blocking_time_ns;

    zl_publisher *p = zl__context_allocate(context, sizeof *p, _Alignof(zl_publisher));
    if (p == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the publisher failed");
    memset(p, 0, sizeof *p);
    size_t table = sizeof(loan_record) * options->max_loans;
    p->loans = zl__context_allocate(context, table, _Alignof(loan_record));
    if (p->loans == NULL) {
        zl__context_deallocate(context, p, sizeof *p, _Alignof(zl_publisher));
        return zl__fail(ZL_ENOMEM, "allocating the publisher failed");
    }
    memset(p->loans, 0, table);
    p->context = context;
    p->type = *type;
    memcpy(p->type_name, type->name, strlen(type->name) + 1);
    p->type.name = p->type_name;
    p->type.layout = NULL; /* already folded into the hash */
    p->type.fields = NULL; /* likewise */
    p->type.field_count = 0;
    p->type.layout_hash = config.endpoint.layout_hash;
    p->max_loans = options->max_loans;
    p->sized = type->element_size != 0;
    if (p->sized)
        p->count_max = type->max_count != 0
                           ? type->max_count
                           : (ZL__PAYLOAD_UNBOUNDED - type->size) / type->element_size;
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
        zl__context_deallocate(context, p->loans, table, _Alignof(loan_record));
        zl__context_deallocate(context, p, sizeof *p, _Alignof(zl_publisher));
        return rc;
    }
    /* The refusal path is chosen by what the transport declares, not by
     * its name: a transport that does not lend gets allocator loans. */
    p->can_loan = type->plain && !options->disable_loans && !context->disable_loans &&
                  p->mw->capabilities.lends;
    zl__context_hold(context, ZL__CONTEXT_PUBLISHER);
    *publisher = p;
    return 0;
}

static void free_message(zl_publisher *p, void *message, size_t bytes)
{
    if (!p->type.plain && p->type.fini != NULL)
        p->type.fini(message, &p->context->allocator);
    zl__context_deallocate(p->context, message, bytes, p->type.alignment);
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
    if (publisher->memories != 0)
        return zl__fail(ZL_EBUSY,
                        "%u user memories are registered with the publisher: destroy them first",
                        publisher->memories);
    zl_context *context = publisher->context;
    for (uint32_t i = 0; i < publisher->max_loans; i++)
        if (publisher->loans[i].pointer != NULL && publisher->loans[i].from_allocator)
            free_message(publisher, publisher->loans[i].pointer, publisher->loans[i].bytes);
    publisher->mw->publisher_destroy(publisher->impl);
    zl__context_topic_leave(context, &publisher->place);
    if (publisher->scratch != NULL)
        zl__context_deallocate(context, publisher->scratch, publisher->type.serialized_size_max,
                               8);
    zl__context_deallocate(context, publisher->loans, sizeof(loan_record) * publisher->max_loans,
                           _Alignof(loan_record));
    zl__context_deallocate(context, publisher, sizeof *publisher, _Alignof(zl_publisher));
    zl__context_release(context, ZL__CONTEXT_PUBLISHER);
    return 0;
}

bool zl_publisher_can_loan(const zl_publisher *publisher)
{
    return publisher != NULL && publisher->can_loan;
}

/* find_record when the record at `first` is not it: every record in turn. */
static loan_record *find_record_scan(zl_publisher *p, const void *message)
{
    for (uint32_t i = 0; i < p->max_loans; i++)
        if (p->loans[i].pointer == message)
            return &p->loans[i];
    if (message != NULL)
        zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this publisher", message);
    return NULL;
}

/* The record at message (NULL: a free record), looking at `first` first,
 * or NULL (with a detail when message is not NULL). Inline: the look at
 * `first` is the common case of every loan, publish and return. */
static inline loan_record *find_record(zl_publisher *p, const void *message, uint32_t first)
{
    if (p->loans[first].pointer == message)
        return &p->loans[first];
    return find_record_scan(p, message);
}

/* The record of a loan the user holds at message, or NULL (with a detail). */
static inline loan_record *find_loan(zl_publisher *p, const void *message)
{
    return find_record(p, message, p->last_lent);
}

/* Bytes a message of count elements fills: the fixed part and the
 * elements, not rounded (subscriptions derive the count from it). */
static size_t filled_bytes(const zl_publisher *p, size_t count)
{
    return p->sized ? p->type.size + count * p->type.element_size : p->type.size;
}

/* The failure of check_count, out of the way of the loan's path. */
static __attribute__((cold, noinline)) int count_refused(const zl_publisher *p, size_t count)
{
    if (!p->sized)
        return zl__fail(ZL_EINVAL, "type '%s' has a fixed size: the count must be 0",
                        p->type.name);
    if (p->type.max_count != 0)
        return zl__fail(ZL_EINVAL, "%zu elements exceed the %zu that type '%s' allows", count,
                        p->type.max_count, p->type.name);
    return zl__fail(ZL_EINVAL, "%zu elements of type '%s' exceed 1 TiB", count, p->type.name);
}

/* Inline: a fixed-size type's check is one comparison. */
static inline int check_count(const zl_publisher *p, size_t count)
{
    if (!p->sized)
        return count != 0 ? count_refused(p, count) : 0;
    return count > p->count_max ? count_refused(p, count) : 0;
}

/* zl_publisher_loan_sized, inline (always) in both public loans: the
 * fixed-size loan is one call, not two. */
static inline __attribute__((always_inline)) int loan(zl_publisher *publisher, size_t count,
                                                      void **message)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    zl_publisher *p = publisher;
    int rc = check_count(p, count);
    if (rc != 0)
        return rc;
    if (p->loans_held >= p->max_loans)
        return zl__fail(ZL_ETOOMANYLOANS, "the publisher's %u loans are all held", p->max_loans);
    loan_record *record = find_record(p, NULL, p->last_freed);
    /* zl_type_message_size, inline: the fixed part and the elements,
     * rounded up to the alignment. */
    size_t bytes = p->sized ? (p->type.size + count * p->type.element_size +
                               p->type.alignment - 1) & ~(p->type.alignment - 1)
                            : p->type.size;
    void *memory;
    zl__mw_loan_handle handle = 0;
    /* A transport may refuse one loan (ZL_ENOTSUP): the allocator lends. */
    rc = p->can_loan ? p->mw->publisher_loan(p->impl, bytes, &memory, &handle) : ZL_ENOTSUP;
    bool from_allocator = rc == ZL_ENOTSUP;
    if (rc != 0 && !from_allocator)
        return rc;
    if (from_allocator) {
        memory = zl__context_allocate(p->context, bytes, p->type.alignment);
        if (memory == NULL)
            return zl__fail(ZL_ENOMEM, "the allocator failed for a loan of %zu bytes", bytes);
        if (!p->type.plain)
            memset(memory, 0, bytes); /* its pointers start out NULL */
    }
    record->pointer = memory;
    record->count = count;
    record->bytes = bytes;
    record->from_allocator = from_allocator;
    record->handle = handle;
    p->loans_held++;
    p->last_lent = (uint32_t)(record - p->loans);
    *message = memory;
    return 0;
}

int zl_publisher_loan_sized(zl_publisher *publisher, size_t count, void **message)
{
    return loan(publisher, count, message);
}

int zl_publisher_loan(zl_publisher *publisher, void **message)
{
    return loan(publisher, 0, message);
}

/* Serializes a non-plain message into buf (capacity bytes): *size. */
static int serialize(zl_publisher *p, const void *message, void *buf, size_t *size)
{
    int rc = p->type.serialize(message, buf, p->type.serialized_size_max, size);
    if (rc == 0 && *size > p->type.serialized_size_max)
        rc = ZL_ESERIALIZE;
    if (rc != 0)
        return zl__fail(ZL_ESERIALIZE, "serializing a '%s' failed (%d)", p->type.name, rc);
    return 0;
}

/* The refusal path's publish: the transport does not lend, so it copies
 * the bytes itself (publisher_publish_copy), from the user's message when
 * the type is plain, else from its serialization in the scratch buffer. */
static int publish_through_transport(zl_publisher *p, const void *message, size_t count)
{
    if (p->mw->publisher_publish_copy == NULL)
        return zl__fail(ZL_ENOTSUP, "transport %s neither lends nor copies", p->mw->name);
    if (p->type.plain)
        return p->mw->publisher_publish_copy(p->impl, message, filled_bytes(p, count));
    size_t size;
    int rc = serialize(p, message, p->scratch, &size);
    if (rc != 0)
        return rc;
    return p->mw->publisher_publish_copy(p->impl, p->scratch, size);
}

/* Copies or serializes message (count elements) into a transport loan and
 * publishes it; through the transport's copy when it refuses to lend. */
static int publish_copy(zl_publisher *p, const void *message, size_t count)
{
    if (!p->mw->capabilities.lends)
        return publish_through_transport(p, message, count);
    size_t bytes = p->type.plain ? filled_bytes(p, count) : p->type.serialized_size_max;
    void *chunk;
    zl__mw_loan_handle handle;
    int rc = p->mw->publisher_loan(p->impl, bytes, &chunk, &handle);
    if (rc == ZL_ENOTSUP)
        return publish_through_transport(p, message, count);
    if (rc != 0)
        return rc;
    size_t size = bytes;
    if (p->type.plain) {
        memcpy(chunk, message, size);
    } else {
        rc = serialize(p, message, chunk, &size);
        if (rc != 0) {
            p->mw->publisher_return_loan(p->impl, handle);
            return rc;
        }
    }
    rc = p->mw->publisher_publish_loan(p->impl, handle, size);
    if (rc != 0)
        p->mw->publisher_return_loan(p->impl, handle);
    return rc;
}

static inline void release_record(zl_publisher *p, loan_record *record)
{
    if (record->from_allocator)
        free_message(p, record->pointer, record->bytes);
    record->pointer = NULL; /* free: a loan sets every other field */
    p->loans_held--;
    p->last_freed = (uint32_t)(record - p->loans);
}

/* Publishes the loan of record (count elements); on error the caller
 * keeps it. */
static inline __attribute__((always_inline)) int
publish_record(zl_publisher *publisher, loan_record *record, void *message, size_t count)
{
    if (count > record->count)
        return zl__fail(ZL_EINVAL, "%zu elements published from a loan made for %zu", count,
                        record->count);
    int rc = record->from_allocator
                 ? publish_copy(publisher, message, count)
                 : publisher->mw->publisher_publish_loan(publisher->impl, record->handle,
                                                         filled_bytes(publisher, count));
    if (rc != 0)
        return rc; /* the caller keeps the loan */
    release_record(publisher, record);
    return 0;
}

/* Publishes the loan at message: count elements, or (whole) as many as it
 * was made for. Inline (always) in both public publishes, as loan. */
static inline __attribute__((always_inline)) int
publish_loan(zl_publisher *publisher, void *message, size_t count, bool whole)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    loan_record *record = find_loan(publisher, message);
    if (record == NULL)
        return ZL_ENOTLOAN;
    return publish_record(publisher, record, message, whole ? record->count : count);
}

int zl_publisher_publish_loan_sized(zl_publisher *publisher, void *message, size_t count)
{
    return publish_loan(publisher, message, count, false);
}

int zl_publisher_publish_loan(zl_publisher *publisher, void *message)
{
    return publish_loan(publisher, message, 0, true);
}

int zl_publisher_return_loan(zl_publisher *publisher, void *message)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    loan_record *record = find_loan(publisher, message);
    if (record == NULL)
        return ZL_ENOTLOAN;
    if (!record->from_allocator) {
        int rc = publisher->mw->publisher_return_loan(publisher->impl, record->handle);
        if (rc != 0)
            return rc;
    }
    release_record(publisher, record);
    return 0;
}

int zl_publisher_publish_sized(zl_publisher *publisher, const void *message, size_t count)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    int rc = check_count(publisher, count);
    if (rc != 0)
        return rc;
    return publish_copy(publisher, message, count);
}

int zl_publisher_publish(zl_publisher *publisher, const void *message)
{
    /* A sized type's message carries its count, which this call has not:
     * refuse rather than send a count of 0 (issue 22). */
    if (publisher != NULL && publisher->sized) {
        zl__clear_detail();
        return zl__fail(ZL_EINVAL,
                        "type '%s' is sized: zl_publisher_publish() has no element count, "
                        "use zl_publisher_publish_sized(publisher, message, count)",
                        publisher->type.name);
    }
    return zl_publisher_publish_sized(publisher, message, 0);
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
