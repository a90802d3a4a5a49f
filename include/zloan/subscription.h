/** @file
 * zloan — subscriptions.
 *
 * Three ways to take a message:
 *   - zl_subscription_take(): copy into memory the caller provides;
 *   - zl_subscription_take_loan(): borrow one message, read it in place,
 *     give it back with zl_subscription_return_loan();
 *   - zl_subscription_take_loan_sequence(): borrow up to N at once, each
 *     with its zl_message_info.
 *
 * A loaned message is never overwritten while it is held: the publisher
 * reuses a chunk only after every subscription that received it has returned
 * it. Loans are finite (options.max_loans); a subscription that holds them
 * all gets ZL_ETOOMANYLOANS from the take calls until it returns one, and
 * meanwhile its queue keeps the newest `depth` messages per publisher, older
 * ones being dropped and counted (keep-last), and the publisher is never
 * blocked. Each publisher also bounds what one subscription may hold of its
 * pool (its chunks_per_subscription): holding that many, a keep-last
 * subscription gets no more of its messages until it returns some, and
 * those are counted lost. With reliability ZL_LOSSLESS nothing is ever
 * dropped: a publisher whose message would overflow the queue (or the
 * budget) waits until the subscription takes (or returns a loan), up to its
 * max_blocking_time_ns, and then fails its publish with ZL_ETIMEOUT
 * (zl_subscription_stats.held_back counts those waits).
 *
 * When the subscription cannot lend (a non-plain type, or loans disabled),
 * the loan is allocated from the context's allocator and filled by copy or
 * deserialization; zl_subscription_can_loan() tells. The calls are the same.
 *
 * Threads: take calls and destroy on one thread at a time;
 * zl_subscription_return_loan() and zl_subscription_is_consistent() may be
 * called from any thread, concurrently with the take calls.
 */
#ifndef ZLOAN_SUBSCRIPTION_H
#define ZLOAN_SUBSCRIPTION_H

#include "zloan/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/context.h"
#include "zloan/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A subscription (opaque). zl_subscription_create() makes one. */
typedef struct zl_subscription zl_subscription;

/** What a subscription's full queue does to the next message. */
typedef enum zl_reliability {
    /** The oldest queued message is dropped (counted in stats.lost); the
     * publisher never waits. */
    ZL_KEEP_LAST = 0,
    /** The publisher waits until the subscription takes, bounded by the
     * publisher's max_blocking_time_ns; no message is ever dropped. */
    ZL_LOSSLESS = 1
} zl_reliability;

/** Options of zl_subscription_create(); zl_subscription_options_init() fills the defaults. */
typedef struct zl_subscription_options {
    /** Keep-last depth: messages queued per publisher (1..4096). Default 8. */
    uint32_t depth;
    /** Most loans held at once (1..1024). Default 8. */
    uint32_t max_loans;
    /** Receive the history publishers keep for late joiners. Default false.
     * With ZL_LOSSLESS the history comes first, then every later message. */
    bool history;
    /** ZL_KEEP_LAST (default) or ZL_LOSSLESS. */
    zl_reliability reliability;
    /** Never borrow shared memory: take_loan copies into allocator memory
     * (also ZLOAN_DISABLE_LOANS). */
    bool disable_loans;
} zl_subscription_options;

/** What zloan knows about a message beside its payload. */
typedef struct zl_message_info {
    int64_t source_timestamp_ns;    /**< CLOCK_REALTIME when it was published */
    uint64_t publication_sequence;  /**< per publisher, from 1 */
    uint64_t reception_sequence;    /**< per subscription, from 1 */
    uint64_t publisher_id;          /**< zl_publisher_id() of its publisher */
    bool from_this_process;         /**< published by this process */
    size_t size;                    /**< bytes of the message as published: for a sized
                                     * type, the fixed part and count elements, not
                                     * rounded up to the type's alignment as
                                     * zl_type_message_size() is (12 + 12 * count
                                     * for a 12-byte fixed part and 12-byte points) */
    size_t count;                   /**< sized types: tail elements (0 otherwise) */
} zl_message_info;

/** Fills options with the defaults (nothing when options is NULL). */
ZL_API void zl_subscription_options_init(zl_subscription_options *options);

