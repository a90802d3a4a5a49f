/* The publisher's connections to subscriptions: finding them in the
 * registry, claiming and attaching them, delivering into their rings,
 * taking back what they return, and dropping them when they leave, die or
 * break (publisher.h).
 *
 * Invariants (I1 of docs/design.md, from the publisher's side)
 *   P2. A connection's outstanding bit for c is set when c is pushed to its
 *       deliver ring and cleared exactly once: when the chunk comes back on
 *       the return ring, when the publisher reclaims it from the deliver ring
 *       (keep-last), or when the connection is dropped (the subscription left
 *       or died). A return of a chunk whose bit is clear is a peer error and
 *       is ignored, so a broken or hostile subscription cannot free a chunk
 *       twice or free another connection's chunk.
 *   P4. Between two drains of a return ring the publisher publishes at most
 *       once, or one part of a batch of at most depth entries (batch.c,
 *       P10; every publish and part drains before it delivers; a loan only
 *       when no chunk is free), so a subscription never has more than
 *       2 * depth + loans chunks to return: the return ring, sized for
 *       that, cannot overflow for an honest subscription.
 *   P5. A connection never has more than chunks_per_subscription outstanding
 *       bits (`held`, its count, over all segments). A delivery that would
 *       exceed the budget first reclaims the connection's oldest queued entry
 *       (keep-last); when nothing is queued (the subscription holds its whole
 *       budget as loans) the message is not delivered to it and counts as
 *       lost for it. So the pool (within max_loans + history +
 *       max_subscriptions * budget chunks) never runs dry because of one
 *       subscription that takes and never returns, and the others carry on.
 *       An honest subscription never reaches the budget: attach() shortens
 *       its queue so that depth + loans + 1 fits.
 */
#include "zloan/error.h"

#include "../../clock.h"
#include "../../log.h"
#include "../notify.h"
#include "hot_path.h"

/* Drops connection j: every chunk it still had goes back (P2). */
static void disconnect(zl__mw_publisher *pub, uint32_t j)
{
    connection *c = &pub->connections[j];
    if (c->connected) {
        for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
            segment *seg = &pub->segments[slot];
            if (seg->serial == 0)
                continue;
            /* A look at every chunk's holders: a slow path (the
             * connection goes), so that delivery and return cost a bit
             * operation on one word each (P1, P2). */
            for (uint32_t chunk = 0; chunk < seg->geometry.chunk_count; chunk++)
                if ((seg->holders[chunk] & holder_bit(j)) != 0)
                    let_go(pub, zl__entry_pack(slot, chunk), holder_bit(j));
        }
        c->held = 0;
        zl__endpoint_deallocate(pub->allocator, c->mirror,
                                sizeof(uint32_t) * (c->deliver.mask + 1));
        c->mirror = NULL;
    }
    zl__segment_unmap(&c->map);
    c->connected = false;
    c->pending = false;
    c->queue = NULL;
    c->shm = NULL;
    pub->connected_mask &= ~(1u << j);
    pub->pending_mask &= ~(1u << j);
    pub->lossless_mask &= ~(1u << j);
}

/* Counts a peer error: a subscription wrote a value we could not use (I3).
 * Logged sparsely (log.h), never in the steady state: only when it happens
 * (cold: only a broken or hostile peer gets here). */
__attribute__((cold)) static void peer_error(zl__mw_publisher *pub, uint64_t subscription_id,
                                             const char *what)
{
    pub->peer_errors++;
    if (zl__log_sparse(pub->peer_errors))
        zl__log(pub->logger, ZL_LOG_WARN,
                "publisher %016llx of topic %s: peer error #%llu: subscription %016llx %s",
                (unsigned long long)pub->id, pub->registry.topic,
                (unsigned long long)pub->peer_errors, (unsigned long long)subscription_id, what);
}

