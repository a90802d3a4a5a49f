/* The two rings of a connection: deliver (publisher -> subscription, with
 * keep-last reclamation) and return (subscription -> publisher).
 *
 * Both are rings of 32-bit chunk indices over free-running 64-bit positions
 * head and tail (entries at position & mask; fill = tail - head).
 *
 * Invariants
 *   R1. 0 <= tail - head <= capacity, for honest peers. Each side checks it
 *       on every load of the other side's position and treats a violation as
 *       a broken connection (ZL_ECORRUPT), never as an index.
 *   R2. Only the producer writes tail and entries; it writes the entries at
 *       positions tail .. tail + n - 1 (n = 1 for a publish, up to depth for
 *       a part of a batch), then stores tail + n with release. The consumer
 *       loads tail with acquire before it reads any entry below it, so it
 *       sees the entries and everything the producer wrote before (the
 *       chunks' payloads and headers).
 *   R3. Return ring: only the consumer (publisher) writes head; it stores it
 *       with release after it has read the entries, and the producer loads it
 *       with acquire before overwriting them.
 *   R4. Deliver ring: head is advanced by compare-and-swap, by the consumer
 *       (taking) and by the producer (reclaiming the oldest entry when the
 *       ring holds `depth` entries: keep-last). Whoever's CAS from h to h+1
 *       succeeds owns the entry at h: exactly one side does. The consumer
 *       reads the entry before its CAS; if the producer reclaimed position h
 *       and reused the slot meanwhile, head is no longer h and the CAS fails,
 *       so a stale read is never acted upon. The producer never needs to
 *       read a shared entry: it keeps a private mirror of what it wrote, so a
 *       hostile consumer cannot make it reclaim a chunk it did not deliver.
 *   R5. The producer writes position p only when p - head < capacity, so the
 *       entry at head is never overwritten before head moves past it (R4).
 *
 * Positions are 64-bit so a CAS cannot succeed on a recycled value (no ABA).
 */
#ifndef ZL_SHM_RING_H
#define ZL_SHM_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "zloan/error.h"

#include "../atomic.h"
#include "layout.h"

typedef struct zl__ring {
    zl__ring_index *index;
    zl__atomic_u32 *entries;
    uint32_t mask; /* capacity - 1 */
} zl__ring;

static inline uint32_t zl__ring_capacity(const zl__ring *ring) { return ring->mask + 1; }

/* ---- deliver ring, producer side (publisher) ---- */

/* Keep-last: while the ring holds `depth` or more entries, the producer
 * takes the oldest back. Returns 1 with the reclaimed chunk index in *value
 * (read from the producer's private mirror; call again), 0 when one more
 * entry fits, ZL_ECORRUPT when the consumer's head breaks R1. `tail` is the
 * producer's private tail.
 *
 * *head_seen caches the last head the producer loaded. Head only grows, so
 * tail - *head_seen bounds the fill from above: while that bound is below
 * depth the producer does not touch the consumer's head line at all (which
 * the consumer then keeps exclusive in its cache). The cached value was
 * loaded with acquire, so the consumer's reads of every entry below it
 * happened before, which is all R5 needs for the slot about to be reused. */
static inline int zl__deliver_reclaim_oldest(const zl__ring *ring, uint64_t tail,
                                             const uint32_t *mirror, uint32_t depth,
                                             uint64_t *head_seen, uint32_t *value)
{
    if (tail - *head_seen < depth)
        return 0;
    /* Acquire pairs with the consumer's CAS (acq_rel) that moved head: the
     * consumer's read of that entry happened before, so the slot may be
     * reused (R4/R5). */
    uint64_t head = zl__load_acquire(&ring->index->head);
    /* An honest consumer moves head at most `capacity` times while we look
     * (each time it takes an entry below our tail): more failed attempts
     * than that mean a peer rewriting head, and we give up on it. */
    for (uint32_t attempts = 0;; attempts++) {
        uint64_t fill = tail - head;
        if (fill > zl__ring_capacity(ring) || attempts > zl__ring_capacity(ring))
            return ZL_ECORRUPT;
        *head_seen = head;
        if (fill < depth)
            return 0;
        uint32_t oldest = mirror[head & ring->mask];
        /* Success: we own the entry at head (R4). Failure: the consumer took
         * it first; head now holds the new value and we look again. */
        if (zl__cas_acq_rel(&ring->index->head, &head, head + 1)) {
            *head_seen = head + 1;
            *value = oldest;
            return 1;
        }
    }
}

/* Appends value at the producer's private *tail (room was made first). */
static inline void zl__deliver_push(const zl__ring *ring, uint64_t *tail, uint32_t *mirror,
                                    uint32_t value)
{
    uint64_t position = *tail;
    mirror[position & ring->mask] = value;
    zl__store_relaxed(&ring->entries[position & ring->mask], value);
    /* Publishes the entry and, before it, the chunk's payload and header;
     * pairs with the acquire load of tail in zl__deliver_peek (R2). */
    zl__store_release(&ring->index->tail, position + 1);
    *tail = position + 1;
}

/* A batch's push, in two steps (R2): writes value at position, at or above
 * the producer's private tail, room made for it first (R5)... */
static inline void zl__deliver_write(const zl__ring *ring, uint64_t position, uint32_t *mirror,
                                     uint32_t value)
{
    mirror[position & ring->mask] = value;
    /* Relaxed: zl__deliver_publish's release store publishes it. */
    zl__store_relaxed(&ring->entries[position & ring->mask], value);
}

