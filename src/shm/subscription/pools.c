/* The publishers' pools as a subscription maps them: each connection's
 * pool view, its segments (mapped when the publisher's table changes, let
 * go when no view or loan names them) and the chunk an entry names
 * (subscription.h).
 *
 * Invariants (I1 of docs/design.md, from the subscription's side)
 *   S2. A segment stays mapped while its pool's table (as we last read it)
 *       names it and its connection is attached, or while any held slot
 *       that is not FREE names it, so a loan stays readable after its
 *       publisher left, died or gave the segment back. No count is kept per
 *       loan: when the view lets go of a segment (both happen on the owner
 *       thread under return_token) it looks at the held slots, and a
 *       segment one of them names waits on the retired list, looked at
 *       again on the take's general path (sub->fast is NULL meanwhile).
 *       Under the token the look is stable: only the owner (this thread)
 *       makes a slot LOANED, and only the token holder makes one FREE.
 *   S7. Segments are mapped when the pool's segments_seq changes, which we
 *       check (acquire) after reading an entry and before using it: the
 *       publisher entered the segment in its table before it delivered any
 *       chunk of it (publisher/pool.c P8), so the entry's segment is in our view
 *       unless the publisher is broken (then the entry is dropped, counted).
 */
#include "zloan/error.h"

#include "../user_segment.h"
#include "subscription.h"

static void segment_unmap(zl__mw_subscription *sub, segment_view *view)
{
    zl__segment_unmap(&view->map);
    if (view->user)
        zl__segment_unmap(&view->user_map);
    zl__endpoint_deallocate(sub->allocator, view, sizeof *view);
}

/* Whether a slot that is not FREE names view (S2). Token held. */
static bool segment_held(const zl__mw_subscription *sub, const segment_view *view)
{
    for (uint32_t k = 0; k < sub->held_capacity; k++) {
        const held *h = &sub->held[k];
        /* Acquire pairs with the token holder's release store of FREE:
         * once FREE, nothing reads the segment through this slot. */
        if (zl__load_acquire(&h->state) != HELD_FREE && h->segment == view)
            return true;
    }
    return false;
}

void zl__sub_segment_retire(zl__mw_subscription *sub, segment_view *view)
{
    if (view == NULL)
        return;
    if (!segment_held(sub, view)) {
        segment_unmap(sub, view);
        return;
    }
    view->retired_next = sub->retired;
    sub->retired = view;
}

void zl__sub_reap_retired(zl__mw_subscription *sub)
{
    segment_view **link = &sub->retired;
    while (*link != NULL) {
        segment_view *view = *link;
        if (segment_held(sub, view)) {
            link = &view->retired_next;
            continue;
        }
        *link = view->retired_next;
        segment_unmap(sub, view);
    }
}

void zl__sub_unmap_retired(zl__mw_subscription *sub)
{
    while (sub->retired != NULL) {
        segment_view *view = sub->retired;
        sub->retired = view->retired_next;
        segment_unmap(sub, view);
    }
}

/* Under return_token: the connection lets go of its pool; segments that
 * held loans point into stay mapped until those are returned (S2). */
void zl__sub_pool_release(zl__mw_subscription *sub, pool_view *view)
{
    if (view == NULL)
        return;
    for (uint32_t slot = 0; slot < ZL__SEGMENTS_MAX; slot++)
        zl__sub_segment_retire(sub, view->segments[slot]);
    zl__segment_unmap(&view->map);
    zl__endpoint_deallocate(sub->allocator, view, sizeof *view);
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
    segment_view *view = zl__endpoint_allocate(sub->allocator, sizeof *view);
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
            zl__sub_peer_error(sub, pool->publisher_id, "listed a segment that failed validation");
        }
        zl__endpoint_deallocate(sub->allocator, view, sizeof *view);
        return NULL;
    }
    if (!user_map(view)) {
        zl__segment_unmap(&view->map);
        zl__sub_peer_error(sub, pool->publisher_id, "named user memory that failed validation");
        zl__endpoint_deallocate(sub->allocator, view, sizeof *view);
        return NULL;
    }
    /* I3, once: the one bound a header's payload_size must meet, in a
     * chunk of this segment (a user segment's payloads are checked against
     * its mapping as well, zl__sub_payload_fits). */
    view->size_limit = pool->geometry.payload_max;
    if (!view->user && view->geometry.payload_capacity < view->size_limit)
        view->size_limit = view->geometry.payload_capacity;
    view->publisher_id = pool->publisher_id;
    return view;
}

/* Owner thread, token held: the pool's table changed (S7): let go of
 * segments it no longer names, map the new ones. */
void zl__sub_rescan_locked(zl__mw_subscription *sub, pool_view *pool, uint32_t seq)
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
        zl__sub_segment_retire(sub, view);
        pool->segments[slot] = serial != 0 ? segment_map(sub, pool, slot, serial) : NULL;
    }
}

void zl__sub_rescan(zl__mw_subscription *sub, pool_view *pool, uint32_t seq)
{
    token_acquire_spinning(sub);
    zl__sub_rescan_locked(sub, pool, seq);
    zl__sub_settle(sub);
    token_release(sub);
}
