/* Batched publish on the publisher's side: several loans delivered in
 * parts, each part pushed into every connection with one release store of
 * its deliver tail, one seq_cst fence and one look for sleepers per
 * connection, after one look for peers and one drain of returns per part
 * (publisher.h). Every entry of a part keeps what a single publish keeps
 * (publish.c); docs/design.md defines the two invariants a batch adds:
 *
 *   P10. Parts. A part has at most `depth` entries for every connected
 *        subscription (so the pushes between two drains of its return ring
 *        stay within what P4 sizes it for) and, for every lossless one, no
 *        more than it has room for (P6: queue and budget); a lossless one
 *        with no room makes the batch wait as a single publish waits
 *        (zl__pub_wait_for_room_slow, max_blocking_time per wait), and a
 *        timeout ends the batch with the parts published so far. Room seen
 *        once stays: only the publisher adds entries and outstanding chunks.
 *   P11. Room before the entries (R5, P5). Before writing a part's n
 *        entries into a keep-last connection, the publisher reclaims its
 *        oldest entries until it holds at most depth - n (and, over budget,
 *        until it holds none); entries that still exceed the budget are the
 *        part's oldest, counted as lost for it and not pushed. So every
 *        position written is below head + depth, and the entries it
 *        reclaims are below the tail it stored last: never an entry of the
 *        part (whose tail is not stored yet), never a lossless connection's
 *        (which has room by P10).
 *
 * The part's entries are written, then the tail moves past all of them with
 * one release store (R2), after every chunk header of the part was
 * written. Holds (P1): each push sets its connection's bit in the chunk's
 * holders at once, the history its own, and the loan's hold is let go
 * after the part, so neither a reclaim nor the history letting go of its
 * oldest can free a chunk still being delivered.
 */
#include "zloan/error.h"

#include "../../clock.h"
#include "hot_path.h"

/* P10: room of lossless connection j for up to `want` more entries:
 * fewer when its queue or its budget holds fewer (0: none), looking at the
 * real head only when the cached one says short. */
static uint32_t lossless_room(zl__mw_publisher *pub, uint32_t j, uint32_t want)
{
    connection *c = &pub->connections[j];
    if (c->held >= pub->chunks_per_subscription)
        return 0;
    uint32_t budget = pub->chunks_per_subscription - c->held;
    uint64_t fill = c->deliver_tail - c->deliver_head_seen;
    if (fill + want > c->depth) {
        /* Acquire pairs with the subscription's CAS that moved head (ring.h
         * R4), as in room_state (lossless.c): the slots below it were read. */
        uint64_t head = zl__load_acquire(&c->deliver.index->head);
        if (c->deliver_tail - head > zl__ring_capacity(&c->deliver)) {
            zl__pub_mark_broken(pub, j, "moved its deliver ring's head out of range");
            return want; /* dropped: it holds nothing back */
        }
        c->deliver_head_seen = head;
        fill = c->deliver_tail - head;
    }
    uint32_t room = fill >= c->depth ? 0 : c->depth - (uint32_t)fill;
    return room < budget ? room : budget;
}

/* P10: entries the next part may carry, at most `left` (0: a lossless
 * connection has no room). */
static uint32_t part_size(zl__mw_publisher *pub, size_t left)
{
    uint32_t n = left < UINT32_MAX ? (uint32_t)left : UINT32_MAX;
    uint32_t mask = pub->connected_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        if (pub->connections[j].depth < n)
            n = pub->connections[j].depth;
        if (pub->lossless_mask & (1u << j)) {
            uint32_t room = lossless_room(pub, j, n);
            if (room < n)
                n = room;
        }
    }
    return n;
}

/* Counts `lost` messages lost for connection c (keep-last, or its budget). */
static void count_lost_batch(zl__mw_publisher *pub, connection *c, uint32_t lost)
{
    c->lost += lost;
    pub->dropped += lost;
    /* Relaxed: a statistic; the subscription reads it with relaxed too. */
    zl__store_relaxed(&c->shm->lost, c->lost);
}

/* P11: reclaims from keep-last connection j until n more entries fit its
 * queue (and its budget, if it can). Returns the entries of the part that
 * still do not fit its budget (the oldest, lost for it), or n + 1 when the
 * connection broke and was dropped. */
