/* The shared-memory transport, subscription side: its queue object, the
 * publishers' pools it maps read-only, and the loans it holds.
 *
 * Invariants (I1 of docs/design.md, from the subscription's side)
 *   S1. A chunk the subscription took from a deliver ring stays "held" (a
 *       slot of `held` in state HELD or RETURNING) until its index is pushed
 *       on that connection's return ring, or the connection is gone. The
 *       publisher reuses it only after it drained that return (publisher.c
 *       P1/P2), so a held loan is never overwritten.
 *   S2. A segment stays mapped while its pool's table (as we last read it)
 *       names it and its connection is attached, or while any held loan
 *       points into it (segment_view.refs), so a loan stays readable after
 *       its publisher left, died or gave the segment back.
 *   S3. Threads. The take path and reconfiguration run on the owner thread
 *       (one at a time, per the API). Returns may come from any thread: a
 *       returner moves its slot HELD -> RETURNING (CAS: exactly one return
 *       wins) and then whoever holds `return_token` pushes every RETURNING
 *       slot to its ring and frees it. The token holder is the only thread
 *       that writes return rings or frees slots; the owner takes the token
 *       before it changes a connection, so the two never overlap.
 *   S4. No return is lost: a returner increments `returning` before it
 *       tries the token; the holder re-reads `returning` after releasing the
 *       token and takes it again when work is left (a store-buffer pattern,
 *       hence seq_cst on those four operations).
 *   S5. The loan limit counts the user's loans, not the slots: `loaned` is
 *       the number of slots in state LOANED, incremented by the owner before
 *       it lends a slot and decremented by the returner whose CAS moved the
 *       slot to RETURNING, before its return_loan returns. So a return that
 *       returned 0 no longer counts against the limit, even while its slot
 *       waits for the token holder. The table has room for loans_max such
 *       waiting slots besides the user's; should they all be taken, the
 *       owner waits for the token and pushes them itself (claim_or_flush).
 *   S6. A lossless subscription (ZL_LOSSLESS) may have a publisher asleep
 *       until it makes room (publisher.c P6). Every move of a deliver head
 *       (a take) and every return pushed is followed by a seq_cst fence and
 *       a look at the connection's publisher_sleeping flag: a publisher
 *       that set it before we moved is woken (the first waker takes the flag
 *       down); one that sets it after sees what we moved. Keep-last
 *       subscriptions skip this (nobody waits).
 *   S8. Every return of a chunk of user memory pushed on connection j is
 *       followed by a seq_cst fence and a look at publisher slot j's
 *       completion_sleeping flag in the registry (layout.h): the same
 *       protocol as S6, for a publisher's thread that waits until a message
 *       of its user memory completes (publisher.c M1).
 *   S7. Segments are mapped when the pool's segments_seq changes, which we
 *       check (acquire) after reading an entry and before using it: the
 *       publisher entered the segment in its table before it delivered any
 *       chunk of it (publisher.c P8), so the entry's segment is in our view
 *       unless the publisher is broken (then the entry is dropped, counted).
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zloan/error.h"

#include "../clock.h"
#include "../error_detail.h"
#include "../identity.h"
#include "../mw.h"
#include "endpoint.h"
#include "notify.h"
#include "queue.h"
#include "discovery.h"
#include "user_segment.h"
#include "transport.h"

#define LIVENESS_PERIOD_NS (50 * 1000000LL)

enum { HELD_FREE = 0, HELD_LOANED = 1, HELD_RETURNING = 2 };

/* One segment of a publisher's pool, mapped read-only. */
typedef struct segment_view {
    zl__atomic_u32 refs; /* S2: 1 while the pool view names it, 1 per held loan */
    zl__mapping map;
    /* Checked once when mapped; never read from the header again (I3). */
    zl__segment_geometry geometry;
    /* A user segment: the user's memory, mapped read-only (user_segment.h);
     * payloads are at the offsets their chunk headers give. */
    bool user;
    zl__mapping user_map;
} segment_view;

/* A publisher's pool: its control object and the segments it names. Owned
 * by the connection; changed by the owner thread under return_token. */
