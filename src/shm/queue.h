/* Layout and validation of a subscription's queue object and of a
 * publisher's pool, shared by the two sides: the creator lays the object out
 * with these functions, the peer checks what it mapped with them (I3). */
#ifndef ZL_SHM_QUEUE_H
#define ZL_SHM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "ring.h"

#define ZL__RING_CAPACITY_MAX 65536u

static inline uint64_t zl__align_up(uint64_t value, uint64_t alignment)
{
    return (value + alignment - 1) & ~(alignment - 1);
}

static inline uint32_t zl__pow2_at_least(uint32_t value)
{
    uint32_t p = 1;
    while (p < value)
        p <<= 1;
    return p;
}

/* Entries a ring of this capacity keeps after the connection (0: beside
 * its tail, in the index block). */
static inline uint64_t zl__ring_outside_entries(uint32_t capacity)
{
    return capacity <= ZL__RING_INLINE_MAX ? 0 : capacity;
}

static inline uint64_t zl__queue_connection_stride(uint32_t deliver_capacity,
                                                   uint32_t return_capacity)
{
    return zl__align_up(sizeof(zl__connection_shm) +
                            sizeof(uint32_t) * (zl__ring_outside_entries(deliver_capacity) +
                                                zl__ring_outside_entries(return_capacity)),
                        ZL__CACHE_LINE);
}

static inline uint64_t zl__queue_connection_offset(void)
{
    return zl__align_up(sizeof(zl__queue_shm), ZL__CACHE_LINE);
}

/* A queue object's geometry, copied out of shared memory once and checked,
 * like a pool's (below): both sides compute connection and ring addresses
 * from a private copy, so a header rewritten later changes nothing (I3). */
typedef struct zl__queue_geometry {
    uint32_t deliver_capacity; /* power of two */
    uint32_t return_capacity;  /* power of two */
    uint64_t connection_offset;
    uint64_t connection_stride;
} zl__queue_geometry;

/* Reads a header field once. Relaxed atomic loads keep the compiler from
 * reading a field twice (a check on one read, a use of another). */
#define ZL__READ_ONCE(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* Copies a mapped queue object's geometry into *g; true when every offset
 * and capacity is consistent with the mapping's size and the expected id. */
static inline bool zl__queue_geometry_read(const zl__queue_shm *q, size_t mapped, uint64_t id,
                                           zl__queue_geometry *g)
{
    if (mapped < sizeof *q || ZL__READ_ONCE(q->magic) != ZL__QUEUE_MAGIC ||
        ZL__READ_ONCE(q->version) != ZL__LAYOUT_VERSION ||
        ZL__READ_ONCE(q->subscription_id) != id || ZL__READ_ONCE(q->total_size) != mapped ||
        ZL__READ_ONCE(q->connection_count) != ZL__PUB_SLOTS)
        return false;
    uint32_t dc = ZL__READ_ONCE(q->deliver_capacity), rc = ZL__READ_ONCE(q->return_capacity);
    if (dc == 0 || rc == 0 || (dc & (dc - 1)) || (rc & (rc - 1)) || dc > ZL__RING_CAPACITY_MAX ||
        rc > ZL__RING_CAPACITY_MAX)
        return false;
    g->deliver_capacity = dc;
    g->return_capacity = rc;
    g->connection_offset = ZL__READ_ONCE(q->connection_offset);
    g->connection_stride = ZL__READ_ONCE(q->connection_stride);
    if (g->connection_offset != zl__queue_connection_offset() ||
        g->connection_stride != zl__queue_connection_stride(dc, rc))
        return false;
    return g->connection_offset + (uint64_t)ZL__PUB_SLOTS * g->connection_stride <= mapped;
}

static inline zl__connection_shm *zl__queue_connection(zl__queue_shm *q,
                                                       const zl__queue_geometry *g, uint32_t slot)
{
    return (zl__connection_shm *)(void *)((char *)q + g->connection_offset +
                                          g->connection_stride * slot);
}

/* The two rings of a connection, as local views. */
static inline void zl__queue_rings(const zl__queue_geometry *g, zl__connection_shm *c,
                                   zl__ring *deliver, zl__ring *ret)
{
    zl__atomic_u32 *outside = (zl__atomic_u32 *)(c + 1);
    deliver->index = &c->deliver;
    deliver->entries = g->deliver_capacity <= ZL__RING_INLINE_MAX ? c->deliver.inline_entries
                                                                 : outside;
    deliver->mask = g->deliver_capacity - 1;
    ret->index = &c->ret;
    ret->entries = g->return_capacity <= ZL__RING_INLINE_MAX
                       ? c->ret.inline_entries
                       : outside + zl__ring_outside_entries(g->deliver_capacity);
    ret->mask = g->return_capacity - 1;
}

/* A pool control object's fields, copied out of shared memory once and
 * checked (read by subscriptions); true when it is the expected publisher's,
 * of our type, laid out as this version lays it out. */
typedef struct zl__pool_geometry {
    uint64_t payload_offset; /* payload, from the start of its chunk */
    uint64_t payload_max;    /* bytes a published payload may have */
    uint64_t process_token;
    uint64_t alignment; /* of chunks and payloads: zl__pool_alignment (ours) */
} zl__pool_geometry;

static inline uint64_t zl__pool_control_size(void)
{
    return zl__align_up(sizeof(zl__pool_shm), ZL__CACHE_LINE);
}

/* The alignment of a pool's chunks and payloads: the payload's own (a power
 * of two), and at least a cache line so that no two chunks share one. The
 * publisher lays its pool out with it; readers check the pool and its
 * segments against it. */
