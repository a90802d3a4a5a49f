/** @file
 * zloan — guard conditions: a flag any thread (or a signal handler) raises
 * to wake a wait set or an executor. */
#ifndef ZLOAN_GUARD_CONDITION_H
#define ZLOAN_GUARD_CONDITION_H

#include "zloan/export.h"

#include <stdbool.h>

#include "zloan/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A guard condition (opaque). zl_guard_condition_create() makes one. */
typedef struct zl_guard_condition zl_guard_condition;

/** @retval 0 *guard holds a new, untriggered guard condition.
 * @retval ZL_EINVAL an argument is NULL. @retval ZL_ENOMEM the allocator failed.
 * Any thread. */
ZL_API int zl_guard_condition_create(zl_context *context, zl_guard_condition **guard);

/** Destroys it; it must not be attached to a wait set or executor any more.
 * @retval 0 done. @retval ZL_EINVAL guard is NULL.
 * @retval ZL_EBUSY still attached to a wait set; nothing changed. */
ZL_API int zl_guard_condition_destroy(zl_guard_condition *guard);

/** Raises the flag and wakes wait sets sleeping on it. Async-signal-safe:
 * callable from any thread and from a signal handler.
 * @retval 0 done. @retval ZL_EINVAL guard is NULL. */
ZL_API int zl_guard_condition_trigger(zl_guard_condition *guard);

/** Lowers the flag and tells whether it was raised (a wait set that reports
 * the guard ready does this itself). Any thread. */
ZL_API bool zl_guard_condition_take(zl_guard_condition *guard);

#ifdef __cplusplus
}
#endif
#endif
