/* Batched returns (zl_subscription_return_loans), from any thread: the
 * whole batch checked first, then under the return token every entry
 * written, one release store of tail per connection and one S6 fence for
 * the batch (subscription.h). The invariants are returns.c's (S1, S3, S4,
 * S5, S8), the same for a batch as for one return: a batch is returns.c's
 * slot moves done for several slots while the token is held once.
 */
#include "zloan/error.h"

#include "../../error_detail.h"
#include "subscription.h"

/* Whether payloads[i] is one of payloads[0 .. i - 1]. */
static bool repeated(const void *const *payloads, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (payloads[j] == payloads[i])
            return true;
    return false;
}

/* Token held: moves the slot of every loan of the batch from LOANED to
 * RETURNING (S3: the CAS makes exactly one return of a loan win), chained
 * in the batch's order from *first (batch_next), or none of them: 0, or
 * ZL_EINVAL (a loan twice) or ZL_ENOTLOAN (one not held), with every slot
 * as it was. Found in the order given, each looked for first after the one
 * before (a batch returned as it was taken: one comparison each); the
 * chain spares the writing of the batch a second search. */
static int begin_returns(zl__mw_subscription *sub, const void *const *payloads, size_t count,
                         held **first)
{
    /* Relaxed: a hint, as in find_held. */
    uint32_t k = zl__load_relaxed(&sub->return_hint);
    held *last = NULL;
    for (size_t i = 0; i < count; i++) {
        held *h = zl__sub_find_in(sub, payloads[i], HELD_LOANED, k);
        uint32_t expected = HELD_LOANED;
        if (h != NULL && zl__cas_acq_rel(&h->state, &expected, HELD_RETURNING)) {
            k = zl__sub_slot_after(sub, h);
            if (last != NULL)
                last->batch_next = h;
            else
                *first = h;
            last = h;
            continue;
        }
        /* Undo: no flush runs while we hold the token, so the i slots we
         * moved are still RETURNING, and ours. */
        held *back = *first;
        for (size_t j = 0; j < i; j++, back = back->batch_next)
            /* Release: as the owner's store of HELD. */
            zl__store_release(&back->state, HELD_LOANED);
        if (repeated(payloads, i))
            return zl__fail(ZL_EINVAL, "messages[%zu] (%p) appears twice in the batch", i,
                            payloads[i]);
        return zl__fail(ZL_ENOTLOAN,
                        "messages[%zu] (%p) is not a loan held from this subscription", i,
                        payloads[i]);
    }
    return 0;
}

/* Token held: writes the entry of slot h (RETURNING) on its connection's
 * return ring without publishing it (the caller stores the tail once per
 * connection, R2) and frees the slot: true; false when the ring is full
 * (the slot stays RETURNING for a later flush, S4). *dirty and *user get
 * the connection's bit when an entry was written (of user memory, S8). */
static bool write_return(zl__mw_subscription *sub, held *h, uint32_t *dirty, uint32_t *user)
{
    connection *c = h->connection;
    if (c->return_key == h->attachment) {
        uint64_t position = c->return_tail;
        bool room = position - c->return_head_seen < zl__ring_capacity(&c->ret);
        if (!room) {
            /* Acquire pairs with the publisher's release store of head
             * (R3), as in zl__return_push. */
            uint64_t head = zl__load_acquire(&c->ret.index->head);
            if (position - head == zl__ring_capacity(&c->ret))
                return false;
            room = position - head < zl__ring_capacity(&c->ret);
            if (room)
                c->return_head_seen = head;
            else
                zl__sub_peer_error(sub, c->publisher_id,
                                   "moved its return ring's head out of range");
        }
        if (room) {
            /* Relaxed: published by the caller's release store of tail. */
            zl__store_relaxed(&c->ret.entries[position & c->ret.mask], h->entry);
            c->return_tail = position + 1;
            uint32_t bit = 1u << (uint32_t)(c - sub->connections);
            *dirty |= bit;
            if (h->segment->user)
                *user |= bit;
        }
    }
    /* Release: as in push_slot (our reads of the slot come first). */
    zl__store_release(&h->state, HELD_FREE);
    return true;
}

/* Returns a batch: validated whole first (begin_returns), under the token
 * (waited for: its holders keep it for a bounded amount of work), then
 * every entry written, one release store of tail per connection, one S6
 * fence and look for the batch (S8's per connection of user memory). */
int zl__shm_subscription_return_loans(zl__mw_subscription *sub, const void *const *payloads,
                                      size_t count)
{
    token_acquire_spinning(sub);
    held *h = NULL;
    int rc = begin_returns(sub, payloads, count, &h);
    if (rc != 0) {
        token_release(sub);
        zl__sub_flush(sub); /* S4: returns counted while we held the token */
        return rc;
    }
    uint32_t dirty = 0, user = 0, full = 0;
    uint32_t k = 0;
    for (size_t i = 0; i < count; i++) {
        held *next = h->batch_next; /* before the slot may be FREE again */
        k = zl__sub_slot_after(sub, h);
        if (!write_return(sub, h, &dirty, &user))
            full++;
        h = next;
    }
    for (uint32_t mask = dirty; mask != 0; mask &= mask - 1) {
        connection *c = &sub->connections[__builtin_ctz(mask)];
        /* Publishes the entries written; pairs with the acquire load in
         * zl__return_available (R2). */
        zl__store_release(&c->ret.index->tail, c->return_tail);
    }
    if (sub->lossless && dirty != 0) {
        /* S6, once for the batch: as in wake_publisher. */
        zl__fence_seq_cst();
        for (uint32_t mask = dirty; mask != 0; mask &= mask - 1) {
            zl__connection_shm *shm = sub->connections[__builtin_ctz(mask)].shm;
            zl__notify_room(&shm->publisher_wake, &shm->publisher_sleeping);
        }
    }
    for (uint32_t mask = user; mask != 0; mask &= mask - 1)
        zl__sub_wake_completion(sub, (uint32_t)__builtin_ctz(mask));
    /* Relaxed: a hint for the next return, as in find_held. */
    zl__store_relaxed(&sub->return_hint, k);
    sub->returned_total += count - full;
    /* Relaxed: a statistic for tools, as in push_slot. */
    zl__store_relaxed(&sub->counters->returned, sub->returned_total);
    if (full != 0)
        /* Their rings are full: counted, for a later flush to push (S4). */
        atomic_fetch_add_explicit(&sub->returning, full, memory_order_seq_cst);
    token_release(sub);
    zl__sub_flush(sub); /* S4 */
    return 0;
}
