/** @file
 * zloan — publishers.
 *
 * Two ways to publish:
 *   - zl_publisher_publish(): the user owns the message (stack or heap),
 *     zloan copies it (or serializes it) and the user keeps it.
 *   - zl_publisher_loan() then zl_publisher_publish_loan(): zloan lends
 *     message memory, the user fills it, publishing hands it back. With the
 *     shared-memory transport and a plain type, subscribers then read the very
 *     memory the user wrote: no copy. An unpublished loan is given back with
 *     zl_publisher_return_loan(). zl_publisher_publish_loans() publishes
 *     several loans at once, for throughput.
 *
 * When the publisher cannot lend (a non-plain type, loans disabled, or a
 * transport that does not lend, as "loopback": zloan/context.h) the
 * loan comes from the context's allocator and publishing copies or
 * serializes it; zl_publisher_can_loan() tells beforehand. The calls are the
 * same either way.
 *
 * Threads: a publisher may be used by one thread at a time (calls on
 * different publishers may run concurrently).
 *
 * Publishing never waits for a keep-last subscription (the default): a full
 * queue loses its oldest message. A subscription created with
 * reliability ZL_LOSSLESS never loses one: a publish that would overflow its
 * queue waits, up to max_blocking_time_ns, until it takes (then
 * ZL_ETIMEOUT, and nothing is published to anyone).
 *
 * Loans, publishing and the bookkeeping behind them take no lock, make no
 * system call and allocate nothing in the steady state (a publish that must
 * wait for a lossless subscription sleeps in the kernel). New subscriptions are
 * connected, and their requested history delivered, inside the publisher's own
 * calls (loan, publish, or zl_publisher_update_connections()).
 */
#ifndef ZLOAN_PUBLISHER_H
#define ZLOAN_PUBLISHER_H

#include "zloan/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/context.h"
#include "zloan/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A publisher (opaque). zl_publisher_create() makes one. */
typedef struct zl_publisher zl_publisher;

/** Options of zl_publisher_create(); zl_publisher_options_init() fills the defaults. */
typedef struct zl_publisher_options {
    /** Last messages kept for subscriptions that join later and ask for
     * history (0..64). Default 0. */
    uint32_t history;
    /** Most loans the user may hold at once (1..1024). Default 4. */
    uint32_t max_loans;
    /** Subscriptions the pool is sized for (1..ZL_TOPIC_SUBSCRIPTIONS_MAX).
     * Default 8. */
    uint32_t max_subscriptions;
    /** Chunks a subscription may keep in use: its queue plus the loans it
     * holds (2..4096). A subscription whose depth + max_loans + 2 (its
     * loans, the copy path's one more, and one being returned) exceeds
     * this gets its queue shortened to fit, and the publisher's
     * context logs a warning (ZL_LOG_WARN) naming the depth asked for and
     * the depth granted. The publisher enforces
     * it: a subscription that holds this many chunks (its loans, its queue)
     * has its oldest queued message replaced, or, with nothing queued, gets
     * no more messages until it returns some, each counted in its stats.lost
     * and in the publisher's stats.dropped. So one subscription that never
     * returns its loans cannot drain the pool. With max_loans, history and
     * max_subscriptions it bounds the chunks the pool lends at once
     * (beyond: ZL_EEXHAUSTED). Default 24 (fits the default subscription:
     * depth 8, 8 loans, and the copy path's one). */
    uint32_t chunks_per_subscription;
    /** Upper bound of the shared memory the publisher's pool may reserve, in
     * bytes. 0 (the default): a quarter of the machine's RAM or half of what
     * /dev/shm has free at creation, whichever is less. The pool starts
     * with a few chunks and grows by segments as loans need them; a loan
     * that would need more than the bound fails with ZL_ENOSHM. */
    uint64_t pool_bytes_max;
    /** Never lend shared memory (also ZLOAN_DISABLE_LOANS). */
    bool disable_loans;
    /** Longest a publish waits for a lossless subscription (ZL_LOSSLESS)
     * whose queue is full, in nanoseconds (0..3,600,000,000,000): 0 fails
     * at once with ZL_ETIMEOUT. Default 200 ms (ZL_MAX_BLOCKING_TIME_DEFAULT_NS).
     * Keep-last subscriptions never make a publish wait. */
    int64_t max_blocking_time_ns;
} zl_publisher_options;

