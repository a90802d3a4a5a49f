/* Loan, publish and return on the publisher's side: a free chunk lent,
 * its header written, fanned out to every connection and kept as history
 * (publisher.h). The holds it takes and lets go are P1's (pool.c),
 * the deliveries P5's (connection.c), the wait for room P6's (lossless.c).
 *
 * Loan and publish each come twice: the common case, a leaf that looks
 * at everything that could make it otherwise before it changes anything,
 * and the general path (loan_general, publish_general), which it calls
 * (a tail call) when one look says so. A leaf's only calls are tail calls,
 * so it saves no registers: a fifth of what a call of the general path
 * cost was its prologue and epilogue.
 */
#include "zloan/error.h"

#include "../../clock.h"
#include "../../error_detail.h"
#include "hot_path.h"

/* Lends the top free chunk of the segment in table slot `slot`, of class
 * k (it has one): P1's first hold, the user's. Inline (always) in
 * both loans. */
static inline __attribute__((always_inline)) void lend(zl__mw_publisher *pub, uint32_t k,
                                                       uint32_t slot, void **payload,
                                                       zl__mw_loan_handle *handle)
{
    segment *seg = &pub->segments[slot];
    uint32_t top = seg->free_top - 1;
    uint32_t chunk = seg->free_stack[top];
    seg->free_top = top;
    if (top == 0)
        pub->class_free[k] &= ~((uint64_t)1 << slot);
    seg->holders[chunk] = HOLD_LENT; /* P1: free until now */
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
}

/* Every loan that is not the common case below. */
static __attribute__((noinline)) int loan_general(zl__mw_publisher *pub, size_t size,
                                                  void **payload, zl__mw_loan_handle *handle)
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
    lend(pub, k, slot, payload, handle);
    return 0;
}

int zl__shm_publisher_return_loan(zl__mw_publisher *pub, zl__mw_loan_handle handle)
{
    /* handle is outstanding (mw.h): the client library's record says so. */
    let_go(pub, handle, HOLD_LENT);
    zl__store_relaxed(&pub->counters->returned, ++pub->returned_total);
    return 0;
}

/* Every publish that is not the common case below. It reads the clock
 * again (the common case read it first): after a wait for a lossless
 * subscription, the time stamp is the delivery's, as it always was. */
static __attribute__((noinline)) int publish_general(zl__mw_publisher *pub,
                                                     zl__mw_loan_handle handle, size_t size)
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

/* The loan, common case first: the liveness monitor runs (its coarse
 * clock is a load) and the periodic part is not due, and the class has a
 * free chunk. Otherwise loan_general, before anything changed (a tail
 * call: this path saves no registers). The rest is loan_general's. */
int zl__shm_publisher_loan(zl__mw_publisher *pub, size_t size, void **payload,
                           zl__mw_loan_handle *handle)
{
    if (!pub->monitored)
        return loan_general(pub, size, payload, handle);
    int64_t now = zl__monitor_coarse_ns();
    uint32_t k = zl__pub_class_of(size);
    uint64_t bits = pub->class_free[k];
    if (now >= pub->next_liveness_ns || bits == 0)
        return loan_general(pub, size, payload, handle);
    pub->last_call_ns = now; /* zl__pub_tick */
    lend(pub, k, (uint32_t)__builtin_ctzll(bits), payload, handle);
    return 0;
}

/* The fast publish's last step when a subscription sleeps: the wake-ups
 * (the fence is issued). Out of line: the fast publish stays a leaf. */
static __attribute__((noinline)) int publish_wake(zl__mw_publisher *pub, uint32_t delivered)
{
    zl__pub_wake_sleepers(pub, delivered);
    return 0;
}

/* The publish, common case first: no peer changed, returns that pass P2,
 * and every connection under its budget with room in its ring
 * (zl__pub_has_room: P5, and P6 for a lossless one). Otherwise publish_general,
 * before the header is written (a tail call: this path saves no registers
 * but around the clock, which it reads first). Its steps are
 * publish_general's with the common case's branches: drain
 * (zl__pub_drain_returns with take_back), header, pushes (zl__pub_push),
 * history, the publication's hold let go (P1), the wake-ups
 * (zl__pub_wake_delivered, the sleepers' call out of line). Its loops
 * stay in one body: a leaf calls nothing it returns from. */
int zl__shm_publisher_publish_loan(zl__mw_publisher *pub, zl__mw_loan_handle handle, size_t size)
{
    int64_t now = zl__realtime_ns();
    uint32_t connected = pub->connected_mask;
    if (zl__registry_generation(&pub->registry) != pub->seen_generation ||
        pub->pending_mask != 0)
        return publish_general(pub, handle, size);
    for (uint32_t mask = connected; mask != 0; mask &= mask - 1) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        connection *c = &pub->connections[j];
        /* Acquire: R2, as in zl__pub_drain_returns. */
        uint64_t tail = zl__load_acquire(&c->ret.index->tail);
        uint64_t p = c->return_head;
        if (tail != p) {
            if (tail - p > zl__ring_capacity(&c->ret))
                return publish_general(pub, handle, size); /* R1: it marks it broken */
            while (p != tail && take_back(pub, j, zl__return_entry(&c->ret, p)))
                p++;
            c->return_head = p;
            zl__return_consumed(&c->ret, p);
            if (p != tail)
                return publish_general(pub, handle, size); /* it counts the bogus one */
        }
        /* P6 (zl__pub_wait_for_room) and P5 (zl__pub_deliver_fast), looked
         * at before anything is delivered, once the returns are in. */
        if (!zl__pub_has_room(pub, c))
            return publish_general(pub, handle, size); /* it reclaims or waits */
    }
    segment *seg = zl__pub_lent_segment(pub, handle);
    zl__chunk_header *header =
        (zl__chunk_header *)(void *)chunk_base(seg, zl__entry_chunk(handle));
    header->sequence = ++pub->sequence;
    header->timestamp_ns = now;
    header->payload_size = size;
    for (uint32_t mask = connected; mask != 0; mask &= mask - 1) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        zl__pub_push(pub, &pub->connections[j], j, handle);
    }
    if (pub->history_capacity != 0)
        zl__pub_keep_history(pub, handle);
    let_go(pub, handle, HOLD_LENT);
    zl__pub_count_published(pub, 1, size, now);
    if (connected == 0)
        return 0;
    /* zl__pub_wake_delivered: the fence, then a look at each one's
     * sleepers here, the wake-up out of line. */
    zl__fence_seq_cst();
    for (uint32_t mask = connected; mask != 0; mask &= mask - 1) {
        zl__queue_shm *q = pub->connections[__builtin_ctz(mask)].queue;
        if (zl__load_relaxed(&q->sleepers) != 0)
            return publish_wake(pub, mask);
    }
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
