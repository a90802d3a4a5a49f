/* The subscription as an endpoint: creation (its queue object and
 * registration), destruction, statistics and wait sets (subscription.h).
 */
#include <stdio.h>

#include "zloan/error.h"

#include "../../address_table.h"
#include "../../error_detail.h"
#include "../../identity.h"
#include "../../log.h"
#include "subscription.h"

/* Counts a peer error: a publisher wrote a value we could not use (I3).
 * Logged sparsely (log.h), only when it happens. Any thread. */
__attribute__((cold)) void zl__sub_peer_error(zl__mw_subscription *sub, uint64_t publisher_id,
                                              const char *what)
{
    uint64_t count = zl__fetch_add_relaxed(&sub->peer_errors, 1) + 1;
    if (zl__log_sparse(count))
        zl__log(sub->logger, ZL_LOG_WARN,
                "subscription %016llx of topic %s: peer error #%llu: publisher %016llx %s",
                (unsigned long long)sub->id, sub->registry.topic, (unsigned long long)count,
                (unsigned long long)publisher_id, what);
}

void zl__shm_subscription_stats(zl__mw_subscription *sub, zl_subscription_stats *stats)
{
    zl__sub_flush(sub);
    zl__sub_refresh(sub);
    uint64_t lost = zl__load_relaxed(&sub->lost_dropped);
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++)
        if (sub->active_mask & (1u << j))
            lost += zl__load_relaxed(&sub->connections[j].shm->lost);
    stats->lost = lost;
    uint64_t held_back = zl__load_relaxed(&sub->held_back_released);
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++)
        if (sub->active_mask & (1u << j))
            held_back += zl__load_relaxed(&sub->connections[j].shm->held_back);
    stats->held_back = held_back;
    uint32_t publishers = 0;
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++)
        if ((sub->active_mask & (1u << j)) && !sub->connections[j].draining)
            publishers++;
    stats->publishers = publishers;
    stats->peer_errors = zl__load_relaxed(&sub->peer_errors);
    stats->other_owners = zl__registry_other_owners(&sub->registry, NULL, 0);
}

void zl__shm_subscription_waitable(zl__mw_subscription *sub, zl__mw_waitable *waitable)
{
    waitable->words[0] = &sub->queue->wake;
    waitable->words[1] = &sub->registry.shm->generation;
    waitable->count = 2;
    waitable->sleepers = &sub->queue->sleepers;
    waitable->sleepers_is_flag = false;
}

bool zl__shm_subscription_ready(zl__mw_subscription *sub)
{
    zl__sub_flush(sub);
    zl__sub_refresh(sub);
    uint32_t mask = sub->active_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        if (zl__deliver_nonempty(&sub->connections[j].deliver))
            return true;
    }
    return false;
}

/* return_batch.c's scratch: held_capacity + 1 entries and as many slots
 * (claim_sorted looks at up to held_capacity + 1 elements). */
static size_t batch_scratch_bytes(const zl__mw_subscription *sub)
{
    return (sizeof(batch_entry) + sizeof(uint32_t)) * (sub->held_capacity + 1u);
}

static void free_private(zl__mw_subscription *sub)
{
    zl__endpoint_deallocate(sub->allocator, sub->held, sizeof(held) * sub->held_capacity);
    zl__endpoint_deallocate(sub->allocator, sub->batch_entries, batch_scratch_bytes(sub));
    zl__endpoint_deallocate(sub->allocator, sub, sizeof *sub);
}

void zl__shm_subscription_destroy(zl__mw_subscription *sub)
{
    token_acquire_spinning(sub);
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++)
        if (sub->active_mask & (1u << j))
            zl__sub_pool_release(sub, sub->connections[j].pool);
    /* Slots still RETURNING (their rings stayed full) name nothing anyone
     * reads any more: every retired segment goes (S2). */
    zl__sub_unmap_retired(sub);
    if (sub->registered)
        zl__registry_unregister(&sub->registry, ZL__KIND_SUBSCRIPTION, sub->slot);
    /* Publishers that left their pools lingering for us counted on a
     * release: give it, even for pools we never attached to. Our record is
     * gone first, then the fence, then the flags (see the publisher's
     * destroy for the other half). */
    zl__fence_seq_cst();
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++) {
        zl__connection_shm *s = zl__queue_connection(sub->queue, &sub->geometry, j);
        if (atomic_exchange_explicit(&s->lingering, 0, memory_order_acq_rel) != 0)
            zl__registry_linger_done(&sub->registry, zl__load_relaxed(&s->publisher_id));
    }
    zl__registry_close(&sub->registry);
    zl__segment_unlink(sub->queue_name);
    zl__segment_unmap(&sub->queue_map);
    free_private(sub);
}

