/* The publisher as an endpoint: creation (its pool's control object, the
 * first segment, registration), destruction (lingering for subscriptions
 * that still have messages to take) and statistics (publisher.h).
 */
#include <unistd.h>

#include "zloan/error.h"

#include "../../error_detail.h"
#include "../../identity.h"
#include "hot_path.h"

void zl__shm_publisher_stats(const zl__mw_publisher *pub, zl_publisher_stats *stats)
{
    stats->published = pub->published;
    stats->dropped = pub->dropped;
    stats->blocked = pub->blocked;
    stats->timeouts = pub->timeouts;
    stats->subscriptions = (uint32_t)__builtin_popcount(pub->connected_mask);
    stats->peer_errors = pub->peer_errors;
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
        const segment *seg = &pub->segments[slot];
        if (seg->serial == 0 || seg->user)
            continue;
        stats->segments++;
        stats->chunks_total += seg->geometry.chunk_count;
        stats->chunks_free += seg->free_top;
    }
    stats->shm_bytes = pub->shm_bytes;
    stats->shm_bytes_high = pub->shm_bytes_high;
    stats->shm_bytes_max = pub->shm_bytes_max;
    stats->growths = pub->growths;
    stats->other_owners = zl__registry_other_owners(&pub->registry, NULL, 0);
}

uint64_t zl__shm_publisher_id(const zl__mw_publisher *pub) { return pub->id; }

static void free_private(zl__mw_publisher *pub)
{
    const zl_allocator *a = pub->allocator;
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
        segment *seg = &pub->segments[slot];
        if (seg->serial == 0)
            continue;
        zl__segment_unmap(&seg->map);
        zl__endpoint_deallocate(a, seg->bookkeeping, seg->bookkeeping_size);
        if (seg->user) {
            close((int)seg->file.fd);
            zl__endpoint_deallocate(a, seg->published,
                                    sizeof(uint64_t) * seg->geometry.chunk_count);
        }
    }
    zl__segment_unmap(&pub->pool_map);
    zl__endpoint_deallocate(a, pub->history, sizeof(uint32_t) * pub->history_capacity);
    zl__endpoint_deallocate(a, pub, sizeof *pub);
}

void zl__shm_publisher_destroy(zl__mw_publisher *pub)
{
    /* Subscriptions whose queues still hold our messages may not have
     * mapped the pool yet: keep it linked for them (registry G7). Those
     * that took everything have it mapped already, and their loans stay
     * valid after the name is gone. */
    uint32_t waiting = 0;
    for (uint32_t j = 0; j < ZL__SUB_SLOTS; j++) {
        connection *c = &pub->connections[j];
        if (c->connected && zl__deliver_nonempty(&c->deliver))
            waiting |= 1u << j;
    }
    bool linger = waiting != 0 &&
                  zl__registry_linger(&pub->registry, pub->id,
                                      (uint32_t)__builtin_popcount(waiting));
    if (linger) {
        for (uint32_t j = 0; j < ZL__SUB_SLOTS; j++)
            if (waiting & (1u << j))
                /* Release: the lingering entry (written before) is visible
                 * to the subscription that takes this flag. */
                zl__store_release(&pub->connections[j].shm->lingering, 1);
        /* A subscription that left meanwhile will not take its flag: take it
         * for it. It clears its record, fences, then takes its flags; we set
         * the flags, fence, then read its record: at least one of us sees
         * the other, and the exchange on the flag lets only one act. */
        zl__fence_seq_cst();
        for (uint32_t j = 0; j < ZL__SUB_SLOTS; j++) {
            if (!(waiting & (1u << j)))
                continue;
            zl__endpoint_record record;
            int state = zl__registry_lookup(&pub->registry, ZL__KIND_SUBSCRIPTION, j, &record);
            bool gone = state == ZL__SLOT_EMPTY ||
                        (state == ZL__SLOT_PRESENT &&
                         record.id != pub->connections[j].subscription_id);
            if (gone && atomic_exchange_explicit(&pub->connections[j].shm->lingering, 0,
                                                 memory_order_acq_rel) != 0)
                zl__registry_linger_done(&pub->registry, pub->id);
        }
    }
    for (uint32_t j = 0; j < ZL__SUB_SLOTS; j++) {
        connection *c = &pub->connections[j];
        if (c->connected)
            zl__endpoint_deallocate(pub->allocator, c->mirror,
                                    sizeof(uint32_t) * (c->deliver.mask + 1));
        c->connected = false;
        zl__segment_unmap(&c->map);
    }
    /* Segments first, then the record: the sweep keeps a segment while a
     * slot or a lingering entry names its publisher (sweep.c W2). */
    if (!linger)
        zl__pub_unlink_pool(pub);
    if (pub->registered)
        zl__registry_unregister(&pub->registry, ZL__KIND_PUBLISHER, pub->slot);
    zl__registry_close(&pub->registry);
    free_private(pub);
}