/** Creates a subscription of type on topic; it connects to present and future
 * publishers. options may be NULL.
 * @retval 0 *subscription holds the new subscription; the caller owns it.
 *         zl_last_error_detail() warns when the topic also exists under
 *         another owner, as for zl_publisher_create().
 * @retval ZL_EINVAL an argument is NULL, or an option or the type is invalid.
 * @retval ZL_ENAME the topic name is invalid.
 * @retval ZL_ETYPE the topic has live endpoints of another type.
 * @retval ZL_ELIMIT the topic already has ZL_TOPIC_SUBSCRIPTIONS_MAX subscriptions.
 * @retval ZL_ENOSHM shared memory is short.
 * @retval ZL_ENOMEM the allocator failed.
 * @retval ZL_EPERM / ZL_ECORRUPT / ZL_ESYSTEM as for zl_publisher_create().
 * @retval ZL_ENOTSUP every transport of the context refused the
 *         subscription (loopback alone and ZL_LOSSLESS; zloan/context.h).
 * Any thread. */
ZL_API int zl_subscription_create(zl_context *context, const char *topic, const zl_type *type,
                           const zl_subscription_options *options, zl_subscription **subscription);

/** Destroys a subscription whose loans have all been returned; its queued
 * messages go back to their publishers.
 * @retval 0 done; the handle is gone.
 * @retval ZL_EINVAL subscription is NULL.
 * @retval ZL_EBUSY the user still holds loans taken from it (including
 *         loans kept with zl_executor_keep_loan(), whatever thread holds
 *         them): return them first; nothing changed, the loans stay valid.
 *         Also ZL_EBUSY: it is still attached to a wait set or added to an
 *         executor (detach it, or destroy the wait set or executor, first);
 *         nothing changed.
 * The take thread; not while a wait set it is attached to waits. */
ZL_API int zl_subscription_destroy(zl_subscription *subscription);

/** true when take_loan lends the publisher's memory (zero copy): a plain
 * type, loans not disabled, and a transport that lends (shm). false on a
 * copying transport (loopback), as zl_publisher_can_loan() is there;
 * take_loan then lends the transport's copy, with no second copy. */
ZL_API bool zl_subscription_can_loan(const zl_subscription *subscription);

/** Takes the oldest message into message (type->size bytes, owned by the
 * caller); info may be NULL. For non-plain types message receives a
 * deserialized value the caller finalizes with type->fini. For a sized
 * type with a max_count, message must hold zl_type_message_size(type,
 * max_count) bytes; without one, use zl_subscription_take_sized().
 * @retval 0 taken. @retval ZL_ENODATA nothing to take.
 * @retval ZL_EINVAL an argument is NULL, or the type is sized without a
 *         max_count.
 * @retval ZL_ESERIALIZE deserialization failed, or a message of the wrong
 *         size arrived (the message is dropped and counted in stats.lost). */
ZL_API int zl_subscription_take(zl_subscription *subscription, void *message, zl_message_info *info);

/** Takes the oldest message of a sized type into message, which holds
 * zl_type_message_size(type, capacity) bytes owned by the caller; info
 * (may be NULL) gets its count and size. Only the message's bytes are
 * written.
 * @retval 0 taken. @retval ZL_ENODATA nothing to take.
 * @retval ZL_EINVAL an argument is NULL.
 * @retval ZL_ESERIALIZE the message has more than capacity elements, or is
 *         not of the type's shape: it is dropped (counted in stats.lost). */
ZL_API int zl_subscription_take_sized(zl_subscription *subscription, void *message, size_t capacity,
                               zl_message_info *info);

/** Borrows the oldest message; info may be NULL (for a sized type, the
 * message's count is in info->count).
 * @retval 0 *message points at it, read-only, until returned.
 * @retval ZL_ENODATA nothing to take.
 * @retval ZL_ETOOMANYLOANS max_loans loans are held already; nothing taken.
 * @retval ZL_ENOMEM (refusal path) the allocator failed; nothing taken (for
 *         a sized type, whose size is known only once taken, the message
 *         is dropped and counted in stats.lost).
 * @retval ZL_ESERIALIZE deserialization failed (refusal path), or a message
 *         of the wrong size arrived; the message is dropped and counted in
 *         stats.lost.
 * @retval ZL_EINVAL an argument is NULL. */
ZL_API int zl_subscription_take_loan(zl_subscription *subscription, const void **message,
                              zl_message_info *info);

