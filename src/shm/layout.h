/* The shared-memory transport: what lives in shared memory.
 *
 * Three kinds of objects, all in /dev/shm, all owner-only (0600) unless the
 * context shares them with the group (0660):
 *
 *   zl.<uid>.<domain>.<topic>            the topic's registry: a slot per
 *                                        endpoint, a generation counter
 *   zl.<uid>.<domain>.<topic>:p<id>      a publisher's pool: a control
 *                                        object naming its segments
 *   zl.<uid>.<domain>.<topic>:p<id>.<n>  one segment of the pool: chunks of
 *                                        one size class
 *   zl.<uid>.<domain>.<topic>:s<id>      a subscription's queues: per
 *                                        publisher slot, a deliver ring and a
 *                                        return ring, and a wake-up word
 *
 * (<topic> is the qualified topic name with '/' written as '.'; topic names
 * cannot contain ':' or '.', so the three forms never collide.)
 *
 * Rules every structure here follows:
 *   - I2: offsets and indices, never pointers.
 *   - I3: every field another process writes is validated by the reader
 *     before use; structures carry their own sizes so a reader can check
 *     them against the size of the mapping.
 *   - A publisher's pool is written only by its publisher; subscriptions map
 *     it read-only. A subscription's queues are written by the publishers
 *     (deliver tail, return head, lost counter, wake word) and by the
 *     subscription (deliver head, return tail, and, for a lossless
 *     subscription, the publisher's wake word); each ring position has a
 *     single writer, except the deliver head, which the consumer advances
 *     and the producer advances too when it reclaims the oldest entry
 *     (both by compare-and-swap; see ring.h).
 */
#ifndef ZL_SHM_LAYOUT_H
#define ZL_SHM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "zloan/context.h"
#include "zloan/publisher.h"
#include "zloan/topic.h"
#include "zloan/type.h"

#include "../atomic.h"

#define ZL__LAYOUT_VERSION 7u
#define ZL__REGISTRY_MAGIC 0x5245474e414f4c5aull /* "ZLOANGER" little-endian */
#define ZL__POOL_MAGIC 0x4c4f4f504e414f5aull     /* "ZOANPOOL" */
#define ZL__QUEUE_MAGIC 0x5545555141414f5aull    /* "ZOAAQUEU" */

#define ZL__PUB_SLOTS ZL_TOPIC_PUBLISHERS_MAX
#define ZL__SUB_SLOTS ZL_TOPIC_SUBSCRIPTIONS_MAX

/* ---- the registry ---------------------------------------------------- */

enum { ZL__KIND_PUBLISHER = 1, ZL__KIND_SUBSCRIPTION = 2 };

enum {
    ZL__RECORD_WANTS_HISTORY = 1u,
    /* Subscriptions: ZL_LOSSLESS; a publisher waits for room rather than
     * reclaim this subscription's oldest entry (publisher/lossless.c P6). */
    ZL__RECORD_LOSSLESS = 2u
};

#define ZL__EXECUTABLE_MAX 32
#define ZL__DESCRIPTION_MAX ZL_TYPE_DESCRIPTION_MAX

/* What an endpoint says about itself. id == 0 means the slot is free. */
typedef struct zl__endpoint_record {
    uint64_t id;
    uint64_t process_token;
    uint32_t pid;        /* for tools only: never trusted for liveness */
    uint32_t kind;
    uint32_t depth;      /* subscriptions: keep-last depth */
    uint32_t max_loans;  /* transport loans: the user's max_loans + 1 for copies */
    uint32_t history;    /* publishers: messages kept */
    uint32_t flags;
    uint64_t payload_size;
    uint64_t type_size;
    uint64_t layout_hash;
    uint32_t plain;
    uint32_t alignment;     /* for tools: the type's alignment */
    uint64_t element_size;  /* for tools: a sized type's element size (0: fixed size) */
    uint64_t max_count;     /* for tools: a sized type's maximum count (0: none) */
    char type_name[ZL_TYPE_NAME_MAX];
    /* For tools only, like pid: never trusted for anything else. */
    char context_name[ZL_CONTEXT_NAME_MAX]; /* "" when none */
    char executable[ZL__EXECUTABLE_MAX];    /* the process's short name */
    /* Hash of the type's field description (0: none); see description. */
    uint64_t description_hash;
} zl__endpoint_record;

_Static_assert(sizeof(zl__endpoint_record) % 8 == 0, "records are copied as 64-bit words");

/* A slot is a record behind a sequence lock: seq is odd while the slot's
 * owner rewrites it. Readers copy the words with relaxed atomic loads and
 * retry when seq changed, so a reader never acts on a torn record (and a
 * record torn on purpose by a hostile peer is caught by validation). */
