/* The publisher's hot path, inline: what loan and publish do in the common
 * case, in private memory and with the fewest shared accesses (a generation
 * load, a return tail load per connection, the deliver push), each calling
 * out of line (connection.c, lossless.c, pool.c) only when something
 * changed or ran out. The invariants are those of the files named. */
#ifndef ZL_SHM_PUBLISHER_HOT_PATH_H
#define ZL_SHM_PUBLISHER_HOT_PATH_H

#include "publisher.h"

/* The smallest class whose chunks hold size bytes: a few instructions on
 * the loan's path, no loop. */
static inline uint32_t zl__pub_class_of(uint64_t size)
{
    if (size <= CLASS_MIN_PAYLOAD)
        return 0;
    uint64_t last = size - 1; /* the class holds last + 1 bytes */
    uint32_t log2 = 63u - (uint32_t)__builtin_clzll(last); /* base <= last < 2 * base */
    if (log2 < CLASS_FINE_LOG2)
        return log2 + 1u - 6u; /* the power of two above last: 64 << k */
    uint64_t base = (uint64_t)1 << log2;
    uint32_t k = CLASS_FINE_FIRST + 1u + CLASS_STEPS * (log2 - CLASS_FINE_LOG2) +
                 (uint32_t)((last - base) / (base / CLASS_STEPS));
    return k < CLASSES ? k : CLASSES - 1;
}

/* The segment of class k a loan takes a free chunk from, or NONE: the
 * lowest table slot that has one (segments made later, in higher slots,
 * fall idle first). */
static inline uint32_t zl__pub_pick_free(const zl__mw_publisher *pub, uint32_t k)
{
    uint64_t bits = pub->class_free[k];
    return bits != 0 ? (uint32_t)__builtin_ctzll(bits) : NONE;
}

/* Pushes entry into connection c (j), room made: its outstanding bit (P2:
 * its hold, P1) and its budget (P5). */
static inline int zl__pub_push(zl__mw_publisher *pub, connection *c, uint32_t j, uint32_t entry)
{
    zl__deliver_push(&c->deliver, &c->deliver_tail, c->mirror, entry);
    pub->segments[zl__entry_slot(entry)].holders[zl__entry_chunk(entry)] |= holder_bit(j);
    c->held++;
    return DELIVER_PUSHED;
}

/* Whether connection c takes one more entry with no reclaim, within its
 * budget (P5; for a lossless one, P6's room): from private memory when the
 * cached head (which only grows) shows room, else with one acquire load of
 * the real head (R4/R5, as zl__deliver_reclaim_oldest would first). False
 * sends the caller to its general path, which decides: it reclaims, waits,
 * or finds the ring out of range (R1: a fill above the capacity is above
 * depth as well). */
static inline bool zl__pub_has_room(const zl__mw_publisher *pub, connection *c)
{
    if (c->held >= pub->chunks_per_subscription)
        return false;
    if (c->deliver_tail - c->deliver_head_seen < c->depth)
        return true;
    uint64_t head = zl__load_acquire(&c->deliver.index->head);
    if (c->deliver_tail - head >= c->depth)
        return false;
    c->deliver_head_seen = head;
    return true;
}

/* zl__pub_deliver, its common case (zl__pub_has_room) inline. */
static inline int zl__pub_deliver_fast(zl__mw_publisher *pub, uint32_t j, uint32_t entry)
{
    connection *c = &pub->connections[j];
    if (!zl__pub_has_room(pub, c))
        return zl__pub_deliver(pub, j, entry);
    return zl__pub_push(pub, c, j, entry);
}

/* What every call does first: one acquire load of the registry's
 * generation and a look at the pending claims; the scan only when they
 * changed. */
static inline void zl__pub_look_for_peers(zl__mw_publisher *pub)
{
    if (zl__registry_generation(&pub->registry) != pub->seen_generation ||
        pub->pending_mask != 0)
        zl__pub_update_peers(pub);
}

/* The coarse clock (the monitor's reading of it while the monitor runs:
 * no clock call on the loan's path), and the periodic part when it is due. */
static inline void zl__pub_tick(zl__mw_publisher *pub, bool force_liveness)
{
    int64_t now = pub->monitored ? zl__monitor_coarse_ns() : zl__coarse_ns();
    int64_t previous_call = pub->last_call_ns;
    pub->last_call_ns = now;
    if (force_liveness || now >= pub->next_liveness_ns)
        zl__pub_liveness(pub, force_liveness, now, previous_call);
}

/* Takes back what connection j returned up to tail (P2, P4). Inline
 * (always: the compiler would not, and a call's saved registers cost a
 * fifth of it): on every publish that follows a return, the common case. */
static inline __attribute__((always_inline)) void
zl__pub_drain_connection(zl__mw_publisher *pub, uint32_t j, uint64_t tail)
{
    connection *c = &pub->connections[j];
    /* R1 (ring.h): an honest subscription's tail is at most a ring ahead. */
    if (tail - c->return_head > zl__ring_capacity(&c->ret)) {
        zl__pub_mark_broken(pub, j, "moved its return ring's tail out of range");
        return;
    }
    for (uint64_t p = c->return_head; p != tail; p++)
        if (!take_back(pub, j, zl__return_entry(&c->ret, p)))
            zl__pub_bogus_return(pub, j);
    c->return_head = tail;
    zl__return_consumed(&c->ret, tail);
}