/** Borrows up to capacity messages, oldest first: messages[i] with infos[i]
 * (infos may be NULL). Stops early at max_loans, or when it finds the queue
 * empty (it takes what was queued when it looked: a message published
 * meanwhile waits for the next call). A message that fails deserialization
 * or the size check is dropped and counted in stats.lost; the call skips it,
 * or, with the shared-memory transport, may stop after it (the next call
 * goes on with the message after it).
 * @retval 0 *count >= 1 messages borrowed.
 * @retval ZL_ENODATA nothing to take (*count = 0).
 * @retval ZL_ETOOMANYLOANS no loan left (*count = 0).
 * @retval ZL_EINVAL an argument is NULL or capacity is 0. */
ZL_API int zl_subscription_take_loan_sequence(zl_subscription *subscription, const void **messages,
                                       zl_message_info *infos, size_t capacity, size_t *count);

/** Gives a loan back. Any thread. Loans may come back in any order: the
 * shared-memory transport finds each from its pointer in a few looks,
 * whatever max_loans (only a pointer that is no loan is looked for in its
 * whole table); the loopback transport and the refusal path look through
 * their max_loans entries.
 * @retval 0 done; message must not be used again.
 * @retval ZL_EINVAL an argument is NULL.
 * @retval ZL_ENOTLOAN message is not a loan held from this subscription
 *         (never taken, or already returned). */
ZL_API int zl_subscription_return_loan(zl_subscription *subscription, const void *message);

/** Gives count loans back at once: messages[0] to messages[count - 1],
 * each a loan held from this subscription (from zl_subscription_take_loan()
 * or zl_subscription_take_loan_sequence(), in any order). One call costs
 * less than count calls of zl_subscription_return_loan(): the publisher is
 * told once per batch (for a lossless subscription, one fence and one look
 * for a waiting publisher instead of one per loan). The shared-memory
 * transport finds each loan from its pointer in a few looks, whatever the
 * order (as for one return); should the looks run long (a loan twice, one
 * not held), it sorts the batch by address and finds every loan in one
 * pass over its table (count log count, not count times max_loans), with
 * no heap allocation either way.
 *
 * The batch is checked whole before any loan is returned: on error no loan
 * is returned and nothing changes (*returned is 0), and the detail
 * (zl_last_error_detail()) names the element.
 * @retval 0 every loan returned; *returned is count, and none of the
 *         messages may be used again.
 * @retval ZL_EINVAL subscription, messages or returned is NULL, count is 0,
 *         an element of messages is NULL, or a loan appears twice in
 *         messages: nothing returned.
 * @retval ZL_ENOTLOAN an element of messages is not a loan held from this
 *         subscription (never taken, returned already, or another
 *         subscription's): nothing returned.
 * Any thread, as zl_subscription_return_loan(). Returning the same loan
 * from two threads at once is the caller's race: at most one of the calls
 * returns it (the other answers ZL_ENOTLOAN; on the refusal path a batch
 * that loses such a race has returned the elements before that one, and
 * *returned says how many). */
ZL_API int zl_subscription_return_loans(zl_subscription *subscription,
                                        const void *const *messages, size_t count,
                                        size_t *returned);

/** Whether a held loan still holds what was taken. zloan never overwrites a
 * held loan, so this is true for every valid loan; it exists for transports
 * that cannot promise it. Any thread.
 * @retval 0 *consistent set. @retval ZL_ENOTLOAN not a held loan.
 * @retval ZL_EINVAL an argument is NULL. */
ZL_API int zl_subscription_is_consistent(zl_subscription *subscription, const void *message,
                                  bool *consistent);

/** Statistics of a subscription. */
typedef struct zl_subscription_stats {
    uint64_t received;      /**< messages taken */
    uint64_t lost;          /**< messages dropped: keep-last overflow, a bad value, a failed
                             * deserialization; received + lost counts every message owed */
    uint32_t publishers;    /**< publishers currently connected */
    uint32_t loans_held;    /**< loans held now */
    uint64_t peer_errors;   /**< invalid values read from publishers' shared memory */
    uint32_t other_owners;  /**< other users (or groups) with this topic in this domain:
                               their endpoints never connect to ours (isolation) */
    uint64_t held_back;     /**< lossless: publishes that found this queue full (the
                               publisher waited, or timed out) */
    uint32_t other_transport; /**< endpoints of this topic in this context on another of
                                 its transports: they never meet this one (a lossless
                                 subscription that loopback refused; README, Transports) */
} zl_subscription_stats;

/** Fills *stats (other_owners is counted anew from the names in /dev/shm at
 * each call). @retval 0 *stats filled. @retval ZL_EINVAL an argument is NULL.
 * Same thread rules as take. */
ZL_API int zl_subscription_get_stats(zl_subscription *subscription, zl_subscription_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