/** Default zl_publisher_options.max_blocking_time_ns: 200 ms. */
#define ZL_MAX_BLOCKING_TIME_DEFAULT_NS 200000000LL
/** Largest zl_publisher_options.max_blocking_time_ns: one hour. */
#define ZL_MAX_BLOCKING_TIME_MAX_NS 3600000000000LL

#define ZL_TOPIC_PUBLISHERS_MAX 16    /**< most publishers of one topic at once */
#define ZL_TOPIC_SUBSCRIPTIONS_MAX 16 /**< most subscriptions of one topic at once */

/** Fills options with the defaults (nothing when options is NULL). */
ZL_API void zl_publisher_options_init(zl_publisher_options *options);

/** Creates a publisher of type on topic. Its pool starts with a few chunks
 * of the type's size (none for a sized type) and grows by shared-memory
 * segments, each reserved in full before any of it is lent, so that memory
 * running short is ZL_ENOSHM from a loan, never a crash. options may be NULL. topic and type are copied.
 * Topic names follow ROS 2's rules: [A-Za-z0-9_] tokens separated by '/',
 * no token starting with a digit, no "//", no trailing '/', at most
 * ZL_TOPIC_NAME_MAX bytes; a name without a leading '/' gets one.
 * @retval 0 *publisher holds the new publisher; the caller owns it. When
 *         the topic also exists in this domain under another user (or
 *         group), whose endpoints never connect to this one,
 *         zl_last_error_detail() warns of it (else it is "").
 * @retval ZL_EINVAL an argument is NULL or an option or the type is invalid.
 * @retval ZL_ENAME the topic name is invalid.
 * @retval ZL_ETYPE the topic has live endpoints of another type (the detail
 *         names both types).
 * @retval ZL_ELIMIT the topic already has ZL_TOPIC_PUBLISHERS_MAX publishers.
 * @retval ZL_ENOSHM shared memory is short (the detail gives the size asked for).
 * @retval ZL_ENOMEM the allocator failed.
 * @retval ZL_EPERM the topic's shared memory belongs to another user.
 * @retval ZL_ECORRUPT the topic's registry in shared memory is damaged.
 * @retval ZL_ESYSTEM another system call failed (the detail says which).
 * @retval ZL_ENOTSUP every transport of the context refused the publisher
 *         (the detail names them; zloan/context.h).
 * Any thread. */
ZL_API int zl_publisher_create(zl_context *context, const char *topic, const zl_type *type,
                        const zl_publisher_options *options, zl_publisher **publisher);

/** Destroys the publisher. Loans the user still holds from it become invalid.
 * Messages already delivered stay readable by subscriptions holding them.
 * @retval 0 done. @retval ZL_EINVAL publisher is NULL.
 * @retval ZL_EBUSY the publisher is attached to a wait set
 *         (zl_waitset_attach_publisher), or user memory is registered with
 *         it (zl_user_memory_create): detach or destroy that first; nothing
 *         changed. */
ZL_API int zl_publisher_destroy(zl_publisher *publisher);

/** true when zl_publisher_loan() lends the transport's memory (shared
 * memory: zero copy); false when loans come from the allocator and
 * publishing copies or serializes (a non-plain type, loans disabled, or a
 * transport that does not lend). */
ZL_API bool zl_publisher_can_loan(const zl_publisher *publisher);

/** Lends memory for one message (type->size bytes, aligned for the type, not
 * initialised). The caller fills it, then publishes it or returns it. For a
 * sized type, the same as zl_publisher_loan_sized(publisher, 0, message).
 * @retval 0 *message points at the loan; the caller holds it.
 * @retval ZL_EINVAL an argument is NULL.
 * @retval ZL_ETOOMANYLOANS the caller already holds max_loans loans.
 * @retval ZL_EEXHAUSTED every chunk the pool may use is queued or held by
 *         subscriptions.
 * @retval ZL_ENOSHM the pool had to grow and its bound (pool_bytes_max) or
 *         /dev/shm refused: the detail gives the sizes. Nothing is lost; a
 *         later loan may succeed once subscriptions return chunks.
 * @retval ZL_ENOMEM (refusal path) the allocator failed. */
ZL_API int zl_publisher_loan(zl_publisher *publisher, void **message);

