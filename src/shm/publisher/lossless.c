/* Lossless connections (ZL_LOSSLESS): the room a publish needs on each,
 * the publisher's sleep until a subscription makes it, and the wake-ups
 * (publisher.h).
 *
 * Invariant (I1 of docs/design.md, from the publisher's side)
 *   P6. Lossless connections (the subscription's record says ZL_LOSSLESS)
 *       are never reclaimed from. A publish first makes sure that every
 *       lossless connection has room for one more entry: fewer than `depth`
 *       queued and fewer than chunks_per_subscription outstanding (queued,
 *       held or on the way back). Until then it delivers to no one; it
 *       sleeps (wait_for_room) and either every lossless connection has
 *       room or max_blocking_time passed and nothing was published (the
 *       loan stays the user's). Since only the publisher adds entries and
 *       outstanding chunks, room seen once stays until it delivers. Its
 *       sleep ends on the subscription's wake-up (it took an entry or
 *       returned a chunk; the store-buffer protocol of notify.h with the
 *       roles swapped: the publisher sets publisher_sleeping, fences and
 *       looks at head and the return tail; the subscription moves them,
 *       fences and looks at publisher_sleeping), on a change of the
 *       registry's generation (a peer came, left or died: the liveness
 *       monitor bumps it and wakes its sleepers), or, when no monitor
 *       runs, after WAIT_SLICE_NS (to test peers' locks itself). Values the subscription
 *       writes only make the connection look full or broken: the deadline
 *       is ours, so no value makes a publish wait longer than its bound.
 */
#include <time.h>

#include "zloan/error.h"

#include "../../clock.h"
#include "../../error_detail.h"
#include "../../futex.h"
#include "hot_path.h"

/* Whether lossless connection j can take one more entry (P6): 1 yes, 0
 * not now, ZL_ECORRUPT when its positions break R1 (ring.h). Returns not
 * drained yet do not count: they make room only once drain_returns took
 * them (see returns_waiting). */
static int room_state(const zl__mw_publisher *pub, connection *c)
{
    if (c->held >= pub->chunks_per_subscription)
        return 0; /* its whole budget is out: room comes back through returns */
    if (c->deliver_tail - c->deliver_head_seen < c->depth)
        return 1; /* head only grows: the cached one bounds the fill */
    /* Acquire pairs with the subscription's CAS that moved head (ring.h R4),
     * as in zl__deliver_reclaim_oldest: the slot below it has been read. */
    uint64_t head = zl__load_acquire(&c->deliver.index->head);
    uint64_t fill = c->deliver_tail - head;
    if (fill > zl__ring_capacity(&c->deliver))
        return ZL_ECORRUPT;
    c->deliver_head_seen = head;
    return fill < c->depth;
}

/* The first lossless connection without room, or NO_CONNECTION; drops the
 * broken ones on the way. */
static uint32_t blocking_connection(zl__mw_publisher *pub)
{
    uint32_t mask = pub->lossless_mask & pub->connected_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        int room = room_state(pub, &pub->connections[j]);
        if (room < 0)
            zl__pub_mark_broken(pub, j, "moved its deliver ring's head out of range");
        else if (room == 0)
            return j;
    }
    return NO_CONNECTION;
}

/* Whether connection c has returns that drain_returns has not taken yet
 * (or a broken return ring): then do not sleep, drain. */
bool zl__pub_returns_waiting(const connection *c)
{
    uint64_t tail;
    return zl__return_available(&c->ret, c->return_head, &tail) != 0;
}

/* One sleep of wait_for_room on connection j: until its subscription makes
 * room, the registry's generation leaves `generation`, a slice passes or
 * the deadline. */
