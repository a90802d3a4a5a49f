/* Loan, publish and return on the publisher's side: a free chunk lent,
 * its header written, fanned out to every connection and kept as history
 * (publisher.h). The references it takes and lets go are P1's (pool.c),
 * the deliveries P5's (connection.c), the wait for room P6's (lossless.c).
 */
#include "zloan/error.h"

#include "../../clock.h"
#include "../../error_detail.h"
#include "../notify.h"
#include "publisher.h"

int zl__shm_publisher_loan(zl__mw_publisher *pub, size_t size, void **payload,
                           zl__mw_loan_handle *handle)
{
    /* Returns are drained by publish (P4), or below when no chunk is free
     * (make_room): not here, where they would only free chunks earlier. */
    zl__pub_look_for_peers(pub);
    zl__pub_tick(pub, false);
    if (size > pub->payload_max)
        return zl__fail(ZL_EINVAL, "a loan of %zu bytes exceeds the type's %llu", size,
                        (unsigned long long)pub->payload_max);
    if (pub->loans_out >= pub->max_loans)
        return zl__fail(ZL_ETOOMANYLOANS, "the publisher's %u loans are all held",
                        pub->max_loans);
    uint32_t k = zl__pub_class_of(size);
    uint32_t slot = zl__pub_pick_free(pub, k);
    if (slot == NONE) {
        int rc = zl__pub_make_room(pub, k);
        if (rc != 0)
            return rc;
        slot = zl__pub_pick_free(pub, k);
    }
    segment *seg = &pub->segments[slot];
    uint32_t chunk = seg->free_stack[--seg->free_top];
    if (seg->free_top == 0)
        pub->class_free[k] &= ~((uint64_t)1 << slot);
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

int zl__shm_publisher_publish_loan(zl__mw_publisher *pub, zl__mw_loan_handle handle, size_t size)
{
    segment *seg = lent_segment(pub, handle);
    if (seg == NULL)
        return ZL_ENOTLOAN;
    if (size > seg->geometry.payload_capacity)
        return zl__fail(ZL_EINVAL, "payload of %zu bytes exceeds the chunk's %llu", size,
                        (unsigned long long)seg->geometry.payload_capacity);
    uint32_t chunk = zl__entry_chunk(handle);
    /* The loan looked at the clock: a publish needs only the peers. */
    zl__pub_look_for_peers(pub);
    zl__pub_drain_returns(pub);
    int rc = zl__pub_wait_for_room(pub);
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
    zl__pub_fan_out(pub, handle, pub->history_capacity != 0, size, header->timestamp_ns);
    return 0;
}

/* Delivers a chunk whose header is written and which holds one reference
 * (the user's loan, or the user memory's publication) to every connection,
 * wakes sleepers, keeps it as history when asked, then lets that reference
 * go. */
void zl__pub_fan_out(zl__mw_publisher *pub, uint32_t handle, bool history, size_t size,
                    int64_t timestamp_ns)
{
    uint32_t mask = pub->connected_mask;
    uint32_t delivered = 0;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        if (zl__pub_deliver(pub, j, handle) == DELIVER_PUSHED)
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

void zl__shm_publisher_refresh(zl__mw_publisher *pub)
{
    zl__pub_update(pub, false);
    zl__pub_drain_returns(pub);
}

int zl__shm_publisher_update_connections(zl__mw_publisher *pub)
{
    zl__pub_update(pub, true);
    zl__pub_drain_returns(pub);
    return 0;
}
