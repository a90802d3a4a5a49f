/* The shared-memory transport, subscription side: the state every file of
 * src/shm/subscription/ shares, and the functions they call of each other.
 * A subscription owns its queue object (a deliver and a return ring per
 * publisher slot), maps the publishers' pools read-only, and keeps a table
 * of the loans it holds.
 *
 * The files, each with the invariants it enforces at its top (I1 of
 * docs/design.md, from the subscription's side):
 *   pools.c       the publishers' pools and segments as we map them: S2, S7
 *   connection.c  publishers that claim, leave or die: attach and release
 *   take.c        the take path: choose, claim, validate, hold
 *   returns.c     loans given back from any thread: S1, S3, S4, S5, S8
 *   return_batch.c  a batch of them given back at once (the same)
 *   endpoint.c    create, destroy, statistics, wait sets
 *   loan_table.h  the loan table's slots: a loan held, placed and found (S9)
 * S6, the wake-up of a publisher asleep until we make room, is below
 * (wake_publisher), used by take.c and returns.c.
 *
 *   S6. A lossless subscription (ZL_LOSSLESS) may have a publisher asleep
 *       until it makes room (publisher/lossless.c P6). Every move of a deliver head
 *       (a take) and every return pushed is followed by a seq_cst fence and
 *       a look at the connection's publisher_sleeping flag: a publisher
 *       that set it before we moved is woken (the first waker takes the flag
 *       down); one that sets it after sees what we moved. Keep-last
 *       subscriptions skip this (nobody waits).
 */
#ifndef ZL_SHM_SUBSCRIPTION_H
#define ZL_SHM_SUBSCRIPTION_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../clock.h"
#include "../../mw.h"
#include "../discovery.h"
#include "../endpoint.h"
#include "../notify.h"
#include "../queue.h"
#include "../transport.h"

#define LIVENESS_PERIOD_NS (50 * 1000000LL)

enum { HELD_FREE = 0, HELD_LOANED = 1, HELD_RETURNING = 2 };

/* One segment of a publisher's pool, mapped read-only. */
typedef struct segment_view {
    zl__mapping map;
    /* S2: a segment the pool view no longer names while a held slot still
     * does waits on the subscription's list of retired segments (owner
     * thread, under return_token). */
    struct segment_view *retired_next;
    uint64_t publisher_id; /* the pool's, checked against the header at map time */
    /* Checked once when mapped; never read from the header again (I3). */
    zl__segment_geometry geometry;
    /* The most bytes a payload of this segment may have: the pool's
     * payload_max and, but for a user segment, the chunk's capacity (from
     * the two geometries, at map time). */
    uint64_t size_limit;
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

/* Cache-line aligned (the subscription is, endpoint.h): a connection's
 * address is a shift, and no two share a line. */
typedef struct connection {
    _Alignas(64) uint64_t publisher_id; /* 0: none */
    uint64_t process_token;
    bool from_this_process; /* process_token is this process's */
    pool_view *pool;       /* NULL when the pool could not be mapped */
    /* Which attachment of this slot it is (sub->attachments when it was
     * attached): a loan taken from an earlier one must not be returned into
     * this one, even by the same publisher. */
    uint64_t attachment;
    zl__connection_shm *shm;
    zl__ring deliver;
    zl__ring ret;
    bool draining;         /* its publisher is gone: take what is left, then release */
    /* What a loan taken from this connection must carry to be pushed back
     * on its return ring: its attachment while it is attached and not
     * draining, else 0 (no loan carries 0). Written under return_token
     * (zl__sub_settle), read by its holder: one comparison says the loan's
     * publisher, attachment and a live ring at once. */
    uint64_t return_key;
    uint64_t return_tail;  /* under return_token */
    uint64_t return_head_seen; /* under return_token; see zl__return_push */
} connection;

/* A cache line each (the table is 64-byte aligned, endpoint.h): returners
 * on different threads do not share one, and a slot's address is a shift. */
typedef struct held {
    _Alignas(64) zl__atomic_u32 state;
    uint32_t entry; /* (segment slot, chunk), as the rings carry it */
    _Atomic(uintptr_t) payload;
    struct connection *connection; /* where it came from (sub->connections) */
    uint64_t sequence;
    uint64_t attachment;    /* the connection's attachment when taken (see connection) */
    segment_view *segment;  /* S2: kept mapped while the slot is not FREE */
} held;

/* A batched return's element as return_batch.c sorts them (by address):
 * its place in the batch, and the slot holding it (or UINT32_MAX). */
typedef struct batch_entry {
    uintptr_t payload;
    uint32_t index, slot;
} batch_entry;

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
    /* The common case of the take (take.c), decided where the private
     * state it depends on changes (zl__sub_settle): the one connection when
     * exactly one is attached, not draining, with its pool mapped, the
     * liveness monitor runs, no attach is to be retried and no segment
     * waits to be unmapped; else NULL. Owner thread. */
    connection *fast;
    segment_view *retired; /* S2: segments no pool view names, still held */
    uint64_t attachments; /* attachments so far (owner thread) */
    connection connections[ZL__PUB_SLOTS];
    uint32_t loans_max;     /* loans the user may hold (S5: the client library counts them) */
    /* The power of two at or above 2 * loans_max slots, and the shift
     * that hashes an address into them (zl__sub_home). */
    uint32_t held_capacity;
    uint32_t home_shift;
    held *held;
    /* A batched return's scratch (return_batch.c), the token holder's, made
     * with the table: held_capacity + 1 entries and as many slots. */
    batch_entry *batch_entries;
    uint32_t *batch_slots;
    /* A slot FREE when last looked at (owner thread): the take's witness
     * that one is (S9). */
    uint32_t claim_cursor;
    zl__atomic_u32 last_held; /* the slot filled last: where returns look first */
    zl__atomic_u32 returning;
    zl__atomic_u32 return_token;
    /* Entries we dropped ourselves, and released connections' counts. */
    zl__atomic_u64 lost_dropped;
    zl__atomic_u64 held_back_released; /* released connections' held_back counts */
    /* Our counters beside our registry slot, for tools (layout.h): taken
     * and bytes by the owner thread, returned under return_token. */
    zl__endpoint_counters *counters;
    uint64_t taken;
    uint64_t taken_bytes;
    uint64_t returned_total; /* under return_token */
    zl__atomic_u64 peer_errors;
};

