/* Introspection, the answer: a zl_topic_info built from a view's registry
 * (view.c opens it), with each endpoint's counters, a publisher's pool and
 * a subscription's queues.
 *
 * Everything read is validated (I3): each record's fields against the
 * ranges endpoints accept (a record out of range makes the whole registry
 * ZL_ECORRUPT), queue and pool headers with the same geometry checks
 * endpoints use (a bad one only leaves that part of the answer out),
 * counters clamped where they feed a difference. Slots being rewritten are
 * retried, then left out.
 */
#include <stdio.h>
#include <string.h>

#include "zloan/error.h"

#include "../../error_detail.h"
#include "../queue.h"
#include "internal.h"

static uint64_t clamp_sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

static void read_counters(const zl__registry *r, uint32_t kind, uint32_t slot,
                          zl_endpoint_info *e)
{
    const zl__endpoint_counters *c = zl__registry_counters(r, kind, slot);
    /* Relaxed: hints written with relaxed stores; `id` says whose. */
    if (zl__load_relaxed(&c->id) != e->id)
        return; /* not reset for this endpoint yet: show zeros */
    e->messages = zl__load_relaxed(&c->messages);
    e->bytes = zl__load_relaxed(&c->bytes);
    e->last_ns = (int64_t)zl__load_relaxed(&c->last_ns);
    uint64_t returned = zl__load_relaxed(&c->returned);
    uint64_t held = kind == ZL__KIND_PUBLISHER
                        ? clamp_sub(clamp_sub(zl__load_relaxed(&c->loans), e->messages), returned)
                        : clamp_sub(e->messages, returned);
    /* A copy in flight may hold the transport's spare loan for a moment. */
    e->loans_held = held > e->max_loans ? e->max_loans : (uint32_t)held;
    e->lost = zl__load_relaxed(&c->lost);
    e->chunks_total = zl__load_relaxed(&c->chunks_total);
    e->chunks_free = zl__load_relaxed(&c->chunks_free);
    e->chunks_used_max = zl__load_relaxed(&c->chunks_used_max);
    if (e->chunks_free > e->chunks_total)
        e->chunks_free = e->chunks_total;
}

/* A publisher's pool: its size in /dev/shm and its chunk size, from a
 * read-only look at its header. */
static void read_pool(const zl__registry *r, const zl__endpoint_record *record,
                      zl_endpoint_info *e)
{
    char name[ZL__SHM_NAME_MAX + 1];
    zl__registry_endpoint_name(r, name, sizeof name, 'p', record->id);
    zl__mapping map;
    uint64_t size;
    if (zl__introspection_map_readonly(name, r->group, sizeof(zl__pool_shm), &map, &size,
                                       NULL) != 0)
        return;
    zl__pool_geometry g;
    /* The geometry check reads the header only; size is the object's. The
     * record holds no alignment: 1 checks the cache-line alignment every
     * pool has (zl__pool_alignment). */
    if (!zl__pool_geometry_read(map.base, (size_t)size, record->id, record, 1, &g)) {
        zl__segment_unmap(&map);
        return;
    }
    const zl__pool_shm *pool = map.base;
    uint64_t bytes = size, stride = 0;
    /* The pool is its control object and the segments its table lists
     * (layout.h): sum their bytes; chunk_bytes is the largest chunk. A
     * segment that fails its check or went meanwhile is skipped. */
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++) {
        /* Relaxed: a snapshot for tools; the segment's own check follows. */
        uint32_t serial = zl__load_relaxed(&pool->serials[slot]);
        if (serial == 0)
            continue;
        char segment_name[ZL__SHM_NAME_MAX + 1];
        zl__shm_name_segment(segment_name, sizeof segment_name, name, serial);
        zl__mapping segment;
        uint64_t segment_size;
        if (zl__introspection_map_readonly(segment_name, r->group, sizeof(zl__segment_shm),
                                           &segment, &segment_size, NULL) != 0)
            continue;
        zl__segment_geometry sg;
        if (zl__segment_geometry_read(segment.base, (size_t)segment_size, record->id, slot, serial,
                                      g.payload_offset, g.alignment, &sg)) {
            bytes += segment_size;
            if (sg.chunk_stride > stride)
                stride = sg.chunk_stride;
        }
        zl__segment_unmap(&segment);
    }
    e->pool_bytes = bytes;
    e->chunk_bytes = stride;
    zl__segment_unmap(&map);
}

