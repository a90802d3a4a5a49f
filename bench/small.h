/* What the small bench programs share that do not use the harness
 * (harness.h): a monotonic clock, the comparisons their percentiles sort
 * with, and MUST, which ends the program (status 2) with the call, the
 * error and its detail when a zloan call fails. Header only: each program
 * is one file. */
#ifndef ZL_BENCH_SMALL_H
#define ZL_BENCH_SMALL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "zloan/zloan.h"

static inline int64_t small_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* qsort comparisons of int64_t and of double. */
static inline int small_compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static inline int small_compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MUST(call)                                                                   \
    do {                                                                             \
        int must_rc_ = (call);                                                       \
        if (must_rc_ != 0) {                                                         \
            fprintf(stderr, "%s: %s (%s)\n", #call, zl_strerror(must_rc_),           \
                    zl_last_error_detail());                                         \
            exit(2);                                                                 \
        }                                                                            \
    } while (0)

#endif