/** Lends memory for one message of a sized type with room for count tail
 * elements (zl_type_message_size(type, count) bytes, aligned for the type,
 * not initialised). Publishing it with zl_publisher_publish_loan() sends
 * count elements; zl_publisher_publish_loan_sized() may send fewer.
 * @retval 0 *message points at the loan; the caller holds it.
 * @retval ZL_EINVAL an argument is NULL, the type is not sized (count must
 *         then be 0), or count exceeds the type's max_count.
 * @retval ZL_ETOOMANYLOANS the caller already holds max_loans loans.
 * @retval ZL_EEXHAUSTED, ZL_ENOSHM, ZL_ENOMEM as for zl_publisher_loan(). */
ZL_API int zl_publisher_loan_sized(zl_publisher *publisher, size_t count, void **message);

/** Publishes a loan and takes it over: the caller must not touch message
 * afterwards. Every connected subscription receives it: a keep-last one
 * whose queue is full loses its oldest message instead; when a lossless
 * one's queue is full (or it holds all the chunks the publisher grants a
 * subscription), the call first sleeps until every lossless subscription
 * has room, at most max_blocking_time_ns. A lossless subscription that
 * dies or leaves meanwhile stops holding it back.
 * @retval 0 published (possibly to no one).
 * @retval ZL_ETIMEOUT a lossless subscription still had no room after
 *         max_blocking_time_ns (at once when it is 0): nothing was
 *         published to any subscription (the detail names the one that
 *         held the publisher back); the caller still holds the loan and
 *         may publish it again.
 * @retval ZL_EINVAL an argument is NULL.
 * @retval ZL_ENOTLOAN message is not a loan held from this publisher.
 * @retval ZL_EEXHAUSTED (refusal path) no chunk to copy into.
 * @retval ZL_ESERIALIZE (refusal path) serialization failed.
 * On error the caller still holds the loan. */
ZL_API int zl_publisher_publish_loan(zl_publisher *publisher, void *message);

/** Publishes a loan with count tail elements filled (count no more than the
 * loan was made for) and takes it over, as zl_publisher_publish_loan().
 * @retval 0 published.
 * @retval ZL_EINVAL an argument is NULL, or count exceeds the loan's.
 * @retval ZL_ENOTLOAN, ZL_EEXHAUSTED, ZL_ESERIALIZE as for
 *         zl_publisher_publish_loan(). On error the caller still holds the
 *         loan. */
ZL_API int zl_publisher_publish_loan_sized(zl_publisher *publisher, void *message, size_t count);

/** Publishes count loans in one call, in order (messages[0] first), and
 * takes over each one published; as count calls of
 * zl_publisher_publish_loan() would, at a fraction of their cost: the
 * shared-memory transport looks for subscriptions, takes back what they
 * returned, wakes them and stores its statistics once per batch instead
 * of once per message. A sized loan is published whole (the count it was
 * lent for, as zl_publisher_publish_loan()). Subscriptions receive the
 * messages in order, each with its own sequence number; messages
 * published together share a timestamp.
 *
 * The batch goes in parts when it must: no part is larger than the depth of
 * any connected subscription's queue, and with a lossless subscription a
 * part waits, as a single publish does (at most max_blocking_time_ns per
 * part), until that subscription has room for all of it. A keep-last
 * subscription whose queue is full loses its oldest messages, as with
 * single publishes.
 *
 * The batch is checked whole before anything is published: an invalid
 * batch publishes nothing and changes nothing (*published is 0).
 * @retval 0 all count loans published; *published is count.
 * @retval ZL_EINVAL an argument is NULL, count is 0, an element of messages
 *         is NULL, or a loan appears twice in messages: nothing published.
 * @retval ZL_ENOTLOAN an element of messages is not a loan held from this
 *         publisher (never lent, published or returned already, or
 *         another publisher's; the detail gives its index): nothing
 *         published.
 * @retval ZL_ETIMEOUT a lossless subscription had no room for
 *         max_blocking_time_ns (at once when it is 0): messages[0] to
 *         messages[*published - 1] were published and are no longer the
 *         caller's; the caller still holds the others and may publish or
 *         return them.
 * @retval ZL_EEXHAUSTED, ZL_ESERIALIZE (refusal path) as for
 *         zl_publisher_publish_loan(), with *published as for ZL_ETIMEOUT.
 * On every error the loans from messages[*published] on stay the caller's.
 * The publisher's thread (see the top of this header). */
