/* The take path: choose the connection whose oldest message is oldest,
 * claim its entry from the deliver ring, validate the chunk's header (I3)
 * and hold the loan in a slot of the table (subscription.h; S1 and S5 in
 * returns.c, S6 in subscription.h, S7 in pools.c).
 */
#include "zloan/error.h"

#include "../../error_detail.h"
#include "../../identity.h"
#include "loan_table.h"

/* Owner thread: lets go of connection j (its publisher is gone and its ring
 * empty, or, broken, it wrote a position out of range). draining is read
 * by returners under the token: it is changed under the token too. */
static void release_now(zl__mw_subscription *sub, uint32_t j, bool broken)
{
    token_acquire_spinning(sub);
    if (broken)
        sub->connections[j].draining = true;
    zl__sub_release_connection(sub, j);
    zl__sub_settle(sub);
    token_release(sub);
}

/* The oldest entry of connection j, with its chunk header in *header: 1;
 * 0 when it has none (or was released meanwhile); -1 when its head entry
 * named no chunk and was dropped (look at the connection again). */
static int peek_header(zl__mw_subscription *sub, uint32_t j, const zl__chunk_header **header)
{
    connection *c = &sub->connections[j];
    uint64_t position;
    uint32_t entry;
    int rc = zl__deliver_peek(&c->deliver, &position, &entry);
    if (rc == 0 && c->draining) {
        release_now(sub, j, false);
        return 0;
    }
    if (rc < 0) {
        zl__sub_peer_error(sub, c->publisher_id, "wrote a deliver ring position out of range");
        release_now(sub, j, true);
        return 0;
    }
    if (rc == 0)
        return 0;
    segment_view *segment;
    *header = c->pool != NULL ? zl__sub_chunk_of(sub, c->pool, entry, &segment) : NULL;
    if (*header != NULL)
        return 1;
    if (zl__deliver_take(&c->deliver, position)) {
        wake_publisher(sub, c->shm);
        if (c->pool != NULL)
            zl__sub_peer_error(sub, c->publisher_id, "delivered a chunk index out of range");
        /* Counted, and given back: a chunk of a segment we could not map is
         * still the publisher's to reuse (a user message completes); P2
         * refuses a bogus one. */
        zl__sub_drop_entry(sub, c, entry);
    }
    return -1;
}

/* Chooses the connection whose oldest message is oldest, or UINT32_MAX.
 * Headers are read only when two connections have data: with one
 * publisher the choice costs no extra cache miss. */
static uint32_t choose(zl__mw_subscription *sub)
{
    uint32_t best = UINT32_MAX;
    const zl__chunk_header *best_header = NULL;
    int64_t best_time = 0;
    bool best_time_known = false;
    uint32_t mask = sub->active_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        const zl__chunk_header *header = NULL;
        int rc = peek_header(sub, j, &header);
        if (rc < 0)
            mask |= 1u << j; /* look at this connection again */
        if (rc <= 0)
            continue;
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
    return best;
}

/* Takes the head entry of connection c into *entry: 1; 0 when it is
 * empty, ZL_ECORRUPT when its positions break R1 (ring.h). The publisher
 * may reclaim the head meanwhile (keep-last): retry at once on the new
 * head, keeping the window between reading an entry and claiming it short,
 * so a subscription keeps up with a publisher that reclaims on every
 * publish. */
/* Inline: once per take. */
static inline __attribute__((always_inline)) int claim_entry(zl__mw_subscription *sub,
                                                             connection *c, uint32_t *entry)
{
    for (;;) {
        uint64_t position;
        int rc = zl__deliver_peek(&c->deliver, &position, entry);
        if (rc <= 0)
            return rc;
        if (zl__deliver_take(&c->deliver, position)) {
            wake_publisher(sub, c->shm);
            return 1;
        }
    }
}

/* The connection to take from, with its head entry claimed into *entry,
 * or UINT32_MAX when there is nothing to take. With one connection, no
 * choice: no header is read before the claim. */
