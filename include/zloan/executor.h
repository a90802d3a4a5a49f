/** @file
 * zloan — the executor: runs callbacks for ready subscriptions, timers,
 * guard conditions and user memory (a message published from it
 * completed), on the thread that spins it, in the order the handles were
 * added.
 *
 * Memory strategy, chosen per subscription (the delivery mode):
 *   ZL_DELIVERY_LOAN  the callback receives a read-only loan and its info;
 *                     the executor returns the loan after the callback,
 *                     unless the callback calls zl_executor_keep_loan(): the
 *                     user then returns it later, from any thread, with
 *                     zl_subscription_return_loan(). No copy, no allocation.
 *                     For a subscription that cannot loan (a type with
 *                     pointers, loans disabled) the loan is allocator memory
 *                     filled by copy, as zl_subscription_take_loan() does:
 *                     the program does not change.
 *   ZL_DELIVERY_COPY  the message is copied (or deserialized) into storage
 *                     allocated once, from the context's allocator, when the
 *                     subscription is added; the callback must not keep it.
 *   ZL_DELIVERY_DEFAULT  LOAN when a loan needs no copy of its own (the
 *                     subscription can loan, or its transport copies anyway,
 *                     as loopback does, and lends that copy), else COPY.
 *
 * With plain types, LOAN delivery and an executor created up front, the
 * steady state performs no heap allocation and no copy of the payload.
 *
 * A LOAN subscription whose every loan (max_loans) is kept by callbacks is
 * not ready, whatever it has queued: the executor sleeps until the user
 * returns one (or another handle is ready), then delivers again.
 *
 * Threads: add, spin_* and destroy on one thread; zl_executor_stop() from
 * any thread or a signal handler.
 */
#ifndef ZLOAN_EXECUTOR_H
#define ZLOAN_EXECUTOR_H

#include "zloan/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/context.h"
#include "zloan/guard_condition.h"
#include "zloan/subscription.h"
#include "zloan/timer.h"
#include "zloan/user_memory.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An executor (opaque). zl_executor_create() makes one. */
typedef struct zl_executor zl_executor;

/** How an executor hands a subscription's messages to its callback (the
 * memory strategy; see above). */
typedef enum zl_delivery {
    ZL_DELIVERY_DEFAULT = 0, /**< LOAN when a loan needs no copy of its own, else COPY */
    ZL_DELIVERY_LOAN = 1,    /**< a read-only loan, returned after the callback unless kept */
    ZL_DELIVERY_COPY = 2     /**< a copy in storage allocated when the subscription is added */
} zl_delivery;

/** When the ready handles are processed (as rclc's trigger conditions). */
typedef enum zl_trigger {
    ZL_TRIGGER_ANY = 0, /**< some handle is ready (default) */
    ZL_TRIGGER_ALL,     /**< every handle is ready */
    ZL_TRIGGER_ONE,     /**< the handle given as trigger_handle is ready */
    ZL_TRIGGER_ALWAYS,  /**< after every wait, even one that timed out */
    ZL_TRIGGER_CUSTOM   /**< trigger_function decides */
} zl_trigger;

/** ready[i] tells whether handle i (in the order added) is ready. */
typedef bool (*zl_trigger_function)(const bool *ready, size_t count, void *arg);

/** Called with each message delivered to a subscription, its info and the arg given when it was added. */
typedef void (*zl_subscription_callback)(const void *message, const zl_message_info *info,
                                         void *arg);
/** Called when a timer is due, with the number of deadlines passed and the arg given when it was added. */
typedef void (*zl_timer_callback)(zl_timer *timer, uint64_t expirations, void *arg);
/** Called when a guard condition was raised, with the arg given when it was added. */
typedef void (*zl_guard_condition_callback)(zl_guard_condition *guard, void *arg);
/** Called once per message published from user memory that completed, with
 * the address it was published from (its bytes may now change) and the arg
 * given when the memory was added. */
typedef void (*zl_user_memory_callback)(zl_user_memory *memory, const void *message, void *arg);

/** An executor for up to capacity handles (1..ZL_WAITSET_CAPACITY_MAX - 1).
 * @retval 0 *executor holds it. @retval ZL_EINVAL NULL or bad capacity.
 * @retval ZL_ENOMEM the allocator failed. */
ZL_API int zl_executor_create(zl_context *context, size_t capacity, zl_executor **executor);

