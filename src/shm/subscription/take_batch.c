/* Batched takes (zl_subscription_take_loan_sequence through the
 * transport): up to n entries of one connection claimed with one CAS of
 * its deliver head, each validated (I3) and held as a single take holds
 * one, then one S6 fence and look for the batch (subscription.h). The
 * invariants are take.c's; R4 for a batch: every entry is read below the
 * tail loaded before the CAS that claims them all (ring.h).
 */
#include "zloan/error.h"

#include "../../error_detail.h"
#include "loan_table.h"

/* The batched take when its common case does not hold: single takes, each
 * through the common case or the general path. */
static __attribute__((noinline)) int take_loans_singly(zl__mw_subscription *sub,
                                                       const void **payloads, size_t *sizes,
                                                       zl_message_info *infos, size_t capacity,
                                                       size_t *count)
{
    size_t n = 0;
    int rc = 0;
    while (n < capacity) {
        rc = zl__shm_subscription_take_loan(sub, &payloads[n], &sizes[n],
                                            infos != NULL ? &infos[n] : NULL);
        if (rc != 0)
            break;
        n++;
    }
    *count = n;
    return n > 0 ? 0 : rc;
}

/* How many slots are FREE, up to want, looking from the claim cursor: the
 * witnesses that the batch's loans have slots (S9; each is placed from its
 * own home). Only the owner fills slots, so they stay FREE until it does.
 * Owner thread. */
static uint32_t count_free(zl__mw_subscription *sub, uint32_t want)
{
    uint32_t k = sub->claim_cursor, n = 0;
    for (uint32_t i = 0; i < sub->held_capacity && n < want; i++) {
        /* Acquire pairs with the flusher's release store of FREE. */
        if (zl__load_acquire(&sub->held[k].state) == HELD_FREE)
            n++;
        k = k + 1 == sub->held_capacity ? 0 : k + 1;
    }
    return n;
}

/* The most entries one batched take claims at once (the client library
 * asks again for more). */
#define TAKE_BATCH_MAX 64

/* A batched take: with one connection (sub->fast) and the looks of the
 * single take's common case, the entries at the ring's head that name
 * chunks of mapped segments are claimed with one CAS of head (R4: whoever
 * moves head from h to h + n owns the entries at h .. h + n - 1; the
 * producer writes none of them while head is h, R5), followed by one S6
 * fence and look. Each chunk's header is then checked (I3) as a single
 * take checks it; one that fails is dropped (counted, given back). Any
 * other case takes singly. */
int zl__shm_subscription_take_loans(zl__mw_subscription *sub, const void **payloads,
                                    size_t *sizes, zl_message_info *infos, size_t capacity,
                                    size_t *count)
{
    *count = 0;
    connection *c = sub->fast;
    if (c == NULL || atomic_load_explicit(&sub->returning, memory_order_seq_cst) != 0 ||
        zl__registry_generation(&sub->registry) != sub->seen_generation ||
        /* Acquire: as in zl__sub_refresh. */
        zl__load_acquire(&sub->queue->attach_seq) != sub->seen_attach)
        return take_loans_singly(sub, payloads, sizes, infos, capacity, count);
    uint32_t n = count_free(sub, capacity < TAKE_BATCH_MAX ? (uint32_t)capacity : TAKE_BATCH_MAX);
    /* Tail (acquire, R2), then head, as zl__deliver_peek's first try. */
    uint64_t tail = zl__load_acquire(&c->deliver.index->tail);
    uint64_t head = zl__load_acquire(&c->deliver.index->head);
    if (tail == head)
        return ZL_ENODATA;
    pool_view *pool = c->pool;
    /* S7's acquire load after the tail's: the table as we mapped it. */
    if (n == 0 || tail - head > zl__ring_capacity(&c->deliver) ||
        zl__load_acquire(&pool->pool->segments_seq) != pool->seen_seq)
        return take_loans_singly(sub, payloads, sizes, infos, capacity, count);
    if (tail - head < n)
        n = (uint32_t)(tail - head);
    uint32_t entries[TAKE_BATCH_MAX];
    segment_view *segments[TAKE_BATCH_MAX];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t entry = zl__load_relaxed(&c->deliver.entries[(head + i) & c->deliver.mask]);
        uint32_t slot = zl__entry_slot(entry);
        segment_view *segment = slot < ZL__SEGMENTS_MAX ? pool->segments[slot] : NULL;
        if (segment == NULL || zl__entry_chunk(entry) >= segment->geometry.chunk_count) {
            n = i; /* the general path drops it, after those before it */
            break;
        }
        entries[i] = entry;
        segments[i] = segment;
    }
    if (n == 0 || !zl__deliver_take_n(&c->deliver, head, n))
        return take_loans_singly(sub, payloads, sizes, infos, capacity, count);
    wake_publisher(sub, c->shm); /* S6, once for the batch */
    uint32_t taken = 0;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        const zl__chunk_header *at = zl__segment_chunk(segments[i]->map.base,
                                                       &segments[i]->geometry,
                                                       zl__entry_chunk(entries[i]));
        header_copy header;
        zl__sub_read_header(segments[i], at, &header);
        if (!zl__sub_payload_fits(sub, segments[i], header.payload_size, header.user_offset)) {
            zl__sub_peer_error(sub, c->publisher_id, "wrote a chunk header that failed validation");
            zl__sub_drop_entry(sub, c, entries[i]);
            continue;
        }
        payloads[taken] = zl__sub_hold(sub, c, entries[i], segments[i], at, &header);
        sizes[taken] = (size_t)header.payload_size;
        bytes += header.payload_size;
        if (infos != NULL) {
            zl_message_info *info = &infos[taken];
            info->source_timestamp_ns = header.timestamp_ns;
            info->publication_sequence = header.sequence;
            info->publisher_id = c->publisher_id;
            info->from_this_process = c->from_this_process;
            info->reception_sequence = 0;
        }
        taken++;
    }
    if (taken == 0) /* every one dropped: take again */
        return take_loans_singly(sub, payloads, sizes, infos, capacity, count);
    /* Relaxed: statistics for tools, as in account. */
    sub->taken += taken;
    sub->taken_bytes += bytes;
    zl__store_relaxed(&sub->counters->messages, sub->taken);
    zl__store_relaxed(&sub->counters->bytes, sub->taken_bytes);
    *count = taken;
    return 0;
}