static uint32_t choose_and_claim(zl__mw_subscription *sub, uint32_t *entry)
{
    uint32_t mask = sub->active_mask;
    if (mask != 0 && (mask & (mask - 1)) == 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        connection *c = &sub->connections[j];
        if (!c->draining) {
            int rc = claim_entry(sub, c, entry);
            if (rc > 0)
                return j;
            if (rc == 0)
                return UINT32_MAX;
            /* Broken: choose() below counts it and lets go of it. */
        }
    }
    for (;;) {
        uint32_t best = choose(sub);
        if (best == UINT32_MAX || claim_entry(sub, &sub->connections[best], entry) > 0)
            return best;
        /* Emptied or broken meanwhile: choose again. */
    }
}

/* Counts the taken message for tools and fills info. (Our lost count is
 * stored where it changes: zl__sub_count_lost.) */
static inline void account(zl__mw_subscription *sub, const connection *c,
                           const header_copy *header, zl_message_info *info)
{
    /* Relaxed: statistics for tools, read with relaxed loads. */
    zl__endpoint_counters *counters = sub->counters;
    zl__store_relaxed(&counters->messages, ++sub->taken);
    sub->taken_bytes += header->payload_size;
    zl__store_relaxed(&counters->bytes, sub->taken_bytes);
    if (info != NULL) {
        info->source_timestamp_ns = header->timestamp_ns;
        info->publication_sequence = header->sequence;
        info->publisher_id = c->publisher_id;
        info->from_this_process = c->from_this_process;
        info->reception_sequence = 0;
    }
}

/* Every take that is not the common case below: pending returns, peers
 * that came or went, several connections, a draining or broken one, a
 * segment table that changed, a lost race. */
static __attribute__((noinline)) int take_general(zl__mw_subscription *sub, const void **payload,
                                                  size_t *size, zl_message_info *info)
{
    zl__sub_flush(sub);
    zl__sub_refresh(sub);
    if (sub->retired != NULL) {
        /* S2: segments retired while loans pointed into them. */
        token_acquire_spinning(sub);
        zl__sub_reap_retired(sub);
        zl__sub_settle(sub);
        token_release(sub);
    }
    /* The loan limit is the client library's (S5): it asks only while
     * the user holds fewer than loans_max. */
    uint32_t k = zl__sub_claim(sub);
    if (k == UINT32_MAX)
        return zl__fail(ZL_ETOOMANYLOANS,
                        "returned loans wait for a publisher that does not take them back");
    for (;;) {
        uint32_t entry = 0;
        uint32_t best = choose_and_claim(sub, &entry);
        if (best == UINT32_MAX)
            return ZL_ENODATA;
        connection *c = &sub->connections[best];
        segment_view *segment = NULL;
        const zl__chunk_header *at = zl__sub_chunk_of(sub, c->pool, entry, &segment);
        if (at == NULL) {
            zl__sub_peer_error(sub, c->publisher_id, "delivered an entry of no segment it listed");
            zl__sub_drop_entry(sub, c, entry); /* counted and given back, as above */
            continue;
        }
        header_copy header;
        zl__sub_read_header(segment, at, &header);
        /* I3: the size the chunk holds and our type allows, and for user
         * memory an offset within it (pools.c). */
        if (!zl__sub_payload_fits(sub, segment, header.payload_size, header.user_offset)) {
            zl__sub_peer_error(sub, c->publisher_id, "wrote a chunk header that failed validation");
            zl__sub_drop_entry(sub, c, entry);
            continue;
        }
        *payload = zl__sub_hold(sub, c, entry, segment, at, &header);
        *size = (size_t)header.payload_size;
        account(sub, c, &header, info);
        if (c->draining && !zl__deliver_nonempty(&c->deliver))
            release_now(sub, best, false);
        return 0;
    }
}

/* After the fast path claimed an entry whose chunk failed I3: counted,
 * given back, and the next entry taken. */