typedef struct pool_view {
    uint64_t publisher_id;
    zl__mapping map;
    const zl__pool_shm *pool;
    /* Checked once when mapped; never read from the header again (I3). */
    zl__pool_geometry geometry;
    uint32_t seen_seq; /* segments_seq when the table was last read */
    segment_view *segments[ZL__SEGMENTS_MAX];
} pool_view;

typedef struct connection {
    uint64_t publisher_id; /* 0: none */
    uint64_t process_token;
    pool_view *pool;       /* NULL when the pool could not be mapped */
    /* Which attachment of this slot it is (sub->attachments when it was
     * attached): a loan taken from an earlier one must not be returned into
     * this one, even by the same publisher. */
    uint64_t attachment;
    zl__connection_shm *shm;
    zl__ring deliver;
    zl__ring ret;
    bool draining;         /* its publisher is gone: take what is left, then release */
    uint64_t return_tail;  /* under return_token */
    uint64_t return_head_seen; /* under return_token; see zl__return_push */
} connection;

typedef struct held {
    zl__atomic_u32 state;
    _Atomic(uintptr_t) payload;
    uint32_t connection;
    uint32_t entry; /* (segment slot, chunk), as the rings carry it */
    uint64_t publisher_id;
    uint64_t sequence;
    uint64_t attachment;    /* the connection's attachment when taken (see connection) */
    segment_view *segment;  /* S2: one reference */
} held;

struct zl__mw_subscription {
    const zl_allocator *allocator;
    const zl__logger *logger;
    zl__registry registry;
    zl__endpoint_record record;
    uint32_t slot;
    bool registered;
    uint64_t id;
    uint64_t payload_size;
    uint64_t payload_alignment;
    char queue_name[ZL__SHM_NAME_MAX + 1];
    zl__mapping queue_map;
    zl__queue_shm *queue;
    /* The geometry we laid our queue out with: the header in shared memory
     * can be rewritten by any process of the user, so we never read it. */
    zl__queue_geometry geometry;
    uint32_t seen_generation;
    uint32_t seen_attach;
    bool attach_retry;
    int64_t next_liveness_ns;
    bool monitored; /* the process's liveness monitor reaps dead peers */
    bool lossless;  /* ZL_LOSSLESS: publishers may sleep until we make room (S6) */
    uint32_t active_mask;
    uint64_t attachments; /* attachments so far (owner thread) */
    connection connections[ZL__PUB_SLOTS];
    uint32_t loans_max;     /* loans the user may hold (S5) */
    uint32_t held_capacity; /* 2 * loans_max slots */
    held *held;
    zl__atomic_u32 loaned;  /* slots in state LOANED (S5) */
    zl__atomic_u32 returning;
    zl__atomic_u32 return_token;
    zl__atomic_u64 lost_dropped;   /* entries we dropped ourselves, and released connections' counts */
    zl__atomic_u64 held_back_released; /* released connections' held_back counts */
    /* Our counters beside our registry slot, for tools (layout.h): taken
     * and bytes by the owner thread, returned under return_token. */
    zl__endpoint_counters *counters;
    uint64_t taken;
    uint64_t taken_bytes;
    uint64_t returned_total; /* under return_token */
    zl__atomic_u64 peer_errors;
};

