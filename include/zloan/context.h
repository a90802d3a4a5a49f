/** @file
 * zloan — the context.
 *
 * A context holds what a process's endpoints share: the domain id that
 * isolates groups of processes, and the allocator. Endpoints in different
 * domains never see each other. A process may create several contexts.
 *
 * Creating a context removes what killed processes of this user left in
 * /dev/shm (only what is provably dead). The first endpoint of a process
 * starts one small thread (all signals blocked) that checks every 20 ms
 * whether peers died, so that loan, publish, take and return need no system
 * call for it; ZLOAN_LIVENESS_PERIOD_MS sets the period (0..10000), 0 turns
 * the thread off (endpoints then check their peers themselves every 50 ms).
 * zloan objects do not survive fork(): a child creates its own context and
 * must not use an inherited object (not supported: its endpoints still share
 * the parent's queues and pools, so the child would take the parent's
 * messages and corrupt the parent's endpoints).
 *
 * A context holds one or more transports, tried in order when an endpoint
 * is made (zl_context_options.transports): "shm" (the default: zero-copy
 * between the processes of the host) and "loopback" (within this process
 * only: no shared memory, never lends, so publishing copies once; wakes
 * wait sets through an eventfd). An endpoint goes to the first transport
 * that accepts it; a transport refuses what it cannot carry (loopback
 * refuses ZL_LOSSLESS subscriptions). Endpoints meet only on the same
 * transport: give every context of a topic the same list.
 *
 * Environment variables zloan reads: ZLOAN_DOMAIN_ID, ZLOAN_DISABLE_LOANS,
 * ZLOAN_LIVENESS_PERIOD_MS, ZLOAN_LOG, ZLOAN_TRANSPORT. Unset or empty means the default; a value that
 * is not valid makes zl_context_create fail (ZL_EINVAL, the detail names
 * the variable and what it accepts) rather than be ignored.
 */
#ifndef ZLOAN_CONTEXT_H
#define ZLOAN_CONTEXT_H

#include "zloan/export.h"

#include <stdbool.h>
#include <stdint.h>

#include "zloan/allocator.h"
#include "zloan/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A context (opaque): what the endpoints of a process share. zl_context_create() makes one. */
typedef struct zl_context zl_context;

#define ZL_DOMAIN_ID_MAX 232 /**< the same range as ROS 2 */
#define ZL_CONTEXT_NAME_MAX 64 /**< bytes of a context name, including the terminating NUL */

/** Environment variable: when set to 1 (or true, yes, on), every endpoint
 * behaves as if loans were disabled (the refusal path); 0, false, no, off
 * or empty leave loans on. The user's code does not change. */
#define ZL_ENV_DISABLE_LOANS "ZLOAN_DISABLE_LOANS"

/** Environment variable: the transports of contexts whose
 * zl_context_options.transports is NULL, in the same form ("shm",
 * "loopback", "loopback,shm"). Unset or empty: "shm". */
#define ZL_ENV_TRANSPORT "ZLOAN_TRANSPORT"

/** Options of zl_context_create(); zl_context_options_init() fills the defaults. */
typedef struct zl_context_options {
    /** 0..ZL_DOMAIN_ID_MAX. Default 0, or ZLOAN_DOMAIN_ID from the
     * environment (zl_context_create refuses an invalid one). */
    uint32_t domain_id;
    /** Used for every heap allocation zloan makes for this context. */
    zl_allocator allocator;
    /** Disable loans for every endpoint of this context (see ZL_ENV_DISABLE_LOANS). */
    bool disable_loans;
    /** Share this context's topics with the members of the process's
     * effective group: its objects live in the group's namespace
     * (/dev/shm/zl.g\<gid\>.*, mode 0660) instead of the user's
     * (zl.\<uid\>.*, 0600), and objects there owned by other members are
     * trusted when they are closed to others. Every member's context must
     * set it. A topic's registry outlives its users when the last one to
     * leave is not its creator (/dev/shm's sticky bit lets only the owner
     * remove it); the next user of the topic reuses it. */
    bool share_with_group;
    /** A name for this context's endpoints, shown by introspection and the
     * `zloan` tool beside each endpoint's pid and executable (like a ROS 2
     * node name): 1..ZL_CONTEXT_NAME_MAX-1 printable bytes, copied at
     * creation. NULL (the default): no name. */
    const char *name;
    /** Log lines of this level and above are delivered. Default ZL_LOG_WARN,
     * or ZLOAN_LOG from the environment (zloan/log.h). */
    zl_log_level log_level;
    /** Receives the log lines (with log_state); NULL (the default): stderr. */
    zl_log_callback log_callback;
    void *log_state; /**< passed to log_callback */
    /** The transports endpoints are made with, in the order they are
     * tried: names separated by commas, each at most once, among "shm" and
     * "loopback" (see the top of this header). NULL (the default):
     * ZLOAN_TRANSPORT, or "shm" when it is unset. Read during
     * zl_context_create only. */
    const char *transports;
} zl_context_options;

/** Fills options with the defaults (nothing when options is NULL). */
ZL_API void zl_context_options_init(zl_context_options *options);

/** Creates a context. options may be NULL for the defaults. It also removes
 * what killed processes of this user left in shared memory (/dev/shm objects
 * of zloan topics nobody uses any more), so a restart after a crash starts
 * clean; objects in use are never touched.
 * @retval 0 *context holds the new context; the caller owns it.
 * @retval ZL_EINVAL context is NULL, the domain id, allocator, name, log
 *         level or transports list is invalid, or an environment variable zloan reads (among
 *         them ZLOAN_LOG) holds an invalid value (whatever the options say;
 *         the detail names it and its range).
 * @retval ZL_ENOMEM the allocator failed.
 * Any thread. */
ZL_API int zl_context_create(const zl_context_options *options, zl_context **context);

/** Destroys a context from which nothing made is left.
 * @retval 0 done; the handle is gone.
 * @retval ZL_EINVAL context is NULL.
 * @retval ZL_EBUSY publishers, subscriptions, wait sets, executors, guard
 *         conditions or timers made from it still exist (the detail counts
 *         them by kind); nothing changed.
 * Any thread, but not concurrently with other calls on the same context. */
ZL_API int zl_context_destroy(zl_context *context);

/** The context's domain id (UINT32_MAX when context is NULL: no domain has it). */
ZL_API uint32_t zl_context_domain_id(const zl_context *context);
/** The context's name ("" when it has none, or when context is NULL); valid
 * while the context lives. */
ZL_API const char *zl_context_name(const zl_context *context);

#ifdef __cplusplus
}
#endif
#endif
