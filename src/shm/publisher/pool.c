/* The publisher's pool: size classes, segments (grown, entered in the
 * shared table, given back) and the free chunks of each (publisher.h).
 *
 * Invariants (I1 of docs/design.md, from the publisher's side)
 *   A chunk is named by its entry (segment slot, index: zl__entry_pack).
 *   P1. holders[c] is the set of who holds chunk c, a bit each
 *       (publisher.h): the user's loan (HOLD_LENT, from the loan to its
 *       publish or return; a publication holds it until its fan-out is
 *       done), each connection with c outstanding (its P2 bit), the
 *       history (HOLD_HISTORY). A chunk is on its segment's free stack iff
 *       holders[c] is 0, and only free chunks are lent: a chunk is never
 *       written while a subscription may read it. One word, so a delivery
 *       or a return is one bit operation and the last holder's frees it
 *       (let_go, take_back), with no count beside it to keep in step.
 *   P8. A segment is in the shared table (serials[slot] = its serial) from
 *       before any of its chunks is lent (the table change is published by
 *       a release increment of segments_seq, before the first deliver
 *       release of one of its chunks) until every chunk of it is free; only
 *       then is it removed from the table, unmapped and unlinked. So a
 *       subscription never meets an entry of a segment it cannot find.
 *   P9. Growth reserves a whole segment (fallocate) before any chunk of it
 *       is lent: running out of memory is ZL_ENOSHM from the loan that
 *       needed the segment, never a SIGBUS.
 */
#include <unistd.h>

#include "zloan/error.h"

#include "../../clock.h"
#include "../../error_detail.h"
#include "hot_path.h"

/* The payload bytes of class k's chunks, before the type's cap. */
static uint64_t class_bytes(uint32_t k)
{
    if (k <= CLASS_FINE_FIRST)
        return (uint64_t)CLASS_MIN_PAYLOAD << k;
    uint32_t step = k - CLASS_FINE_FIRST - 1;
    uint64_t base = CLASS_FINE_FROM << (step / CLASS_STEPS);
    return base + base / CLASS_STEPS * (step % CLASS_STEPS + 1);
}

static uint64_t class_capacity(const zl__mw_publisher *pub, uint32_t k)
{
    uint64_t capacity = class_bytes(k);
    return capacity < pub->payload_max ? capacity : pub->payload_max;
}

/* Publishes the pool's chunk counts beside our registry slot, for tools,
 * after growth or shrinking (loans and releases store what they change).
 * Relaxed: statistics, which tools read with relaxed loads. */
void zl__pub_publish_free_counters(zl__mw_publisher *pub)
{
    if (pub->counters == NULL)
        return; /* creating: create publishes them once registered */
    zl__store_relaxed(&pub->counters->chunks_total, pub->chunks_total);
    zl__store_relaxed(&pub->counters->chunks_free, pool_free(pub));
    zl__store_relaxed(&pub->counters->chunks_used_max, pub->used_max);
}

