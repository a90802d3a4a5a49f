/* The shared-memory transport, publisher side: the pool, its segments and
 * reference counts, and the connections to subscriptions.
 *
 * The pool (layout.h) is a list of segments per size class: class k lends
 * payloads of up to min(class_bytes(k), payload_max) bytes (powers of two
 * from 64 B to 8 MiB, then two classes per doubling). A loan takes a free
 * chunk of the smallest class that fits, from the class's oldest segment
 * that has one; when none has, the pool grows by a segment of that class
 * (the only slow path of a loan: shm_open, fallocate, mmap), twice as large
 * as the class's chunks so far, within the memory bound. A segment none of
 * whose chunks was lent for ZL__SEGMENT_IDLE_NS is given back (unmapped and
 * unlinked), except the one made at creation.
 *
 * Invariants (I1 of docs/design.md, from the publisher's side)
 *   A chunk is named by its entry (segment slot, index: zl__entry_pack).
 *   P1. refs[c] counts who refers to chunk c: the user's loan (1 while lent),
 *       each connection whose `outstanding` bit for c is set, and the history
 *       (once per history entry). A chunk is on the free stack iff refs[c] is
 *       0, and only free chunks are lent: a chunk is never written while a
 *       subscription may read it.
 *   P2. A connection's outstanding bit for c is set when c is pushed to its
 *       deliver ring and cleared exactly once: when the chunk comes back on
 *       the return ring, when the publisher reclaims it from the deliver ring
 *       (keep-last), or when the connection is dropped (the subscription left
 *       or died). A return of a chunk whose bit is clear is a peer error and
 *       is ignored, so a broken or hostile subscription cannot free a chunk
 *       twice or free another connection's chunk.
 *   P3. All of this state is private to the publisher (one thread at a time),
 *       so it needs no atomics; only the rings are shared (see ring.h).
 *   P4. Between two drains of a return ring the publisher publishes at most
 *       once (loan and publish both drain), so a subscription never has more
 *       than depth + loans + 1 chunks to return: the return ring, sized for
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
 *   P6. Lossless connections (the subscription's record says ZL_LOSSLESS)
 *       are never reclaimed from. A publish first makes sure that every
 *       lossless connection has room for one more entry: fewer than `depth`
 *       queued and fewer than chunks_per_subscription outstanding (queued,
 *       held or on the way back). Until then it delivers to no one; it
 *       sleeps (wait_for_room) and either every lossless connection has
 *       room or max_blocking_time passed and nothing was published (the
 *       loan stays the user's). Since only the publisher adds entries and
 *       outstanding chunks, room seen once stays until it delivers. Its
 *       sleep ends on the subscription's wake-up (it took an entry or
 *       returned a chunk; the store-buffer protocol of notify.h with the
 *       roles swapped: the publisher sets publisher_sleeping, fences and
 *       looks at head and the return tail; the subscription moves them,
 *       fences and looks at publisher_sleeping), on a change of the
 *       registry's generation (a peer came, left or died: the liveness
 *       monitor bumps it and wakes its sleepers), or, when no monitor
 *       runs, after WAIT_SLICE_NS (to test peers' locks itself). Values the subscription
 *       writes only make the connection look full or broken: the deadline
 *       is ours, so no value makes a publish wait longer than its bound.
 *   P8. A segment is in the shared table (serials[slot] = its serial) from
 *       before any of its chunks is lent (the table change is published by
 *       a release increment of segments_seq, before the first deliver
 *       release of one of its chunks) until every chunk of it is free; only
 *       then is it removed from the table, unmapped and unlinked. So a
 *       subscription never meets an entry of a segment it cannot find.
 *   P9. Growth reserves a whole segment (fallocate) before any chunk of it
 *       is lent: running out of memory is ZL_ENOSHM from the loan that
 *       needed the segment, never a SIGBUS.
 *   M1. User memory (user_segment.h): a user segment's chunk is a message
 *       published from the user's memory; it completes when its refs fall
 *       to 0 (P1: every connection that held it returned it, had it
 *       reclaimed, left or died; never kept as history). A thread of ours
 *       that waits for a completion raises completion_sleeping beside our
 *       registry slot (after reading completion_wake), fences, and looks at
 *       the return rings of the connections that hold chunks of the memory
 *       and at the registry's generation before it sleeps on both words; a
 *       subscription pushes the return of a user chunk, fences and looks at
 *       the flag (subscription.c S8), a departure or death bumps the
 *       generation. The store-buffer pair of notify.h, roles swapped (as
 *       P6): either we see the return, or it sees the flag and wakes us.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zloan/error.h"

#include "../clock.h"
#include "../error_detail.h"
#include "../futex.h"
#include "../identity.h"
#include "../mw.h"
#include "notify.h"
#include "endpoint.h"
#include "queue.h"
#include "discovery.h"
#include "transport.h"
#include "user_segment.h"

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

typedef struct connection {
    bool connected; /* claimed: we deliver into it */
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
    uint32_t next;   /* the class's next segment, oldest first; NONE */
    zl__mapping map;
    zl__segment_geometry geometry; /* ours: never read back from shared memory */
    /* One private block: refs, lent flags, free stack and, per subscription
     * slot, a bit per chunk (P2). */
    void *bookkeeping;
    size_t bookkeeping_size;
    uint32_t *refs;
    uint8_t *lent;
    uint32_t *free_stack;
    uint32_t free_top;
    uint64_t *outstanding;
    uint32_t bitmap_words;
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
    uint32_t max_loans;
    uint32_t chunks_per_subscription;
    uint32_t loans_out;
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
    uint32_t class_first[CLASSES];
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

static inline uint8_t *chunk_base(const segment *seg, uint32_t index)
{
    return (uint8_t *)seg->map.base + seg->geometry.chunk_offset +
           seg->geometry.chunk_stride * index;
}

/* The segment an entry names when it is live and the index in range, else
 * NULL: entries come back from subscriptions' shared memory (I3). */
static inline segment *segment_of(zl__mw_publisher *pub, uint32_t entry)
{
    uint32_t slot = zl__entry_slot(entry);
    if (slot >= ZL__SEGMENTS_MAX)
        return NULL;
    segment *seg = &pub->segments[slot];
    if (seg->serial == 0 || zl__entry_chunk(entry) >= seg->geometry.chunk_count)
        return NULL;
    return seg;
}