static void *allocate(const zl_allocator *a, size_t size)
{
    void *p = a->allocate(size, 64, a->state);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

static void deallocate(const zl_allocator *a, void *p, size_t size)
{
    if (p != NULL)
        a->deallocate(p, size, 64, a->state);
}

/* S6: we made room on connection c (moved its deliver head or pushed a
 * return): wake its publisher if it sleeps until we do. */
static inline void wake_publisher(const zl__mw_subscription *sub, zl__connection_shm *c)
{
    if (!sub->lossless)
        return;
    /* Orders our head CAS or return tail store before the load of the
     * sleepers count, against the publisher's count increment, fence, room
     * check (publisher.c sleep_for_room): the store-buffer pair of notify.h
     * with the roles swapped. */
    zl__fence_seq_cst();
    zl__notify_room(&c->publisher_wake, &c->publisher_sleeping);
}

/* S8: we pushed the return of a chunk of user memory on connection j:
 * wake publisher slot j's thread if it waits for a completion. */
static inline void wake_completion(const zl__mw_subscription *sub, uint32_t j)
{
    zl__endpoint_counters *counters = zl__registry_counters(&sub->registry, ZL__KIND_PUBLISHER, j);
    /* Orders our return tail store before the load of the flag, against
     * the publisher's flag store, fence, look at our return tail
     * (zl__shm_publisher_memory_ready): the store-buffer pair of notify.h
     * with the roles swapped, as in S6. */
    zl__fence_seq_cst();
    zl__notify_room(&counters->completion_wake, &counters->completion_sleeping);
}

/* Counts a peer error: a publisher wrote a value we could not use (I3).
 * Logged sparsely (log.h), only when it happens. Any thread. */
static void peer_error(zl__mw_subscription *sub, uint64_t publisher_id, const char *what)
{
    uint64_t count = zl__fetch_add_relaxed(&sub->peer_errors, 1) + 1;
    if (zl__log_sparse(count))
        zl__log(sub->logger, ZL_LOG_WARN,
                "subscription %016llx of topic %s: peer error #%llu: publisher %016llx %s",
                (unsigned long long)sub->id, sub->registry.topic, (unsigned long long)count,
                (unsigned long long)publisher_id, what);
}

static void token_acquire_spinning(zl__mw_subscription *sub)
{
    /* seq_cst: see S4. Only the owner's reconfiguration waits here, and the
     * holder keeps the token for a few atomic operations. */
    while (atomic_exchange_explicit(&sub->return_token, 1, memory_order_seq_cst) != 0)
        sched_yield();
}

static void token_release(zl__mw_subscription *sub)
{
    atomic_store_explicit(&sub->return_token, 0, memory_order_seq_cst);
}

/* Under return_token (all decrements are, so the last one is ours alone). */
static void segment_release(zl__mw_subscription *sub, segment_view *view)
{
    if (view == NULL)
        return;
    if (zl__fetch_sub_acq_rel(&view->refs, 1) == 1) {
        zl__segment_unmap(&view->map);
        if (view->user)
            zl__segment_unmap(&view->user_map);
        deallocate(sub->allocator, view, sizeof *view);
    }
}

/* Under return_token: the connection lets go of its pool; segments that
 * held loans point into stay mapped until those are returned (S2). */
static void pool_release(zl__mw_subscription *sub, pool_view *view)
{
    if (view == NULL)
        return;
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++)
        segment_release(sub, view->segments[slot]);
    zl__segment_unmap(&view->map);
    deallocate(sub->allocator, view, sizeof *view);
}

/* The payload a header describes lies in its chunk, or for a user segment
 * in the user's mapping (page-aligned), aligned for the type (I3). */
static bool payload_fits(const zl__mw_subscription *sub, const segment_view *segment,
                         const zl__chunk_header *header)
{
    if (!segment->user)
        return header->payload_size <= segment->geometry.payload_capacity;
    return header->user_offset <= segment->user_map.size &&
           header->payload_size <= segment->user_map.size - header->user_offset &&
           header->user_offset % sub->payload_alignment == 0;
}

/* A user segment's header names the user's file: map it read-only (every
 * field checked by zl__user_file_map against the file itself, I3). true for
 * a pool segment, or a user segment whose memory is mapped. */
static bool user_map(segment_view *view)
{
    const zl__segment_shm *head = view->map.base;
    if (ZL__READ_ONCE(head->user) == 0)
        return true;
    zl__user_file file = {
        .pid = ZL__READ_ONCE(head->user_pid),
        .fd = ZL__READ_ONCE(head->user_fd),
        .dev = ZL__READ_ONCE(head->user_dev),
        .ino = ZL__READ_ONCE(head->user_ino),
        .offset = ZL__READ_ONCE(head->user_offset),
        .length = ZL__READ_ONCE(head->user_length),
    };
    if (zl__user_file_map(&file, &view->user_map) != 0)
        return false;
    view->user = true;
    return true;
}

/* Maps segment `serial` of the pool in slot; NULL when it cannot be mapped
 * or fails validation (then counted as a peer error). */
