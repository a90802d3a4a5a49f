/* The shared-memory transport, publisher side: the state every file of
 * src/shm/publisher/ shares, and the functions they call of each other.
 *
 * The pool (layout.h) is a list of segments per size class: class k lends
 * payloads of up to min(class_bytes(k), payload_max) bytes (powers of two
 * from 64 B to 8 MiB, then two classes per doubling). A loan takes a free
 * chunk of the smallest class that fits, from the class's segment in the
 * lowest table slot that has one (a bit mask per class: no walk over
 * segments); when none has, the pool grows by a segment of that class
 * (the only slow path of a loan: shm_open, fallocate, mmap), twice as large
 * as the class's chunks so far, within the memory bound. A segment none of
 * whose chunks was lent for ZL__SEGMENT_IDLE_NS is given back (unmapped and
 * unlinked), except the one made at creation.
 *
 * The files, each with the invariants it enforces at its top (I1 of
 * docs/design.md, from the publisher's side):
 *   pool.c         size classes, segments, growth and shrinking: P1 (holders),
 *                  P8 (the shared table), P9 (reserved before lent)
 *   connection.c   subscriptions that come and go, delivery into their
 *                  rings, returns: P2 (outstanding bits), P4, P5 (budget)
 *   lossless.c     room, sleeping and waking for lossless subscriptions: P6
 *   publish.c      loan, publish, history and fan-out
 *   batch.c        several loans published in parts: P10, P11
 *   user_memory.c  messages published from the user's memory: M1
 *   endpoint.c     create, destroy, statistics
 *   hot_path.h     the common case of loan and publish, inline (every .c
 *                  includes it, and through it this header)
 *
 *   P3. All of the state below is private to the publisher (one thread at
 *       a time), so it needs no atomics; only the rings are shared (see
 *       ring.h), and the counters beside our registry slot, which tools
 *       read with relaxed loads.
 */
#ifndef ZL_SHM_PUBLISHER_H
#define ZL_SHM_PUBLISHER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../clock.h"
#include "../../error_detail.h"
#include "../../mw.h"
#include "../discovery.h"
#include "../notify.h"
#include "../endpoint.h"
#include "../queue.h"
#include "../transport.h"
#include "../user_segment.h"

#define LIVENESS_PERIOD_NS (50 * 1000000LL)
/* Longest single sleep of a publisher waiting for a lossless subscription
 * when no liveness monitor runs (P6): update() tests peers' locks this
 * often. */
#define WAIT_SLICE_NS LIVENESS_PERIOD_NS
#define NO_CONNECTION UINT32_MAX
/* How long a segment stays with no chunk lent before it is given back. */
#define ZL__SEGMENT_IDLE_NS (1000 * 1000000LL)
/* Chunks of a class's first segment: a few messages' worth... */
#define SEGMENT_FIRST_CHUNKS 4u
/* ...but, for a class made on demand (not the segment made at creation,
 * which is kept), only as many payloads of the class's size as this many
 * bytes hold, at least one: every class of a sized type keeps its segment
 * for a second after its last loan, and few chunks of each large class are
 * in flight at once (bench/pool_cloud.c)... */
#define SEGMENT_FIRST_BYTES (4ull * 1024 * 1024)
/* ...and at least this many bytes (small messages come by the hundred)... */
#define SEGMENT_BYTES_MIN (64u * 1024u)
/* ...and any segment at most this many (or one chunk). */
#define SEGMENT_BYTES_MAX (64ull * 1024 * 1024)
/* Size classes: powers of two from CLASS_MIN_PAYLOAD to CLASS_FINE_FROM
 * (class CLASS_FINE_FIRST), then CLASS_STEPS per doubling (1.5 and 2 times
 * the power of two below), so that a large message just over a power of two
 * (8 MiB + 8 B) takes a chunk half as large again (12 MiB), not twice its
 * size. Not finer, nor from smaller sizes: each class in use keeps a
 * segment, so more classes reserve more in a mix of sizes (measured with
 * bench/pool_cloud.c: four classes per doubling from 1 MiB reserved 13.4
 * times the bytes in flight, two from 8 MiB 10.2, powers of two 8.1). */
