/* Guard conditions.
 *
 * `triggered` is the flag; `word` is a futex word incremented by every
 * trigger. A trigger stores the flag, then increments the word (release) and
 * wakes; a waiter reads the word (acquire) before it looks at the flag and
 * sleeps only while the word still holds what it read. Either it sees the
 * flag, or the increment comes after its read and the futex does not sleep
 * (or is woken). Both steps are async-signal-safe (atomics and a syscall).
 */
#include <string.h>

#include "zloan/error.h"
#include "zloan/guard_condition.h"

#include "context.h"
#include "error_detail.h"
#include "futex.h"
#include "waitset.h"

int zl_guard_condition_create(zl_context *context, zl_guard_condition **guard)
{
    zl__clear_detail();
    if (context == NULL || guard == NULL)
        return zl__fail(ZL_EINVAL, "context and guard must not be NULL");
    zl_guard_condition *g =
        zl__context_allocate(context, sizeof *g, _Alignof(zl_guard_condition));
    if (g == NULL)
        return zl__fail(ZL_ENOMEM, "allocating a guard condition failed");
    memset(g, 0, sizeof *g);
    g->context = context;
    zl__context_hold(context, ZL__CONTEXT_GUARD_CONDITION);
    *guard = g;
    return 0;
}

int zl_guard_condition_destroy(zl_guard_condition *guard)
{
    zl__clear_detail();
    if (guard == NULL)
        return zl__fail(ZL_EINVAL, "guard is NULL");
    if (guard->attached)
        return zl__fail(ZL_EBUSY, "the guard condition is attached to a wait set");
    zl_context *context = guard->context;
    zl__context_deallocate(context, guard, sizeof *guard, _Alignof(zl_guard_condition));
    zl__context_release(context, ZL__CONTEXT_GUARD_CONDITION);
    return 0;
}

int zl_guard_condition_trigger(zl_guard_condition *guard)
{
    if (guard == NULL)
        return ZL_EINVAL; /* no detail: this must stay async-signal-safe */
    zl__store_relaxed(&guard->triggered, 1);
    /* Release: a waiter that reads the new word value (acquire) sees the
     * flag stored above. */
    zl__fetch_add_release(&guard->word, 1);
    zl__futex_wake_private(&guard->word);
    return 0;
}

bool zl_guard_condition_take(zl_guard_condition *guard)
{
    /* Acquire: what the triggering thread did before triggering is visible
     * to whoever lowers the flag. */
    return guard != NULL && zl__exchange_acquire(&guard->triggered, 0) != 0;
}