/* S6: we made room on connection c (moved its deliver head or pushed a
 * return): wake its publisher if it sleeps until we do. */
static inline void wake_publisher(const zl__mw_subscription *sub, zl__connection_shm *c)
{
    if (!sub->lossless)
        return;
    /* Orders our head CAS or return tail store before the load of the
     * sleepers count, against the publisher's count increment, fence, room
     * check (publisher/lossless.c sleep_for_room): the store-buffer pair of notify.h
     * with the roles swapped. */
    zl__fence_seq_cst();
    zl__notify_room(&c->publisher_wake, &c->publisher_sleeping);
}

static inline void token_acquire_spinning(zl__mw_subscription *sub)
{
    /* seq_cst: see S4. Only the owner's reconfiguration waits here, and the
     * holder keeps the token for a few atomic operations. */
    while (atomic_exchange_explicit(&sub->return_token, 1, memory_order_seq_cst) != 0)
        sched_yield();
}

static inline void token_release(zl__mw_subscription *sub)
{
    atomic_store_explicit(&sub->return_token, 0, memory_order_seq_cst);
}

/* pools.c */
/* Owner thread, token held: the pool view no longer names view (S2): unmap
 * it now when no held slot names it, else put it on the retired list. */
void zl__sub_segment_retire(zl__mw_subscription *sub, segment_view *view);
/* Owner thread, token held: unmaps the retired segments no held slot names
 * any more (S2). */
void zl__sub_reap_retired(zl__mw_subscription *sub);
/* Owner thread, token held: unmaps every retired segment (destroy). */
void zl__sub_unmap_retired(zl__mw_subscription *sub);
void zl__sub_pool_release(zl__mw_subscription *sub, pool_view *view);
/* A payload of size bytes (at user_offset, for a user segment) lies in its
 * chunk, or for a user segment in the user's mapping (page-aligned),
 * aligned for the type (I3): both read once from the chunk's header. */
static inline bool zl__sub_payload_fits(const zl__mw_subscription *sub,
                                        const segment_view *segment, uint64_t size,
                                        uint64_t user_offset)
{
    if (size > segment->size_limit)
        return false;
    if (!segment->user)
        return true;
    return user_offset <= segment->user_map.size && size <= segment->user_map.size - user_offset &&
           user_offset % sub->payload_alignment == 0;
}
void zl__sub_rescan_locked(zl__mw_subscription *sub, pool_view *pool, uint32_t seq);
/* Owner thread: the pool's table changed (S7): remap, under the token. */
void zl__sub_rescan(zl__mw_subscription *sub, pool_view *pool, uint32_t seq);
/* The header of the chunk an entry names, with its segment in *segment, or
 * NULL when the entry names nothing the pool has (a broken publisher).
 * Owner thread. */