#define CLASS_MIN_PAYLOAD 64u
#define CLASS_FINE_LOG2 23u
#define CLASS_FINE_FROM ((uint64_t)1 << CLASS_FINE_LOG2)
#define CLASS_FINE_FIRST (CLASS_FINE_LOG2 - 6u) /* 64 B << 17 = 8 MiB */
#define CLASS_STEPS 2u
/* Up to ZL__PAYLOAD_UNBOUNDED (1 << 40): 17 doublings of two classes. */
#define CLASSES (CLASS_FINE_FIRST + 1u + CLASS_STEPS * (40u - CLASS_FINE_LOG2))
#define NONE UINT32_MAX

/* Cache-line aligned (the publisher is, endpoint.h): a connection's address
 * is a shift, and no two share a line. */
typedef struct connection {
    _Alignas(64) bool connected; /* claimed: we deliver into it */
    bool pending;   /* mapped, waiting for the subscription to free it */
    uint64_t subscription_id;
    uint64_t broken_id; /* a subscription whose queue failed validation */
    zl__mapping map;
    zl__queue_shm *queue;
    zl__queue_geometry geometry; /* checked once when mapped (I3) */
    zl__connection_shm *shm;
    zl__ring deliver;
    zl__ring ret;
    uint64_t deliver_tail;
    uint64_t deliver_head_seen; /* see zl__deliver_reclaim_oldest */
    uint64_t return_head;
    uint32_t depth;
    uint64_t lost;
    bool lossless;              /* P6: never reclaimed from; we wait instead */
    uint64_t held_back;         /* publishes that found it full (P6) */
    uint32_t *mirror;      /* what we wrote into the deliver ring */
    uint32_t held;         /* outstanding bits set, over all segments (P5) */
} connection;

/* One segment of the pool, as the publisher keeps it (private). */
typedef struct segment {
    uint32_t serial; /* 0: the slot is empty */
    uint32_t size_class;
    zl__mapping map;
    zl__segment_geometry geometry; /* ours: never read back from shared memory */
    /* One private block: per chunk, who holds it (P1: a bit each) and the
     * free stack. */
    void *bookkeeping;
    size_t bookkeeping_size;
    uint32_t *holders;
    uint32_t *free_stack;
    /* The first chunk (map.base + geometry.chunk_offset): a chunk's address
     * is one multiply-add. */
    uint8_t *chunks;
    uint32_t free_top;
    bool lent_since_tick;
    int64_t idle_since_ns;
    /* A user segment (user_segment.h): in no size class, never retired
     * while registered; published[c] is the sequence last published
     * through chunk c (the ticket of zl__shm_publisher_memory_in_flight). */
    bool user;
    zl__user_file file;
    uint64_t *published;
} segment;