static inline bool bit_test(const uint64_t *bits, uint32_t i) { return (bits[i / 64] >> (i % 64)) & 1u; }
static inline void bit_set(uint64_t *bits, uint32_t i) { bits[i / 64] |= (uint64_t)1 << (i % 64); }
static inline void bit_clear(uint64_t *bits, uint32_t i) { bits[i / 64] &= ~((uint64_t)1 << (i % 64)); }

static inline uint64_t *outstanding_of(segment *seg, uint32_t j)
{
    return seg->outstanding + (size_t)j * seg->bitmap_words;
}

static inline void release_ref(zl__mw_publisher *pub, uint32_t entry)
{
    segment *seg = &pub->segments[zl__entry_slot(entry)];
    uint32_t chunk = zl__entry_chunk(entry);
    if (--seg->refs[chunk] == 0) {
        seg->free_stack[seg->free_top++] = chunk;
        if (!seg->user) { /* user chunks are not the pool's */
            pub->chunks_in_use--;
            /* Relaxed: a statistic for tools, read with relaxed loads. */
            zl__store_relaxed(&pub->counters->chunks_free, pub->chunks_total - pub->chunks_in_use);
        }
    }
}

/* Clears connection j's bit for entry if set (P2); true when it was. */
static inline bool take_outstanding(zl__mw_publisher *pub, uint32_t j, uint32_t entry)
{
    segment *seg = segment_of(pub, entry);
    if (seg == NULL)
        return false;
    uint64_t *bits = outstanding_of(seg, j);
    if (!bit_test(bits, zl__entry_chunk(entry)))
        return false;
    bit_clear(bits, zl__entry_chunk(entry));
    pub->connections[j].held--; /* P5 */
    return true;
}

/* ---- size classes and segments ---------------------------------------- */

/* The payload bytes of class k's chunks, before the type's cap. */
static uint64_t class_bytes(uint32_t k)
{
    if (k <= CLASS_FINE_FIRST)
        return (uint64_t)CLASS_MIN_PAYLOAD << k;
    uint32_t step = k - CLASS_FINE_FIRST - 1;
    uint64_t base = CLASS_FINE_FROM << (step / CLASS_STEPS);
    return base + base / CLASS_STEPS * (step % CLASS_STEPS + 1);
}

/* The smallest class whose chunks hold size bytes: a few instructions on
 * the loan's path, no loop. */
static uint32_t class_of(uint64_t size)
{
    if (size <= CLASS_MIN_PAYLOAD)
        return 0;
    uint64_t last = size - 1; /* the class holds last + 1 bytes */
    uint32_t log2 = 63u - (uint32_t)__builtin_clzll(last); /* base <= last < 2 * base */
    if (log2 < CLASS_FINE_LOG2)
        return log2 + 1u - 6u; /* the power of two above last: 64 << k */
    uint64_t base = (uint64_t)1 << log2;
    uint32_t k = CLASS_FINE_FIRST + 1u + CLASS_STEPS * (log2 - CLASS_FINE_LOG2) +
                 (uint32_t)((last - base) / (base / CLASS_STEPS));
    return k < CLASSES ? k : CLASSES - 1;
}

static uint64_t class_capacity(const zl__mw_publisher *pub, uint32_t k)
{
    uint64_t capacity = class_bytes(k);
    return capacity < pub->payload_max ? capacity : pub->payload_max;
}

/* Chunks free in all segments: neither lent, queued, held nor kept. */
static inline uint32_t pool_free(const zl__mw_publisher *pub)
{
    return pub->chunks_total - pub->chunks_in_use;
}

/* Publishes the pool's chunk counts beside our registry slot, for tools,
 * after growth or shrinking (loans and releases store what they change).
 * Relaxed: statistics, which tools read with relaxed loads. */
static void publish_free_counters(zl__mw_publisher *pub)
{
    if (pub->counters == NULL)
        return; /* creating: create publishes them once registered */
    zl__store_relaxed(&pub->counters->chunks_total, pub->chunks_total);
    zl__store_relaxed(&pub->counters->chunks_free, pool_free(pub));
    zl__store_relaxed(&pub->counters->chunks_used_max, pub->used_max);
}

/* Tells subscriptions that the table changed (P8). */
static void table_changed(zl__mw_publisher *pub)
{
    /* Release: the serials written before, and the new segment's header
     * and chunk headers, are visible to a subscription whose acquire load
     * of segments_seq sees this value (subscription.c, rescan). Our first
     * deliver of a chunk of the segment comes later in program order, so a
     * subscription that read that entry sees this increment too. */
    zl__fetch_add_release(&pub->pool->segments_seq, 1);
}

/* How many chunks a new segment of class k gets: a few for the first
 * (fewer of large classes, unless it is the segment kept from creation),
 * then as many as the class has (doubling), within the byte limits, the
 * chunk limit and the memory left. 0 when not even one fits the memory
 * left. */
static uint32_t segment_chunks(const zl__mw_publisher *pub, uint32_t k, uint64_t stride,
                               uint64_t overhead, bool kept)
{
    uint64_t n = pub->class_chunks[k];
    if (n == 0) {
        n = SEGMENT_FIRST_CHUNKS;
        if (!kept && n * class_bytes(k) > SEGMENT_FIRST_BYTES)
            n = SEGMENT_FIRST_BYTES / class_bytes(k);
    }
    if (n * stride < SEGMENT_BYTES_MIN)
        n = SEGMENT_BYTES_MIN / stride;
    if (n * stride > SEGMENT_BYTES_MAX)
        n = SEGMENT_BYTES_MAX / stride;
    uint64_t room = pub->chunk_limit - (pub->class_chunks[k] < pub->chunk_limit
                                            ? pub->class_chunks[k]
                                            : pub->chunk_limit);
    if (n > room)
        n = room;
    if (n == 0)
        n = 1;
    if (n > ZL__SEGMENT_CHUNKS_MAX)
        n = ZL__SEGMENT_CHUNKS_MAX;
    uint64_t left = pub->shm_bytes_max > pub->shm_bytes ? pub->shm_bytes_max - pub->shm_bytes : 0;
    if (left <= overhead || stride > left - overhead)
        return 0;
    if (n * stride > left - overhead)
        n = (left - overhead) / stride;
    return (uint32_t)n;
}