static __attribute__((cold, noinline)) int take_dropped(zl__mw_subscription *sub, connection *c,
                                                        uint32_t entry, const void **payload,
                                                        size_t *size, zl_message_info *info)
{
    wake_publisher(sub, c->shm); /* S6: the head moved (the fast path's CAS) */
    zl__sub_peer_error(sub, c->publisher_id, "wrote a chunk header that failed validation");
    zl__sub_drop_entry(sub, c, entry);
    return take_general(sub, payload, size, info);
}

/* S6's wake-up, when the fast path saw a publisher asleep. */
static __attribute__((noinline)) int take_wake(zl__connection_shm *shm)
{
    zl__notify_room(&shm->publisher_wake, &shm->publisher_sleeping);
    return 0;
}

/* The take, common case first: nothing to flush, no peer changed, the
 * private state that allows it (sub->fast: one connection, not draining,
 * its pool mapped, the liveness monitor runs, nothing retired), the claim
 * slot free, the segment table as we mapped it. Each look is one load of
 * what take_general would look at first; when any says otherwise, it goes
 * there before it changed anything (a tail call, so this path saves no
 * registers). After the claim of the entry (the CAS) only the header's
 * check can fail, and take_dropped handles it as take_general would. */
int zl__shm_subscription_take_loan(zl__mw_subscription *sub, const void **payload, size_t *size,
                                   zl_message_info *info)
{
    connection *c = sub->fast;
    if (c == NULL || atomic_load_explicit(&sub->returning, memory_order_seq_cst) != 0 ||
        zl__registry_generation(&sub->registry) != sub->seen_generation ||
        /* Acquire: as in zl__sub_refresh. */
        zl__load_acquire(&sub->queue->attach_seq) != sub->seen_attach)
        return take_general(sub, payload, size, info);
    uint32_t k = sub->claim_cursor;
    /* Acquire pairs with the flusher's release store of FREE (zl__sub_claim). */
    if (zl__load_acquire(&sub->held[k].state) != HELD_FREE)
        return take_general(sub, payload, size, info);
    /* zl__deliver_peek's first try: tail (acquire, R2), then head. */
    uint64_t tail = zl__load_acquire(&c->deliver.index->tail);
    uint64_t head = zl__load_acquire(&c->deliver.index->head);
    if (tail == head)
        return ZL_ENODATA;
    if (tail - head > zl__ring_capacity(&c->deliver))
        return take_general(sub, payload, size, info); /* stale or broken: peek decides */
    uint32_t entry = zl__load_relaxed(&c->deliver.entries[head & c->deliver.mask]);
    /* zl__sub_chunk_of without the rescan: S7's acquire load after the
     * tail's, and the entry against our table. */
    pool_view *pool = c->pool;
    uint32_t slot = zl__entry_slot(entry);
    if (zl__load_acquire(&pool->pool->segments_seq) != pool->seen_seq || slot >= ZL__SEGMENTS_MAX)
        return take_general(sub, payload, size, info);
    segment_view *segment = pool->segments[slot];
    if (segment == NULL || zl__entry_chunk(entry) >= segment->geometry.chunk_count ||
        !zl__deliver_take(&c->deliver, head))
        return take_general(sub, payload, size, info);
    /* The entry is ours (R4). */
    const zl__chunk_header *at =
        zl__segment_chunk(segment->map.base, &segment->geometry, zl__entry_chunk(entry));
    header_copy header;
    zl__sub_read_header(segment, at, &header);
    if (!zl__sub_payload_fits(sub, segment, header.payload_size, header.user_offset))
        return take_dropped(sub, c, entry, payload, size, info);
    *payload = zl__sub_hold(sub, c, entry, segment, at, &header);
    *size = (size_t)header.payload_size;
    account(sub, c, &header, info);
    if (sub->lossless) {
        /* S6, after the head moved (wake_publisher, its wake-up out of line). */
        zl__fence_seq_cst();
        if (zl__load_relaxed(&c->shm->publisher_sleeping) != 0)
            return take_wake(c->shm);
    }
    return 0;
}