__attribute__((cold)) void zl__pub_mark_broken(zl__mw_publisher *pub, uint32_t j,
                                               const char *what)
{
    uint64_t id = pub->connections[j].subscription_id;
    disconnect(pub, j);
    pub->connections[j].broken_id = id;
    peer_error(pub, id, what);
}

/* Counts one message lost for connection c (keep-last, or its budget). */
static void count_lost(zl__mw_publisher *pub, connection *c)
{
    c->lost++;
    pub->dropped++;
    /* Relaxed: a statistic; the subscription reads it with relaxed too. */
    zl__store_relaxed(&c->shm->lost, c->lost);
}

/* Pushes entry into connection j under keep-last, within its budget (P5).
 * Returns DELIVER_PUSHED, DELIVER_SKIPPED (over budget with nothing queued:
 * counted as lost for it), or DELIVER_BROKEN (it has been dropped). */
int zl__pub_deliver(zl__mw_publisher *pub, uint32_t j, uint32_t entry)
{
    connection *c = &pub->connections[j];
    for (;;) {
        /* Over budget, any queued entry is one too many: reclaim down to an
         * empty queue if need be (a fill of 1 or more reclaims the oldest). */
        bool over = c->held >= pub->chunks_per_subscription;
        uint32_t oldest;
        int rc = zl__deliver_reclaim_oldest(&c->deliver, c->deliver_tail, c->mirror,
                                            over ? 1 : c->depth, &c->deliver_head_seen, &oldest);
        if (rc < 0) {
            zl__pub_mark_broken(pub, j, "moved its deliver ring's head out of range");
            return DELIVER_BROKEN;
        }
        if (rc == 0 && over) {
            /* Everything it has is held (or returned and not drained yet):
             * it gets nothing more until it gives some back. */
            count_lost(pub, c);
            return DELIVER_SKIPPED;
        }
        if (rc == 0)
            break;
        take_back(pub, j, oldest);
        count_lost(pub, c);
    }
    return zl__pub_push(pub, c, j, entry);
}

/* Second half of the claim: the connection is ours, set it up and send the
 * history the subscription asked for. */
