/* Publishers' loans: the records of C1 (publisher_object.h), and loan,
 * publish and return of a loan, whatever its origin.
 *
 * Invariants this file enforces: C1, C2, C3 and C4 of publisher_object.h.
 * Publish and return find the record by the pointer and hand the transport
 * its handle, so the transport looks nothing up. The record lent last is
 * looked at first (one loan at a time, or the newest of several, costs one
 * comparison), then the loan's home record and those after it (C4: O(1)
 * expected, whatever max_loans and the order). A pointer no record holds
 * (never lent, published or returned already, another publisher's) is
 * ZL_ENOTLOAN, and nothing reaches the transport.
 */
#include <string.h>

#include "zloan/error.h"
#include "zloan/publisher.h"

#include "context.h"
#include "error_detail.h"
#include "publisher_object.h"

typedef zl__loan_record loan_record;

loan_record *zl__publisher_find_from(zl_publisher *p, const void *message, uint32_t from)
{
    uint32_t records = p->records, k = from;
    for (uint32_t n = 0; n < records; n++) {
        if (p->loans[k].pointer == message)
            return &p->loans[k];
        k = k + 1 == records ? 0 : k + 1;
    }
    return NULL;
}

/* find_record when the record lent last is not it: from the home on (C4). */
static loan_record *find_record_hashed(zl_publisher *p, const void *message)
{
    loan_record *record = zl__publisher_find_from(p, message, zl__publisher_home(p, message));
    if (record == NULL)
        zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this publisher", message);
    return record;
}

/* The record of the loan at message (not NULL), looking at the record lent
 * last first, or NULL with a detail. Inline: that look is the common case
 * of every publish and return. */
static inline loan_record *find_record(zl_publisher *p, const void *message)
{
    if (p->loans[p->last_lent].pointer == message)
        return &p->loans[p->last_lent];
    return find_record_hashed(p, message);
}

/* C4: the free record a loan at message takes, its home or the first free
 * one after it; one is free (loans_held < max_loans: half the table). */
static __attribute__((noinline)) uint32_t place_after(zl_publisher *p, uint32_t home)
{
    return (uint32_t)(zl__publisher_find_from(p, NULL, home) - p->loans);
}

static inline uint32_t place(zl_publisher *p, const void *message)
{
    uint32_t k = zl__publisher_home(p, message);
    return p->loans[k].pointer == NULL ? k : place_after(p, k);
}

/* What publish and return do first: clears the detail and finds the
 * record of the loan the user holds at message: 0, ZL_EINVAL (NULL) or
 * ZL_ENOTLOAN, each with a detail. */
static inline int find_loan(zl_publisher *p, const void *message, loan_record **record)
{
    zl__clear_detail();
    if (p == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    *record = find_record(p, message);
    return *record != NULL ? 0 : ZL_ENOTLOAN;
}

int zl__publisher_count_refused(const zl_publisher *p, size_t count)
{
    if (!p->sized)
        return zl__fail(ZL_EINVAL, "type '%s' has a fixed size: the count must be 0",
                        p->type.name);
    if (p->type.max_count != 0)
        return zl__fail(ZL_EINVAL, "%zu elements exceed the %zu that type '%s' allows", count,
                        p->type.max_count, p->type.name);
    return zl__fail(ZL_EINVAL, "%zu elements of type '%s' exceed 1 TiB", count, p->type.name);
}

/* Every loan that is not fast_loan's common case; refused: the transport
 * answered ZL_ENOTSUP to this loan already (it is not asked again). */
static __attribute__((noinline)) int loan(zl_publisher *publisher, size_t count, void **message,
                                          bool refused)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    zl_publisher *p = publisher;
    int rc = zl__publisher_check_count(p, count);
    if (rc != 0)
        return rc;
    if (p->loans_held >= p->max_loans)
        return zl__fail(ZL_ETOOMANYLOANS, "the publisher's %u loans are all held", p->max_loans);
    size_t bytes = zl__publisher_loan_bytes(p, count);
    void *memory;
    zl__mw_loan_handle handle = 0;
    /* A transport may refuse one loan (ZL_ENOTSUP): the allocator lends. */
    rc = p->can_loan && !refused ? p->mw->publisher_loan(p->impl, bytes, &memory, &handle)
                                 : ZL_ENOTSUP;
    bool from_allocator = rc == ZL_ENOTSUP;
    if (rc != 0 && !from_allocator)
        return rc;
    if (from_allocator) {
        memory = zl__context_allocate(p->context, bytes, p->type.alignment);
        if (memory == NULL)
            return zl__fail(ZL_ENOMEM, "the allocator failed for a loan of %zu bytes", bytes);
        if (!p->type.plain)
            memset(memory, 0, bytes); /* its pointers start out NULL */
    }
    uint32_t k = place(p, memory);
    loan_record *record = &p->loans[k];
    record->pointer = memory;
    record->count = count;
    record->bytes = bytes;
    record->from_allocator = from_allocator;
    record->handle = handle;
    p->loans_held++;
    p->last_lent = k;
    *message = memory;
    return 0;
}