static segment_view *segment_map(zl__mw_subscription *sub, const pool_view *pool, uint32_t slot,
                                 uint32_t serial)
{
    segment_view *view = allocate(sub->allocator, sizeof *view);
    if (view == NULL)
        return NULL;
    char pool_name[ZL__SHM_NAME_MAX + 1], name[ZL__SHM_NAME_MAX + 1];
    zl__registry_endpoint_name(&sub->registry, pool_name, sizeof pool_name, 'p',
                               pool->publisher_id);
    zl__shm_name_segment(name, sizeof name, pool_name, serial);
    int rc = zl__segment_open(name, false, sub->registry.group, &view->map);
    if (rc != 0 || !zl__segment_geometry_read(view->map.base, view->map.size, pool->publisher_id,
                                             slot, serial, pool->geometry.payload_offset,
                                             pool->geometry.alignment, &view->geometry)) {
        if (rc == 0) {
            zl__segment_unmap(&view->map);
            peer_error(sub, pool->publisher_id, "listed a segment that failed validation");
        }
        deallocate(sub->allocator, view, sizeof *view);
        return NULL;
    }
    if (!user_map(view)) {
        zl__segment_unmap(&view->map);
        peer_error(sub, pool->publisher_id, "named user memory that failed validation");
        deallocate(sub->allocator, view, sizeof *view);
        return NULL;
    }
    zl__store_relaxed(&view->refs, 1);
    return view;
}

/* Owner thread, token held: the pool's table changed (S7): let go of
 * segments it no longer names, map the new ones. */
static void rescan_locked(zl__mw_subscription *sub, pool_view *pool, uint32_t seq)
{
    pool->seen_seq = seq;
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
        /* Acquire: pairs with the publisher's release store of the serial
         * (a serial newer than the segments_seq we acquired comes with its
         * header too); the increment of segments_seq orders the rest (S7). */
        uint32_t serial = zl__load_acquire(&pool->pool->serials[slot]);
        segment_view *view = pool->segments[slot];
        if (view != NULL && view->geometry.serial == serial)
            continue;
        segment_release(sub, view);
        pool->segments[slot] = serial != 0 ? segment_map(sub, pool, slot, serial) : NULL;
    }
}

static void rescan(zl__mw_subscription *sub, pool_view *pool, uint32_t seq)
{
    token_acquire_spinning(sub);
    rescan_locked(sub, pool, seq);
    token_release(sub);
}

/* The header of the chunk an entry names, with its segment in *segment, or
 * NULL when the entry names nothing the pool has (a broken publisher).
 * Owner thread. */
static const zl__chunk_header *chunk_of(zl__mw_subscription *sub, pool_view *pool,
                                        uint32_t entry, segment_view **segment)
{
    /* Acquire pairs with the publisher's release increment after a table
     * change (P8); we read entry after an acquire load of the deliver tail,
     * so a segment new to this entry shows here (S7). */
    uint32_t seq = zl__load_acquire(&pool->pool->segments_seq);
    if (seq != pool->seen_seq)
        rescan(sub, pool, seq);
    uint32_t slot = zl__entry_slot(entry);
    segment_view *view = slot < ZL__SEGMENTS_MAX ? pool->segments[slot] : NULL;
    if (view == NULL || zl__entry_chunk(entry) >= view->geometry.chunk_count)
        return NULL;
    *segment = view;
    return zl__segment_chunk(view->map.base, &view->geometry, zl__entry_chunk(entry));
}

/* Pushes every RETURNING slot (S3). Caller holds the token. Returns how many
 * slots it freed. */