typedef struct zl__slot {
    zl__atomic_u32 seq;
    uint32_t reserved;
    uint64_t words[sizeof(zl__endpoint_record) / 8];
} __attribute__((aligned(ZL__CACHE_LINE))) zl__slot;

/* Counters of one endpoint, for tools (introspection): beside its slot,
 * not in it, so that they are written with plain relaxed stores on paths
 * that write anyway (no sequence lock, no system call). Each field has one
 * writer at a time: the slot's endpoint (`returned` of a subscription: the
 * holder of its return token). Reset by the endpoint that claims the slot,
 * before its record appears; `id` says whose they are. Nobody but tools
 * reads them, and tools treat them as hints (never as indices), except the
 * completion pair, a wake-up channel (docs/user_memory.md): a publisher's
 * thread that waits for messages of its user memory to complete raises
 * completion_sleeping (its only writer that raises it) and sleeps on
 * completion_wake; a subscription that returns a chunk of user memory
 * through connection i looks at publisher slot i's flag and, when raised,
 * takes it down and bumps and wakes the word (notify.h zl__notify_room).
 * A value written there only causes or misses a wake-up. */
typedef struct zl__endpoint_counters {
    zl__atomic_u64 id;
    zl__atomic_u64 messages;   /* publisher: published; subscription: taken */
    zl__atomic_u64 bytes;      /* payload bytes published / taken */
    zl__atomic_u64 last_ns;    /* publisher: source timestamp of the last message */
    zl__atomic_u64 loans;      /* publisher: loans lent, ever */
    zl__atomic_u64 returned;   /* loans returned unpublished (publisher), or
                                * returned after a take (subscription), ever;
                                * loans held = loans - messages - returned for
                                * a publisher, messages - returned for a
                                * subscription */
    zl__atomic_u64 lost;       /* subscription: messages it dropped itself */
    zl__atomic_u32 chunks_total;    /* publisher */
    zl__atomic_u32 chunks_free;     /* publisher: as its get_stats gives it, after its last call */
    zl__atomic_u32 chunks_used_max; /* publisher: the most chunks in use at once, ever */
    zl__atomic_u32 reserved;
    zl__atomic_u32 completion_wake;     /* publisher with user memory: see above */
    zl__atomic_u32 completion_sleeping;
} __attribute__((aligned(ZL__CACHE_LINE))) zl__endpoint_counters;

typedef struct zl__registry_shm {
    uint64_t magic; /* written last, with release, by the initialiser */
    uint32_t version;
    uint32_t size;
    char topic[ZL_TOPIC_NAME_MAX + 8];
    /* Incremented (release) after every change of a slot; endpoints compare
     * it with the value they last saw (acquire) to find changes with one
     * load. Also a futex word: wait sets sleep on it to hear of new peers. */
    zl__atomic_u32 generation __attribute__((aligned(ZL__CACHE_LINE)));
    /* Where the next registration of each kind starts looking for a free
     * slot (advisory, written under the REGISTER lock). Rotating keeps a
     * just-freed slot, whose connections peers may not have released yet,
     * out of use while other slots are free. */
    uint32_t next_slot[2];
    /* Pools of departed publishers that subscriptions still have to drain:
     * a publisher that leaves while some deliver rings still hold its
     * messages keeps its pool linked and records here how many
     * subscriptions must finish with it; the one that brings `remaining`
     * to 0 removes the pool. See zl__registry_linger. */
    struct {
        zl__atomic_u64 pool_id;
        zl__atomic_u32 remaining;
        uint32_t reserved;
    } lingering[ZL__PUB_SLOTS];
    zl__slot publishers[ZL__PUB_SLOTS] __attribute__((aligned(ZL__CACHE_LINE)));
    zl__slot subscriptions[ZL__SUB_SLOTS];
    zl__endpoint_counters publisher_counters[ZL__PUB_SLOTS];
    zl__endpoint_counters subscription_counters[ZL__SUB_SLOTS];
    /* The field description of the topic's type (text, see zloan/type.h),
     * written under the REGISTER lock by an endpoint whose type has one
     * when the topic has none yet, behind a sequence lock like a slot's so
     * that tools read it consistently. Endpoints compare descriptions by
     * the hash in their records; this text lets the type check name the
     * first field that differs, and lets tools decode messages. */
    struct {
        zl__atomic_u32 seq;
        uint32_t size; /* bytes of text, < ZL__DESCRIPTION_MAX */
        uint64_t hash;
        uint64_t words[ZL__DESCRIPTION_MAX / 8];
    } description __attribute__((aligned(ZL__CACHE_LINE)));
} zl__registry_shm;

