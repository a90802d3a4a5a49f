/* Loans the user gives back, from any thread: the loan table's slots, the
 * return token and the pushes onto the return rings (subscription.h).
 *
 * Invariants (I1 of docs/design.md, from the subscription's side)
 *   S1. A chunk the subscription took from a deliver ring stays "held" (a
 *       slot of `held` in state HELD or RETURNING) until its index is pushed
 *       on that connection's return ring, or the connection is gone. The
 *       publisher reuses it only after it drained that return
 *       (publisher/pool.c P1, publisher/connection.c P2), so a held loan is never overwritten.
 *   S3. Threads. The take path and reconfiguration run on the owner thread
 *       (one at a time, per the API). Returns may come from any thread: a
 *       returner moves its slot HELD -> RETURNING (CAS: exactly one return
 *       wins) and then whoever holds `return_token` pushes every RETURNING
 *       slot to its ring and frees it. The token holder is the only thread
 *       that writes return rings or frees slots; the owner takes the token
 *       before it changes a connection, so the two never overlap.
 *   S4. No return is lost: a returner that finds the token taken
 *       increments `returning` before it tries the token again; the holder
 *       re-reads `returning` after releasing the token and takes it again
 *       when work is left (a store-buffer pattern, hence seq_cst on those
 *       four operations). A returner that finds the token free takes it
 *       before it moves its slot to RETURNING and pushes that slot itself:
 *       no other thread scans while it holds the token, so the slot is never
 *       counted (unless its ring is full: then it counts it before it
 *       releases the token).
 *   S5. The loan limit counts the user's loans, not the slots, and the
 *       client library keeps it (mw.h: its count of the user's loans, one
 *       layer's, is decremented once our return_loan returned 0, so a
 *       return that returned 0 no longer counts against the limit, even
 *       while its slot waits for the token holder): at most loans_max slots
 *       are LOANED at once. The table has room for loans_max slots that
 *       wait for the token holder besides those; should they all be taken,
 *       the owner waits for the token and pushes them itself
 *       (claim_or_flush).
 *   S8. Every return of a chunk of user memory pushed on connection j is
 *       followed by a seq_cst fence and a look at publisher slot j's
 *       completion_sleeping flag in the registry (layout.h): the same
 *       protocol as S6, for a publisher's thread that waits until a message
 *       of its user memory completes (publisher/user_memory.c M1).
 *   S9. Placement. A loan is held in its home slot (zl__sub_home, a hash
 *       of its address) or, when that is not FREE, in the first FREE slot
 *       after it, round the table; the owner places it only after it found
 *       a FREE slot (its witness), so one exists. Slots between a loan's
 *       home and its slot were taken when it was placed, so a return that
 *       looks from the home finds it after as many looks as the placement
 *       made: O(1) expected while the table is at most half full (at most
 *       half are loans, S5; returns waiting for the token holder fill it
 *       further, and only then do the looks grow), whatever order loans
 *       are returned in. Only a pointer that is no loan (an error) is
 *       looked for in every slot.
 */
#include "zloan/error.h"

#include "../../error_detail.h"
#include "loan_table.h"

/* Pushes slot h, which is RETURNING, on its connection's return ring and
 * frees it (S3): true; false when that ring is full (the slot stays
 * RETURNING: the publisher drains soon, P4, and a later flush retries).
 * Caller holds the token; it accounts for `returning` (S4). */