/* The loan, common case first: the transport lends and the count is
 * allowed; the record is the loan's home, or the first free one after it
 * (C4). Anything else is loan()'s. Inline (always) in both public
 * loans. */
static inline __attribute__((always_inline)) int fast_loan(zl_publisher *publisher, size_t count,
                                                           void **message)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return loan(publisher, count, message, false);
    zl_publisher *p = publisher;
    /* count_max is 0 for a fixed-size type (zl__publisher_check_count). */
    if (!p->can_loan || count > p->count_max || p->loans_held >= p->max_loans)
        return loan(publisher, count, message, false);
    size_t bytes = zl__publisher_loan_bytes(p, count);
    void *memory;
    zl__mw_loan_handle handle;
    int rc = p->mw->publisher_loan(p->impl, bytes, &memory, &handle);
    if (rc != 0)
        return rc == ZL_ENOTSUP ? loan(publisher, count, message, true) : rc;
    uint32_t k = place(p, memory);
    loan_record *record = &p->loans[k];
    record->pointer = memory;
    record->handle = handle;
    record->count = count;
    record->bytes = bytes;
    record->from_allocator = false;
    p->loans_held++;
    p->last_lent = k;
    *message = memory;
    return 0;
}

int zl_publisher_loan_sized(zl_publisher *publisher, size_t count, void **message)
{
    return fast_loan(publisher, count, message);
}

int zl_publisher_loan(zl_publisher *publisher, void **message)
{
    return fast_loan(publisher, 0, message);
}

static inline void release_record(zl_publisher *p, loan_record *record)
{
    if (record->from_allocator)
        zl__publisher_free_message(p, record->pointer, record->bytes);
    record->pointer = NULL; /* free: a loan sets every other field */
    p->loans_held--;
}

/* Publishes the loan of record (count elements); on error the caller
 * keeps it (C2). */
static inline __attribute__((always_inline)) int
publish_record(zl_publisher *publisher, loan_record *record, void *message, size_t count)
{
    if (count > record->count)
        return zl__fail(ZL_EINVAL, "%zu elements published from a loan made for %zu", count,
                        record->count);
    int rc = record->from_allocator
                 ? zl__publisher_publish_copy(publisher, message, count)
                 : publisher->mw->publisher_publish_loan(
                       publisher->impl, record->handle,
                       zl__publisher_filled_bytes(publisher, count));
    if (rc != 0)
        return rc; /* the caller keeps the loan */
    release_record(publisher, record);
    return 0;
}

/* Publishes the loan at message: count elements, or (whole) as many as it
 * was made for. Every publish that is not fast_publish's common case. */
static __attribute__((noinline)) int publish_loan(zl_publisher *publisher, void *message,
                                                  size_t count, bool whole)
{
    loan_record *record = NULL;
    int rc = find_loan(publisher, message, &record);
    if (rc != 0)
        return rc;
    return publish_record(publisher, record, message, whole ? record->count : count);
}

/* The publish, common case first: the loan is the one lent last, from the
 * transport, and the count within it. Anything else is publish_loan()'s.
 * Inline (always) in both public publishes. */
static inline __attribute__((always_inline)) int
fast_publish(zl_publisher *publisher, void *message, size_t count, bool whole)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return publish_loan(publisher, message, count, whole);
    zl_publisher *p = publisher;
    uint32_t k = p->last_lent;
    loan_record *record = &p->loans[k];
    if (whole)
        count = record->count;
    if (record->pointer != message || record->from_allocator || count > record->count)
        return publish_loan(publisher, message, count, whole);
    int rc = p->mw->publisher_publish_loan(p->impl, record->handle,
                                           zl__publisher_filled_bytes(p, count));
    if (rc != 0)
        return rc; /* the caller keeps the loan (C2) */
    record->pointer = NULL; /* release_record, for a transport loan */
    p->loans_held--;
    return 0;
}

int zl_publisher_publish_loan_sized(zl_publisher *publisher, void *message, size_t count)
{
    return fast_publish(publisher, message, count, false);
}

int zl_publisher_publish_loan(zl_publisher *publisher, void *message)
{
    return fast_publish(publisher, message, 0, true);
}

int zl_publisher_return_loan(zl_publisher *publisher, void *message)
{
    loan_record *record = NULL;
    int rc = find_loan(publisher, message, &record);
    if (rc != 0)
        return rc;
    if (!record->from_allocator) {
        rc = publisher->mw->publisher_return_loan(publisher->impl, record->handle);
        if (rc != 0)
            return rc;
    }
    release_record(publisher, record);
    return 0;
}