/* ...then moves the shared tail past every entry written, with one store. */
static inline void zl__deliver_publish(const zl__ring *ring, uint64_t *tail, uint64_t new_tail)
{
    /* Publishes the entries below new_tail and, before them, the chunks'
     * payloads and headers; pairs with the acquire load of tail in
     * zl__deliver_peek (R2). */
    zl__store_release(&ring->index->tail, new_tail);
    *tail = new_tail;
}

/* ---- deliver ring, consumer side (subscription) ---- */

/* Looks at the oldest entry without taking it. Returns 1 with *position and
 * *value, 0 when empty, ZL_ECORRUPT when positions break R1.
 *
 * Tail is loaded before head. Head only grows and never passes the real
 * tail, so with an honest producer 0 <= tail - head <= capacity holds for
 * the pair we read; head can only appear ahead of our tail snapshot when the
 * producer pushed and reclaimed meanwhile, and then we read again. */
static inline int zl__deliver_peek(const zl__ring *ring, uint64_t *position, uint32_t *value)
{
    for (int tries = 0; tries < 64; tries++) {
        /* Acquire pairs with the release store of tail in zl__deliver_push
         * (R2): the entries below it, and their chunks, are visible. */
        uint64_t tail = zl__load_acquire(&ring->index->tail);
        /* Acquire: see the producer's reclaiming CAS, so we do not start
         * from a position it already took (a stale head only makes the
         * CAS in zl__deliver_take fail). */
        uint64_t head = zl__load_acquire(&ring->index->head);
        uint64_t fill = tail - head;
        if (fill == 0)
            return 0;
        if ((int64_t)fill < 0)
            continue; /* our tail is stale: look again */
        if (fill > zl__ring_capacity(ring))
            return ZL_ECORRUPT;
        *position = head;
        *value = zl__load_relaxed(&ring->entries[head & ring->mask]);
        return 1;
    }
    return 0; /* a producer racing this hard: report empty, the caller retries */
}

/* Takes the entry at position seen by zl__deliver_peek. Returns true when it
 * is ours; false when the producer reclaimed it meanwhile (peek again). */
static inline bool zl__deliver_take(const zl__ring *ring, uint64_t position)
{
    uint64_t expected = position;
    /* Release: our read of the entry (in peek) happens before the producer
     * may reuse the slot (its acquire load of head in
     * zl__deliver_reclaim_oldest, R4/R5). */
    return zl__cas_acq_rel(&ring->index->head, &expected, position + 1);
}

/* Takes the n entries from position, all seen by the consumer below the
 * tail it loaded: true when they are ours (R4: moving head from position
 * to position + n owns every entry between), false when the producer
 * reclaimed the oldest meanwhile. */
static inline bool zl__deliver_take_n(const zl__ring *ring, uint64_t position, uint32_t n)
{
    uint64_t expected = position;
    /* Release: our reads of the entries happen before the producer may
     * reuse their slots, as in zl__deliver_take. */
    return zl__cas_acq_rel(&ring->index->head, &expected, position + n);
}

/* Whether the ring holds anything (a hint: wait sets use it). */
static inline bool zl__deliver_nonempty(const zl__ring *ring)
{
    /* Acquire pairs with the producer's release store of tail (R2). */
    return zl__load_acquire(&ring->index->tail) != zl__load_relaxed(&ring->index->head);
}

/* ---- return ring, producer side (subscription) ---- */

/* Appends value at the producer's private *tail. Returns 0, ZL_EEXHAUSTED
 * when full (try again after the publisher drained), ZL_ECORRUPT on R1.
 * *head_seen caches the consumer's head as in zl__deliver_reclaim_oldest:
 * the shared head is loaded only when the cached one says "full". */
static inline int zl__return_push(const zl__ring *ring, uint64_t *tail, uint64_t *head_seen,
                                  uint32_t value)
{
    uint64_t position = *tail;
    if (position - *head_seen >= zl__ring_capacity(ring)) {
        /* Acquire pairs with the consumer's release store of head (R3): the
         * entries below it have been read and may be overwritten. */
        uint64_t head = zl__load_acquire(&ring->index->head);
        uint64_t fill = position - head;
        if (fill > zl__ring_capacity(ring))
            return ZL_ECORRUPT;
        *head_seen = head;
        if (fill == zl__ring_capacity(ring))
            return ZL_EEXHAUSTED;
    }
    zl__store_relaxed(&ring->entries[position & ring->mask], value);
    /* Publishes the entry; pairs with the acquire load in zl__return_available. */
    zl__store_release(&ring->index->tail, position + 1);
    *tail = position + 1;
    return 0;
}

/* ---- return ring, consumer side (publisher) ---- */

/* How many entries wait from the consumer's private head. Returns the count
 * (>= 0) and the tail seen, or ZL_ECORRUPT on R1. */
static inline int64_t zl__return_available(const zl__ring *ring, uint64_t head, uint64_t *tail_seen)
{
    /* Acquire pairs with the release store of tail in zl__return_push (R2). */
    uint64_t tail = zl__load_acquire(&ring->index->tail);
    uint64_t fill = tail - head;
    if (fill > zl__ring_capacity(ring))
        return ZL_ECORRUPT;
    *tail_seen = tail;
    return (int64_t)fill;
}

static inline uint32_t zl__return_entry(const zl__ring *ring, uint64_t position)
{
    return zl__load_relaxed(&ring->entries[position & ring->mask]);
}

/* Frees the slots below head for the producer. */
static inline void zl__return_consumed(const zl__ring *ring, uint64_t head)
{
    /* Release: our reads of the entries happen before the producer reuses
     * their slots (its acquire load of head in zl__return_push, R3). */
    zl__store_release(&ring->index->head, head);
}

#endif
