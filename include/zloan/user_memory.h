/** @file
 * zloan — publishing memory that zloan did not allocate (user memory).
 *
 * A camera driver, a GPU or a codec hands the application buffers it owns.
 * Register that memory with a publisher, then publish messages that lie in
 * it: subscriptions in other processes read the very bytes (no copy), and
 * the application learns when every subscription that received a message
 * has returned it, so it can give the buffer back to its driver:
 *
 *   zl_user_memory_options o;
 *   zl_user_memory_options_init(&o);
 *   o.fd = memfd; o.base = mapping; o.length = bytes;  // sealed F_SEAL_SHRINK
 *   zl_user_memory_create(publisher, &o, &memory);
 *   fill(frame);                          // frame lies in [base, base + length)
 *   zl_user_memory_publish(memory, frame, 0);
 *   ...
 *   // one of: a completion notice (zl_user_memory_take_completed), which a
 *   // wait set (zl_waitset_attach_user_memory) or an executor
 *   // (zl_executor_add_user_memory, a callback) waits for; or a poll:
 *   zl_user_memory_in_flight(memory, frame, &busy);  // false: reuse frame
 *
 * Memory that other processes can map is a memfd sealed against shrinking
 * (F_SEAL_SHRINK; F_SEAL_GROW is optional): a file that could shrink would
 * make a subscription that reads it fault (SIGBUS), so an unsealed memfd is
 * refused (ZL_EINVAL) and a descriptor that cannot be sealed (a plain file,
 * a DMA-BUF) too (ZL_ENOTSUP). Plain memory (fd -1) is accepted: publishing
 * from it copies the message into the publisher's pool (the refusal path)
 * and it is never in flight; the calls are the same. The same holds when
 * the publisher cannot lend (zl_publisher_can_loan() false).
 *
 * zloan never writes user memory. Subscriptions map it read-only. Until a
 * message completes the caller must not change its bytes: a subscription
 * may be reading them. A message completes when every subscription that
 * received it has returned it, or dropped it (keep-last), or left, or died
 * (then within the liveness period of the reclaim of its other loans).
 * Each completion queues a notice (the message's address); the memory keeps
 * up to max_in_flight notices not yet taken and forgets the oldest beyond
 * (a program that only polls zl_user_memory_in_flight need not take them).
 * Plain memory's messages complete when published.
 *
 * Threads: the same rules as the publisher the memory belongs to (one
 * thread at a time for the publisher and its memories together); a wait
 * set or executor the memory is attached to waits on that thread too.
 */
#ifndef ZLOAN_USER_MEMORY_H
#define ZLOAN_USER_MEMORY_H

#include "zloan/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/publisher.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Memory registered with a publisher (opaque). zl_user_memory_create()
 * makes one. */
typedef struct zl_user_memory zl_user_memory;

/** How zl_user_memory_create() registers memory; zl_user_memory_options_init()
 * fills the defaults. */
typedef struct zl_user_memory_options {
    /** A memfd sealed against shrinking, or -1 for plain memory (copied).
     * zloan keeps a duplicate of it while the memory is registered; the
     * caller keeps its own. Default -1. */
    int fd;
    /** Where the registered range starts in the file: a multiple of the page
     * size. Default 0. */
    uint64_t offset;
    /** The caller's mapping of the range (or the plain memory): messages are
     * published by their address in it. Must not be NULL. */
    void *base;
    /** Bytes of the range (not 0). */
    size_t length;
    /** Messages from this memory that may be in flight at once (1..1024).
     * Default 8. */
    uint32_t max_in_flight;
} zl_user_memory_options;

/** Fills options with the defaults (nothing when options is NULL). */
ZL_API void zl_user_memory_options_init(zl_user_memory_options *options);

/** Registers memory with a publisher.
 * @retval 0 *memory holds the registration; the caller owns it and destroys
 *         it (zl_user_memory_destroy) before the publisher (whose destroy
 *         refuses with ZL_EBUSY until then).
 * @retval ZL_EINVAL an argument is NULL or out of range, the offset is not
 *         page-aligned, the range is not in the file, or the memfd is not
 *         sealed against shrinking (the detail says which).
 * @retval ZL_ENOTSUP fd cannot be sealed (not a memfd).
 * @retval ZL_ENOSHM the publisher's segment table is full.
 * @retval ZL_ENOMEM the allocator failed.
 * @retval ZL_ESYSTEM duplicating fd failed.
 * On error nothing is registered. */
ZL_API int zl_user_memory_create(zl_publisher *publisher, const zl_user_memory_options *options,
                          zl_user_memory **memory);

/** Unregisters the memory. Notices not taken are dropped.
 * @retval 0 done; the caller may unmap and close it.
 * @retval ZL_EINVAL memory is NULL.
 * @retval ZL_EBUSY a message from it is still in flight, or it is attached
 *         to a wait set or an executor (detach it, destroy the executor);
 *         nothing changed. */
ZL_API int zl_user_memory_destroy(zl_user_memory *memory);

/** true when messages from the memory reach subscriptions without a copy. */
ZL_API bool zl_user_memory_is_shared(const zl_user_memory *memory);

/** Publishes the message at message (of the publisher's type; count tail
 * elements for a sized type, 0 otherwise), which must lie in the memory and
 * be aligned for the type. Shared memory: no copy, the message is in flight
 * until it completes and the caller must not change it; plain memory: one
 * copy, and the caller may reuse message at once.
 * @retval 0 published (possibly to no one: then it completes at once).
 * @retval ZL_EINVAL an argument is NULL, the message does not lie in the
 *         memory, is misaligned, or count is out of range.
 * @retval ZL_EBUSY the message overlaps one still in flight, or
 *         max_in_flight messages are in flight (nothing was published).
 * @retval ZL_ETIMEOUT a lossless subscription had no room for the
 *         publisher's max_blocking_time_ns (nothing was published).
 * @retval ZL_EEXHAUSTED, ZL_ENOSHM (plain memory) no chunk to copy into. */
ZL_API int zl_user_memory_publish(zl_user_memory *memory, const void *message, size_t count);

/** Whether the message last published at message is still in flight: some
 * subscription holds it or may still take it. Takes back what
 * subscriptions returned first (no system call in the steady state).
 * @retval 0 *in_flight set (false also for a message never published).
 * @retval ZL_EINVAL an argument is NULL. */
ZL_API int zl_user_memory_in_flight(zl_user_memory *memory, const void *message, bool *in_flight);

/** Messages from the memory in flight now (after taking back returns). */
ZL_API uint32_t zl_user_memory_in_flight_count(zl_user_memory *memory);

/** Takes the oldest completion notice: *message is the address a message
 * was published from, which has completed since (the caller may change its
 * bytes and publish it again). Takes back what subscriptions returned first
 * when no notice is queued (no system call in the steady state).
 * @retval 0 *message set.
 * @retval ZL_ENODATA no message completed that was not taken already.
 * @retval ZL_EINVAL an argument is NULL. */
ZL_API int zl_user_memory_take_completed(zl_user_memory *memory, const void **message);

#ifdef __cplusplus
}
#endif
#endif