static uint32_t flush_locked(zl__mw_subscription *sub)
{
    uint32_t freed = 0;
    /* Stop once the slots counted in `returning` at entry are done; later
     * ones are seen by the caller's loop (S4). */
    uint32_t pending = atomic_load_explicit(&sub->returning, memory_order_seq_cst);
    for (uint32_t k = 0; k < sub->held_capacity && freed < pending; k++) {
        held *h = &sub->held[k];
        /* Acquire pairs with the returner's CAS to RETURNING (and, through
         * it, with the owner's release store of HELD): the fields are set. */
        if (zl__load_acquire(&h->state) != HELD_RETURNING)
            continue;
        connection *c = &sub->connections[h->connection];
        if (c->publisher_id == h->publisher_id && !c->draining &&
            c->attachment == h->attachment) {
            int rc = zl__return_push(&c->ret, &c->return_tail, &c->return_head_seen, h->entry);
            if (rc == ZL_EEXHAUSTED)
                continue; /* the publisher drains soon (P4); retried later */
            if (rc != 0)
                peer_error(sub, h->publisher_id, "moved its return ring's head out of range");
            else {
                wake_publisher(sub, c->shm);
                if (h->segment != NULL && h->segment->user)
                    wake_completion(sub, h->connection);
            }
        }
        segment_release(sub, h->segment);
        h->segment = NULL;
        /* Release: the slot's reuse by the owner comes after our last read
         * of its fields (pairs with the owner's acquire load in claim_slot). */
        zl__store_release(&h->state, HELD_FREE);
        /* Relaxed: a statistic for tools; the token orders us after the
         * previous holder's store. */
        zl__store_relaxed(&sub->counters->returned, ++sub->returned_total);
        atomic_fetch_sub_explicit(&sub->returning, 1, memory_order_seq_cst);
        freed++;
    }
    return freed;
}

/* Pushes pending returns unless another thread is at it (then it will). */
static void flush(zl__mw_subscription *sub)
{
    while (atomic_load_explicit(&sub->returning, memory_order_seq_cst) != 0) {
        if (atomic_exchange_explicit(&sub->return_token, 1, memory_order_seq_cst) != 0)
            return; /* the holder re-checks `returning` after it releases (S4) */
        uint32_t freed = flush_locked(sub);
        token_release(sub);
        if (freed == 0)
            return; /* only full rings left: the next take or return retries */
    }
}

/* Owner thread, token held: the connection's publisher is gone and its ring
 * is empty (or unreadable): reset it and let a new publisher claim it. */
static void release_connection(zl__mw_subscription *sub, uint32_t j)
{
    connection *c = &sub->connections[j];
    zl__connection_shm *s = c->shm;
    /* Acquire pairs with the departing publisher's release store: its
     * lingering entry in the registry is visible. The exchange makes us the
     * only one to account for this flag (see the publisher's destroy). */
    if (atomic_exchange_explicit(&s->lingering, 0, memory_order_acq_rel) != 0)
        zl__registry_linger_done(&sub->registry, c->publisher_id);
    zl__fetch_add_relaxed(&sub->lost_dropped, zl__load_relaxed(&s->lost));
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
    pool_release(sub, c->pool);
    memset(c, 0, sizeof *c);
    sub->active_mask &= ~(1u << j);
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
    pool_view *view = allocate(sub->allocator, sizeof *view);
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
            peer_error(sub, id, "has a pool that failed validation");
        }
        deallocate(sub->allocator, view, sizeof *view);
        c->draining = true; /* its entries are dropped and counted */
        return;
    }
    view->pool = view->map.base;
    view->publisher_id = id;
    c->pool = view;
    c->process_token = view->geometry.process_token;
    /* Acquire: see chunk_of (S7). */
    rescan_locked(sub, view, zl__load_acquire(&view->pool->segments_seq));
}

/* The slow path: new publishers, departed ones, dead ones. One load each of
 * the generation and attach_seq when nothing changed. */
static void refresh(zl__mw_subscription *sub)
{
    uint32_t generation = zl__registry_generation(&sub->registry);
    /* Acquire pairs with the publisher's release increment after it claimed
     * a connection and delivered its history (publisher.c attach). */
    uint32_t attach_seq = zl__load_acquire(&sub->queue->attach_seq);
    /* Testing publishers' locks (an fcntl each) is the liveness monitor's
     * job when it runs (discovery.c); otherwise ours, every 50 ms. */
    int64_t now = sub->monitored ? 0 : zl__coarse_ns();
    bool liveness = !sub->monitored && now >= sub->next_liveness_ns;
    if (generation == sub->seen_generation && attach_seq == sub->seen_attach && !liveness &&
        !sub->attach_retry)
        return;
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
            release_connection(sub, j);
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
    token_release(sub);
}

