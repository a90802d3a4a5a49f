/** @file
 * zloan — wait sets: block until a subscription has data, a guard
 * condition is raised, a timer is due, a publisher may publish without
 * waiting for a lossless subscription, or a message published from user
 * memory completed.
 *
 * A wait set has a fixed capacity chosen at creation; attaching and waiting
 * allocate nothing. A thread that waits sleeps in the kernel (futex); a
 * publisher in another process wakes it directly. Publishing makes no system
 * call when nobody sleeps. Spurious wake-ups are possible: zl_waitset_wait()
 * may return 0 with an entry reported ready whose take then finds nothing
 * (another thread took it, or the message was reclaimed by keep-last); treat
 * readiness as a hint and take until ZL_ENODATA.
 *
 * Threads: one thread at a time per wait set (attach, detach, wait). The
 * subscriptions attached must not be used for taking by another thread while
 * it waits.
 */
#ifndef ZLOAN_WAITSET_H
#define ZLOAN_WAITSET_H

#include "zloan/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/context.h"
#include "zloan/guard_condition.h"
#include "zloan/publisher.h"
#include "zloan/subscription.h"
#include "zloan/timer.h"
#include "zloan/user_memory.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A wait set (opaque). zl_waitset_create() makes one. */
typedef struct zl_waitset zl_waitset;

/** Most entries one wait set holds (the kernel waits on at most 128 words;
 * a subscription uses two). */
#define ZL_WAITSET_CAPACITY_MAX 60

/** @retval 0 *waitset holds a wait set for up to capacity entries.
 * @retval ZL_EINVAL NULL, or capacity 0 or above ZL_WAITSET_CAPACITY_MAX.
 * @retval ZL_ENOMEM the allocator failed. */
ZL_API int zl_waitset_create(zl_context *context, size_t capacity, zl_waitset **waitset);

/** Detaches everything and destroys it. @retval 0 done. @retval ZL_EINVAL NULL. */
ZL_API int zl_waitset_destroy(zl_waitset *waitset);

/** Attach an entry; *index (may be NULL) receives its index, stable until
 * it is detached. An attached subscription, publisher, user memory, guard condition or timer cannot
 * be destroyed (ZL_EBUSY) until it is detached or the wait set destroyed.
 * @retval 0 attached. @retval ZL_EINVAL NULL argument.
 * @retval ZL_ELIMIT the wait set is full.
 * @retval ZL_EBUSY a guard condition or timer attached to another wait set
 *         (a subscription may be attached to several). */
ZL_API int zl_waitset_attach_subscription(zl_waitset *waitset, zl_subscription *subscription,
                                   size_t *index);
/** Attaches a guard condition; as zl_waitset_attach_subscription(). */
ZL_API int zl_waitset_attach_guard_condition(zl_waitset *waitset, zl_guard_condition *guard,
                                      size_t *index);
/** Attaches a timer; as zl_waitset_attach_subscription(). */
ZL_API int zl_waitset_attach_timer(zl_waitset *waitset, zl_timer *timer, size_t *index);
/** Attaches a publisher; as zl_waitset_attach_subscription().
 * A publisher is ready when a publish would not wait: every lossless
 * subscription (ZL_LOSSLESS) has room for one more message (always, with
 * keep-last ones only). A hint, like a subscription's readiness: a publish
 * right after may still wait (a subscription joined meanwhile) and return
 * ZL_ETIMEOUT. For programs that must not block: wait, then publish with
 * max_blocking_time_ns = 0. The wait set's thread must be the one using the
 * publisher, and a publisher may be attached to several wait sets. */
ZL_API int zl_waitset_attach_publisher(zl_waitset *waitset, zl_publisher *publisher, size_t *index);
/** Attaches user memory; as zl_waitset_attach_subscription().
 * The memory is ready when a completion notice is waiting: a message
 * published from it completed (every subscription that received it
 * returned it, dropped it, left or died); take the notices with
 * zl_user_memory_take_completed() until ZL_ENODATA. A hint, like a
 * subscription's readiness: a take may find nothing. A subscription that
 * returns such a message makes a system call only when the wait set
 * sleeps (publisher.c M1).
 * The wait set's thread must be the one using the memory's publisher, and
 * attached memory cannot be destroyed (ZL_EBUSY). */
ZL_API int zl_waitset_attach_user_memory(zl_waitset *waitset, zl_user_memory *memory,
                                         size_t *index);

/** @retval 0 detached. @retval ZL_EINVAL NULL or no entry at index. */
ZL_API int zl_waitset_detach(zl_waitset *waitset, size_t index);

/** Waits until at least one entry is ready, or timeout_ns passed (negative:
 * forever; 0: only look). Ready guard conditions are lowered as they are
 * reported; ready timers are not taken (call zl_timer_take).
 * @retval 0 *ready_count (may be NULL) entries are ready; see zl_waitset_ready().
 * @retval ZL_ETIMEOUT nothing became ready in time.
 * @retval ZL_EINVAL waitset is NULL or has no entry.
 * @retval ZL_ESYSTEM the futex call failed unexpectedly. */
ZL_API int zl_waitset_wait(zl_waitset *waitset, int64_t timeout_ns, size_t *ready_count);

/** Whether the entry at index was ready at the last wait. */
ZL_API bool zl_waitset_ready(const zl_waitset *waitset, size_t index);

#ifdef __cplusplus
}
#endif
#endif
