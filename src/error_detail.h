/* Internal: recording the detail of a failure for zl_last_error_detail(). */
#ifndef ZL_ERROR_DETAIL_H
#define ZL_ERROR_DETAIL_H

/* Records a printf-style detail for the calling thread and returns code, so
 * that a failing path reads `return zl__fail(ZL_ENAME, "...", ...);`.
 * Cold: the compiler lays every path that fails out of the way of the
 * path that succeeds (and keeps its registers for the latter). */
int zl__fail(int code, const char *format, ...) __attribute__((cold, format(printf, 2, 3)));

/* The calling thread's detail (error.c); zl_last_error_detail() gives it. */
extern _Thread_local char zl__detail[512];

/* Clears the calling thread's detail (at the start of public calls that can
 * fail with one): one store, inline, on every call of the hot path. */
static inline void zl__clear_detail(void) { zl__detail[0] = '\0'; }

#endif