static int segment_bookkeeping(zl__mw_publisher *pub, segment *seg, uint32_t count)
{
    seg->bitmap_words = (count + 63) / 64;
    size_t bits = sizeof(uint64_t) * seg->bitmap_words * ZL__SUB_SLOTS;
    size_t refs = sizeof(uint32_t) * count, stack = sizeof(uint32_t) * count;
    seg->bookkeeping_size = bits + refs + stack + count; /* the lent flags last */
    uint8_t *block = allocate(pub->allocator, seg->bookkeeping_size);
    if (block == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the bookkeeping of a segment of %u chunks failed",
                        count);
    seg->bookkeeping = block;
    seg->outstanding = (uint64_t *)(void *)block;
    seg->refs = (uint32_t *)(void *)(block + bits);
    seg->free_stack = (uint32_t *)(void *)(block + bits + refs);
    seg->lent = block + bits + refs + stack;
    return 0;
}

static int segment_add(zl__mw_publisher *pub, uint32_t slot, const zl__segment_geometry *geometry,
                       uint64_t total, const zl__user_file *file);

/* The first empty slot of the table, or ZL__SEGMENTS_MAX. */
static uint32_t free_slot(const zl__mw_publisher *pub)
{
    uint32_t slot = 0;
    while (slot < ZL__SEGMENTS_MAX && pub->segments[slot].serial != 0)
        slot++;
    return slot;
}

/* Lays out a new segment of class k in slot and enters it in the table
 * (kept: the one made at creation). The slow path of growth (P8, P9). */
static int grow(zl__mw_publisher *pub, uint32_t k, bool kept)
{
    uint32_t slot = free_slot(pub);
    if (slot == ZL__SEGMENTS_MAX)
        return zl__fail(ZL_ENOSHM, "the pool of topic %s has all its %u segments in use",
                        pub->registry.topic, ZL__SEGMENTS_MAX);
    zl__segment_geometry g;
    uint64_t total;
    zl__segment_layout(pub->payload_offset, class_capacity(pub, k), pub->alignment, 1, &g,
                       &total);
    uint32_t count = segment_chunks(pub, k, g.chunk_stride, g.chunk_offset, kept);
    if (count == 0)
        return zl__fail(ZL_ENOSHM,
                        "the pool of topic %s needs %llu more bytes (a chunk of %llu) but holds "
                        "%llu bytes of shared memory already, its bound being %llu bytes "
                        "(pool_bytes_max, by default a quarter of RAM or half of what /dev/shm "
                        "had free)",
                        pub->registry.topic, (unsigned long long)total,
                        (unsigned long long)g.chunk_stride, (unsigned long long)pub->shm_bytes,
                        (unsigned long long)pub->shm_bytes_max);
    zl__segment_layout(pub->payload_offset, class_capacity(pub, k), pub->alignment, count, &g,
                       &total);
    int rc = segment_add(pub, slot, &g, total, NULL);
    if (rc != 0)
        return rc;
    segment *seg = &pub->segments[slot];
    seg->size_class = k;
    /* Oldest first: loans prefer old segments, so young ones fall idle. */
    uint32_t *link = &pub->class_first[k];
    while (*link != NONE)
        link = &pub->segments[*link].next;
    *link = slot;
    pub->class_chunks[k] += count;
    pub->chunks_total += count;
    publish_free_counters(pub);
    pub->growths++;
    table_changed(pub);
    return 0;
}

/* Makes the segment object of geometry g in slot (a user segment when file
 * is not NULL) and enters it in the table, unpublished: the caller calls
 * table_changed (P8, P9). */
static int segment_add(zl__mw_publisher *pub, uint32_t slot, const zl__segment_geometry *geometry,
                       uint64_t total, const zl__user_file *file)
{
    zl__segment_geometry g = *geometry;
    uint32_t count = g.chunk_count;
    segment *seg = &pub->segments[slot];
    memset(seg, 0, sizeof *seg);
    int rc = segment_bookkeeping(pub, seg, count);
    if (rc != 0)
        return rc;
    uint32_t serial = ++pub->next_serial;
    char name[ZL__SHM_NAME_MAX + 1];
    zl__shm_name_segment(name, sizeof name, pub->pool_name, serial);
    rc = zl__segment_create(name, total, pub->registry.mode, &seg->map);
    if (rc != 0) {
        deallocate(pub->allocator, seg->bookkeeping, seg->bookkeeping_size);
        memset(seg, 0, sizeof *seg);
        return rc;
    }
    g.serial = serial;
    seg->geometry = g;
    seg->next = NONE;
    zl__segment_shm *head = seg->map.base;
    head->magic = ZL__SEGMENT_MAGIC;
    head->version = ZL__LAYOUT_VERSION;
    head->slot = slot;
    head->publisher_id = pub->id;
    head->serial = serial;
    head->chunk_count = count;
    head->total_size = total;
    head->chunk_offset = g.chunk_offset;
    head->chunk_stride = g.chunk_stride;
    head->payload_offset = g.payload_offset;
    head->payload_capacity = g.payload_capacity;
    if (file != NULL) {
        seg->user = true;
        seg->file = *file;
        head->user = 1;
        head->user_pid = file->pid;
        head->user_fd = file->fd;
        head->user_dev = file->dev;
        head->user_ino = file->ino;
        head->user_offset = file->offset;
        head->user_length = file->length;
    }
    for (uint32_t c = 0; c < count; c++) {
        zl__chunk_header *h = (zl__chunk_header *)(void *)chunk_base(seg, c);
        h->chunk_index = c;
        h->segment_slot = slot;
        h->segment_serial = serial;
        seg->free_stack[seg->free_top++] = count - 1 - c;
    }
    seg->serial = serial;
    seg->idle_since_ns = zl__coarse_ns();
    pub->shm_bytes += total;
    if (pub->shm_bytes > pub->shm_bytes_high)
        pub->shm_bytes_high = pub->shm_bytes;
    /* Release: table_changed's release increment publishes it (P8), but a
     * subscription rescanning for an older increment may read this serial
     * already; the release orders the segment's header before it, paired
     * with rescan_locked's acquire load. */
    zl__store_release(&pub->pool->serials[slot], serial);
    return 0;
}

