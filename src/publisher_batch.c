/* Publishers' batches: zl_publisher_publish_loans, several loans published
 * in one call (zloan/publisher.h).
 *
 * Invariants this file enforces, besides C1-C3 of publisher_object.h:
 *   C11. A batch is checked whole before the transport sees any of it:
 *        every element a loan record of this publisher, no record twice.
 *        So an invalid batch changes nothing, and the scratch (max_loans
 *        entries) holds a valid one: distinct records are at most
 *        max_loans.
 *   C12. Published in order: the transport (or the loop below, for
 *        allocator loans and transports without a batch) publishes a
 *        prefix messages[0..k) and says k; exactly the records of that
 *        prefix are freed (C1), the others stay the user's (C2).
 * Finding the records: each element is looked for from its home record
 * on (C4), O(1) expected whatever the order of the batch.
 */
#include <string.h>

#include "zloan/error.h"
#include "zloan/publisher.h"

#include "error_detail.h"
#include "publisher_object.h"

/* The records of the largest max_loans (publisher.c refuses more than
 * 1024): the bits of the duplicate check. */
#define BATCH_RECORDS_MAX 2048u
_Static_assert(BATCH_RECORDS_MAX >= 2 * 1024u, "zl__publisher_records(1024) records");

/* C11: finds the record of every element and fills the scratch (record,
 * handle, bytes to publish: sized loans whole). *all_lent: every loan is
 * the transport's (none from the allocator). 0, ZL_EINVAL or ZL_ENOTLOAN,
 * each with a detail naming the element; nothing changed either way. */
static int check_batch(zl_publisher *p, void *const *messages, size_t count, bool *all_lent)
{
    uint64_t seen[BATCH_RECORDS_MAX / 64];
    memset(seen, 0, sizeof(uint64_t) * ((p->records + 63) / 64));
    *all_lent = true;
    for (size_t i = 0; i < count; i++) {
        if (messages[i] == NULL)
            return zl__fail(ZL_EINVAL, "messages[%zu] is NULL: nothing was published", i);
        zl__loan_record *record =
            zl__publisher_find_from(p, messages[i], zl__publisher_home(p, messages[i]));
        if (record == NULL)
            return zl__fail(ZL_ENOTLOAN,
                            "messages[%zu] (%p) is not a loan held from this publisher: "
                            "nothing was published",
                            i, messages[i]);
        uint32_t index = (uint32_t)(record - p->loans);
        if (seen[index / 64] & ((uint64_t)1 << (index % 64)))
            return zl__fail(ZL_EINVAL,
                            "messages[%zu] (%p) appears earlier in the batch too: nothing "
                            "was published",
                            i, messages[i]);
        seen[index / 64] |= (uint64_t)1 << (index % 64);
        p->batch_records[i] = index;
        p->batch_handles[i] = record->handle;
        p->batch_sizes[i] = zl__publisher_filled_bytes(p, record->count);
        *all_lent = *all_lent && !record->from_allocator;
    }
    return 0;
}

/* C12 without the transport's batch: each loan in turn, as
 * publisher_loan.c publishes one (whole); stops at the first error. */
static int publish_each(zl_publisher *p, void *const *messages, size_t count, size_t *done)
{
    for (*done = 0; *done < count; (*done)++) {
        const zl__loan_record *record = &p->loans[p->batch_records[*done]];
        int rc = record->from_allocator
                     ? zl__publisher_publish_copy(p, messages[*done], record->count)
                     : p->mw->publisher_publish_loan(p->impl, p->batch_handles[*done],
                                                     p->batch_sizes[*done]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Frees the records of the first `done` elements (C1). */
static void release_prefix(zl_publisher *p, size_t done)
{
    for (size_t i = 0; i < done; i++) {
        zl__loan_record *record = &p->loans[p->batch_records[i]];
        if (record->from_allocator)
            zl__publisher_free_message(p, record->pointer, record->bytes);
        record->pointer = NULL; /* free: a loan sets every other field */
        p->loans_held--;
    }
}

/* The detail of a batch that failed after its first `done` (> 0) were
 * published: the cause, and what went. */
static int fail_partial(int rc, size_t done, size_t count)
{
    char *nothing = zl__detail != NULL ? strstr(zl__detail, ": nothing was published") : NULL;
    if (nothing != NULL)
        *nothing = '\0'; /* the transport's words for one message, not the batch */
    return zl__fail_more(rc, ": the first %zu of %zu were published, the others are still the "
                             "caller's",
                         done, count);
}

int zl_publisher_publish_loans(zl_publisher *publisher, void *const *messages, size_t count,
                               size_t *published)
{
    zl__clear_detail();
    if (published != NULL)
        *published = 0;
    if (publisher == NULL || messages == NULL || published == NULL)
        return zl__fail(ZL_EINVAL, "publisher, messages and published must not be NULL");
    if (count == 0)
        return zl__fail(ZL_EINVAL, "a batch of 0 loans: nothing to publish");
    zl_publisher *p = publisher;
    bool all_lent;
    int rc = check_batch(p, messages, count, &all_lent);
    if (rc != 0)
        return rc;
    size_t done = 0;
    if (all_lent && p->mw->publisher_publish_loans != NULL)
        rc = p->mw->publisher_publish_loans(p->impl, p->batch_handles, p->batch_sizes, count,
                                            &done);
    else
        rc = publish_each(p, messages, count, &done);
    release_prefix(p, done);
    *published = done;
    return rc != 0 && done != 0 ? fail_partial(rc, done, count) : rc;
}