int zl__shm_subscription_create(const zl__mw_subscription_config *config,
                                zl__mw_subscription **out)
{
    const zl__mw_endpoint_config *e = &config->endpoint;
    const zl_allocator *a = e->allocator;
    if (config->depth == 0 || config->depth > 4096 || e->max_loans == 0 || e->max_loans > 4096)
        return zl__fail(ZL_EINVAL, "depth and loans must be in 1..4096");
    zl__mw_subscription *sub = zl__endpoint_allocate(a, sizeof *sub);
    if (sub == NULL)
        return zl__fail(ZL_ENOMEM, "allocating a subscription failed");
    sub->allocator = a;
    sub->logger = e->logger;
    sub->registry.fd = -1;
    sub->payload_size = e->payload_size;
    sub->payload_alignment = e->payload_alignment;
    sub->loans_max = e->max_loans;
    /* S9: a power of two, at most half of it loans (S5). */
    uint32_t bits = zl__address_table_bits(2 * e->max_loans);
    sub->held_capacity = (uint32_t)1 << bits;
    sub->home_shift = 64u - bits;
    sub->held = zl__endpoint_allocate(a, sizeof(held) * sub->held_capacity);
    sub->batch_entries = zl__endpoint_allocate(a, batch_scratch_bytes(sub));
    if (sub->held == NULL || sub->batch_entries == NULL) {
        free_private(sub);
        return zl__fail(ZL_ENOMEM, "allocating the subscription's loan table failed");
    }
    sub->batch_slots = (uint32_t *)(void *)(sub->batch_entries + sub->held_capacity + 1u);
    sub->id = zl__random_id();
    zl__endpoint_record *r = &sub->record;
    zl__endpoint_record_init(r, e, ZL__KIND_SUBSCRIPTION, sub->id);
    r->depth = config->depth;
    r->flags = (config->history ? ZL__RECORD_WANTS_HISTORY : 0u) |
               (config->lossless ? ZL__RECORD_LOSSLESS : 0u);
    sub->lossless = config->lossless;

    /* Deliver ring: the keep-last depth. Return ring: everything that may
     * come back between two drains of the publisher (publisher/connection.c P4), with
     * room to spare. */
    uint32_t deliver_capacity = zl__pow2_at_least(config->depth);
    uint32_t return_capacity = zl__pow2_at_least(2 * config->depth + e->max_loans + 2);
    uint64_t stride = zl__queue_connection_stride(deliver_capacity, return_capacity);
    uint64_t total = zl__queue_connection_offset() + (uint64_t)ZL__PUB_SLOTS * stride;

    int rc = zl__endpoint_create_object(&sub->registry, e, 's', sub->id, total, sub->queue_name,
                                        sizeof sub->queue_name, &sub->queue_map);
    if (rc != 0) {
        free_private(sub);
        return rc;
    }
    zl__queue_shm *q = sub->queue_map.base;
    q->magic = ZL__QUEUE_MAGIC;
    q->version = ZL__LAYOUT_VERSION;
    q->connection_count = ZL__PUB_SLOTS;
    q->subscription_id = sub->id;
    q->total_size = total;
    q->deliver_capacity = deliver_capacity;
    q->return_capacity = return_capacity;
    q->connection_offset = zl__queue_connection_offset();
    q->connection_stride = stride;
    sub->queue = q;
    sub->geometry.deliver_capacity = deliver_capacity;
    sub->geometry.return_capacity = return_capacity;
    sub->geometry.connection_offset = zl__queue_connection_offset();
    sub->geometry.connection_stride = stride;
    rc = zl__endpoint_register(&sub->registry, r, &sub->slot, sub->queue_name, &sub->queue_map);
    if (rc != 0) {
        free_private(sub);
        return rc;
    }
    sub->registered = true;
    sub->counters = zl__registry_counters(&sub->registry, ZL__KIND_SUBSCRIPTION, sub->slot);
    sub->monitored = zl__liveness_monitor_running();
    sub->seen_generation = zl__registry_generation(&sub->registry) - 1;
    zl__sub_refresh(sub);
    *out = sub;
    return 0;
}