struct zl__mw_publisher {
    const zl_allocator *allocator;
    const zl__logger *logger;
    zl__registry registry;
    zl__endpoint_record record;
    uint32_t slot;
    bool registered;
    uint64_t id;
    char pool_name[ZL__SHM_NAME_MAX + 1];
    zl__mapping pool_map;
    zl__pool_shm *pool;
    uint64_t payload_offset;
    uint64_t payload_max;
    uint64_t alignment;
    uint32_t chunks_per_subscription;
    /* Chunks lent, queued, kept or held, against the most an honest set of
     * subscriptions can need (the bound before growth: see create). */
    uint32_t chunks_in_use;
    uint32_t chunk_limit;
    /* Shared memory of the pool, its control object included: the figures
     * get_stats and the ZL_ENOSHM details give, against pool_bytes_max. */
    uint64_t shm_bytes;
    uint64_t shm_bytes_max;
    uint64_t shm_bytes_high;
    uint64_t growths;
    uint32_t next_serial;
    uint32_t creation_serial; /* the segment made at creation, kept; 0: none */
    /* Per class, a bit per table slot whose segment has a free chunk: a
     * loan finds one with a bit operation, whatever the segment count. */
    uint64_t class_free[CLASSES];
    uint32_t class_chunks[CLASSES];
    uint32_t chunks_total; /* chunks in all segments (sum of class_chunks) */
    segment segments[ZL__SEGMENTS_MAX];
    uint32_t history_capacity;
    uint32_t history_len;
    uint32_t history_next; /* where the next entry goes */
    uint32_t *history;     /* entries */
    uint64_t sequence;
    uint32_t seen_generation;
    int64_t next_liveness_ns;
    int64_t last_call_ns; /* the coarse time of the last update: the latest a loan can have been */
    bool monitored; /* the process's liveness monitor reaps dead peers */
    uint32_t connected_mask;
    uint32_t pending_mask;
    uint32_t lossless_mask; /* connected lossless connections (P6) */
    int64_t max_blocking_ns;
    uint64_t published;
    uint64_t bytes;
    uint64_t loans_total;
    uint64_t returned_total;
    uint32_t used_max; /* the most chunks_in_use ever (high-water mark) */
    /* Our counters beside our registry slot, for tools (layout.h): the
     * chunk counts are stored whenever they change, so a tool reads what
     * get_stats gives after our last call. */
    zl__endpoint_counters *counters;
    uint64_t dropped;
    uint64_t blocked;
    uint64_t timeouts;
    uint64_t peer_errors;
    connection connections[ZL__SUB_SLOTS];
};

enum { DELIVER_BROKEN = -1, DELIVER_SKIPPED = 0, DELIVER_PUSHED = 1 };

static inline uint8_t *chunk_base(const segment *seg, uint32_t index)
{
    return seg->chunks + seg->geometry.chunk_stride * index;
}

/* The segment an entry names when it is live and the index in range, else
 * NULL: entries come back from subscriptions' shared memory (I3). An
 * empty table slot has no chunks (retire clears it). */
static inline segment *segment_of(zl__mw_publisher *pub, uint32_t entry)
{
    uint32_t slot = zl__entry_slot(entry);
    if (slot >= ZL__SEGMENTS_MAX)
        return NULL;
    segment *seg = &pub->segments[slot];
    return zl__entry_chunk(entry) < seg->geometry.chunk_count ? seg : NULL;
}

/* P1 (pool.c): who holds a chunk, a bit each. Connection j's bit is P2's
 * outstanding bit; HOLD_LENT is the user's loan (from the loan to its
 * publish or return) or a publication being fanned out; HOLD_HISTORY the
 * history's entry (a chunk is kept at most once: it is not lent again
 * while kept). */
_Static_assert(ZL__SUB_SLOTS <= 16, "a chunk's holders keep a bit per subscription slot");
#define HOLD_LENT ((uint32_t)1 << 16)
#define HOLD_HISTORY ((uint32_t)1 << 17)
static inline uint32_t holder_bit(uint32_t j) { return (uint32_t)1 << j; }

/* The chunk of entry is free again (nobody holds it, P1): onto its free
 * stack, and, but for a user segment's, back in its class. */
static inline void free_chunk(zl__mw_publisher *pub, segment *seg, uint32_t entry)
{
    seg->free_stack[seg->free_top++] = zl__entry_chunk(entry);
    if (!seg->user) { /* user chunks are not the pool's */
        pub->class_free[seg->size_class] |= (uint64_t)1 << zl__entry_slot(entry);
        pub->chunks_in_use--;
        /* Relaxed: a statistic for tools, read with relaxed loads. */
        zl__store_relaxed(&pub->counters->chunks_free, pub->chunks_total - pub->chunks_in_use);
    }
}

/* Lets go of the holds in who (set) of a chunk of ours (entry is one we
 * made), freeing it when nobody is left (P1). */