ZL_API int zl_publisher_publish_loans(zl_publisher *publisher, void *const *messages,
                                      size_t count, size_t *published);

/** Gives back an unpublished loan. Loans may be published and returned in
 * any order: each is found from its pointer in a few looks, whatever
 * max_loans (only a pointer that is no loan is looked for in every record).
 * @retval 0 done. @retval ZL_EINVAL an argument is NULL.
 * @retval ZL_ENOTLOAN message is not a loan held from this publisher. */
ZL_API int zl_publisher_return_loan(zl_publisher *publisher, void *message);

/** Publishes a message the caller owns, by copy (or serialization); the caller
 * keeps message and may reuse it at once. Waits for lossless subscriptions
 * as zl_publisher_publish_loan() does.
 * @retval 0 published. @retval ZL_EINVAL an argument is NULL, or the type
 *         is sized (its message has a count this call lacks: use
 *         zl_publisher_publish_sized()).
 * @retval ZL_ETIMEOUT a lossless subscription had no room within
 *         max_blocking_time_ns: nothing was published to anyone.
 * @retval ZL_EEXHAUSTED no chunk to copy into.
 * @retval ZL_ESERIALIZE serialization failed. */
ZL_API int zl_publisher_publish(zl_publisher *publisher, const void *message);

/** Publishes a message of a sized type with count tail elements that the
 * caller owns, by copy; the caller keeps it. For a fixed-size type count
 * must be 0.
 * @retval 0 published. @retval ZL_EINVAL an argument is NULL or count is
 *         out of range. @retval ZL_EEXHAUSTED, ZL_ENOSHM no chunk to copy into. */
ZL_API int zl_publisher_publish_sized(zl_publisher *publisher, const void *message, size_t count);

/** Connects subscriptions that appeared since the last call and delivers the
 * history they asked for; drops the ones that left, reclaiming their chunks.
 * loan and publish do this too; call it from an idle publisher to serve late
 * joiners and to give back segments idle for a second (a publisher does
 * nothing between its calls).
 * @retval 0 done. @retval ZL_EINVAL publisher is NULL. */
ZL_API int zl_publisher_update_connections(zl_publisher *publisher);

/** Statistics of a publisher. */
typedef struct zl_publisher_stats {
    uint64_t published;           /**< messages published */
    uint64_t dropped;             /**< messages a subscription lost: queue entries reclaimed
                                   * (keep-last), or not delivered to one that
                                   * holds its whole chunks_per_subscription */
    uint32_t subscriptions;       /**< subscriptions currently connected */
    uint32_t chunks_total;        /**< chunks in the pool now, of every size */
    uint32_t chunks_free;         /**< chunks neither lent, queued, kept nor held */
    uint32_t loans_held;          /**< loans the user holds now */
    uint64_t peer_errors;         /**< invalid values read from subscriptions' shared memory */
    uint32_t other_owners;        /**< other users (or groups) with this topic in this domain:
                                     their endpoints never connect to ours (isolation) */
    uint32_t segments;            /**< shared-memory segments of the pool now */
    uint64_t shm_bytes;           /**< shared memory the pool reserves now */
    uint64_t shm_bytes_high;      /**< the most it reserved at once */
    uint64_t shm_bytes_max;       /**< its bound (pool_bytes_max or the default) */
    uint64_t growths;             /**< segments added since creation (the slow path) */
    uint64_t blocked;             /**< publishes that found a lossless subscription full
                                       (waited or timed out) */
    uint64_t timeouts;            /**< publishes refused with ZL_ETIMEOUT */
    uint32_t other_transport;     /**< endpoints of this topic in this context on another of
                                     its transports: they never meet this one (README,
                                     Transports) */
} zl_publisher_stats;

/** Takes back what subscriptions returned, then fills *stats (other_owners
 * is counted anew from the names in /dev/shm at each call).
 * @retval 0 *stats filled. @retval ZL_EINVAL an argument is NULL.
 * Same thread rules as the other publisher calls. */
ZL_API int zl_publisher_get_stats(zl_publisher *publisher, zl_publisher_stats *stats);

/** The publisher's id, as seen in zl_message_info.publisher_id. */
ZL_API uint64_t zl_publisher_id(const zl_publisher *publisher);

#ifdef __cplusplus
}
#endif
#endif