static void sleep_for_room(zl__mw_publisher *pub, uint32_t j, uint32_t generation,
                           int64_t deadline)
{
    connection *c = &pub->connections[j];
    zl__atomic_u32 *sleeping = &c->shm->publisher_sleeping;
    zl__futex_waiter words[2];
    /* The words are read before the flag goes up: a waker takes the flag
     * down (zl__notify_room) and bumps the word after, so any bump that
     * answers our flag makes the futex call return at once, even when the
     * flag it took down leaves later takes silent. Acquire pairs with the
     * subscription's release increment of publisher_wake. */
    zl__futex_waiter_set(&words[0], &c->shm->publisher_wake,
                         zl__load_acquire(&c->shm->publisher_wake), 1);
    /* The monitor bumps the generation when a peer dies (liveness.c). */
    zl__futex_waiter_set(&words[1], &pub->registry.shm->generation,
                         zl__registry_generation(&pub->registry), 1);
    /* seq_cst store and fence: our flag is ordered before the room check
     * below, as the subscription's head CAS or return tail store is before
     * its load of the flag (wake_publisher in subscription/subscription.h): at least one
     * of us sees the other (notify.h, roles swapped). */
    atomic_store_explicit(sleeping, 1, memory_order_seq_cst);
    zl__fence_seq_cst();
    int64_t now = zl__monotonic_ns();
    if (room_state(pub, c) == 0 && !zl__pub_returns_waiting(c) && words[1].val == generation &&
        now < deadline) {
        /* With the liveness monitor, a death bumps the generation (one of
         * our words): no slice, so a lost wake-up would show as a timeout. */
        int64_t until = !pub->monitored && deadline - now > WAIT_SLICE_NS ? now + WAIT_SLICE_NS
                                                                         : deadline;
        struct timespec at = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
        zl__futex_waitv(words, 2, &at); /* woken, timed out or interrupted: look again */
    }
    /* Relaxed: a waker may have taken it down already; a flag left up only
     * costs the subscription one needless wake-up. */
    zl__store_relaxed(sleeping, 0);
}

/* P6: returns 0 when every lossless connection has room for one more
 * entry, ZL_ETIMEOUT when one had none for max_blocking_time. */
int zl__pub_wait_for_room_slow(zl__mw_publisher *pub)
{
    uint32_t j = blocking_connection(pub);
    if (j == NO_CONNECTION)
        return 0;
    pub->blocked++;
    int64_t deadline = zl__monotonic_ns() + pub->max_blocking_ns;
    uint32_t counted = 0;
    for (;;) {
        /* Read before zl__pub_update(): a change after this read may have escaped
         * zl__pub_update(), and it keeps sleep_for_room from sleeping (a death the
         * monitor reported meanwhile would otherwise be slept through). */
        uint32_t generation = zl__registry_generation(&pub->registry);
        zl__pub_update(pub, false);
        zl__pub_drain_returns(pub);
        j = blocking_connection(pub);
        if (j == NO_CONNECTION)
            return 0;
        connection *c = &pub->connections[j];
        if (!(counted & (1u << j))) {
            counted |= 1u << j;
            /* Relaxed: a statistic the subscription reads with relaxed. */
            zl__store_relaxed(&c->shm->held_back, ++c->held_back);
        }
        if (pub->max_blocking_ns == 0 || zl__monotonic_ns() >= deadline) {
            pub->timeouts++;
            return zl__fail(ZL_ETIMEOUT,
                            "lossless subscription %016llx of topic %s had no room for %lld ns "
                            "(%u queued of %u, %u of %u chunks out): nothing was published",
                            (unsigned long long)c->subscription_id, pub->registry.topic,
                            (long long)pub->max_blocking_ns,
                            (unsigned)(c->deliver_tail - c->deliver_head_seen), c->depth,
                            c->held, pub->chunks_per_subscription);
        }
        sleep_for_room(pub, j, generation, deadline);
    }
}

/* Unmaps the pool and frees the private state. */
void zl__shm_publisher_waitable(zl__mw_publisher *pub, zl__mw_waitable *waitable)
{
    zl__pub_update(pub, false);
    zl__pub_drain_returns(pub);
    uint32_t j = blocking_connection(pub);
    waitable->count = 0;
    waitable->sleepers = NULL;
    waitable->sleepers_is_flag = false;
    if (j != NO_CONNECTION) {
        waitable->words[waitable->count++] = &pub->connections[j].shm->publisher_wake;
        waitable->sleepers = &pub->connections[j].shm->publisher_sleeping;
        waitable->sleepers_is_flag = true;
    }
    waitable->words[waitable->count++] = &pub->registry.shm->generation;
    waitable->slice_ns = pub->monitored ? 0 : WAIT_SLICE_NS; /* as above (P6) */
}

bool zl__shm_publisher_ready(zl__mw_publisher *pub)
{
    /* A peer came or went: say "ready" and let the publish find out. */
    if (zl__registry_generation(&pub->registry) != pub->seen_generation)
        return true;
    uint32_t mask = pub->lossless_mask & pub->connected_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        connection *c = &pub->connections[j];
        if (room_state(pub, c) == 0 && !zl__pub_returns_waiting(c))
            return false;
    }
    return true;
}
