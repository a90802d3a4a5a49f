/* Internal: clocks. clock_gettime on these clocks is served by the vDSO on
 * Linux, so reading them makes no system call. */
#ifndef ZL_CLOCK_H
#define ZL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t zl__clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t zl__realtime_ns(void) { return zl__clock_ns(CLOCK_REALTIME); }
static inline int64_t zl__monotonic_ns(void) { return zl__clock_ns(CLOCK_MONOTONIC); }
/* Coarse (a few ms of resolution) and the cheapest: for periodic checks. */
static inline int64_t zl__coarse_ns(void) { return zl__clock_ns(CLOCK_MONOTONIC_COARSE); }

#endif