/* Gives a segment none of whose chunks is in use back (P8). */
static void retire(zl__mw_publisher *pub, uint32_t slot)
{
    segment *seg = &pub->segments[slot];
    if (!seg->user) {
        uint32_t *link = &pub->class_first[seg->size_class];
        while (*link != slot)
            link = &pub->segments[*link].next;
        *link = seg->next;
        pub->class_chunks[seg->size_class] -= seg->geometry.chunk_count;
        pub->chunks_total -= seg->geometry.chunk_count;
        publish_free_counters(pub);
    } else {
        close((int)seg->file.fd);
        deallocate(pub->allocator, seg->published, sizeof(uint64_t) * seg->geometry.chunk_count);
    }
    /* Relaxed: published by table_changed's release increment. */
    zl__store_relaxed(&pub->pool->serials[slot], 0);
    table_changed(pub);
    char name[ZL__SHM_NAME_MAX + 1];
    zl__shm_name_segment(name, sizeof name, pub->pool_name, seg->serial);
    zl__segment_unlink(name);
    pub->shm_bytes -= seg->map.size;
    zl__segment_unmap(&seg->map);
    deallocate(pub->allocator, seg->bookkeeping, seg->bookkeeping_size);
    memset(seg, 0, sizeof *seg);
}

static bool segment_idle(const segment *seg)
{
    return seg->serial != 0 && seg->free_top == seg->geometry.chunk_count;
}

/* Gives back segments idle for ZL__SEGMENT_IDLE_NS, or (now == 0: growth
 * needs the room) every segment with no chunk in use. Never the segment made
 * at creation. Called from the periodic part of update, and before growth
 * runs into the memory bound. Returns whether it gave one back.
 * A segment lent since the last tick was last lent no later than the call
 * before this one (previous_call): its idle time counts from there, so a
 * publisher that makes no call for a second gives its idle segments back
 * at its very next call (issue 22 item 2), not a second after it. */
static bool shrink(zl__mw_publisher *pub, int64_t now, int64_t previous_call)
{
    bool retired = false;
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
        segment *seg = &pub->segments[slot];
        if (seg->serial == 0 || seg->serial == pub->creation_serial || seg->user)
            continue;
        if (now == 0) {
            if (segment_idle(seg)) {
                retire(pub, slot);
                retired = true;
            }
            continue;
        }
        if (!segment_idle(seg)) {
            seg->lent_since_tick = false;
            seg->idle_since_ns = now;
            continue;
        }
        if (seg->lent_since_tick) {
            seg->lent_since_tick = false;
            seg->idle_since_ns = previous_call;
        }
        if (now - seg->idle_since_ns >= ZL__SEGMENT_IDLE_NS) {
            retire(pub, slot);
            retired = true;
        }
    }
    return retired;
}

/* Drops connection j: every chunk it still had goes back (P2). */
static void disconnect(zl__mw_publisher *pub, uint32_t j)
{
    connection *c = &pub->connections[j];
    if (c->connected) {
        for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
            segment *seg = &pub->segments[slot];
            if (seg->serial == 0)
                continue;
            uint64_t *outstanding = outstanding_of(seg, j);
            for (size_t w = 0; w < seg->bitmap_words; w++) {
                uint64_t bits = outstanding[w];
                while (bits != 0) {
                    uint32_t chunk = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
                    bits &= bits - 1;
                    release_ref(pub, zl__entry_pack(slot, chunk));
                }
                outstanding[w] = 0;
            }
        }
        c->held = 0;
        deallocate(pub->allocator, c->mirror, sizeof(uint32_t) * (c->deliver.mask + 1));
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
 * Logged sparsely (log.h), never in the steady state: only when it happens. */
static void peer_error(zl__mw_publisher *pub, uint64_t subscription_id, const char *what)
{
    pub->peer_errors++;
    if (zl__log_sparse(pub->peer_errors))
        zl__log(pub->logger, ZL_LOG_WARN,
                "publisher %016llx of topic %s: peer error #%llu: subscription %016llx %s",
                (unsigned long long)pub->id, pub->registry.topic,
                (unsigned long long)pub->peer_errors, (unsigned long long)subscription_id, what);
}

static void mark_broken(zl__mw_publisher *pub, uint32_t j, const char *what)
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

enum { DELIVER_BROKEN = -1, DELIVER_SKIPPED = 0, DELIVER_PUSHED = 1 };

/* Pushes entry into connection j under keep-last, within its budget (P5).
 * Returns DELIVER_PUSHED, DELIVER_SKIPPED (over budget with nothing queued:
 * counted as lost for it), or DELIVER_BROKEN (it has been dropped). */
static int deliver(zl__mw_publisher *pub, uint32_t j, uint32_t entry)
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
            mark_broken(pub, j, "moved its deliver ring's head out of range");
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
        if (take_outstanding(pub, j, oldest))
            release_ref(pub, oldest);
        count_lost(pub, c);
    }
    zl__deliver_push(&c->deliver, &c->deliver_tail, c->mirror, entry);
    segment *seg = &pub->segments[zl__entry_slot(entry)];
    bit_set(outstanding_of(seg, j), zl__entry_chunk(entry));
    c->held++;
    seg->refs[zl__entry_chunk(entry)]++;
    return DELIVER_PUSHED;
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
    c->mirror = allocate(pub->allocator, sizeof(uint32_t) * (c->deliver.mask + 1));
    if (c->deliver_tail != head || ret_tail != c->return_head || c->mirror == NULL) {
        /* Not reset: refuse to deliver into it (and free it for a retry). */
        zl__store_release(&c->shm->publisher_id, 0);
        if (c->mirror == NULL) {
            disconnect(pub, j);
            return;
        }
        c->connected = true;
        mark_broken(pub, j, "offered a connection whose rings were not reset");
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
    if (depth + loans + 1 > budget)
        depth = budget > loans + 1 ? budget - loans - 1 : 1;
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
            if (deliver(pub, j, pub->history[at]) == DELIVER_BROKEN)
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

/* The slow path: peers that came or went. Called from loan and publish; it
 * costs one atomic load and a coarse clock read when nothing changed. */
static void drain_returns(zl__mw_publisher *pub);

static void update(zl__mw_publisher *pub, bool force_liveness)
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
    int64_t now = zl__coarse_ns();
    int64_t previous_call = pub->last_call_ns;
    pub->last_call_ns = now;
    if (force_liveness || now >= pub->next_liveness_ns) {
        pub->next_liveness_ns = now + LIVENESS_PERIOD_NS;
        drain_returns(pub); /* returned chunks make a segment idle */
        shrink(pub, now, previous_call);
        uint32_t peers = pub->connected_mask | pub->pending_mask;
        for (uint32_t j = 0; j < ZL__SUB_SLOTS; j++) {
            if (!(peers & (1u << j)))
                continue;
            connection *c = &pub->connections[j];
            /* Testing the peer's lock is an fcntl: left to the liveness
             * monitor when it runs (discovery.c), except when the pool ran
             * dry (force_liveness), where waiting 20 ms would fail a loan. */
            bool test_lock = force_liveness || !pub->monitored;
            if (test_lock &&
                zl__registry_reap(&pub->registry, ZL__KIND_SUBSCRIPTION, j, c->subscription_id)) {
                disconnect(pub, j);
                continue;
            }
            /* A live subscription that let go of our connection (it read a
             * value it could not use and reset the rings) will return
             * nothing more through it: take back what we had queued there,
             * or those chunks are lost to the pool, and connect anew.
             * Relaxed: we read nothing the subscription wrote before; the
             * claim in connect_to orders its own accesses. */
            if ((pub->connected_mask & (1u << j)) &&
                zl__load_relaxed(&c->shm->publisher_id) != pub->id) {
                disconnect(pub, j);
                zl__endpoint_record record;
                if (zl__registry_lookup(&pub->registry, ZL__KIND_SUBSCRIPTION, j, &record) ==
                    ZL__SLOT_PRESENT)
                    connect_to(pub, j, &record);
                else
                    pub->seen_generation = generation - 1; /* scan again next time */
            }
        }
    }
}

