/** @file
 * zloan — timers: periodic deadlines on CLOCK_MONOTONIC that wait sets and
 * executors wake up for. */
#ifndef ZLOAN_TIMER_H
#define ZLOAN_TIMER_H

#include "zloan/export.h"

#include <stdint.h>

#include "zloan/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A timer (opaque). zl_timer_create() makes one. */
typedef struct zl_timer zl_timer;

/** A timer that is due every period_ns (> 0), first one period from now.
 * @retval 0 *timer holds it. @retval ZL_EINVAL an argument is NULL or the
 * period is not positive. @retval ZL_ENOMEM the allocator failed. Any thread. */
ZL_API int zl_timer_create(zl_context *context, int64_t period_ns, zl_timer **timer);

/** @retval 0 done. @retval ZL_EINVAL NULL. @retval ZL_EBUSY still attached. */
ZL_API int zl_timer_destroy(zl_timer *timer);

/** If the timer is due, moves its deadline past now (by whole periods: missed
 * periods are not made up) and stores in *expirations how many deadlines
 * passed (>= 1).
 * @retval 0 it was due. @retval ZL_ENODATA not due yet (*expirations = 0).
 * @retval ZL_EINVAL an argument is NULL.
 * One thread at a time. */
ZL_API int zl_timer_take(zl_timer *timer, uint64_t *expirations);

/** Nanoseconds until the next deadline (<= 0: due; INT64_MAX when timer is
 * NULL: never due). */
ZL_API int64_t zl_timer_remaining(const zl_timer *timer);

/** Restarts the timer: the next deadline is one period from now. */
ZL_API int zl_timer_reset(zl_timer *timer);

#ifdef __cplusplus
}
#endif
#endif