/* Takes back what subscriptions returned (P2, P4): one acquire load of
 * each connection's return tail when nothing came back. Inline, always,
 * as above. */
static inline __attribute__((always_inline)) void
zl__pub_drain_returns(zl__mw_publisher *pub)
{
    uint32_t mask = pub->connected_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        connection *c = &pub->connections[j];
        /* Acquire pairs with the release store of tail in zl__return_push
         * (R2): the entries below it are visible. */
        uint64_t tail = zl__load_acquire(&c->ret.index->tail);
        if (tail != c->return_head)
            zl__pub_drain_connection(pub, j, tail);
    }
}

/* P6: 0 when every lossless connection has room for one more entry
 * (zl__pub_has_room), else zl__pub_wait_for_room_slow decides, and waits. */
static inline int zl__pub_wait_for_room(zl__mw_publisher *pub)
{
    for (uint32_t mask = pub->lossless_mask & pub->connected_mask; mask != 0; mask &= mask - 1)
        if (!zl__pub_has_room(pub, &pub->connections[__builtin_ctz(mask)]))
            return zl__pub_wait_for_room_slow(pub);
    return 0;
}

/* The segment of a loan the client library holds: handle is one our loan
 * gave and that was neither published nor returned since (mw.h: the
 * client's private loan record, found by the pointer, is the proof), so
 * it is not looked up or checked again. */
static inline segment *zl__pub_lent_segment(zl__mw_publisher *pub, zl__mw_loan_handle handle)
{
    return &pub->segments[zl__entry_slot(handle)];
}

/* Appends entry (held: it is being published) to the history, its hold
 * (P1), letting the oldest go when it is full. */
static inline void zl__pub_keep_history(zl__mw_publisher *pub, uint32_t entry)
{
    pub->segments[zl__entry_slot(entry)].holders[zl__entry_chunk(entry)] |= HOLD_HISTORY;
    if (pub->history_len == pub->history_capacity)
        let_go(pub, pub->history[pub->history_next], HOLD_HISTORY);
    else
        pub->history_len++;
    pub->history[pub->history_next] = entry;
    pub->history_next = (pub->history_next + 1) % pub->history_capacity;
}

/* Wakes the sleepers of the connections in delivered, the fence issued
 * (notify.h). */
static inline void zl__pub_wake_sleepers(zl__mw_publisher *pub, uint32_t delivered)
{
    while (delivered != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(delivered);
        delivered &= delivered - 1;
        zl__queue_shm *q = pub->connections[j].queue;
        zl__notify_after_deliver(&q->wake, &q->sleepers);
    }
}

/* The wake-ups after a delivery to the connections in delivered: one
 * fence (it orders our tail stores before the sleepers loads), then each
 * one's sleepers. */
static inline void zl__pub_wake_delivered(zl__mw_publisher *pub, uint32_t delivered)
{
    if (delivered == 0)
        return;
    zl__fence_seq_cst();
    zl__pub_wake_sleepers(pub, delivered);
}

/* The statistics of a publish (or a batch's part), for tools: relaxed
 * stores, read with relaxed loads, stored last, from locals (an atomic
 * store makes the compiler reload what it had in registers). */
static inline void zl__pub_count_published(zl__mw_publisher *pub, uint64_t messages,
                                           uint64_t size, int64_t timestamp_ns)
{
    uint64_t published = pub->published += messages;
    uint64_t bytes = pub->bytes += size;
    zl__endpoint_counters *counters = pub->counters;
    zl__store_relaxed(&counters->messages, published);
    zl__store_relaxed(&counters->bytes, bytes);
    zl__store_relaxed(&counters->last_ns, (uint64_t)timestamp_ns);
}

/* Delivers a chunk whose header is written and which the publication
 * holds (HOLD_LENT: the user's loan, or the user memory's publication) to
 * every connection, wakes sleepers, keeps it as history when asked, then
 * lets the publication's hold go (P1): the chunk is free again only if
 * nobody took it. No step before lets it go (a reclaim takes a
 * connection's older entries back, never the one being delivered; the
 * history lets go of its oldest, another chunk). */
static inline void zl__pub_fan_out(zl__mw_publisher *pub, uint32_t handle, bool history,
                                   size_t size, int64_t timestamp_ns)
{
    uint32_t delivered = 0;
    for (uint32_t mask = pub->connected_mask; mask != 0; mask &= mask - 1) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        if (zl__pub_deliver_fast(pub, j, handle) == DELIVER_PUSHED)
            delivered |= 1u << j;
    }
    zl__pub_wake_delivered(pub, delivered);
    if (history)
        zl__pub_keep_history(pub, handle);
    let_go(pub, handle, HOLD_LENT);
    zl__pub_count_published(pub, 1, size, timestamp_ns);
}

#endif