/* Takes back what subscriptions returned (P2, P4). */
static void drain_returns(zl__mw_publisher *pub)
{
    uint32_t mask = pub->connected_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        connection *c = &pub->connections[j];
        uint64_t tail;
        int64_t n = zl__return_available(&c->ret, c->return_head, &tail);
        if (n < 0) {
            mark_broken(pub, j, "moved its return ring's tail out of range");
            continue;
        }
        if (n == 0)
            continue;
        for (uint64_t p = c->return_head; p != tail; p++) {
            uint32_t entry = zl__return_entry(&c->ret, p);
            if (take_outstanding(pub, j, entry))
                release_ref(pub, entry);
            else
                peer_error(pub, c->subscription_id, "returned a chunk it did not hold");
        }
        c->return_head = tail;
        zl__return_consumed(&c->ret, tail);
    }
}

/* A free chunk of class k from its oldest segment that has one, or NONE. */
static uint32_t pick_free(zl__mw_publisher *pub, uint32_t k)
{
    for (uint32_t slot = pub->class_first[k]; slot != NONE; slot = pub->segments[slot].next)
        if (pub->segments[slot].free_top != 0)
            return slot;
    return NONE;
}

/* The pool has no free chunk of class k: look for chunks dead peers held,
 * then grow, within the chunk limit and the memory bound. */
static int make_room(zl__mw_publisher *pub, uint32_t k)
{
    update(pub, true);
    drain_returns(pub);
    if (pick_free(pub, k) != NONE)
        return 0;
    if (pub->chunks_in_use >= pub->chunk_limit)
        return zl__fail(ZL_EEXHAUSTED,
                        "all %u chunks the pool of topic %s may use are lent, queued or held",
                        pub->chunk_limit, pub->registry.topic);
    int rc = grow(pub, k, false);
    if (rc == ZL_ENOSHM && shrink(pub, 0, 0)) /* idle segments of other sizes make room */
        rc = grow(pub, k, false);
    return rc;
}

/* Whether lossless connection j can take one more entry (P6): 1 yes, 0
 * not now, ZL_ECORRUPT when its positions break R1 (ring.h). Returns not
 * drained yet do not count: they make room only once drain_returns took
 * them (see returns_waiting). */
static int room_state(const zl__mw_publisher *pub, connection *c)
{
    if (c->held >= pub->chunks_per_subscription)
        return 0; /* its whole budget is out: room comes back through returns */
    if (c->deliver_tail - c->deliver_head_seen < c->depth)
        return 1; /* head only grows: the cached one bounds the fill */
    /* Acquire pairs with the subscription's CAS that moved head (ring.h R4),
     * as in zl__deliver_reclaim_oldest: the slot below it has been read. */
    uint64_t head = zl__load_acquire(&c->deliver.index->head);
    uint64_t fill = c->deliver_tail - head;
    if (fill > zl__ring_capacity(&c->deliver))
        return ZL_ECORRUPT;
    c->deliver_head_seen = head;
    return fill < c->depth;
}

/* The first lossless connection without room, or NO_CONNECTION; drops the
 * broken ones on the way. */
static uint32_t blocking_connection(zl__mw_publisher *pub)
{
    uint32_t mask = pub->lossless_mask & pub->connected_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        int room = room_state(pub, &pub->connections[j]);
        if (room < 0)
            mark_broken(pub, j, "moved its deliver ring's head out of range");
        else if (room == 0)
            return j;
    }
    return NO_CONNECTION;
}

/* Whether connection c has returns that drain_returns has not taken yet
 * (or a broken return ring): then do not sleep, drain. */
static bool returns_waiting(const connection *c)
{
    uint64_t tail;
    return zl__return_available(&c->ret, c->return_head, &tail) != 0;
}

/* One sleep of wait_for_room on connection j: until its subscription makes
 * room, the registry's generation leaves `generation`, a slice passes or
 * the deadline. */
static void sleep_for_room(zl__mw_publisher *pub, uint32_t j, uint32_t generation,
                           int64_t deadline)
{
    connection *c = &pub->connections[j];
    zl__atomic_u32 *sleeping = &c->shm->publisher_sleeping;
    zl__futex_waiter words[2];
    /* The words are read before the flag goes up: a waker takes the flag
     * down (zl__notify_room) and bumps the word after, so any bump that
     * answers our flag makes the futex call return at once, even when the
     * flag it took down leaves later takes silent. Acquire pairs with the
     * subscription's release increment of publisher_wake. */
    zl__futex_waiter_set(&words[0], &c->shm->publisher_wake,
                         zl__load_acquire(&c->shm->publisher_wake), 1);
    /* The monitor bumps the generation when a peer dies (liveness.c). */
    zl__futex_waiter_set(&words[1], &pub->registry.shm->generation,
                         zl__registry_generation(&pub->registry), 1);
    /* seq_cst store and fence: our flag is ordered before the room check
     * below, as the subscription's head CAS or return tail store is before
     * its load of the flag (wake_publisher in subscription.c): at least one
     * of us sees the other (notify.h, roles swapped). */
    atomic_store_explicit(sleeping, 1, memory_order_seq_cst);
    zl__fence_seq_cst();
    int64_t now = zl__monotonic_ns();
    if (room_state(pub, c) == 0 && !returns_waiting(c) && words[1].val == generation &&
        now < deadline) {
        /* With the liveness monitor, a death bumps the generation (one of
         * our words): no slice, so a lost wake-up would show as a timeout. */
        int64_t until = !pub->monitored && deadline - now > WAIT_SLICE_NS ? now + WAIT_SLICE_NS
                                                                         : deadline;
        struct timespec at = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
        zl__futex_waitv(words, 2, &at); /* woken, timed out or interrupted: look again */
    }
    /* Relaxed: a waker may have taken it down already; a flag left up only
     * costs the subscription one needless wake-up. */
    zl__store_relaxed(sleeping, 0);
}

