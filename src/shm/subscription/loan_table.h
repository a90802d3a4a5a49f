/* The shared-memory subscription's loan table (subscription.h `held`): a
 * chunk's header read once and the loan held (take.c, take_batch.c), the
 * slot placed by a hash of the payload's address and found from it
 * (returns.c, return_batch.c). The invariants are returns.c's: S1 and S5
 * (a held loan stays held until it is pushed back), S3 (slot states), and
 * S9 (placement).
 */
#ifndef ZL_SHM_SUBSCRIPTION_LOAN_TABLE_H
#define ZL_SHM_SUBSCRIPTION_LOAN_TABLE_H

#include "../../address_table.h"
#include "subscription.h"

/* take.c and take_batch.c: a chunk's header read once, and the loan held. */

/* What a take uses of a chunk's header, each field read once (the
 * publisher may rewrite the header at any time; I3 checks the copy). The
 * header's identity (publisher, chunk, segment) is not read: the payload's
 * address comes from the entry and our own geometry of the segment, never
 * from the header, so a header that lies about it changes nothing we do. */
typedef struct header_copy {
    uint64_t sequence;
    int64_t timestamp_ns;
    uint64_t payload_size;
    uint64_t user_offset; /* read for user segments only */
} header_copy;

static inline void zl__sub_read_header(const segment_view *segment, const zl__chunk_header *at,
                               header_copy *copy)
{
    copy->sequence = ZL__READ_ONCE(at->sequence);
    copy->timestamp_ns = ZL__READ_ONCE(at->timestamp_ns);
    copy->payload_size = ZL__READ_ONCE(at->payload_size);
    copy->user_offset = segment->user ? ZL__READ_ONCE(at->user_offset) : 0;
}

/* S9 (returns.c): the home slot of the loan at payload, by a multiplicative
 * hash of its address (its top bits), in [0, held_capacity). */
static inline uint32_t zl__sub_home(const zl__mw_subscription *sub, uintptr_t payload)
{
    return zl__address_home(payload, sub->home_shift);
}

/* S9: the first FREE slot after home (which is not FREE), round the
 * table. Owner thread. One is FREE: the caller found as many FREE slots
 * as it places loans before it claimed their entries (a single take its
 * witness, a batched take one per entry), and only the owner fills slots;
 * so the loop ends with a slot found (its last line is never reached).
 * Inline (always): a call would make the take's common case save
 * registers (take.c). */
static inline __attribute__((always_inline)) uint32_t zl__sub_place_after(zl__mw_subscription *sub,
                                                                          uint32_t home)
{
    uint32_t k = home;
    for (uint32_t n = 1; n < sub->held_capacity; n++) {
        k = (k + 1) & (sub->held_capacity - 1); /* a power of two */
        /* Acquire: as in zl__sub_hold. */
        if (zl__load_acquire(&sub->held[k].state) == HELD_FREE)
            return k;
    }
    return home;
}

/* Holds the validated chunk in the loan table (S1, S5) and returns its
 * payload: in its home slot, or the first FREE one after it (S9; the
 * caller found a FREE slot for it first, zl__sub_claim or take_batch.c count_free). */
static inline const void *zl__sub_hold(zl__mw_subscription *sub, connection *c,
                               uint32_t entry, segment_view *segment,
                               const zl__chunk_header *at, const header_copy *header)
{
    const uint8_t *data = segment->user
                              ? (const uint8_t *)segment->user_map.base + header->user_offset
                              : (const uint8_t *)at + segment->geometry.payload_offset;
    uint32_t k = zl__sub_home(sub, (uintptr_t)data);
    /* Acquire pairs with the flusher's release store of FREE: its reads of
     * the slot come before our writes. */
    if (zl__load_acquire(&sub->held[k].state) != HELD_FREE)
        k = zl__sub_place_after(sub, k);
    if (k == sub->claim_cursor) /* the next take's witness: a guess it checks */
        sub->claim_cursor = k + 1 == sub->held_capacity ? 0 : k + 1;
    held *slot = &sub->held[k];
    slot->connection = c;
    slot->entry = entry;
    slot->sequence = header->sequence;
    slot->attachment = c->attachment;
    slot->segment = segment; /* S2: mapped while this slot is not FREE */
    zl__store_relaxed(&slot->payload, (uintptr_t)data);
    /* Release: the fields above are visible to any thread that sees HELD
     * (returners' acquire loads). */
    zl__store_release(&slot->state, HELD_LOANED);
    /* Relaxed: a hint for returners (find_held), checked against the slot. */
    zl__store_relaxed(&sub->last_held, k);
    return data;
}

/* returns.c and return_batch.c: the loan table's slots. */

/* Whether slot h is in state (LOANED or RETURNING) with the loan at
 * payload. Any thread. */
static inline bool holds_in(held *h, const void *payload, uint32_t state)
{
    /* Acquire pairs with the owner's release store of HELD. */
    return zl__load_acquire(&h->state) == state &&
           zl__load_relaxed(&h->payload) == (uintptr_t)payload;
}

/* The slot in state with the loan at payload, or NULL, looking at slot
 * `first` first, then at every slot after it in turn (S9: from its home, a
 * loan is found within the run of slots that were taken when it was
 * placed). Any thread. */
held *zl__sub_find_in(zl__mw_subscription *sub, const void *payload, uint32_t state,
                      uint32_t first);

#endif
