/* Loan, publish and return on the publisher's side: a free chunk lent,
 * its header written, fanned out to every connection and kept as history
 * (publisher.h). The references it takes and lets go are P1's (pool.c),
 * the deliveries P5's (connection.c), the wait for room P6's (lossless.c).
 */
#include "zloan/error.h"

#include "../../clock.h"
#include "../../error_detail.h"
#include "hot_path.h"

int zl__shm_publisher_loan(zl__mw_publisher *pub, size_t size, void **payload,
                           zl__mw_loan_handle *handle)
{
    /* Returns are drained by publish (P4), or below when no chunk is free
     * (make_room): not here, where they would only free chunks earlier.
     * Peers likewise: publish looks for them before it delivers, and
     * make_room brings them up to date before it grows (chunks that dead
     * ones held come back there); a loan needs neither. */
    zl__pub_tick(pub, false);
    /* size <= payload_max: the client library asks no more (mw.h). */
    uint32_t k = zl__pub_class_of(size);
    uint32_t slot = zl__pub_pick_free(pub, k);
    if (slot == NONE) {
        int rc = zl__pub_make_room(pub, k);
        if (rc != 0)
            return rc;
        slot = zl__pub_pick_free(pub, k);
    }
    segment *seg = &pub->segments[slot];
    uint32_t top = seg->free_top - 1;
    uint32_t chunk = seg->free_stack[top];
    seg->free_top = top;
    if (top == 0)
        pub->class_free[k] &= ~((uint64_t)1 << slot);
    seg->refs[chunk] = 1;
    seg->lent_since_tick = true;
    *payload = chunk_base(seg, chunk) + seg->geometry.payload_offset;
    *handle = zl__entry_pack(slot, chunk);
    uint32_t in_use = ++pub->chunks_in_use;
    uint64_t loans = ++pub->loans_total;
    /* Relaxed: statistics for tools, which read them with relaxed loads;
     * stored last, from locals (an atomic store makes the compiler reload
     * what it had in registers). */
    zl__endpoint_counters *counters = pub->counters;
    if (in_use > pub->used_max) {
        pub->used_max = in_use;
        zl__store_relaxed(&counters->chunks_used_max, in_use);
    }
    zl__store_relaxed(&counters->chunks_free, pub->chunks_total - in_use);
    zl__store_relaxed(&counters->loans, loans);
    return 0;
}

int zl__shm_publisher_return_loan(zl__mw_publisher *pub, zl__mw_loan_handle handle)
{
    /* handle is outstanding (mw.h): the client library's record says so. */
    release_ref(pub, handle);
    zl__store_relaxed(&pub->counters->returned, ++pub->returned_total);
    return 0;
}

int zl__shm_publisher_publish_loan(zl__mw_publisher *pub, zl__mw_loan_handle handle, size_t size)
{
    /* size is at most what the loan lent (mw.h: the client library's
     * record bounds it), so at most the chunk's capacity. */
    segment *seg = zl__pub_lent_segment(pub, handle);
    uint32_t chunk = zl__entry_chunk(handle);
    /* The loan looked at the clock: a publish needs only the peers, which
     * it looks for here (the loan did not). */
    zl__pub_look_for_peers(pub);
    zl__pub_drain_returns(pub);
    int rc = zl__pub_wait_for_room(pub);
    if (rc != 0)
        return rc; /* nothing delivered; the loan is still the caller's */
    /* The chunk's identity (publisher, segment, index) was written when
     * its segment was made (pool.c): only what changes is written here. */
    zl__chunk_header *header = (zl__chunk_header *)(void *)chunk_base(seg, chunk);
    header->sequence = ++pub->sequence;
    int64_t now = zl__realtime_ns();
    header->timestamp_ns = now;
    header->payload_size = size;
    zl__pub_fan_out(pub, handle, pub->history_capacity != 0, size, now);
    return 0;
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