/* P6: returns 0 when every lossless connection has room for one more
 * entry, ZL_ETIMEOUT when one had none for max_blocking_time. */
static int wait_for_room(zl__mw_publisher *pub)
{
    if ((pub->lossless_mask & pub->connected_mask) == 0)
        return 0;
    uint32_t j = blocking_connection(pub);
    if (j == NO_CONNECTION)
        return 0;
    pub->blocked++;
    int64_t deadline = zl__monotonic_ns() + pub->max_blocking_ns;
    uint32_t counted = 0;
    for (;;) {
        /* Read before update(): a change after this read may have escaped
         * update(), and it keeps sleep_for_room from sleeping (a death the
         * monitor reported meanwhile would otherwise be slept through). */
        uint32_t generation = zl__registry_generation(&pub->registry);
        update(pub, false);
        drain_returns(pub);
        j = blocking_connection(pub);
        if (j == NO_CONNECTION)
            return 0;
        connection *c = &pub->connections[j];
        if (!(counted & (1u << j))) {
            counted |= 1u << j;
            /* Relaxed: a statistic the subscription reads with relaxed. */
            zl__store_relaxed(&c->shm->held_back, ++c->held_back);
        }
        if (pub->max_blocking_ns == 0 || zl__monotonic_ns() >= deadline) {
            pub->timeouts++;
            return zl__fail(ZL_ETIMEOUT,
                            "lossless subscription %016llx of topic %s had no room for %lld ns "
                            "(%u queued of %u, %u of %u chunks out): nothing was published",
                            (unsigned long long)c->subscription_id, pub->registry.topic,
                            (long long)pub->max_blocking_ns,
                            (unsigned)(c->deliver_tail - c->deliver_head_seen), c->depth,
                            c->held, pub->chunks_per_subscription);
        }
        sleep_for_room(pub, j, generation, deadline);
    }
}

int zl__shm_publisher_loan(zl__mw_publisher *pub, size_t size, void **payload,
                           zl__mw_loan_handle *handle)
{
    update(pub, false);
    drain_returns(pub);
    if (size > pub->payload_max)
        return zl__fail(ZL_EINVAL, "a loan of %zu bytes exceeds the type's %llu", size,
                        (unsigned long long)pub->payload_max);
    if (pub->loans_out >= pub->max_loans)
        return zl__fail(ZL_ETOOMANYLOANS, "the publisher's %u loans are all held",
                        pub->max_loans);
    uint32_t k = class_of(size);
    uint32_t slot = pick_free(pub, k);
    if (slot == NONE) {
        int rc = make_room(pub, k);
        if (rc != 0)
            return rc;
        slot = pick_free(pub, k);
    }
    segment *seg = &pub->segments[slot];
    uint32_t chunk = seg->free_stack[--seg->free_top];
    seg->refs[chunk] = 1;
    seg->lent[chunk] = 1;
    seg->lent_since_tick = true;
    pub->chunks_in_use++;
    pub->loans_out++;
    /* Relaxed: statistics for tools, which read them with relaxed loads. */
    zl__store_relaxed(&pub->counters->chunks_free, pool_free(pub));
    if (pub->chunks_in_use > pub->used_max) {
        pub->used_max = pub->chunks_in_use;
        zl__store_relaxed(&pub->counters->chunks_used_max, pub->used_max);
    }
    zl__store_relaxed(&pub->counters->loans, ++pub->loans_total);
    *payload = chunk_base(seg, chunk) + seg->geometry.payload_offset;
    *handle = zl__entry_pack(slot, chunk);
    return 0;
}

/* The segment of a loan the user holds, or NULL (with a detail). */
static segment *lent_segment(zl__mw_publisher *pub, zl__mw_loan_handle handle)
{
    segment *seg = segment_of(pub, handle);
    if (seg == NULL || !seg->lent[zl__entry_chunk(handle)]) {
        zl__fail(ZL_ENOTLOAN, "loan %08x is not held from this publisher", (unsigned)handle);
        return NULL;
    }
    return seg;
}

int zl__shm_publisher_return_loan(zl__mw_publisher *pub, zl__mw_loan_handle handle)
{
    segment *seg = lent_segment(pub, handle);
    if (seg == NULL)
        return ZL_ENOTLOAN;
    seg->lent[zl__entry_chunk(handle)] = 0;
    pub->loans_out--;
    release_ref(pub, handle);
    zl__store_relaxed(&pub->counters->returned, ++pub->returned_total);
    return 0;
}

/* Appends entry to the history, letting the oldest go when it is full. */
static void keep_history(zl__mw_publisher *pub, uint32_t entry)
{
    if (pub->history_len == pub->history_capacity)
        release_ref(pub, pub->history[pub->history_next]);
    else
        pub->history_len++;
    pub->history[pub->history_next] = entry;
    pub->history_next = (pub->history_next + 1) % pub->history_capacity;
    pub->segments[zl__entry_slot(entry)].refs[zl__entry_chunk(entry)]++;
}

static void fan_out(zl__mw_publisher *pub, uint32_t handle, bool history, size_t size,
                    int64_t timestamp_ns);

int zl__shm_publisher_publish_loan(zl__mw_publisher *pub, zl__mw_loan_handle handle, size_t size)
{
    segment *seg = lent_segment(pub, handle);
    if (seg == NULL)
        return ZL_ENOTLOAN;
    if (size > seg->geometry.payload_capacity)
        return zl__fail(ZL_EINVAL, "payload of %zu bytes exceeds the chunk's %llu", size,
                        (unsigned long long)seg->geometry.payload_capacity);
    uint32_t chunk = zl__entry_chunk(handle);
    update(pub, false);
    drain_returns(pub);
    int rc = wait_for_room(pub);
    if (rc != 0)
        return rc; /* nothing delivered; the loan is still the caller's */
    zl__chunk_header *header = (zl__chunk_header *)(void *)chunk_base(seg, chunk);
    header->publisher_id = pub->id;
    header->sequence = ++pub->sequence;
    header->timestamp_ns = zl__realtime_ns();
    header->payload_size = size;
    header->chunk_index = chunk;
    header->segment_slot = zl__entry_slot(handle);
    header->segment_serial = seg->serial;
    seg->lent[chunk] = 0;
    pub->loans_out--;
    fan_out(pub, handle, pub->history_capacity != 0, size, header->timestamp_ns);
    return 0;
}

