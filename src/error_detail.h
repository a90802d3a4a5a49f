/* Internal: recording the detail of a failure for zl_last_error_detail(). */
#ifndef ZL_ERROR_DETAIL_H
#define ZL_ERROR_DETAIL_H

#include <stddef.h>

/* Records a printf-style detail for the calling thread and returns code, so
 * that a failing path reads `return zl__fail(ZL_ENAME, "...", ...);`.
 * Cold: the compiler lays every path that fails out of the way of the
 * path that succeeds (and keeps its registers for the latter). */
int zl__fail(int code, const char *format, ...) __attribute__((cold, format(printf, 2, 3)));
/* As zl__fail, but the text is appended to the calling thread's detail
 * (what a caller adds to what a callee said), within ZL__DETAIL_MAX. */
int zl__fail_more(int code, const char *format, ...) __attribute__((cold, format(printf, 2, 3)));

/* The calling thread's detail (error.c): NULL until its first failure,
 * then a buffer of ZL__DETAIL_MAX bytes the thread owns (freed when it
 * exits); zl_last_error_detail() gives it. A pointer, and initial-exec:
 * in the shared library a thread-local of the default model is reached
 * through a call of __tls_get_addr, on every call of the hot path; this
 * one is a load relative to the thread pointer (8 bytes of the static
 * TLS that the C library keeps for libraries loaded with dlopen). */
#define ZL__DETAIL_MAX 512
extern _Thread_local char *zl__detail __attribute__((tls_model("initial-exec")));

/* Clears the calling thread's detail (at the start of public calls that can
 * fail with one): a load and a store, inline, on every call of the hot
 * path. */
static inline void zl__clear_detail(void)
{
    char *detail = zl__detail;
    if (detail != NULL)
        detail[0] = '\0';
}

#endif