static void attach(zl__mw_publisher *pub, uint32_t j, const zl__endpoint_record *record)
{
    connection *c = &pub->connections[j];
    zl__queue_rings(&c->geometry, c->shm, &c->deliver, &c->ret);
    /* The subscription reset the rings before it freed the connection
     * (release store of publisher_id 0, which our CAS acquired). Adopt the
     * positions, checking them like any other shared value. */
    uint64_t head = zl__load_relaxed(&c->deliver.index->head);
    c->deliver_tail = zl__load_relaxed(&c->deliver.index->tail);
    c->deliver_head_seen = head;
    c->return_head = zl__load_relaxed(&c->ret.index->head);
    uint64_t ret_tail = zl__load_relaxed(&c->ret.index->tail);
    c->mirror = zl__endpoint_allocate(pub->allocator, sizeof(uint32_t) * (c->deliver.mask + 1));
    if (c->deliver_tail != head || ret_tail != c->return_head || c->mirror == NULL) {
        /* Not reset: refuse to deliver into it (and free it for a retry). */
        zl__store_release(&c->shm->publisher_id, 0);
        if (c->mirror == NULL) {
            disconnect(pub, j);
            return;
        }
        c->connected = true;
        zl__pub_mark_broken(pub, j, "offered a connection whose rings were not reset");
        return;
    }
    c->lost = zl__load_relaxed(&c->shm->lost);
    c->held_back = zl__load_relaxed(&c->shm->held_back);
    /* A publisher that died asleep on this connection left its count: the
     * connection is ours now, and nobody else sleeps on it (P6). */
    zl__store_relaxed(&c->shm->publisher_sleeping, 0);
    c->lossless = (record->flags & ZL__RECORD_LOSSLESS) != 0;
    /* Keep-last depth that fits the chunks reserved per subscription: the
     * queue plus the loans it may hold plus one being returned. */
    uint32_t budget = pub->chunks_per_subscription;
    uint32_t loans = record->max_loans < budget ? record->max_loans : budget;
    uint32_t depth = record->depth;
    if (depth + loans + 1 > budget) {
        depth = budget > loans + 1 ? budget - loans - 1 : 1;
        /* P5 shortens the queue: say so, once per connection (the user
         * asked for record->depth and would not learn it otherwise). */
        if (depth < record->depth)
            zl__log(pub->logger, ZL_LOG_WARN,
                    "topic %s: a subscription asked for depth %u and gets %u: with its %u "
                    "loans (max_loans and the copy path's one) and one being returned, that "
                    "is what fits in the publisher's "
                    "chunks_per_subscription (%u); raise chunks_per_subscription or lower "
                    "the subscription's max_loans",
                    pub->registry.topic, (unsigned)record->depth, (unsigned)depth,
                    (unsigned)loans, (unsigned)budget);
    }
    if (depth > c->deliver.mask + 1)
        depth = c->deliver.mask + 1;
    c->depth = depth == 0 ? 1 : depth;
    c->connected = true;
    c->pending = false;
    pub->pending_mask &= ~(1u << j);
    pub->connected_mask |= 1u << j;
    if (c->lossless)
        pub->lossless_mask |= 1u << j;
    if (record->flags & ZL__RECORD_WANTS_HISTORY) {
        uint32_t n = pub->history_len < c->depth ? pub->history_len : c->depth;
        for (uint32_t k = pub->history_len - n; k < pub->history_len; k++) {
            uint32_t at = (pub->history_next + pub->history_capacity - pub->history_len + k) %
                          pub->history_capacity;
            uint32_t entry = pub->history[at];
            /* The push is connection j's hold (P1, P2). */
            if (zl__pub_deliver(pub, j, entry) == DELIVER_BROKEN)
                return;
        }
    }
    /* Release: the claim and the history are visible to a subscription that
     * sees the new attach_seq (its acquire load in the take path). */
    zl__fetch_add_release(&c->queue->attach_seq, 1);
    /* A subscription asleep in a wait set learns of the new publisher. */
    zl__fence_seq_cst();
    zl__notify_after_deliver(&c->queue->wake, &c->queue->sleepers);
}

static void try_claim(zl__mw_publisher *pub, uint32_t j)
{
    connection *c = &pub->connections[j];
    zl__endpoint_record record;
    int state = zl__registry_lookup(&pub->registry, ZL__KIND_SUBSCRIPTION, j, &record);
    if (state == ZL__SLOT_BUSY)
        return; /* look again at the next call */
    if (state == ZL__SLOT_EMPTY || record.id != c->subscription_id) {
        disconnect(pub, j);
        return;
    }
    uint64_t expected = 0;
    /* Acquire: we see the rings as the subscription reset them before it
     * stored 0 (release) in release_connection. Release: nothing to publish
     * yet; the attach_seq increment in attach publishes the setup. */
    if (zl__cas_acq_rel(&c->shm->publisher_id, &expected, pub->id))
        attach(pub, j, &record);
}

static void connect_to(zl__mw_publisher *pub, uint32_t j, const zl__endpoint_record *record)
{
    connection *c = &pub->connections[j];
    if (record->id == c->broken_id)
        return;
    if (!zl__record_same_type(&pub->record, record)) {
        c->broken_id = record->id; /* raced past the registration check */
        peer_error(pub, record->id, "has another type");
        return;
    }
    char name[ZL__SHM_NAME_MAX + 1];
    zl__registry_endpoint_name(&pub->registry, name, sizeof name, 's', record->id);
    if (zl__segment_open(name, true, pub->registry.group, &c->map) != 0)
        return; /* gone already, or not ours: the next generation tells */
    c->queue = c->map.base;
    if (!zl__queue_geometry_read(c->queue, c->map.size, record->id, &c->geometry)) {
        zl__segment_unmap(&c->map);
        c->queue = NULL;
        c->broken_id = record->id;
        peer_error(pub, record->id, "has a queue object that failed validation");
        return;
    }
    c->subscription_id = record->id;
    c->shm = zl__queue_connection(c->queue, &c->geometry, pub->slot);
    c->pending = true;
    pub->pending_mask |= 1u << j;
    try_claim(pub, j);
}