static inline __attribute__((always_inline)) bool push_slot(zl__mw_subscription *sub, held *h)
{
    connection *c = h->connection;
    /* The loan's connection, attached as when it was taken, not draining. */
    if (c->return_key == h->attachment) {
        int rc = zl__return_push(&c->ret, &c->return_tail, &c->return_head_seen, h->entry);
        if (rc == ZL_EEXHAUSTED)
            return false;
        if (rc != 0)
            zl__sub_peer_error(sub, c->publisher_id, "moved its return ring's head out of range");
        else {
            wake_publisher(sub, c->shm);
            if (h->segment->user)
                zl__sub_wake_completion(sub, (uint32_t)(c - sub->connections));
        }
    }
    /* Release: the slot's reuse by the owner comes after our last read
     * of its fields (pairs with the owner's acquire load in claim_slot),
     * and S2's look at the slot (a retired segment is unmapped once no
     * slot that is not FREE names it). */
    zl__store_release(&h->state, HELD_FREE);
    /* Relaxed: a statistic for tools; the token orders us after the
     * previous holder's store. */
    zl__store_relaxed(&sub->counters->returned, ++sub->returned_total);
    return true;
}

/* Pushes slot h if it is RETURNING and counted in `returning` (S4): true
 * when it freed it. Caller holds the token. */
static inline __attribute__((always_inline)) bool flush_slot(zl__mw_subscription *sub, held *h)
{
    /* Acquire pairs with the returner's CAS to RETURNING (and, through
     * it, with the owner's release store of HELD): the fields are set. */
    if (zl__load_acquire(&h->state) != HELD_RETURNING || !push_slot(sub, h))
        return false;
    atomic_fetch_sub_explicit(&sub->returning, 1, memory_order_seq_cst);
    return true;
}

/* Pushes every RETURNING slot (S3), looking first at slot `first` (the one
 * the caller returned: with one return pending, the only slot it reads).
 * Caller holds the token. Returns how many slots it freed. */
/* Inline: the return path's one call of it is the common case. */
static inline __attribute__((always_inline)) uint32_t flush_locked(zl__mw_subscription *sub,
                                                                   uint32_t first)
{
    /* Stop once the slots counted in `returning` at entry are done; later
     * ones are seen by the caller's loop (S4). */
    uint32_t pending = atomic_load_explicit(&sub->returning, memory_order_seq_cst);
    uint32_t freed = flush_slot(sub, &sub->held[first]) ? 1u : 0u;
    /* The common case ends here: one return pending, the caller's. */
    uint32_t k = first;
    for (uint32_t n = 1; n < sub->held_capacity && freed < pending; n++) {
        k = k + 1 == sub->held_capacity ? 0 : k + 1;
        if (flush_slot(sub, &sub->held[k]))
            freed++;
    }
    return freed;
}

/* Pushes pending returns unless another thread is at it (then it will),
 * from slot `first` on. */
void zl__sub_flush_from(zl__mw_subscription *sub, uint32_t first)
{
    while (atomic_load_explicit(&sub->returning, memory_order_seq_cst) != 0) {
        if (atomic_exchange_explicit(&sub->return_token, 1, memory_order_seq_cst) != 0)
            return; /* the holder re-checks `returning` after it releases (S4) */
        uint32_t freed = flush_locked(sub, first);
        token_release(sub);
        if (freed == 0)
            return; /* only full rings left: the next take or return retries */
    }
}

/* A FREE slot, the next take's witness (S9), looking from the claim
 * cursor on. */
static uint32_t claim_slot(zl__mw_subscription *sub)
{
    uint32_t k = sub->claim_cursor;
    for (uint32_t n = 0; n < sub->held_capacity; n++) {
        /* Acquire pairs with the flusher's release store of FREE. */
        if (zl__load_acquire(&sub->held[k].state) == HELD_FREE) {
            sub->claim_cursor = k;
            return k;
        }
        k = k + 1 == sub->held_capacity ? 0 : k + 1;
    }
    return UINT32_MAX;
}

/* A free slot for the next loan (S5). Only the owner claims slots, so a
 * slot found FREE stays FREE until the owner uses it.
 * When every slot is taken by the user's loans and returns that wait for
 * the token holder, take the token (its holder does a bounded amount of
 * work) and push them here. UINT32_MAX only when the returns cannot be
 * pushed: a return ring that stays full, which an honest publisher never
 * leaves (publisher/connection.c P4). Owner thread. */