static inline void let_go(zl__mw_publisher *pub, uint32_t entry, uint32_t who)
{
    segment *seg = &pub->segments[zl__entry_slot(entry)];
    uint32_t *holders = &seg->holders[zl__entry_chunk(entry)];
    uint32_t left = *holders & ~who;
    *holders = left;
    if (left == 0)
        free_chunk(pub, seg, entry);
}

/* Takes back a chunk connection j returned or had reclaimed: true when
 * entry names a live chunk whose bit for j is set (P2), which is cleared
 * (and the chunk freed when nobody else holds it, P1); false for anything
 * else, which changes nothing (entries come back from subscriptions'
 * shared memory, I3: segment_of's checks, written out). Inline (always): the common case of
 * every publish that follows a return. */
static inline __attribute__((always_inline)) bool take_back(zl__mw_publisher *pub, uint32_t j,
                                                            uint32_t entry)
{
    uint32_t slot = zl__entry_slot(entry);
    if (slot >= ZL__SEGMENTS_MAX)
        return false;
    segment *seg = &pub->segments[slot];
    uint32_t chunk = zl__entry_chunk(entry);
    if (chunk >= seg->geometry.chunk_count)
        return false;
    uint32_t *holders = &seg->holders[chunk];
    uint32_t held = *holders;
    if ((held & holder_bit(j)) == 0)
        return false;
    held &= ~holder_bit(j);
    *holders = held;
    pub->connections[j].held--; /* P5 */
    if (held == 0)
        free_chunk(pub, seg, entry);
    return true;
}

/* Chunks free in all segments: neither lent, queued, held nor kept. */
static inline uint32_t pool_free(const zl__mw_publisher *pub)
{
    return pub->chunks_total - pub->chunks_in_use;
}

/* pool.c */

void zl__pub_publish_free_counters(zl__mw_publisher *pub);
void zl__pub_table_changed(zl__mw_publisher *pub);
uint32_t zl__pub_free_slot(const zl__mw_publisher *pub);
int zl__pub_grow(zl__mw_publisher *pub, uint32_t k, bool kept);
int zl__pub_segment_add(zl__mw_publisher *pub, uint32_t slot, const zl__segment_geometry *geometry,
                        uint64_t total, const zl__user_file *file);
void zl__pub_retire(zl__mw_publisher *pub, uint32_t slot);
bool zl__pub_segment_idle(const segment *seg);
bool zl__pub_shrink(zl__mw_publisher *pub, int64_t now, int64_t previous_call);
int zl__pub_make_room(zl__mw_publisher *pub, uint32_t k);
void zl__pub_unlink_pool(zl__mw_publisher *pub);

/* connection.c */
/* Cold: a broken or hostile peer. */
__attribute__((cold)) void zl__pub_mark_broken(zl__mw_publisher *pub, uint32_t j,
                                               const char *what);
/* Pushes entry into connection j under keep-last, within its budget (P5):
 * DELIVER_PUSHED, DELIVER_SKIPPED (over budget with nothing queued: lost
 * for it) or DELIVER_BROKEN (dropped). zl__pub_deliver_fast first. The
 * caller adds the chunk's reference for a push (P1, see zl__pub_push). */
int zl__pub_deliver(zl__mw_publisher *pub, uint32_t j, uint32_t entry);
/* The slow path of peers that came or went: a scan of the registry when
 * its generation changed, claims that are pending. */
void zl__pub_update_peers(zl__mw_publisher *pub);
/* The periodic part (every LIVENESS_PERIOD_NS, or forced): drains, gives
 * idle segments back, tests peers. */
void zl__pub_liveness(zl__mw_publisher *pub, bool force_liveness, int64_t now,
                      int64_t previous_call);
/* Both, as every slow path calls them. */
void zl__pub_update(zl__mw_publisher *pub, bool force_liveness);
/* Cold: connection j returned a chunk it did not hold (P2 refused it). */
__attribute__((cold)) void zl__pub_bogus_return(zl__mw_publisher *pub, uint32_t j);

/* lossless.c */
bool zl__pub_returns_waiting(const connection *c);
int zl__pub_wait_for_room_slow(zl__mw_publisher *pub);

#endif
