/* Batched returns (zl_subscription_return_loans), from any thread: the
 * whole batch checked first, then under the return token every entry
 * written, one release store of tail per connection and one S6 fence for
 * the batch (subscription.h). The invariants are returns.c's (S1, S3, S4,
 * S5, S8), the same for a batch as for one return: a batch is returns.c's
 * slot moves done for several slots while the token is held once.
 *
 * Finding the batch's slots costs O(count) expected, in any order: each
 * loan is looked for from its home slot (S9, begin_returns). When the looks
 * run past a budget of held_capacity + count (a loan given twice, one not
 * held, or slots crowded), the batch is sorted by address in scratch
 * allocated at creation and found in one pass over the table
 * (claim_sorted): O(count log count + held_capacity), never
 * O(count * held_capacity). The token is held for a bounded amount of
 * work, whatever the batch (S4's waiters spin on it).
 */
#include "zloan/error.h"

#include "../../error_detail.h"
#include "loan_table.h"

/* Token held: moves slot k from LOANED with the loan at payload to
 * RETURNING (S3: the CAS makes exactly one return of a loan win). No slot
 * goes from RETURNING to FREE while we hold the token (flushes take it),
 * so the slot's payload cannot change between the look and the CAS. */
static bool claim(zl__mw_subscription *sub, uint32_t k, const void *payload)
{
    held *h = &sub->held[k];
    uint32_t expected = HELD_LOANED;
    return holds_in(h, payload, HELD_LOANED) &&
           zl__cas_acq_rel(&h->state, &expected, HELD_RETURNING);
}

/* Token held: the first n slots of the batch back to LOANED (they are still
 * RETURNING, and ours: see claim). */
static void unclaim(zl__mw_subscription *sub, size_t n)
{
    for (size_t i = 0; i < n; i++)
        /* Release: as the owner's store of HELD. */
        zl__store_release(&sub->held[sub->batch_slots[i]].state, HELD_LOANED);
}

static bool entry_before(const batch_entry *a, const batch_entry *b)
{
    return a->payload != b->payload ? a->payload < b->payload : a->index < b->index;
}

/* Heap sort of e[0 .. n - 1] by (payload, index): no allocation, no
 * recursion, O(n log n) whatever the order given. */
static void sift_down(batch_entry *e, size_t root, size_t n)
{
    batch_entry top = e[root];
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && entry_before(&e[child], &e[child + 1]))
            child++;
        if (!entry_before(&top, &e[child]))
            break;
        e[root] = e[child];
    }
    e[root] = top;
}

static void sort_entries(batch_entry *e, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(e, i, n);
    for (size_t end = n; end-- > 1;) {
        batch_entry t = e[0];
        e[0] = e[end];
        e[end] = t;
        sift_down(e, 0, end);
    }
}

/* The first entry of sorted e[0 .. n - 1] for payload (of its run of equal
 * payloads, the one earliest in the batch), or NULL. */
static batch_entry *find_entry(batch_entry *e, size_t n, uintptr_t payload)
{
    size_t low = 0, high = n;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (e[mid].payload < payload)
            low = mid + 1;
        else
            high = mid;
    }
    return low < n && e[low].payload == payload ? &e[low] : NULL;
}

/* Token held: begin_returns for a batch whose looks ran past the budget
 * (a loan twice, one not held, or slots crowded), in
 * O(n log n + held_capacity) for n elements: sorted by address, duplicates
 * are neighbours, and one pass over the table finds every element's slot
 * (a binary search each). The element that fails is the first in the
 * batch's order that is a loan given before or no loan held, as when they
 * are looked at in turn. Only the first held_capacity + 1 elements are
 * looked at: the table has held_capacity slots, so one of those fails
 * whenever the batch is longer. */
static int claim_sorted(zl__mw_subscription *sub, const void *const *payloads, size_t count)
{
    size_t n = count <= sub->held_capacity ? count : sub->held_capacity + 1u;
    batch_entry *e = sub->batch_entries;
    for (size_t i = 0; i < n; i++)
        e[i] = (batch_entry){(uintptr_t)payloads[i], (uint32_t)i, UINT32_MAX};
    sort_entries(e, n);
    for (uint32_t k = 0; k < sub->held_capacity; k++) {
        held *h = &sub->held[k];
        /* Acquire pairs with the owner's release store of HELD. */
        if (zl__load_acquire(&h->state) != HELD_LOANED)
            continue;
        batch_entry *found = find_entry(e, n, zl__load_relaxed(&h->payload));
        if (found != NULL)
            found->slot = k; /* a loan is in one slot only */
    }
    size_t failed = n;
    bool twice = false;
    for (size_t i = 0; i < n; i++) {
        bool again = i > 0 && e[i].payload == e[i - 1].payload;
        if ((again || e[i].slot == UINT32_MAX) && e[i].index < failed) {
            failed = e[i].index;
            twice = again;
        }
        if (!again)
            sub->batch_slots[e[i].index] = e[i].slot;
    }
    if (failed == n && n < count)
        failed = n - 1; /* cannot be: n distinct loans in fewer slots */
    if (failed == n) { /* n == count: each element a loan, in its own slot */
        for (size_t i = 0; i < count; i++) {
            if (!claim(sub, sub->batch_slots[i], payloads[i])) {
                /* Another thread's return of it won since the pass (S3). */
                unclaim(sub, i);
                failed = i;
                break;
            }
        }
        if (failed == n)
            return 0;
    }
    if (twice)
        return zl__fail(ZL_EINVAL, "messages[%zu] (%p) appears earlier in the batch too", failed,
                        payloads[failed]);
    return zl__fail(ZL_ENOTLOAN, "messages[%zu] (%p) is not a loan held from this subscription",
                    failed, payloads[failed]);
}

/* Token held: moves the slot of every loan of the batch from LOANED to
 * RETURNING (claim), their slots in sub->batch_slots in the batch's order,
 * or none of them: 0, or ZL_EINVAL (a loan twice) or ZL_ENOTLOAN (one not
 * held), with every slot as it was. Each element is looked for from its
 * home slot on (S9), so each is found in O(1) expected looks, whatever the
 * order; once held_capacity + count slots have been looked at, the whole
 * batch goes to claim_sorted. */
static int begin_returns(zl__mw_subscription *sub, const void *const *payloads, size_t count)
{
    size_t looks = (size_t)sub->held_capacity + count;
    for (size_t i = 0; i < count; i++) {
        uint32_t k = zl__sub_home(sub, (uintptr_t)payloads[i]);
        while (!claim(sub, k, payloads[i])) {
            k = k + 1 == sub->held_capacity ? 0 : k + 1;
            if (--looks == 0) {
                unclaim(sub, i);
                return claim_sorted(sub, payloads, count);
            }
        }
        sub->batch_slots[i] = k; /* i < held_capacity: each claimed slot is another */
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
    int rc = begin_returns(sub, payloads, count);
    if (rc != 0) {
        token_release(sub);
        zl__sub_flush(sub); /* S4: returns counted while we held the token */
        return rc;
    }
    uint32_t dirty = 0, user = 0, full = 0;
    for (size_t i = 0; i < count; i++) {
        held *h = &sub->held[sub->batch_slots[i]];
        if (!write_return(sub, h, &dirty, &user))
            full++;
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