uint32_t zl__sub_claim_or_flush(zl__mw_subscription *sub)
{
    uint32_t k = claim_slot(sub);
    if (k != UINT32_MAX)
        return k;
    token_acquire_spinning(sub);
    while (flush_locked(sub, 0) != 0) {
    }
    token_release(sub);
    return claim_slot(sub);
}

/* Drops an entry we could not use: give the chunk straight back when the
 * connection works, count it. Owner thread. */
void zl__sub_drop_entry(zl__mw_subscription *sub, connection *c, uint32_t entry)
{
    zl__sub_count_lost(sub, 1);
    if (c->pool == NULL || c->draining)
        return;
    token_acquire_spinning(sub);
    if (zl__return_push(&c->ret, &c->return_tail, &c->return_head_seen, entry) != 0)
        zl__sub_peer_error(sub, c->publisher_id, "moved its return ring's head out of range");
    else {
        wake_publisher(sub, c->shm);
        zl__sub_wake_completion(sub, (uint32_t)(c - sub->connections)); /* rare: maybe user memory */
    }
    token_release(sub);
}

static inline bool holds(held *h, const void *payload)
{
    return holds_in(h, payload, HELD_LOANED);
}

/* subscription.h */
held *zl__sub_find_in(zl__mw_subscription *sub, const void *payload, uint32_t state,
                      uint32_t first)
{
    uint32_t k = first < sub->held_capacity ? first : 0;
    for (uint32_t n = 0; n < sub->held_capacity; n++) {
        held *h = &sub->held[k];
        if (holds_in(h, payload, state))
            return h;
        k = k + 1 == sub->held_capacity ? 0 : k + 1;
    }
    return NULL;
}

/* The slot holding the loan at payload, or NULL. Any thread. The slot the
 * owner filled last is looked at first (a loan returned before the next
 * take, or the newest of several, is found with one comparison), then the
 * loan's home and the slots after it (S9: O(1) expected, whatever the
 * order of returns; a pointer that is no loan is looked for everywhere). */
static inline held *find_held(zl__mw_subscription *sub, const void *payload)
{
    /* Relaxed: only a hint; the slot's own state and payload decide. */
    uint32_t k = zl__load_relaxed(&sub->last_held);
    if (holds(&sub->held[k], payload))
        return &sub->held[k];
    return zl__sub_find_in(sub, payload, HELD_LOANED, zl__sub_home(sub, (uintptr_t)payload));
}

/* Moves the slot holding the loan at payload from LOANED to RETURNING
 * (S3: exactly one return of a loan wins): the slot, or NULL. */
static held *begin_return(zl__mw_subscription *sub, const void *payload)
{
    for (;;) {
        held *h = find_held(sub, payload);
        if (h == NULL)
            return NULL;
        uint32_t expected = HELD_LOANED;
        if (zl__cas_acq_rel(&h->state, &expected, HELD_RETURNING))
            return h;
    }
}

/* Every return that is not the common case below. */
static __attribute__((noinline)) int return_general(zl__mw_subscription *sub, const void *payload)
{
    /* The common case, the token free (S3): take it first, then move our
     * slot to RETURNING and push it ourselves. No other thread scans the
     * slots while we hold the token, so our slot need not be counted in
     * `returning`; returners that found the token taken meanwhile counted
     * theirs, and the look after our release sees them (S4). */
    if (atomic_exchange_explicit(&sub->return_token, 1, memory_order_seq_cst) == 0) {
        held *h = begin_return(sub, payload);
        if (h != NULL && !push_slot(sub, h))
            /* Its ring is full: counted, for a later flush to push (S4). */
            atomic_fetch_add_explicit(&sub->returning, 1, memory_order_seq_cst);
        token_release(sub);
        zl__sub_flush(sub); /* S4: returns counted while we held the token */
        if (h == NULL)
            return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", payload);
        return 0;
    }
    held *h = begin_return(sub, payload);
    if (h == NULL)
        return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", payload);
    /* S4: counted before we try the token (in zl__sub_flush_from). */
    atomic_fetch_add_explicit(&sub->returning, 1, memory_order_seq_cst);
    zl__sub_flush_from(sub, (uint32_t)(h - sub->held));
    return 0;
}