/** Destroys the executor.
 * @retval 0 done. @retval ZL_EINVAL NULL. @retval ZL_EBUSY called from a callback. */
ZL_API int zl_executor_destroy(zl_executor *executor);

/** Adds a handle; its index is the number of handles added before it. The
 * subscription, timer or guard condition cannot be destroyed (ZL_EBUSY)
 * while the executor exists.
 * @retval 0 added. @retval ZL_EINVAL NULL argument or bad mode.
 * @retval ZL_ELIMIT the executor is full.
 * @retval ZL_ENOMEM (copy mode) storage could not be allocated.
 * @retval ZL_ENOTSUP ZL_DELIVERY_COPY of a sized type without a max_count
 *         (no storage holds every message: deliver it by loan), also when
 *         ZL_DELIVERY_DEFAULT resolves to COPY for one (loans disabled). A
 *         subscription that cannot loan still takes ZL_DELIVERY_LOAN: its
 *         loans are then the context allocator's. */
ZL_API int zl_executor_add_subscription(zl_executor *executor, zl_subscription *subscription,
                                 zl_delivery mode, zl_subscription_callback callback, void *arg);
/** Adds a timer; callback runs when it is due. Return codes as for
 * zl_executor_add_subscription(). */
ZL_API int zl_executor_add_timer(zl_executor *executor, zl_timer *timer, zl_timer_callback callback,
                          void *arg);
/** Adds a guard condition; callback runs when it is raised. Return codes as
 * for zl_executor_add_subscription(). */
ZL_API int zl_executor_add_guard_condition(zl_executor *executor, zl_guard_condition *guard,
                                    zl_guard_condition_callback callback, void *arg);

/** Adds user memory; callback runs on the executor's thread for each
 * completion notice (zl_user_memory_take_completed), all of those waiting
 * at each round the memory is ready. The executor's thread must be the one
 * using the memory's publisher (a camera loop publishes from a timer or
 * subscription callback). The memory cannot be destroyed (ZL_EBUSY) while
 * the executor exists. Return codes as for zl_executor_add_subscription(). */
ZL_API int zl_executor_add_user_memory(zl_executor *executor, zl_user_memory *memory,
                                       zl_user_memory_callback callback, void *arg);

/** Sets the trigger condition. handle is used by ZL_TRIGGER_ONE, function and
 * arg by ZL_TRIGGER_CUSTOM. @retval 0 done. @retval ZL_EINVAL bad arguments. */
ZL_API int zl_executor_set_trigger(zl_executor *executor, zl_trigger trigger, size_t handle,
                            zl_trigger_function function, void *arg);

/** Inside a ZL_DELIVERY_LOAN callback: keep the message being delivered; the
 * executor will not return it. The caller returns it later with
 * zl_subscription_return_loan() (any thread).
 * @retval 0 kept. @retval ZL_EINVAL NULL.
 * @retval ZL_ENOTLOAN message is not the loan being delivered. */
ZL_API int zl_executor_keep_loan(zl_executor *executor, const void *message);

/** Waits up to timeout_ns (negative: forever) for ready handles, then runs
 * the callbacks of those that are ready when the trigger holds: each ready
 * subscription delivers one message, each due timer and raised guard
 * condition calls once.
 * @retval 0 it woke up (callbacks may or may not have run).
 * @retval ZL_ETIMEOUT nothing became ready. @retval ZL_EINVAL NULL.
 * @retval ZL_EBUSY called from a callback. */
ZL_API int zl_executor_spin_once(zl_executor *executor, int64_t timeout_ns);

/** Runs what is ready now, without waiting: every ready subscription until it
 * is empty, due timers and raised guard conditions. @retval 0. */
ZL_API int zl_executor_spin_some(zl_executor *executor);

/** spin_once with no timeout until zl_executor_stop(). @retval 0 stopped. */
ZL_API int zl_executor_spin(zl_executor *executor);

/** Every period_ns: spin_once with what is left of the period as timeout,
 * then sleep until the next period starts; until zl_executor_stop().
 * @retval 0 stopped. @retval ZL_EINVAL bad arguments. */
ZL_API int zl_executor_spin_period(zl_executor *executor, int64_t period_ns);

/** Makes spin and spin_period return. Async-signal-safe; any thread.
 * @retval 0 done. @retval ZL_EINVAL NULL. */
ZL_API int zl_executor_stop(zl_executor *executor);

#ifdef __cplusplus
}
#endif
#endif