static inline const zl__chunk_header *zl__sub_chunk_of(zl__mw_subscription *sub, pool_view *pool,
                                                      uint32_t entry, segment_view **segment)
{
    /* Acquire pairs with the publisher's release increment after a table
     * change (P8); we read entry after an acquire load of the deliver tail,
     * so a segment new to this entry shows here (S7). */
    uint32_t seq = zl__load_acquire(&pool->pool->segments_seq);
    if (seq != pool->seen_seq)
        zl__sub_rescan(sub, pool, seq);
    uint32_t slot = zl__entry_slot(entry);
    segment_view *view = slot < ZL__SEGMENTS_MAX ? pool->segments[slot] : NULL;
    if (view == NULL || zl__entry_chunk(entry) >= view->geometry.chunk_count)
        return NULL;
    *segment = view;
    return zl__segment_chunk(view->map.base, &view->geometry, zl__entry_chunk(entry));
}

/* Adds n to the entries we lost ourselves (lost_dropped) and stores the
 * sum in our counters for tools, where it changes rather than on every
 * take. Owner thread (the only writer of lost_dropped). */
static inline void zl__sub_count_lost(zl__mw_subscription *sub, uint64_t n)
{
    /* Relaxed: a count read by stats and tools with relaxed loads. */
    uint64_t lost = zl__load_relaxed(&sub->lost_dropped) + n;
    zl__store_relaxed(&sub->lost_dropped, lost);
    zl__store_relaxed(&sub->counters->lost, lost);
}

/* returns.c */
void zl__sub_flush_from(zl__mw_subscription *sub, uint32_t first);
/* Pushes pending returns (S3, S4): one seq_cst load when there are none. */
static inline void zl__sub_flush(zl__mw_subscription *sub)
{
    if (atomic_load_explicit(&sub->returning, memory_order_seq_cst) != 0)
        zl__sub_flush_from(sub, 0);
}
uint32_t zl__sub_claim_or_flush(zl__mw_subscription *sub);
/* A FREE slot, the next take's witness (S5, S9): the claim cursor when it
 * is FREE (the steady state), else zl__sub_claim_or_flush. */
static inline uint32_t zl__sub_claim(zl__mw_subscription *sub)
{
    uint32_t k = sub->claim_cursor;
    /* Acquire pairs with the flusher's release store of FREE. */
    if (zl__load_acquire(&sub->held[k].state) == HELD_FREE)
        return k;
    return zl__sub_claim_or_flush(sub);
}
void zl__sub_drop_entry(zl__mw_subscription *sub, connection *c, uint32_t entry);

/* S8: we pushed the return of a chunk of user memory on connection j:
 * wake publisher slot j's thread if it waits for a completion. */
static inline void zl__sub_wake_completion(const zl__mw_subscription *sub, uint32_t j)
{
    zl__endpoint_counters *counters = zl__registry_counters(&sub->registry, ZL__KIND_PUBLISHER, j);
    /* Orders our return tail store before the load of the flag, against
     * the publisher's flag store, fence, look at our return tail
     * (zl__shm_publisher_memory_ready): the store-buffer pair of notify.h
     * with the roles swapped, as in S6. */
    zl__fence_seq_cst();
    zl__notify_room(&counters->completion_wake, &counters->completion_sleeping);
}

/* connection.c */
void zl__sub_release_connection(zl__mw_subscription *sub, uint32_t j);
/* Owner thread, token held, after any change of the connections, the
 * attach retry or the retired list: recomputes sub->fast and every
 * connection's return_key from them. */
void zl__sub_settle(zl__mw_subscription *sub);
/* The slow path of refresh: something changed, or liveness is due. */
void zl__sub_refresh_changed(zl__mw_subscription *sub, uint32_t generation, uint32_t attach_seq,
                             int64_t now, bool liveness);

/* New publishers, departed ones, dead ones: one load each of the
 * generation and attach_seq when nothing changed. */
static inline void zl__sub_refresh(zl__mw_subscription *sub)
{
    uint32_t generation = zl__registry_generation(&sub->registry);
    /* Acquire pairs with the publisher's release increment after it claimed
     * a connection and delivered its history (publisher/connection.c
     * attach). */
    uint32_t attach_seq = zl__load_acquire(&sub->queue->attach_seq);
    /* Testing publishers' locks (an fcntl each) is the liveness monitor's
     * job when it runs (discovery.c); otherwise ours, every 50 ms. */
    int64_t now = sub->monitored ? 0 : zl__coarse_ns();
    bool liveness = !sub->monitored && now >= sub->next_liveness_ns;
    if (generation != sub->seen_generation || attach_seq != sub->seen_attach || liveness ||
        sub->attach_retry)
        zl__sub_refresh_changed(sub, generation, attach_seq, now, liveness);
}

/* endpoint.c */
/* Cold: a broken or hostile peer. */
__attribute__((cold)) void zl__sub_peer_error(zl__mw_subscription *sub, uint64_t publisher_id,
                                              const char *what);

#endif