/* Delivers a chunk whose header is written and which holds one reference
 * (the user's loan, or the user memory's publication) to every connection,
 * wakes sleepers, keeps it as history when asked, then lets that reference
 * go. */
static void fan_out(zl__mw_publisher *pub, uint32_t handle, bool history, size_t size,
                    int64_t timestamp_ns)
{
    uint32_t mask = pub->connected_mask;
    uint32_t delivered = 0;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        if (deliver(pub, j, handle) == DELIVER_PUSHED)
            delivered |= 1u << j;
    }
    if (delivered != 0) {
        /* Orders our tail stores before the sleepers loads: see notify.h. */
        zl__fence_seq_cst();
        while (delivered != 0) {
            uint32_t j = (uint32_t)__builtin_ctz(delivered);
            delivered &= delivered - 1;
            zl__queue_shm *q = pub->connections[j].queue;
            zl__notify_after_deliver(&q->wake, &q->sleepers);
        }
    }
    if (history)
        keep_history(pub, handle);
    release_ref(pub, handle); /* the user's loan is over */
    pub->published++;
    pub->bytes += size;
    /* Relaxed: statistics for tools (see above). */
    zl__endpoint_counters *counters = pub->counters;
    zl__store_relaxed(&counters->messages, pub->published);
    zl__store_relaxed(&counters->bytes, pub->bytes);
    zl__store_relaxed(&counters->last_ns, (uint64_t)timestamp_ns);
}

/* ---- user memory (user_segment.h, docs/user_memory.md) ----------------- */

int zl__shm_publisher_register_memory(zl__mw_publisher *pub, int fd, uint64_t offset,
                                      uint64_t length, uint32_t buffers, uint32_t *memory)
{
    uint32_t slot = free_slot(pub);
    if (slot == ZL__SEGMENTS_MAX)
        return zl__fail(ZL_ENOSHM, "the pool of topic %s has all its %u segments in use",
                        pub->registry.topic, ZL__SEGMENTS_MAX);
    zl__user_file file;
    int rc = zl__user_file_check(fd, offset, length, &file);
    if (rc != 0)
        return rc;
    uint64_t *published = allocate(pub->allocator, sizeof(uint64_t) * buffers);
    if (published == NULL) {
        close((int)file.fd);
        return zl__fail(ZL_ENOMEM, "allocating the bookkeeping of user memory failed");
    }
    /* Chunk headers only: the payloads are in the user's file. */
    zl__segment_geometry g;
    uint64_t total;
    zl__segment_layout(pub->payload_offset, 0, pub->alignment, buffers, &g, &total);
    rc = segment_add(pub, slot, &g, total, &file);
    if (rc != 0) {
        close((int)file.fd);
        deallocate(pub->allocator, published, sizeof(uint64_t) * buffers);
        return rc;
    }
    pub->segments[slot].published = published;
    pub->segments[slot].size_class = NONE;
    table_changed(pub);
    *memory = slot;
    return 0;
}

/* The user segment in slot memory, or NULL. */
static segment *user_segment(zl__mw_publisher *pub, uint32_t memory)
{
    if (memory >= ZL__SEGMENTS_MAX || pub->segments[memory].serial == 0 ||
        !pub->segments[memory].user)
        return NULL;
    return &pub->segments[memory];
}

int zl__shm_publisher_unregister_memory(zl__mw_publisher *pub, uint32_t memory)
{
    segment *seg = user_segment(pub, memory);
    if (seg == NULL)
        return zl__fail(ZL_EINVAL, "no user memory %u is registered", (unsigned)memory);
    update(pub, false);
    drain_returns(pub);
    if (!segment_idle(seg))
        return zl__fail(ZL_EBUSY, "messages published from the memory are still in flight");
    retire(pub, memory);
    return 0;
}

int zl__shm_publisher_publish_memory(zl__mw_publisher *pub, uint32_t memory, uint64_t offset,
                                     size_t size, zl__mw_ticket *ticket)
{
    segment *seg = user_segment(pub, memory);
    if (seg == NULL)
        return zl__fail(ZL_EINVAL, "no user memory %u is registered", (unsigned)memory);
    if (size > pub->payload_max || offset > seg->file.length || size > seg->file.length - offset)
        return zl__fail(ZL_EINVAL, "%zu bytes at %llu do not fit the memory or the type", size,
                        (unsigned long long)offset);
    update(pub, false);
    drain_returns(pub);
    if (seg->free_top == 0)
        return zl__fail(ZL_EBUSY, "all %u messages of the memory are in flight",
                        seg->geometry.chunk_count);
    int rc = wait_for_room(pub);
    if (rc != 0)
        return rc; /* nothing delivered, nothing in flight */
    uint32_t chunk = seg->free_stack[--seg->free_top];
    uint32_t handle = zl__entry_pack(memory, chunk);
    seg->refs[chunk] = 1; /* the publication's own, let go by fan_out */
    zl__chunk_header *header = (zl__chunk_header *)(void *)chunk_base(seg, chunk);
    header->publisher_id = pub->id;
    header->sequence = ++pub->sequence;
    header->timestamp_ns = zl__realtime_ns();
    header->payload_size = size;
    header->user_offset = offset;
    seg->published[chunk] = pub->sequence;
    ticket->handle = handle;
    ticket->sequence = pub->sequence;
    /* No history: a kept user message would stay in flight until pushed
     * out, and the user waits for it to complete. */
    fan_out(pub, handle, false, size, header->timestamp_ns);
    return 0;
}

void zl__shm_publisher_refresh(zl__mw_publisher *pub)
{
    update(pub, false);
    drain_returns(pub);
}

bool zl__shm_publisher_memory_in_flight(zl__mw_publisher *pub, zl__mw_ticket ticket)
{
    segment *seg = segment_of(pub, ticket.handle);
    if (seg == NULL || !seg->user)
        return false;
    uint32_t chunk = zl__entry_chunk(ticket.handle);
    return seg->refs[chunk] != 0 && seg->published[chunk] == ticket.sequence;
}

/* Whether connection j holds (outstanding bit, P2) a chunk of seg: queued,
 * taken or on its way back. */