/* Byte ranges of the registry file used as open-file-description locks
 * (fcntl F_OFD_SETLK). The kernel drops them when the holder closes the file
 * or dies, which is how zloan detects dead peers without a daemon or pids:
 *   USERS: every open registry holds a read lock; whoever gets the write
 *          lock is the last user and removes the topic's objects.
 *   REGISTER: held (write) while checking types and claiming a slot, so
 *          registrations on one topic are serialised.
 *   slot locks: a write lock held for the life of the endpoint in the slot. */
#define ZL__LOCK_USERS 0
#define ZL__LOCK_REGISTER 1
#define ZL__LOCK_PUB_SLOT(i) (8 + (i))
#define ZL__LOCK_SUB_SLOT(i) (8 + ZL__PUB_SLOTS + (i))

/* ---- a publisher's pool ---------------------------------------------- */

/* A pool is a list of segments, each a separate shared-memory object of
 * equal chunks of one size class (a payload capacity), plus one small
 * control object that names them:
 *
 *   <registry>:p<id>             the control object (zl__pool_shm): the
 *                                publisher's type and a segment table
 *   <registry>:p<id>.<serial>    a segment (zl__segment_shm, then chunks);
 *                                <serial> in 8 hex digits, never reused by
 *                                this publisher
 *
 * A chunk is addressed by (segment slot, chunk index); a ring entry packs
 * both into 32 bits (zl__entry_pack). The table maps a slot to the serial of
 * the segment in it (0: empty); the publisher fills a slot, then increments
 * segments_seq (release), and only then delivers chunks of the segment, so
 * a subscription that read an entry (acquire on the deliver tail) and sees
 * segments_seq unchanged knows its view of the slot is current. A slot is
 * emptied (the segment given back) only when none of its chunks is lent,
 * queued or held, and reused by a later segment under a new serial. */
#define ZL__SEGMENTS_MAX 64u
#define ZL__ENTRY_CHUNK_BITS 24u
#define ZL__SEGMENT_CHUNKS_MAX (1u << ZL__ENTRY_CHUNK_BITS)
#define ZL__SEGMENT_MAGIC 0x544e454d47455a5aull /* "ZZEGMENT" */

static inline uint32_t zl__entry_pack(uint32_t slot, uint32_t chunk)
{
    return (slot << ZL__ENTRY_CHUNK_BITS) | chunk;
}
static inline uint32_t zl__entry_slot(uint32_t entry) { return entry >> ZL__ENTRY_CHUNK_BITS; }
static inline uint32_t zl__entry_chunk(uint32_t entry)
{
    return entry & (ZL__SEGMENT_CHUNKS_MAX - 1);
}

typedef struct zl__pool_shm {
    uint64_t magic;
    uint32_t version;
    uint32_t segments_max;   /* == ZL__SEGMENTS_MAX */
    uint64_t publisher_id;
    uint64_t total_size;     /* bytes of the control object */
    uint64_t payload_offset; /* payload, from the start of its chunk, in every segment */
    uint64_t payload_max;    /* the largest payload the publisher may publish */
    /* The publisher's type and process, so that a subscription can check
     * and use a pool whose publisher has already left the registry. */
    uint64_t type_size;
    uint64_t layout_hash;
    uint64_t process_token;
    /* Incremented (release) after every change of the table; a subscription
     * compares it (acquire) with the value it last saw, once per take. */
    zl__atomic_u32 segments_seq __attribute__((aligned(ZL__CACHE_LINE)));
    zl__atomic_u32 serials[ZL__SEGMENTS_MAX] __attribute__((aligned(ZL__CACHE_LINE)));
} zl__pool_shm;

/* The head of a segment object, written once by the publisher before the
 * segment enters the table. */
typedef struct zl__segment_shm {
    uint64_t magic;
    uint32_t version;
    uint32_t slot;
    uint64_t publisher_id;
    uint32_t serial;
    uint32_t chunk_count;
    uint64_t total_size;       /* bytes of the whole object */
    uint64_t chunk_offset;     /* first chunk, from the start of the object */
    uint64_t chunk_stride;     /* bytes from one chunk to the next */
    uint64_t payload_offset;   /* payload, from the start of its chunk */
    uint64_t payload_capacity; /* bytes of payload a chunk holds */
    /* A user segment (docs/user_memory.md) holds only chunk headers (its
     * payload_capacity is 0); the payloads lie in memory the user
     * registered: user_length bytes at user_offset of the file the
     * publisher process holds open as descriptor user_fd, which a
     * subscription opens read-only through /proc/<user_pid>/fd/<user_fd>
     * and accepts only when its device and inode are user_dev and
     * user_ino (a reused pid names another file). user == 0: a pool
     * segment, the user_* fields are 0. */
    uint32_t user;
    uint32_t user_pid;
    uint32_t user_fd;
    uint32_t user_reserved;
    uint64_t user_dev;
    uint64_t user_ino;
    uint64_t user_offset;
    uint64_t user_length;
} zl__segment_shm;

