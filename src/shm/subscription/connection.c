/* The subscription's connections: publishers that claimed one of our
 * connection slots (attach), and the release of a slot whose publisher
 * left, died or broke, so that another can claim it (subscription.h). The
 * claim itself is the publisher's (publisher/connection.c).
 */
#include "../../clock.h"
#include "../../identity.h"
#include "subscription.h"

/* Owner thread, token held: the connection's publisher is gone and its ring
 * is empty (or unreadable): reset it and let a new publisher claim it. */
void zl__sub_release_connection(zl__mw_subscription *sub, uint32_t j)
{
    connection *c = &sub->connections[j];
    zl__connection_shm *s = c->shm;
    /* Acquire pairs with the departing publisher's release store: its
     * lingering entry in the registry is visible. The exchange makes us the
     * only one to account for this flag (see the publisher's destroy). */
    if (atomic_exchange_explicit(&s->lingering, 0, memory_order_acq_rel) != 0)
        zl__registry_linger_done(&sub->registry, c->publisher_id);
    zl__sub_count_lost(sub, zl__load_relaxed(&s->lost));
    zl__store_relaxed(&s->lost, 0);
    zl__fetch_add_relaxed(&sub->held_back_released, zl__load_relaxed(&s->held_back));
    zl__store_relaxed(&s->held_back, 0);
    /* A live publisher asleep on this connection (we are letting go of it
     * after a bad value) looks again now rather than at its next slice.
     * Its sleepers count is its own: it resets it when it claims anew. */
    wake_publisher(sub, s);
    zl__store_relaxed(&s->deliver.head, 0);
    zl__store_relaxed(&s->deliver.tail, 0);
    zl__store_relaxed(&s->ret.head, 0);
    zl__store_relaxed(&s->ret.tail, 0);
    /* Release: the reset rings are visible to the publisher whose claiming
     * CAS reads this 0 (acq_rel in the publisher's try_claim). */
    zl__store_release(&s->publisher_id, 0);
    zl__sub_pool_release(sub, c->pool);
    memset(c, 0, sizeof *c);
    sub->active_mask &= ~(1u << j);
}

void zl__sub_settle(zl__mw_subscription *sub)
{
    uint32_t mask = sub->active_mask;
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++) {
        connection *c = &sub->connections[j];
        c->return_key = (mask & (1u << j)) && !c->draining ? c->attachment : 0;
    }
    connection *fast = NULL;
    if (sub->monitored && !sub->attach_retry && sub->retired == NULL && mask != 0 &&
        (mask & (mask - 1)) == 0) {
        connection *c = &sub->connections[__builtin_ctz(mask)];
        if (!c->draining && c->pool != NULL)
            fast = c;
    }
    sub->fast = fast;
}

/* Owner thread, token held: publisher `id` claimed connection j. It may
 * have left the registry already (its messages then still wait for us, in
 * a pool it left linked): everything needed is checked against the pool's
 * own header. */
static void attach(zl__mw_subscription *sub, uint32_t j, uint64_t id)
{
    connection *c = &sub->connections[j];
    zl__endpoint_record record;
    int state = zl__registry_lookup(&sub->registry, ZL__KIND_PUBLISHER, j, &record);
    if (state == ZL__SLOT_BUSY) {
        sub->attach_retry = true; /* slot being rewritten: look again later */
        return;
    }
    c->shm = zl__queue_connection(sub->queue, &sub->geometry, j);
    zl__queue_rings(&sub->geometry, c->shm, &c->deliver, &c->ret);
    c->publisher_id = id;
    c->attachment = ++sub->attachments;
    c->return_tail = zl__load_relaxed(&c->ret.index->tail);
    c->return_head_seen = zl__load_relaxed(&c->ret.index->head);
    c->draining = state == ZL__SLOT_EMPTY || record.id != id;
    sub->active_mask |= 1u << j;
    pool_view *view = zl__endpoint_allocate(sub->allocator, sizeof *view);
    if (view == NULL) {
        c->draining = true;
        return;
    }
    char name[ZL__SHM_NAME_MAX + 1];
    zl__registry_endpoint_name(&sub->registry, name, sizeof name, 'p', id);
    int rc = zl__segment_open(name, false, sub->registry.group, &view->map);
    if (rc != 0 || !zl__pool_geometry_read(view->map.base, view->map.size, id, &sub->record,
                                          sub->payload_alignment, &view->geometry)) {
        if (rc == 0) {
            zl__segment_unmap(&view->map);
            zl__sub_peer_error(sub, id, "has a pool that failed validation");
        }
        zl__endpoint_deallocate(sub->allocator, view, sizeof *view);
        c->draining = true; /* its entries are dropped and counted */
        return;
    }
    view->pool = view->map.base;
    view->publisher_id = id;
    c->pool = view;
    c->process_token = view->geometry.process_token;
    c->from_this_process = c->process_token == zl__process_token(); /* once, not per take */
    /* Acquire: see zl__sub_chunk_of (S7). */
    zl__sub_rescan_locked(sub, view, zl__load_acquire(&view->pool->segments_seq));
}

void zl__sub_refresh_changed(zl__mw_subscription *sub, uint32_t generation, uint32_t attach_seq,
                             int64_t now, bool liveness)
{
    token_acquire_spinning(sub);
    if (generation != sub->seen_generation || liveness) {
        /* The monitor bumps the generation when it sees a dead peer: reap
         * it here, on our thread, then scan what is left (discovery.c). */
        if (sub->monitored && generation != sub->seen_generation &&
            zl__registry_reap_dead(&sub->registry))
            generation = zl__registry_generation(&sub->registry);
        sub->seen_generation = generation;
        for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++) {
            connection *c = &sub->connections[j];
            if (!(sub->active_mask & (1u << j)) || c->draining)
                continue;
            zl__endpoint_record record;
            int state = zl__registry_lookup(&sub->registry, ZL__KIND_PUBLISHER, j, &record);
            if (state == ZL__SLOT_BUSY)
                sub->seen_generation = generation - 1; /* decide next time */
            else if (state == ZL__SLOT_EMPTY || record.id != c->publisher_id)
                c->draining = true;
        }
    }
    if (liveness) {
        sub->next_liveness_ns = now + LIVENESS_PERIOD_NS;
        for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++) {
            connection *c = &sub->connections[j];
            if ((sub->active_mask & (1u << j)) && !c->draining &&
                zl__registry_reap(&sub->registry, ZL__KIND_PUBLISHER, j, c->publisher_id))
                c->draining = true;
        }
    }
    /* A departed publisher's empty connection is freed now, so that a new
     * publisher in its slot can claim it without waiting for a take. */
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++) {
        connection *c = &sub->connections[j];
        if ((sub->active_mask & (1u << j)) && c->draining && !zl__deliver_nonempty(&c->deliver))
            zl__sub_release_connection(sub, j);
    }
    sub->seen_attach = attach_seq;
    sub->attach_retry = false;
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++) {
        if (sub->active_mask & (1u << j))
            continue;
        /* Acquire pairs with the publisher's claiming CAS; attach_seq's
         * acquire above already ordered its setup. */
        uint64_t id =
            zl__load_acquire(&zl__queue_connection(sub->queue, &sub->geometry, j)->publisher_id);
        if (id != 0)
            attach(sub, j, id);
    }
    zl__sub_reap_retired(sub);
    zl__sub_settle(sub);
    token_release(sub);
}
