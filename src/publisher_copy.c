/* Publishers' copy path: publishing memory the user keeps (P1), and the
 * publish of an allocator loan on the refusal path (P3). The bytes are
 * copied (or a non-plain type serialized) into a transport loan, or, when
 * the transport does not lend, handed to its publisher_publish_copy.
 *
 * Invariants this file enforces: C2 of publisher_object.h (a transport
 * loan taken for a copy is published or given back before the call
 * returns, so no loan outlives it), C3 (the user's memory is only read).
 */
#include <string.h>

#include "zloan/error.h"
#include "zloan/publisher.h"

#include "error_detail.h"
#include "publisher_object.h"

/* Serializes a non-plain message into buf (capacity bytes): *size. */
static int serialize(zl_publisher *p, const void *message, void *buf, size_t *size)
{
    int rc = p->type.serialize(message, buf, p->type.serialized_size_max, size);
    if (rc == 0 && *size > p->type.serialized_size_max)
        rc = ZL_ESERIALIZE;
    if (rc != 0)
        return zl__fail(ZL_ESERIALIZE, "serializing a '%s' failed (%d)", p->type.name, rc);
    return 0;
}

/* The refusal path's publish: the transport does not lend, so it copies
 * the bytes itself (publisher_publish_copy), from the user's message when
 * the type is plain, else from its serialization in the scratch buffer. */
static int publish_through_transport(zl_publisher *p, const void *message, size_t count)
{
    if (p->mw->publisher_publish_copy == NULL)
        return zl__fail(ZL_ENOTSUP, "transport %s neither lends nor copies", p->mw->name);
    if (p->type.plain)
        return p->mw->publisher_publish_copy(p->impl, message,
                                             zl__publisher_filled_bytes(p, count));
    size_t size;
    int rc = serialize(p, message, p->scratch, &size);
    if (rc != 0)
        return rc;
    return p->mw->publisher_publish_copy(p->impl, p->scratch, size);
}

int zl__publisher_publish_copy(zl_publisher *p, const void *message, size_t count)
{
    if (!p->mw->capabilities.lends)
        return publish_through_transport(p, message, count);
    size_t bytes =
        p->type.plain ? zl__publisher_filled_bytes(p, count) : p->type.serialized_size_max;
    void *chunk;
    zl__mw_loan_handle handle;
    int rc = p->mw->publisher_loan(p->impl, bytes, &chunk, &handle);
    if (rc == ZL_ENOTSUP)
        return publish_through_transport(p, message, count);
    if (rc != 0)
        return rc;
    size_t size = bytes;
    if (p->type.plain) {
        memcpy(chunk, message, size);
    } else {
        rc = serialize(p, message, chunk, &size);
        if (rc != 0) {
            p->mw->publisher_return_loan(p->impl, handle);
            return rc;
        }
    }
    rc = p->mw->publisher_publish_loan(p->impl, handle, size);
    if (rc != 0)
        p->mw->publisher_return_loan(p->impl, handle);
    return rc;
}

int zl_publisher_publish_sized(zl_publisher *publisher, const void *message, size_t count)
{
    zl__clear_detail();
    if (publisher == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "publisher and message must not be NULL");
    int rc = zl__publisher_check_count(publisher, count);
    if (rc != 0)
        return rc;
    return zl__publisher_publish_copy(publisher, message, count);
}

int zl_publisher_publish(zl_publisher *publisher, const void *message)
{
    /* A sized type's message carries its count, which this call has not:
     * refuse rather than send a count of 0 (issue 22). */
    if (publisher != NULL && publisher->sized) {
        zl__clear_detail();
        return zl__fail(ZL_EINVAL,
                        "type '%s' is sized: zl_publisher_publish() has no element count, "
                        "use zl_publisher_publish_sized(publisher, message, count)",
                        publisher->type.name);
    }
    return zl_publisher_publish_sized(publisher, message, 0);
}
