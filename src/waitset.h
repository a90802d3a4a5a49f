/* Internal: the objects a wait set holds, and a wait that treats some
 * entries as ready without looking (the executor's trigger conditions). */
#ifndef ZL_WAITSET_INTERNAL_H
#define ZL_WAITSET_INTERNAL_H

#include <stdbool.h>

#include "zloan/guard_condition.h"
#include "zloan/timer.h"
#include "zloan/waitset.h"

#include "atomic.h"

struct zl_guard_condition {
    zl_context *context;
    zl__atomic_u32 word;      /* futex word, incremented by each trigger */
    zl__atomic_u32 triggered; /* the flag */
    bool attached;
};

struct zl_timer {
    zl_context *context;
    int64_t period_ns;
    int64_t deadline_ns; /* CLOCK_MONOTONIC */
    bool attached;
};

/* Makes the subscription at index ready only when a loan is free as well:
 * while the user holds every loan, waits sleep until one is returned
 * instead of reporting data that cannot be taken (the executor's loan
 * delivery). ZL_EINVAL when index holds no subscription. */
int zl__waitset_need_loan(zl_waitset *waitset, size_t index);

/* zl_waitset_wait(), where entries with assume_ready[index] set are neither
 * checked nor slept on but reported ready; only another entry becoming ready
 * ends the wait early (ZL_ETIMEOUT otherwise, with the assumed entries still
 * reported ready). assume_ready may be NULL. */
int zl__waitset_wait(zl_waitset *waitset, int64_t timeout_ns, const bool *assume_ready,
                     size_t *ready_count);

#endif
