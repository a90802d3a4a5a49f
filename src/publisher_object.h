/* Internal: the publisher object as the three files of the client library's
 * publisher share it.
 *   publisher.c       create, destroy, statistics, what wait sets and user
 *                     memory need
 *   publisher_loan.c  the loan records: loan, publish and return of a loan
 *   publisher_copy.c  the copy path: publishing the user's own memory, and
 *                     the refusal path's publish of an allocator loan
 *   publisher_batch.c several loans published in one call
 *
 * Invariants
 *   C1. Every loan the user holds is one record of `loans` (pointer, size,
 *       origin, the transport's handle), whatever its origin, and
 *       loans_held counts the records in use: at most max_loans. A record
 *       is freed exactly when its loan is published or returned without
 *       error, so the transport is handed each handle it lent once, and
 *       only while it is outstanding (mw.h).
 *   C2. On error nothing changes: a failing publish or return leaves the
 *       record (and the loan) with the user.
 *   C3. Allocator memory (from_allocator) never reaches the transport's
 *       publish_loan or return_loan; transport memory never reaches the
 *       allocator.
 *   C4. A loan's record is found from its pointer. `loans` has
 *       `records` records, the power of two at or above 2 * max_loans; a
 *       loan takes its home record (a
 *       multiplicative hash of its address, zl__publisher_home) or, when
 *       that is in use, the first free one after it, round the table. The
 *       records between a loan's home and its record were in use when it
 *       was placed, so a look from the home finds it within as many looks
 *       as the placement made: O(1) expected, the table being at most half
 *       full, in whatever order loans are published or returned. Only a
 *       pointer that is no loan (ZL_ENOTLOAN) is looked for in every
 *       record.
 * The publisher's thread alone touches the records (zloan/publisher.h).
 */
#ifndef ZL_PUBLISHER_OBJECT_H
#define ZL_PUBLISHER_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/publisher.h"

#include "address_table.h"
#include "atomic.h"
#include "context.h"
#include "mw.h"

typedef struct zl__loan_record {
    void *pointer;                 /* NULL: the record is free */
    size_t count;                  /* sized types: tail elements it has room for */
    size_t bytes;                  /* bytes lent */
    bool from_allocator;           /* the refusal path's memory, else the transport's */
    zl__mw_loan_handle handle;     /* the transport's name for it */
} zl__loan_record;

struct zl_publisher {
    zl_context *context;
    const zl__mw_ops *mw;
    zl__mw_publisher *impl;
    zl__topic_place place; /* among the context's transports */
    zl_type type;
    char type_name[ZL_TYPE_NAME_MAX];
    bool can_loan;
    bool sized;
    /* Sized types: the most tail elements a loan or message may have
     * (max_count, or what keeps it under 1 TiB), resolved at creation; 0
     * for a fixed-size type (its count is 0). */
    size_t count_max;
    /* What a loan's bytes are rounded up with (zl__publisher_loan_bytes):
     * alignment - 1 for a sized type, 0 for a fixed-size one (its size is
     * what it is). */
    size_t round;
    /* A non-plain type on a transport that copies: where its
     * serialization goes before the transport copies it (serialized_size_max
     * bytes, allocated at creation), else NULL. */
    void *scratch;
    uint32_t max_loans;
    uint32_t loans_held; /* records in use (C1) */
    uint32_t last_lent;  /* the record lent last: where publish looks first */
    uint32_t records;    /* zl__publisher_records(max_loans) (C4) */
    uint32_t home_shift; /* what hashes an address into them (zl__publisher_home) */
    zl__loan_record *loans;
    /* A batch's scratch (publisher_batch.c), max_loans entries each, in
     * the block of `loans` (zl__publisher_table_bytes): a batch of
     * distinct loans has at most max_loans, and none is allocated per
     * call. */
    size_t *batch_sizes;
    zl__mw_loan_handle *batch_handles;
    uint32_t *batch_records;
    zl__atomic_u32 attachments; /* wait-set entries naming it (destroy refuses) */
    uint32_t memories;          /* user memories registered (destroy refuses) */
};

/* Records of the loan table (C4): the power of two at or above
 * 2 * max_loans. */
static inline uint32_t zl__publisher_records(uint32_t max_loans)
{
    return (uint32_t)1 << zl__address_table_bits(2 * max_loans);
}

/* Bytes of the block that holds the loan records and a batch's scratch. */
static inline size_t zl__publisher_table_bytes(uint32_t max_loans)
{
    return sizeof(zl__loan_record) * zl__publisher_records(max_loans) +
           (sizeof(size_t) + sizeof(zl__mw_loan_handle) + sizeof(uint32_t)) * max_loans;
}

/* Points the batch scratch into the block of p->loans. */
static inline void zl__publisher_table_split(zl_publisher *p)
{
    p->batch_sizes = (size_t *)(void *)(p->loans + p->records);
    p->batch_handles = (zl__mw_loan_handle *)(void *)(p->batch_sizes + p->max_loans);
    p->batch_records = (uint32_t *)(void *)(p->batch_handles + p->max_loans);
}

/* C4: the home record of the loan at message, in [0, records): the top
 * bits of a multiplicative hash of its address. */
static inline uint32_t zl__publisher_home(const zl_publisher *p, const void *message)
{
    return zl__address_home((uintptr_t)message, p->home_shift);
}

/* C4: the record at message (NULL: a free one), looking from record
 * `from` on, round the table; NULL when none is (publisher_loan.c). */
zl__loan_record *zl__publisher_find_from(zl_publisher *p, const void *message, uint32_t from);

/* Finalizes and frees a message the allocator lent (C3). */
static inline void zl__publisher_free_message(zl_publisher *p, void *message, size_t bytes)
{
    if (!p->type.plain && p->type.fini != NULL)
        p->type.fini(message, &p->context->allocator);
    zl__context_deallocate(p->context, message, bytes, p->type.alignment);
}

/* Bytes a message of count elements fills: the fixed part and the
 * elements, not rounded (subscriptions derive the count from it). A
 * fixed-size type's element_size and count are 0: no branch. */
static inline size_t zl__publisher_filled_bytes(const zl_publisher *p, size_t count)
{
    return p->type.size + count * p->type.element_size;
}

/* zl_type_message_size, inline: the bytes a loan of count elements (a
 * checked count) lends, rounded up to the alignment for a sized type. */
static inline size_t zl__publisher_loan_bytes(const zl_publisher *p, size_t count)
{
    return (zl__publisher_filled_bytes(p, count) + p->round) & ~p->round;
}

/* The failure of zl__publisher_check_count (publisher_loan.c), out of the
 * way of the loan's path. */
__attribute__((cold, noinline)) int zl__publisher_count_refused(const zl_publisher *p,
                                                                size_t count);

/* Whether count elements may be lent or published. Inline: a fixed-size
 * type's check is one comparison. */
static inline int zl__publisher_check_count(const zl_publisher *p, size_t count)
{
    if (!p->sized)
        return count != 0 ? zl__publisher_count_refused(p, count) : 0;
    return count > p->count_max ? zl__publisher_count_refused(p, count) : 0;
}

/* Copies or serializes message (count elements, checked) into a transport
 * loan and publishes it; through the transport's copy when it refuses to
 * lend (publisher_copy.c). On error nothing was published. */
int zl__publisher_publish_copy(zl_publisher *p, const void *message, size_t count);

#endif