/* A subscription's queues: fill, lost and held back per connected publisher. */
static void read_queues(const zl__registry *r, const zl__endpoint_record *record,
                        zl_endpoint_info *e)
{
    char name[ZL__SHM_NAME_MAX + 1];
    zl__registry_endpoint_name(r, name, sizeof name, 's', record->id);
    zl__mapping map;
    uint64_t size;
    if (zl__introspection_map_readonly(name, r->group, 0, &map, &size, NULL) != 0)
        return;
    zl__queue_shm *q = map.base;
    zl__queue_geometry g;
    if (zl__queue_geometry_read(q, map.size, record->id, &g)) {
        for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++) {
            zl__connection_shm *c = zl__queue_connection(q, &g, j);
            /* Relaxed loads throughout: a snapshot for people, no data
             * read through it. */
            uint64_t publisher = zl__load_relaxed(&c->publisher_id);
            if (publisher == 0)
                continue;
            zl__ring deliver, ret;
            zl__queue_rings(&g, c, &deliver, &ret);
            uint64_t head = zl__load_relaxed(&deliver.index->head);
            uint64_t tail = zl__load_relaxed(&deliver.index->tail);
            uint64_t fill = clamp_sub(tail, head);
            zl_queue_info *qi = &e->queues[e->queue_count++];
            qi->publisher_id = publisher;
            qi->capacity = g.deliver_capacity;
            qi->fill = fill > g.deliver_capacity ? g.deliver_capacity : (uint32_t)fill;
            qi->lost = zl__load_relaxed(&c->lost);
            qi->held_back = zl__load_relaxed(&c->held_back);
            e->lost += qi->lost;
        }
    }
    zl__segment_unmap(&map);
}

static void fill_endpoint(const zl__registry *r, uint32_t kind, uint32_t slot,
                          const zl__endpoint_record *record, zl_endpoint_info *e)
{
    memset(e, 0, sizeof *e);
    e->kind = kind == ZL__KIND_PUBLISHER ? ZL_ENDPOINT_PUBLISHER : ZL_ENDPOINT_SUBSCRIPTION;
    e->id = record->id;
    e->pid = record->pid;
    snprintf(e->executable, sizeof e->executable, "%s", record->executable);
    snprintf(e->context_name, sizeof e->context_name, "%s", record->context_name);
    e->alive = zl__registry_alive(r, kind, slot);
    e->depth = record->depth;
    e->history = record->history;
    /* The record holds the transport's count: the user's max_loans and the
     * one spare the copy paths use (publisher/endpoint.c, subscription/endpoint.c). */
    e->max_loans = record->max_loans > 0 ? record->max_loans - 1 : 0;
    e->wants_history = (record->flags & ZL__RECORD_WANTS_HISTORY) != 0;
    e->lossless = (record->flags & ZL__RECORD_LOSSLESS) != 0;
    read_counters(r, kind, slot, e);
    if (kind == ZL__KIND_PUBLISHER)
        read_pool(r, record, e);
    else
        read_queues(r, record, e);
}

int zl__shm_topic_view_read(zl__mw_topic_view *view, zl_topic_info *info)
{
    const zl__registry *r = &view->registry;
    memset(info, 0, offsetof(zl_topic_info, endpoints));
    snprintf(info->name, sizeof info->name, "%s", r->topic);
    info->domain_id = view->domain;
    info->group = r->group;
    for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++) {
        uint32_t slots = kind == ZL__KIND_PUBLISHER ? ZL__PUB_SLOTS : ZL__SUB_SLOTS;
        for (uint32_t i = 0; i < slots; i++) {
            zl__endpoint_record record;
            if (zl__registry_lookup(r, kind, i, &record) != ZL__SLOT_PRESENT)
                continue;
            if (!zl__introspection_record_sane(&record))
                return zl__fail(ZL_ECORRUPT,
                                "the registry of topic %s has a %s record out of range in slot %u",
                                r->topic, kind == ZL__KIND_PUBLISHER ? "publisher" : "subscription",
                                i);
            if (info->type_name[0] == '\0') {
                snprintf(info->type_name, sizeof info->type_name, "%s", record.type_name);
                info->type_size = record.type_size;
                info->layout_hash = record.layout_hash;
                info->payload_size = record.payload_size;
                info->plain = record.plain != 0;
                info->sized = record.element_size != 0;
                info->element_size = record.element_size;
                info->max_count = record.max_count;
                info->alignment = record.alignment;
            }
            fill_endpoint(r, kind, i, &record, &info->endpoints[info->endpoint_count++]);
        }
    }
    uint64_t hash;
    int rc = zl__registry_read_description(r, info->description, sizeof info->description, &hash);
    if (rc != 0 && rc != ZL_EBUSY)
        return rc;
    if (rc != 0)
        info->description[0] = '\0';
    return 0;
}