/* The most chunks an honest set of subscriptions makes the pool hold at
 * once (P4): the user's loans and the copy path's, the history, and per
 * subscription its queue, its loans and one being returned. */
static uint64_t chunk_limit(const zl__mw_publisher_config *config)
{
    return (uint64_t)config->endpoint.max_loans + config->history +
           (uint64_t)config->max_subscriptions * config->chunks_per_subscription;
}

/* Writes the control object (with the REGISTER lock held, before
 * registration: docs/design.md G6). */
static void init_control(zl__mw_publisher *pub, const zl__mw_endpoint_config *e)
{
    zl__pool_shm *pool = pub->pool_map.base;
    pool->magic = ZL__POOL_MAGIC;
    pool->version = ZL__LAYOUT_VERSION;
    pool->segments_max = ZL__SEGMENTS_MAX;
    pool->publisher_id = pub->id;
    pool->total_size = pub->pool_map.size;
    pool->payload_offset = pub->payload_offset;
    pool->payload_max = pub->payload_max;
    pool->type_size = e->type_size;
    pool->layout_hash = e->layout_hash;
    pool->process_token = pub->record.process_token;
    pub->pool = pool;
}

int zl__shm_publisher_create(const zl__mw_publisher_config *config, zl__mw_publisher **out)
{
    const zl__mw_endpoint_config *e = &config->endpoint;
    const zl_allocator *a = e->allocator;
    uint64_t limit = chunk_limit(config);
    if (limit > ((uint64_t)1 << 24))
        return zl__fail(ZL_EINVAL, "a pool of %llu chunks is too many", (unsigned long long)limit);
    uint64_t bound = config->pool_bytes_max != 0 ? config->pool_bytes_max : zl__shm_default_bound();
    uint64_t control = zl__pool_control_size();
    if (bound <= control)
        return zl__fail(ZL_ENOSHM,
                        "the pool of topic %s may use %llu bytes of shared memory "
                        "(pool_bytes_max, or by default a quarter of RAM and half of what "
                        "/dev/shm has free, %llu bytes now): not even its %llu bytes of control",
                        e->topic, (unsigned long long)bound, zl__shm_free_bytes(),
                        (unsigned long long)control);
    zl__mw_publisher *pub = zl__endpoint_allocate(a, sizeof *pub);
    if (pub == NULL)
        return zl__fail(ZL_ENOMEM, "allocating a publisher failed");
    pub->allocator = a;
    pub->logger = e->logger;
    pub->registry.fd = -1;
    pub->chunk_limit = (uint32_t)limit;
    pub->shm_bytes_max = bound;
    pub->shm_bytes = control; /* the control object, made below */
    pub->shm_bytes_high = control;
    pub->chunks_per_subscription = config->chunks_per_subscription;
    pub->alignment = zl__pool_alignment(e->payload_alignment);
    pub->payload_offset = zl__align_up(sizeof(zl__chunk_header), pub->alignment);
    pub->payload_max = e->payload_size;
    pub->history_capacity = config->history;
    pub->max_blocking_ns = config->max_blocking_time_ns;
    pub->history =
        config->history ? zl__endpoint_allocate(a, sizeof(uint32_t) * config->history) : NULL;
    if (config->history && pub->history == NULL) {
        free_private(pub);
        return zl__fail(ZL_ENOMEM, "allocating the publisher's history failed");
    }

    pub->id = zl__random_id();
    zl__endpoint_record *r = &pub->record;
    zl__endpoint_record_init(r, e, ZL__KIND_PUBLISHER, pub->id);
    r->history = config->history;
    int rc = zl__endpoint_create_object(&pub->registry, e, 'p', pub->id, control, pub->pool_name,
                                        sizeof pub->pool_name, &pub->pool_map);
    if (rc != 0) {
        free_private(pub);
        return rc;
    }
    init_control(pub, e);
    /* The first segment, still under the REGISTER lock (sweep.c W2): a few
     * messages of the size the client expects first. */
    if (config->initial_payload != 0) {
        rc = zl__pub_grow(pub, zl__pub_class_of(config->initial_payload), true);
        if (rc != 0) {
            zl__segment_unlink(pub->pool_name);
            zl__registry_close(&pub->registry);
            free_private(pub);
            return rc;
        }
        pub->creation_serial = pub->next_serial;
    }
    rc = zl__endpoint_register(&pub->registry, r, &pub->slot, pub->pool_name, &pub->pool_map);
    if (rc != 0) {
        zl__pub_unlink_pool(pub);
        free_private(pub);
        return rc;
    }
    pub->registered = true;
    pub->counters = zl__registry_counters(&pub->registry, ZL__KIND_PUBLISHER, pub->slot);
    zl__pub_publish_free_counters(pub);
    pub->monitored = zl__liveness_monitor_running();
    pub->seen_generation = zl__registry_generation(&pub->registry) - 1; /* force a first scan */
    zl__pub_update(pub, false);
    *out = pub;
    return 0;
}