static bool connection_holds(segment *seg, uint32_t j)
{
    const uint64_t *bits = outstanding_of(seg, j);
    for (uint32_t w = 0; w < seg->bitmap_words; w++)
        if (bits[w] != 0)
            return true;
    return false;
}

/* M1 (see the top of the file): the words of the completion pair beside
 * our registry slot, and the generation (a holder that leaves or dies). */
void zl__shm_publisher_memory_waitable(zl__mw_publisher *pub, uint32_t memory,
                                       zl__mw_waitable *waitable)
{
    (void)memory;
    update(pub, false);
    drain_returns(pub);
    waitable->count = 0;
    waitable->words[waitable->count++] = &pub->counters->completion_wake;
    waitable->words[waitable->count++] = &pub->registry.shm->generation;
    /* Only our thread raises the flag (wait sets, set_sleeping). */
    waitable->sleepers = &pub->counters->completion_sleeping;
    waitable->sleepers_is_flag = true;
    /* Without the liveness monitor nobody bumps the generation when a
     * holder dies: update() finds it when asked, so ask every slice. */
    waitable->slice_ns = pub->monitored ? 0 : WAIT_SLICE_NS;
}

/* M1: after the waiter's flag store and fence, a return already pushed by
 * a holder (whose fence then missed the flag) shows here. */
bool zl__shm_publisher_memory_ready(zl__mw_publisher *pub, uint32_t memory)
{
    /* A peer came, left or died: say "ready" and let the refresh find out. */
    if (zl__registry_generation(&pub->registry) != pub->seen_generation)
        return true;
    segment *seg = user_segment(pub, memory);
    if (seg == NULL)
        return false;
    uint32_t mask = pub->connected_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        if (connection_holds(seg, j) && returns_waiting(&pub->connections[j]))
            return true;
    }
    return false;
}

int zl__shm_publisher_update_connections(zl__mw_publisher *pub)
{
    update(pub, true);
    drain_returns(pub);
    return 0;
}

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

/* Removes the names of the pool: its control object and its segments. */
static void unlink_pool(zl__mw_publisher *pub)
{
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
        if (pub->segments[slot].serial == 0)
            continue;
        char name[ZL__SHM_NAME_MAX + 1];
        zl__shm_name_segment(name, sizeof name, pub->pool_name, pub->segments[slot].serial);
        zl__segment_unlink(name);
    }
    zl__segment_unlink(pub->pool_name);
}

/* Unmaps the pool and frees the private state. */
void zl__shm_publisher_waitable(zl__mw_publisher *pub, zl__mw_waitable *waitable)
{
    update(pub, false);
    drain_returns(pub);
    uint32_t j = blocking_connection(pub);
    waitable->count = 0;
    waitable->sleepers = NULL;
    waitable->sleepers_is_flag = false;
    if (j != NO_CONNECTION) {
        waitable->words[waitable->count++] = &pub->connections[j].shm->publisher_wake;
        waitable->sleepers = &pub->connections[j].shm->publisher_sleeping;
        waitable->sleepers_is_flag = true;
    }
    waitable->words[waitable->count++] = &pub->registry.shm->generation;
    waitable->slice_ns = pub->monitored ? 0 : WAIT_SLICE_NS; /* as above (P6) */
}

bool zl__shm_publisher_ready(zl__mw_publisher *pub)
{
    /* A peer came or went: say "ready" and let the publish find out. */
    if (zl__registry_generation(&pub->registry) != pub->seen_generation)
        return true;
    uint32_t mask = pub->lossless_mask & pub->connected_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        connection *c = &pub->connections[j];
        if (room_state(pub, c) == 0 && !returns_waiting(c))
            return false;
    }
    return true;
}

static void free_private(zl__mw_publisher *pub)
{
    const zl_allocator *a = pub->allocator;
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
        segment *seg = &pub->segments[slot];
        if (seg->serial == 0)
            continue;
        zl__segment_unmap(&seg->map);
        deallocate(a, seg->bookkeeping, seg->bookkeeping_size);
        if (seg->user) {
            close((int)seg->file.fd);
            deallocate(a, seg->published, sizeof(uint64_t) * seg->geometry.chunk_count);
        }
    }
    zl__segment_unmap(&pub->pool_map);
    deallocate(a, pub->history, sizeof(uint32_t) * pub->history_capacity);
    deallocate(a, pub, sizeof *pub);
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
                  zl__registry_linger(&pub->registry, pub->id, (uint32_t)__builtin_popcount(waiting));
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
            deallocate(pub->allocator, c->mirror, sizeof(uint32_t) * (c->deliver.mask + 1));
        c->connected = false;
        zl__segment_unmap(&c->map);
    }
    /* Segments first, then the record: the sweep keeps a segment while a
     * slot or a lingering entry names its publisher (sweep.c W2). */
    if (!linger)
        unlink_pool(pub);
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
 * registration: registry.c G6). */
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
    zl__mw_publisher *pub = allocate(a, sizeof *pub);
    if (pub == NULL)
        return zl__fail(ZL_ENOMEM, "allocating a publisher failed");
    pub->allocator = a;
    pub->logger = e->logger;
    pub->registry.fd = -1;
    pub->chunk_limit = (uint32_t)limit;
    pub->shm_bytes_max = bound;
    pub->shm_bytes = control; /* the control object, made below */
    pub->shm_bytes_high = control;
    pub->max_loans = e->max_loans;
    pub->chunks_per_subscription = config->chunks_per_subscription;
    pub->alignment = zl__pool_alignment(e->payload_alignment);
    pub->payload_offset = zl__align_up(sizeof(zl__chunk_header), pub->alignment);
    pub->payload_max = e->payload_size;
    for (uint32_t k = 0; k < CLASSES; k++)
        pub->class_first[k] = NONE;
    pub->history_capacity = config->history;
    pub->max_blocking_ns = config->max_blocking_time_ns;
    pub->history = config->history ? allocate(a, sizeof(uint32_t) * config->history) : NULL;
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
        rc = grow(pub, class_of(config->initial_payload), true);
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
        unlink_pool(pub);
        free_private(pub);
        return rc;
    }
    pub->registered = true;
    pub->counters = zl__registry_counters(&pub->registry, ZL__KIND_PUBLISHER, pub->slot);
    publish_free_counters(pub);
    pub->monitored = zl__liveness_monitor_running();
    pub->seen_generation = zl__registry_generation(&pub->registry) - 1; /* force a first scan */
    update(pub, false);
    *out = pub;
    return 0;
}