/* The fast path's last steps when a publisher sleeps until we make room
 * (S6): the wake-up while the token keeps the connection mapped, then the
 * token's release and S4's look. */
static __attribute__((noinline)) int return_wake(zl__mw_subscription *sub,
                                                 zl__connection_shm *shm)
{
    zl__notify_room(&shm->publisher_wake, &shm->publisher_sleeping);
    token_release(sub);
    zl__sub_flush(sub);
    return 0;
}

/* S4's look after the fast path released the token, when returns were
 * counted meanwhile. */
static __attribute__((noinline)) int return_flush(zl__mw_subscription *sub)
{
    zl__sub_flush_from(sub, 0);
    return 0;
}

/* The return, common case first: the token free, the loan in the slot
 * filled last, its connection the one it came from (return_key), room in
 * the return ring, its segment not user memory. Every look comes before
 * the CAS that frees the slot; when one says otherwise, the token goes
 * back and return_general does it all. The CAS moves the slot from LOANED
 * straight to FREE (exactly one return wins, S3): we hold the token, so no
 * flush looks at the slot, and we push its entry, read before the CAS,
 * before we let the token go (S1). A leaf: this path saves no registers. */
int zl__shm_subscription_return_loan(zl__mw_subscription *sub, const void *payload)
{
    /* seq_cst: S4, as in return_general. */
    if (atomic_exchange_explicit(&sub->return_token, 1, memory_order_seq_cst) != 0)
        return return_general(sub, payload);
    /* Relaxed: a hint, as in find_held. */
    held *h = &sub->held[zl__load_relaxed(&sub->last_held)];
    if (!holds(h, payload))
        goto general;
    connection *c = h->connection;
    uint64_t position = c->return_tail;
    uint32_t entry = h->entry;
    if (c->return_key != h->attachment || h->segment->user)
        goto general;
    if (position - c->return_head_seen >= zl__ring_capacity(&c->ret)) {
        /* zl__return_push's look at the real head (acquire: R3); full or
         * out of range is return_general's. */
        uint64_t head = zl__load_acquire(&c->ret.index->head);
        if (position - head >= zl__ring_capacity(&c->ret))
            goto general;
        c->return_head_seen = head;
    }
    uint32_t expected = HELD_LOANED;
    /* Release: our reads of the slot's fields come before the owner's
     * reuse of it (its acquire load of FREE), as push_slot's store. */
    if (!zl__cas_acq_rel(&h->state, &expected, HELD_FREE))
        goto general; /* returned meanwhile by another thread: general says so */
    /* zl__return_push with room known (R2, R3). */
    zl__store_relaxed(&c->ret.entries[position & c->ret.mask], entry);
    zl__store_release(&c->ret.index->tail, position + 1);
    c->return_tail = position + 1;
    zl__store_relaxed(&sub->counters->returned, ++sub->returned_total);
    if (sub->lossless) {
        /* S6: wake_publisher, its wake-up out of line. */
        zl__fence_seq_cst();
        if (zl__load_relaxed(&c->shm->publisher_sleeping) != 0)
            return return_wake(sub, c->shm);
    }
    token_release(sub);
    if (atomic_load_explicit(&sub->returning, memory_order_seq_cst) != 0)
        return return_flush(sub); /* S4 */
    return 0;
general:
    token_release(sub);
    return return_general(sub, payload);
}

int zl__shm_subscription_is_consistent(zl__mw_subscription *sub, const void *payload,
                                       bool *consistent)
{
    held *h = find_held(sub, payload);
    if (h == NULL)
        return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", payload);
    const zl__chunk_header *header =
        zl__segment_chunk(h->segment->map.base, &h->segment->geometry, zl__entry_chunk(h->entry));
    *consistent =
        header->sequence == h->sequence && header->publisher_id == h->segment->publisher_id;
    return 0;
}