static uint32_t claim_slot(zl__mw_subscription *sub)
{
    for (uint32_t k = 0; k < sub->held_capacity; k++)
        /* Acquire pairs with the flusher's release store of FREE. */
        if (zl__load_acquire(&sub->held[k].state) == HELD_FREE)
            return k;
    return UINT32_MAX;
}

/* A free slot for the next loan (S5). Only the owner claims slots, so a
 * slot found FREE stays FREE until the owner uses it.
 * When every slot is taken by the user's loans and returns that wait for
 * the token holder, take the token (its holder does a bounded amount of
 * work) and push them here. UINT32_MAX only when the returns cannot be
 * pushed: a return ring that stays full, which an honest publisher never
 * leaves (publisher.c P4). Owner thread. */
static uint32_t claim_or_flush(zl__mw_subscription *sub)
{
    uint32_t k = claim_slot(sub);
    if (k != UINT32_MAX)
        return k;
    token_acquire_spinning(sub);
    while (flush_locked(sub) != 0) {
    }
    token_release(sub);
    return claim_slot(sub);
}

/* Drops an entry we could not use: give the chunk straight back when the
 * connection works, count it. Owner thread. */
static void drop_entry(zl__mw_subscription *sub, connection *c, uint32_t entry)
{
    zl__fetch_add_relaxed(&sub->lost_dropped, 1);
    if (c->pool == NULL || c->draining)
        return;
    token_acquire_spinning(sub);
    if (zl__return_push(&c->ret, &c->return_tail, &c->return_head_seen, entry) != 0)
        peer_error(sub, c->publisher_id, "moved its return ring's head out of range");
    else {
        wake_publisher(sub, c->shm);
        wake_completion(sub, (uint32_t)(c - sub->connections)); /* rare: maybe user memory */
    }
    token_release(sub);
}

