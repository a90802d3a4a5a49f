/* Timers on CLOCK_MONOTONIC. */
#include <string.h>

#include "zloan/error.h"
#include "zloan/timer.h"

#include "clock.h"
#include "context.h"
#include "error_detail.h"
#include "waitset.h"

int zl_timer_create(zl_context *context, int64_t period_ns, zl_timer **timer)
{
    zl__clear_detail();
    if (context == NULL || timer == NULL || period_ns <= 0)
        return zl__fail(ZL_EINVAL, "context and timer must not be NULL, the period positive");
    zl_timer *t = zl__context_allocate(context, sizeof *t, _Alignof(zl_timer));
    if (t == NULL)
        return zl__fail(ZL_ENOMEM, "allocating a timer failed");
    memset(t, 0, sizeof *t);
    t->context = context;
    t->period_ns = period_ns;
    t->deadline_ns = zl__monotonic_ns() + period_ns;
    zl__context_hold(context, ZL__CONTEXT_TIMER);
    *timer = t;
    return 0;
}

int zl_timer_destroy(zl_timer *timer)
{
    zl__clear_detail();
    if (timer == NULL)
        return zl__fail(ZL_EINVAL, "timer is NULL");
    if (timer->attached)
        return zl__fail(ZL_EBUSY, "the timer is attached to a wait set");
    zl_context *context = timer->context;
    zl__context_deallocate(context, timer, sizeof *timer, _Alignof(zl_timer));
    zl__context_release(context, ZL__CONTEXT_TIMER);
    return 0;
}

int zl_timer_take(zl_timer *timer, uint64_t *expirations)
{
    if (timer == NULL || expirations == NULL)
        return zl__fail(ZL_EINVAL, "timer and expirations must not be NULL");
    int64_t now = zl__monotonic_ns();
    if (now < timer->deadline_ns) {
        *expirations = 0;
        return ZL_ENODATA;
    }
    uint64_t passed = (uint64_t)((now - timer->deadline_ns) / timer->period_ns) + 1;
    timer->deadline_ns += (int64_t)passed * timer->period_ns;
    *expirations = passed;
    return 0;
}

int64_t zl_timer_remaining(const zl_timer *timer)
{
    if (timer == NULL)
        return INT64_MAX;
    return timer->deadline_ns - zl__monotonic_ns();
}

int zl_timer_reset(zl_timer *timer)
{
    if (timer == NULL)
        return zl__fail(ZL_EINVAL, "timer is NULL");
    timer->deadline_ns = zl__monotonic_ns() + timer->period_ns;
    return 0;
}