void zl__pub_update_peers(zl__mw_publisher *pub)
{
    uint32_t generation = zl__registry_generation(&pub->registry);
    if (generation != pub->seen_generation) {
        /* The monitor bumps the generation when it sees a dead peer: reap
         * it here, on our thread, then scan what is left (discovery.c). */
        if (pub->monitored && zl__registry_reap_dead(&pub->registry))
            generation = zl__registry_generation(&pub->registry);
        pub->seen_generation = generation;
        for (uint32_t j = 0; j < ZL__SUB_SLOTS; j++) {
            connection *c = &pub->connections[j];
            zl__endpoint_record record;
            int state = zl__registry_lookup(&pub->registry, ZL__KIND_SUBSCRIPTION, j, &record);
            if (state == ZL__SLOT_BUSY) {
                /* Being rewritten: decide nothing, scan again next time. */
                pub->seen_generation = generation - 1;
                continue;
            }
            bool present = state == ZL__SLOT_PRESENT;
            if ((c->connected || c->pending) && (!present || record.id != c->subscription_id))
                disconnect(pub, j);
            if (present && !c->connected && !c->pending)
                connect_to(pub, j, &record);
        }
    }
    if (pub->pending_mask != 0)
        for (uint32_t j = 0; j < ZL__SUB_SLOTS; j++)
            if (pub->pending_mask & (1u << j))
                try_claim(pub, j);
}

void zl__pub_liveness(zl__mw_publisher *pub, bool force_liveness, int64_t now,
                      int64_t previous_call)
{
    pub->next_liveness_ns = now + LIVENESS_PERIOD_NS;
    zl__pub_drain_returns(pub); /* returned chunks make a segment idle */
    zl__pub_shrink(pub, now, previous_call);
    uint32_t peers = pub->connected_mask | pub->pending_mask;
    for (uint32_t j = 0; j < ZL__SUB_SLOTS; j++) {
        if (!(peers & (1u << j)))
            continue;
        connection *c = &pub->connections[j];
        /* Testing the peer's lock is an fcntl: left to the liveness monitor
         * when it runs (discovery.c), except when the pool ran dry
         * (force_liveness), where waiting 20 ms would fail a loan. */
        bool test_lock = force_liveness || !pub->monitored;
        if (test_lock &&
            zl__registry_reap(&pub->registry, ZL__KIND_SUBSCRIPTION, j, c->subscription_id)) {
            disconnect(pub, j);
            continue;
        }
        /* A live subscription that let go of our connection (it read a
         * value it could not use and reset the rings) will return nothing
         * more through it: take back what we had queued there, or those
         * chunks are lost to the pool, and connect anew. Relaxed: we read
         * nothing the subscription wrote before; the claim in connect_to
         * orders its own accesses. */
        if ((pub->connected_mask & (1u << j)) &&
            zl__load_relaxed(&c->shm->publisher_id) != pub->id) {
            disconnect(pub, j);
            zl__endpoint_record record;
            if (zl__registry_lookup(&pub->registry, ZL__KIND_SUBSCRIPTION, j, &record) ==
                ZL__SLOT_PRESENT)
                connect_to(pub, j, &record);
            else
                pub->seen_generation = pub->seen_generation - 1; /* scan again next time */
        }
    }
}

void zl__pub_update(zl__mw_publisher *pub, bool force_liveness)
{
    zl__pub_update_peers(pub);
    zl__pub_tick(pub, force_liveness);
}

__attribute__((cold)) void zl__pub_bogus_return(zl__mw_publisher *pub, uint32_t j)
{
    peer_error(pub, pub->connections[j].subscription_id, "returned a chunk it did not hold");
}