/* The header of every chunk: one cache line before the payload. Written by
 * the publisher before it makes the chunk visible (deliver ring release). */
typedef struct zl__chunk_header {
    uint64_t publisher_id;
    uint64_t sequence;
    int64_t timestamp_ns;
    uint64_t payload_size;
    uint32_t chunk_index;
    uint32_t segment_slot;
    uint32_t segment_serial;
    uint32_t reserved0;
    /* In a user segment: where the payload starts in the registered memory
     * (checked against user_length with payload_size by the reader). */
    uint64_t user_offset;
    uint32_t reserved[2];
} zl__chunk_header;

_Static_assert(sizeof(zl__chunk_header) == 64, "a chunk header is one cache line");

/* ---- a subscription's queues ----------------------------------------- */

/* Ring positions are free-running 64-bit counters: entries live at
 * position & (capacity - 1), the fill level is tail - head, and they never
 * wrap in practice (no ABA). Head and tail sit on separate cache lines. */
/* Rings of at most ZL__RING_INLINE_MAX entries keep them in the tail's
 * cache line, so that the consumer's load of tail brings the entry along:
 * one cross-core cache-line transfer per message instead of two. */
#define ZL__RING_INLINE_MAX 8u

typedef struct zl__ring_index {
    zl__atomic_u64 head __attribute__((aligned(ZL__CACHE_LINE)));
    zl__atomic_u64 tail __attribute__((aligned(ZL__CACHE_LINE)));
    zl__atomic_u32 inline_entries[ZL__RING_INLINE_MAX];
} zl__ring_index;

/* One connection (publisher slot i -> this subscription). Followed in memory
 * by the entries (32-bit chunk indices) of its rings that are too large to
 * sit beside their tail: deliver's, then return's (queue.h zl__queue_rings). */
typedef struct zl__connection_shm {
    /* 0: free. A publisher claims the connection with a compare-and-swap
     * 0 -> its id; the subscription resets the rings and stores 0 when that
     * publisher is gone. */
    zl__atomic_u64 publisher_id __attribute__((aligned(ZL__CACHE_LINE)));
    /* Entries the publisher reclaimed from a full deliver ring (keep-last);
     * written by the publisher only. */
    zl__atomic_u64 lost;
    /* Set by a departing publisher that counted this connection in its
     * lingering entry (registry); the subscription then owes a release. */
    zl__atomic_u32 lingering;
    /* A lossless connection's wake-up, the other way round from the queue's
     * (notify.h): a publisher that waits for room sets publisher_sleeping
     * and sleeps on publisher_wake; the subscription, after it took an entry
     * or returned a chunk, takes the flag down, bumps publisher_wake and
     * wakes it, only when it sees the flag set (zl__notify_room). The
     * publisher clears a stale flag when it claims the connection. */
    zl__atomic_u32 publisher_sleeping;
    zl__atomic_u32 publisher_wake;
    /* Publishes that found this lossless connection full (waited or timed
     * out); written by the publisher only, a statistic. */
    zl__atomic_u64 held_back;
    zl__ring_index deliver; /* publisher -> subscription */
    zl__ring_index ret;     /* subscription -> publisher */
} zl__connection_shm;

typedef struct zl__queue_shm {
    uint64_t magic;
    uint32_t version;
    uint32_t connection_count; /* == ZL__PUB_SLOTS */
    uint64_t subscription_id;
    uint64_t total_size;
    uint32_t deliver_capacity; /* power of two */
    uint32_t return_capacity;  /* power of two */
    uint64_t connection_offset;
    uint64_t connection_stride;
    /* Incremented (release) by a publisher after it claimed a connection:
     * the subscription compares it to notice new publishers with one load. */
    zl__atomic_u32 attach_seq __attribute__((aligned(ZL__CACHE_LINE)));
    /* Wake-up: a waiter increments sleepers, then waits on wake; a publisher
     * that delivered checks sleepers and, only when non-zero, increments wake
     * and calls FUTEX_WAKE. See notify.h. */
    zl__atomic_u32 wake __attribute__((aligned(ZL__CACHE_LINE)));
    zl__atomic_u32 sleepers;
} zl__queue_shm;

#endif