static inline uint64_t zl__pool_alignment(uint64_t payload_alignment)
{
    return payload_alignment < ZL__CACHE_LINE ? ZL__CACHE_LINE : payload_alignment;
}

/* Copies a mapped pool control object's fields into *g; true when it is the
 * expected publisher's, of the reader's type (ours), laid out as this
 * version lays it out, with a payload offset aligned for the reader's
 * payload_alignment (a power of two). g->alignment is the alignment its
 * segments must have (zl__segment_geometry_read). */
static inline bool zl__pool_geometry_read(const zl__pool_shm *p, size_t mapped, uint64_t id,
                                          const zl__endpoint_record *ours,
                                          uint64_t payload_alignment, zl__pool_geometry *g)
{
    uint64_t alignment = zl__pool_alignment(payload_alignment);
    if (mapped < sizeof *p || ZL__READ_ONCE(p->magic) != ZL__POOL_MAGIC ||
        ZL__READ_ONCE(p->version) != ZL__LAYOUT_VERSION ||
        ZL__READ_ONCE(p->publisher_id) != id || ZL__READ_ONCE(p->total_size) != mapped ||
        ZL__READ_ONCE(p->segments_max) != ZL__SEGMENTS_MAX)
        return false;
    if (ZL__READ_ONCE(p->type_size) != ours->type_size ||
        ZL__READ_ONCE(p->layout_hash) != ours->layout_hash)
        return false;
    g->payload_offset = ZL__READ_ONCE(p->payload_offset);
    g->payload_max = ZL__READ_ONCE(p->payload_max);
    g->process_token = ZL__READ_ONCE(p->process_token);
    g->alignment = alignment;
    return g->payload_offset >= sizeof(zl__chunk_header) &&
           g->payload_offset % alignment == 0 &&
           g->payload_offset <= zl__align_up(sizeof(zl__chunk_header), alignment) &&
           g->payload_max <= ours->payload_size;
}

/* A segment's geometry, copied out of shared memory once and checked. Both
 * sides compute chunk and payload addresses from their private copy only,
 * never from the header again: any process of the user can rewrite the
 * header later, and a copy checked once cannot change under us (I3). */
typedef struct zl__segment_geometry {
    uint32_t chunk_count;
    uint32_t serial;
    uint64_t chunk_offset;     /* first chunk, from the start of the object */
    uint64_t chunk_stride;     /* bytes from one chunk to the next */
    uint64_t payload_offset;   /* payload, from the start of its chunk */
    uint64_t payload_capacity; /* bytes of payload a chunk holds */
} zl__segment_geometry;

/* The layout of a segment of count chunks of payload capacity bytes. */
static inline void zl__segment_layout(uint64_t payload_offset, uint64_t capacity,
                                      uint64_t alignment, uint32_t count,
                                      zl__segment_geometry *g, uint64_t *total)
{
    g->chunk_count = count;
    g->chunk_offset = zl__align_up(sizeof(zl__segment_shm), alignment);
    g->chunk_stride = zl__align_up(payload_offset + capacity, alignment);
    g->payload_offset = payload_offset;
    g->payload_capacity = g->chunk_stride - payload_offset;
    *total = g->chunk_offset + (uint64_t)count * g->chunk_stride;
}

/* Copies a mapped segment's geometry into *g; true when it is the segment
 * (publisher id, slot, serial) the caller expects and every offset and size
 * is consistent with the mapping's size and the pool's payload offset, and
 * every payload aligned to alignment (the pool's, a power of two): the
 * mapping is page-aligned, so aligned offsets and stride give aligned
 * payloads. */
static inline bool zl__segment_geometry_read(const zl__segment_shm *s, size_t mapped, uint64_t id,
                                             uint32_t slot, uint32_t serial,
                                             uint64_t payload_offset, uint64_t alignment,
                                             zl__segment_geometry *g)
{
    if (mapped < sizeof *s || ZL__READ_ONCE(s->magic) != ZL__SEGMENT_MAGIC ||
        ZL__READ_ONCE(s->version) != ZL__LAYOUT_VERSION ||
        ZL__READ_ONCE(s->publisher_id) != id || ZL__READ_ONCE(s->slot) != slot ||
        ZL__READ_ONCE(s->serial) != serial || ZL__READ_ONCE(s->total_size) != mapped)
        return false;
    g->serial = serial;
    g->chunk_count = ZL__READ_ONCE(s->chunk_count);
    g->chunk_offset = ZL__READ_ONCE(s->chunk_offset);
    g->chunk_stride = ZL__READ_ONCE(s->chunk_stride);
    g->payload_offset = ZL__READ_ONCE(s->payload_offset);
    g->payload_capacity = ZL__READ_ONCE(s->payload_capacity);
    if (g->chunk_count == 0 || g->chunk_count > ZL__SEGMENT_CHUNKS_MAX ||
        g->payload_offset != payload_offset || g->payload_capacity > mapped ||
        g->chunk_stride < g->payload_offset + g->payload_capacity ||
        g->chunk_offset < sizeof *s || g->chunk_offset % alignment != 0 ||
        g->chunk_stride % alignment != 0 || g->payload_offset % alignment != 0)
        return false;
    /* Overflow-safe: chunk_count * stride must fit after chunk_offset. */
    if (g->chunk_offset > mapped || g->chunk_stride > (mapped - g->chunk_offset) / g->chunk_count)
        return false;
    return true;
}

static inline const zl__chunk_header *zl__segment_chunk(const void *segment,
                                                        const zl__segment_geometry *g,
                                                        uint32_t index)
{
    return (const zl__chunk_header *)(const void *)((const char *)segment + g->chunk_offset +
                                                    g->chunk_stride * index);
}

#endif