/* Tells subscriptions that the table changed (P8). */
void zl__pub_table_changed(zl__mw_publisher *pub)
{
    /* Release: the serials written before, and the new segment's header
     * and chunk headers, are visible to a subscription whose acquire load
     * of segments_seq sees this value (subscription/pools.c, rescan). Our first
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
    size_t holders = sizeof(uint32_t) * count;
    seg->bookkeeping_size = holders + sizeof(uint32_t) * count;
    uint8_t *block = zl__endpoint_allocate(pub->allocator, seg->bookkeeping_size);
    if (block == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the bookkeeping of a segment of %u chunks failed",
                        count);
    seg->bookkeeping = block;
    seg->holders = (uint32_t *)(void *)block;
    seg->free_stack = (uint32_t *)(void *)(block + holders);
    return 0;
}

/* The first empty slot of the table, or ZL__SEGMENTS_MAX. */
uint32_t zl__pub_free_slot(const zl__mw_publisher *pub)
{
    uint32_t slot = 0;
    while (slot < ZL__SEGMENTS_MAX && pub->segments[slot].serial != 0)
        slot++;
    return slot;
}

/* The size of a segment of geometry g laid out in total bytes: for chunks of
 * at least a huge page, total rounded up to a whole number of huge pages
 * where that is cheap (it adds at most an eighth, and the memory bound
 * leaves room), so that on a tmpfs that gives huge pages (segment.c) the
 * last chunk's end is on one too; elsewhere only the tail past the last
 * whole huge page has small pages. The bytes added count against the bound
 * as the rest do. The subscription accepts a segment larger than its chunks
 * (queue.h, zl__segment_geometry_read). */
static uint64_t huge_page_total(const zl__mw_publisher *pub, const zl__segment_geometry *g,
                                uint64_t total)
{
    if (g->chunk_stride < ZL__HUGE_PAGE_BYTES)
        return total;
    uint64_t rounded = zl__align_up(total, ZL__HUGE_PAGE_BYTES);
    if (rounded - total > total / 8 || pub->shm_bytes + rounded > pub->shm_bytes_max)
        return total;
    return rounded;
}

/* Lays out a new segment of class k in slot and enters it in the table
 * (kept: the one made at creation). The slow path of growth (P8, P9). */
int zl__pub_grow(zl__mw_publisher *pub, uint32_t k, bool kept)
{
    uint32_t slot = zl__pub_free_slot(pub);
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
    total = huge_page_total(pub, &g, total);
    int rc = zl__pub_segment_add(pub, slot, &g, total, NULL);
    if (rc != 0)
        return rc;
    segment *seg = &pub->segments[slot];
    seg->size_class = k;
    pub->class_free[k] |= (uint64_t)1 << slot;
    pub->class_chunks[k] += count;
    pub->chunks_total += count;
    zl__pub_publish_free_counters(pub);
    pub->growths++;
    zl__pub_table_changed(pub);
    return 0;
}

/* Makes the segment object of geometry g in slot (a user segment when file
 * is not NULL) and enters it in the table, unpublished: the caller calls
 * zl__pub_table_changed (P8, P9). */
int zl__pub_segment_add(zl__mw_publisher *pub, uint32_t slot, const zl__segment_geometry *geometry,
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
        zl__endpoint_deallocate(pub->allocator, seg->bookkeeping, seg->bookkeeping_size);
        memset(seg, 0, sizeof *seg);
        return rc;
    }
    g.serial = serial;
    seg->geometry = g;
    seg->chunks = (uint8_t *)seg->map.base + g.chunk_offset;
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
    /* A chunk's identity, written once: publish writes only what changes
     * (sequence, timestamp, size). For tools and is_consistent: a take
     * does not read it (the payload's address comes from the entry and the
     * subscription's own geometry, docs/design.md §2). */
    for (uint32_t c = 0; c < count; c++) {
        zl__chunk_header *h = (zl__chunk_header *)(void *)chunk_base(seg, c);
        h->publisher_id = pub->id;
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
void zl__pub_retire(zl__mw_publisher *pub, uint32_t slot)
{
    segment *seg = &pub->segments[slot];
    if (!seg->user) {
        pub->class_free[seg->size_class] &= ~((uint64_t)1 << slot);
        pub->class_chunks[seg->size_class] -= seg->geometry.chunk_count;
        pub->chunks_total -= seg->geometry.chunk_count;
        zl__pub_publish_free_counters(pub);
    } else {
        close((int)seg->file.fd);
        zl__endpoint_deallocate(pub->allocator, seg->published,
                                sizeof(uint64_t) * seg->geometry.chunk_count);
    }
    /* Relaxed: published by table_changed's release increment. */
    zl__store_relaxed(&pub->pool->serials[slot], 0);
    zl__pub_table_changed(pub);
    char name[ZL__SHM_NAME_MAX + 1];
    zl__shm_name_segment(name, sizeof name, pub->pool_name, seg->serial);
    zl__segment_unlink(name);
    pub->shm_bytes -= seg->map.size;
    zl__segment_unmap(&seg->map);
    zl__endpoint_deallocate(pub->allocator, seg->bookkeeping, seg->bookkeeping_size);
    memset(seg, 0, sizeof *seg);
}

bool zl__pub_segment_idle(const segment *seg)
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
bool zl__pub_shrink(zl__mw_publisher *pub, int64_t now, int64_t previous_call)
{
    bool retired = false;
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
        segment *seg = &pub->segments[slot];
        if (seg->serial == 0 || seg->serial == pub->creation_serial || seg->user)
            continue;
        if (now == 0) {
            if (zl__pub_segment_idle(seg)) {
                zl__pub_retire(pub, slot);
                retired = true;
            }
            continue;
        }
        if (!zl__pub_segment_idle(seg)) {
            seg->lent_since_tick = false;
            seg->idle_since_ns = now;
            continue;
        }
        if (seg->lent_since_tick) {
            seg->lent_since_tick = false;
            seg->idle_since_ns = previous_call;
        }
        if (now - seg->idle_since_ns >= ZL__SEGMENT_IDLE_NS) {
            zl__pub_retire(pub, slot);
            retired = true;
        }
    }
    return retired;
}

/* The pool has no free chunk of class k: look for chunks dead peers held,
 * then grow, within the chunk limit and the memory bound. */
int zl__pub_make_room(zl__mw_publisher *pub, uint32_t k)
{
    zl__pub_update(pub, true);
    zl__pub_drain_returns(pub);
    if (zl__pub_pick_free(pub, k) != NONE)
        return 0;
    if (pub->chunks_in_use >= pub->chunk_limit)
        return zl__fail(ZL_EEXHAUSTED,
                        "all %u chunks the pool of topic %s may use are lent, queued or held",
                        pub->chunk_limit, pub->registry.topic);
    int rc = zl__pub_grow(pub, k, false);
    if (rc == ZL_ENOSHM && zl__pub_shrink(pub, 0, 0)) /* idle segments of other sizes make room */
        rc = zl__pub_grow(pub, k, false);
    return rc;
}

/* Removes the names of the pool: its control object and its segments. */
void zl__pub_unlink_pool(zl__mw_publisher *pub)
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