static uint32_t make_room(zl__mw_publisher *pub, uint32_t j, uint32_t n)
{
    connection *c = &pub->connections[j];
    uint32_t budget = pub->chunks_per_subscription;
    uint32_t lost = 0;
    for (;;) {
        bool over = c->held + n > budget;
        uint32_t oldest;
        /* Holds at least `keep`: reclaim. n <= depth (P10), so keep >= 1. */
        uint32_t keep = over ? 1 : c->depth - n + 1;
        int rc = zl__deliver_reclaim_oldest(&c->deliver, c->deliver_tail, c->mirror, keep,
                                            &c->deliver_head_seen, &oldest);
        if (rc < 0) {
            zl__pub_mark_broken(pub, j, "moved its deliver ring's head out of range");
            return n + 1;
        }
        if (rc == 0)
            break;
        take_back(pub, j, oldest);
        lost++;
    }
    uint32_t skip = c->held + n > budget ? c->held + n - budget : 0;
    if (lost + skip != 0)
        count_lost_batch(pub, c, lost + skip);
    return skip;
}

/* P11, R2, P1: delivers the part's n entries to connection j; true when it
 * pushed any. */
static bool deliver_part(zl__mw_publisher *pub, uint32_t j, const uint32_t *entries, uint32_t n)
{
    uint32_t skip = make_room(pub, j, n);
    if (skip >= n)
        return false;
    connection *c = &pub->connections[j];
    uint64_t tail = c->deliver_tail;
    uint32_t bit = holder_bit(j);
    for (uint32_t i = skip; i < n; i++, tail++) {
        uint32_t entry = entries[i];
        zl__deliver_write(&c->deliver, tail, c->mirror, entry);
        segment *seg = &pub->segments[zl__entry_slot(entry)];
        seg->holders[zl__entry_chunk(entry)] |= bit; /* P2, its hold (P1) */
    }
    c->held += n - skip; /* P5 */
    /* One release store for the part, after every header of it (R2). */
    zl__deliver_publish(&c->deliver, &c->deliver_tail, tail);
    return true;
}

/* Publishes a part: headers, the pushes into every connection, the
 * wake-ups, the history, then the loans' holds (P1). Returns its bytes. */
static uint64_t publish_part(zl__mw_publisher *pub, const zl__mw_loan_handle *handles,
                             const size_t *sizes, uint32_t n, int64_t now)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        segment *seg = zl__pub_lent_segment(pub, handles[i]);
        zl__chunk_header *header =
            (zl__chunk_header *)(void *)chunk_base(seg, zl__entry_chunk(handles[i]));
        header->sequence = ++pub->sequence;
        header->timestamp_ns = now;
        header->payload_size = sizes[i];
        bytes += sizes[i];
    }
    uint32_t mask = pub->connected_mask;
    uint32_t delivered = 0;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        if (deliver_part(pub, j, handles, n))
            delivered |= 1u << j;
    }
    zl__pub_wake_delivered(pub, delivered);
    for (uint32_t i = 0; i < n; i++) {
        if (pub->history_capacity != 0)
            zl__pub_keep_history(pub, handles[i]);
        let_go(pub, handles[i], HOLD_LENT); /* the loan's hold (P1) */
    }
    return bytes;
}

int zl__shm_publisher_publish_loans(zl__mw_publisher *pub, const zl__mw_loan_handle *handles,
                                    const size_t *sizes, size_t count, size_t *published)
{
    /* handles are outstanding and distinct, sizes within the loans (mw.h). */
    zl__pub_look_for_peers(pub);
    size_t done = 0;
    int rc = 0;
    int64_t now = 0;
    uint64_t bytes = 0;
    while (done < count) {
        zl__pub_drain_returns(pub);
        uint32_t n = part_size(pub, count - done);
        if (n == 0) {
            /* P10: as a single publish waits; it drains and looks for
             * peers itself. */
            rc = zl__pub_wait_for_room_slow(pub);
            if (rc != 0)
                break;
            continue;
        }
        now = zl__realtime_ns();
        bytes += publish_part(pub, handles + done, sizes + done, n, now);
        done += n;
    }
    *published = done;
    if (done != 0)
        zl__pub_count_published(pub, done, bytes, now); /* once per batch */
    return rc;
}