int zl__shm_subscription_take_loan(zl__mw_subscription *sub, const void **payload, size_t *size,
                                   zl_message_info *info)
{
    flush(sub);
    refresh(sub);
    /* Relaxed: only the count matters (S5); a return that happened before
     * this call (by the user's own synchronisation) is seen by coherence.
     * The slot itself is ordered by claim_slot's acquire. */
    if (zl__load_relaxed(&sub->loaned) >= sub->loans_max)
        return zl__fail(ZL_ETOOMANYLOANS, "the subscription's %u loans are all held",
                        sub->loans_max);
    uint32_t k = claim_or_flush(sub);
    if (k == UINT32_MAX)
        return zl__fail(ZL_ETOOMANYLOANS,
                        "returned loans wait for a publisher that does not take them back");
    for (;;) {
        /* Choose the connection whose oldest message is oldest. Headers are
         * read only when two connections have data: with one publisher the
         * choice costs no extra cache miss. */
        uint32_t best = UINT32_MAX;
        const zl__chunk_header *best_header = NULL;
        int64_t best_time = 0;
        bool best_time_known = false;
        uint32_t mask = sub->active_mask;
        while (mask != 0) {
            uint32_t j = (uint32_t)__builtin_ctz(mask);
            mask &= mask - 1;
            connection *c = &sub->connections[j];
            uint64_t position;
            uint32_t entry;
            int rc = zl__deliver_peek(&c->deliver, &position, &entry);
            if (rc == 0 && c->draining) {
                token_acquire_spinning(sub);
                release_connection(sub, j);
                token_release(sub);
                continue;
            }
            if (rc < 0) {
                peer_error(sub, c->publisher_id, "wrote a deliver ring position out of range");
                token_acquire_spinning(sub);
                c->draining = true;
                release_connection(sub, j);
                token_release(sub);
                continue;
            }
            if (rc == 0)
                continue;
            segment_view *segment;
            const zl__chunk_header *header =
                c->pool != NULL ? chunk_of(sub, c->pool, entry, &segment) : NULL;
            if (header == NULL) {
                if (zl__deliver_take(&c->deliver, position)) {
                    wake_publisher(sub, c->shm);
                    if (c->pool != NULL)
                        peer_error(sub, c->publisher_id, "delivered a chunk index out of range");
                    /* Counted, and given back: a chunk of a segment we
                     * could not map is still the publisher's to reuse (a
                     * user message completes); P2 refuses a bogus one. */
                    drop_entry(sub, c, entry);
                }
                mask |= 1u << j; /* look at this connection again */
                continue;
            }
            if (best == UINT32_MAX) {
                best = j;
                best_header = header;
                continue;
            }
            if (!best_time_known) {
                best_time = best_header->timestamp_ns;
                best_time_known = true;
            }
            int64_t time = header->timestamp_ns;
            if (time < best_time) {
                best = j;
                best_header = header;
                best_time = time;
            }
        }
        if (best == UINT32_MAX)
            return ZL_ENODATA;
        /* Take from it. The publisher may reclaim the head meanwhile
         * (keep-last): retry at once on the new head, keeping the window
         * between reading an entry and claiming it short, so a subscription
         * keeps up with a publisher that reclaims on every publish. */
        connection *c = &sub->connections[best];
        bool taken = false;
        uint32_t entry = 0;
        for (;;) {
            uint64_t position;
            int rc = zl__deliver_peek(&c->deliver, &position, &entry);
            if (rc <= 0)
                break; /* emptied or broken meanwhile: choose again */
            if (zl__deliver_take(&c->deliver, position)) {
                taken = true;
                wake_publisher(sub, c->shm);
                break;
            }
        }
        if (!taken)
            continue;
        segment_view *segment = NULL;
        const zl__chunk_header *at = chunk_of(sub, c->pool, entry, &segment);
        if (at == NULL) {
            peer_error(sub, c->publisher_id, "delivered an entry of no segment it listed");
            drop_entry(sub, c, entry); /* counted and given back, as above */
            continue;
        }
        const zl__segment_geometry *geometry = &segment->geometry;
        zl__chunk_header header;
        memcpy(&header, at, sizeof header);
        /* The header names the chunk and segment the entry does, and a size
         * the chunk holds and our type allows (I3). */
        if (header.publisher_id != c->publisher_id ||
            header.chunk_index != zl__entry_chunk(entry) ||
            header.segment_slot != zl__entry_slot(entry) ||
            header.segment_serial != geometry->serial ||
            header.payload_size > c->pool->geometry.payload_max ||
            !payload_fits(sub, segment, &header)) {
            peer_error(sub, c->publisher_id, "wrote a chunk header that failed validation");
            drop_entry(sub, c, entry);
            continue;
        }
        held *slot = &sub->held[k];
        slot->connection = best;
        slot->entry = entry;
        slot->publisher_id = c->publisher_id;
        slot->sequence = header.sequence;
        slot->attachment = c->attachment;
        slot->segment = segment;
        zl__fetch_add_relaxed(&segment->refs, 1); /* S2; the pool view's ref keeps it > 0 */
        const uint8_t *data = segment->user
                                  ? (const uint8_t *)segment->user_map.base + header.user_offset
                                  : (const uint8_t *)at + geometry->payload_offset;
        zl__store_relaxed(&slot->payload, (uintptr_t)data);
        /* Relaxed: a count (S5); decremented by the returner that moves the
         * slot out of LOANED, which it can see only after the store below. */
        zl__fetch_add_relaxed(&sub->loaned, 1);
        /* Release: the fields above are visible to any thread that sees
         * HELD (returners' acquire loads). */
        zl__store_release(&slot->state, HELD_LOANED);
        *payload = data;
        *size = (size_t)header.payload_size;
        /* Relaxed: statistics for tools, read with relaxed loads. */
        zl__endpoint_counters *counters = sub->counters;
        zl__store_relaxed(&counters->messages, ++sub->taken);
        sub->taken_bytes += header.payload_size;
        zl__store_relaxed(&counters->bytes, sub->taken_bytes);
        zl__store_relaxed(&counters->lost, zl__load_relaxed(&sub->lost_dropped));
        if (info != NULL) {
            info->source_timestamp_ns = header.timestamp_ns;
            info->publication_sequence = header.sequence;
            info->publisher_id = c->publisher_id;
            info->from_this_process = c->process_token == zl__process_token();
            info->reception_sequence = 0;
        }
        if (c->draining && !zl__deliver_nonempty(&c->deliver)) {
            token_acquire_spinning(sub);
            release_connection(sub, best);
            token_release(sub);
        }
        return 0;
    }
}

static held *find_held(zl__mw_subscription *sub, const void *payload)
{
    for (uint32_t k = 0; k < sub->held_capacity; k++) {
        held *h = &sub->held[k];
        /* Acquire pairs with the owner's release store of HELD. */
        if (zl__load_acquire(&h->state) == HELD_LOANED &&
            zl__load_relaxed(&h->payload) == (uintptr_t)payload)
            return h;
    }
    return NULL;
}

int zl__shm_subscription_return_loan(zl__mw_subscription *sub, const void *payload)
{
    for (;;) {
        held *h = find_held(sub, payload);
        if (h == NULL)
            return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", payload);
        uint32_t expected = HELD_LOANED;
        /* Exactly one return of a loan wins (S3). */
        if (zl__cas_acq_rel(&h->state, &expected, HELD_RETURNING))
            break;
    }
    /* The loan no longer counts against the limit (S5). Relaxed: a count;
     * our CAS above read the owner's increment-then-release. */
    zl__fetch_sub_relaxed(&sub->loaned, 1);
    atomic_fetch_add_explicit(&sub->returning, 1, memory_order_seq_cst);
    flush(sub);
    return 0;
}

int zl__shm_subscription_is_consistent(zl__mw_subscription *sub, const void *payload,
                                       bool *consistent)
{
    held *h = find_held(sub, payload);
    if (h == NULL)
        return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", payload);
    const zl__chunk_header *header =
        zl__segment_chunk(h->segment->map.base, &h->segment->geometry, zl__entry_chunk(h->entry));
    *consistent = header->sequence == h->sequence && header->publisher_id == h->publisher_id;
    return 0;
}

void zl__shm_subscription_stats(zl__mw_subscription *sub, zl_subscription_stats *stats)
{
    flush(sub);
    refresh(sub);
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
    flush(sub);
    refresh(sub);
    uint32_t mask = sub->active_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        if (zl__deliver_nonempty(&sub->connections[j].deliver))
            return true;
    }
    return false;
}

static void free_private(zl__mw_subscription *sub)
{
    deallocate(sub->allocator, sub->held, sizeof(held) * sub->held_capacity);
    deallocate(sub->allocator, sub, sizeof *sub);
}

void zl__shm_subscription_destroy(zl__mw_subscription *sub)
{
    token_acquire_spinning(sub);
    for (uint32_t k = 0; k < sub->held_capacity; k++) {
        held *h = &sub->held[k];
        if (zl__load_relaxed(&h->state) != HELD_FREE)
            segment_release(sub, h->segment);
    }
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++)
        if (sub->active_mask & (1u << j))
            pool_release(sub, sub->connections[j].pool);
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
    zl__mw_subscription *sub = allocate(a, sizeof *sub);
    if (sub == NULL)
        return zl__fail(ZL_ENOMEM, "allocating a subscription failed");
    sub->allocator = a;
    sub->logger = e->logger;
    sub->registry.fd = -1;
    sub->payload_size = e->payload_size;
    sub->payload_alignment = e->payload_alignment;
    sub->loans_max = e->max_loans;
    sub->held_capacity = 2 * e->max_loans;
    sub->held = allocate(a, sizeof(held) * sub->held_capacity);
    if (sub->held == NULL) {
        free_private(sub);
        return zl__fail(ZL_ENOMEM, "allocating the subscription's loan table failed");
    }
    sub->id = zl__random_id();
    zl__endpoint_record *r = &sub->record;
    zl__endpoint_record_init(r, e, ZL__KIND_SUBSCRIPTION, sub->id);
    r->depth = config->depth;
    r->flags = (config->history ? ZL__RECORD_WANTS_HISTORY : 0u) |
               (config->lossless ? ZL__RECORD_LOSSLESS : 0u);
    sub->lossless = config->lossless;

    /* Deliver ring: the keep-last depth. Return ring: everything that may
     * come back between two drains of the publisher (publisher.c P4), with
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
    refresh(sub);
    *out = sub;
    return 0;
}
