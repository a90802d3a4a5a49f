/** @file
 * zloan — topic names. */
#ifndef ZLOAN_TOPIC_H
#define ZLOAN_TOPIC_H

#include "zloan/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest topic name in bytes, without the terminating NUL. */
#define ZL_TOPIC_NAME_MAX 192

/** Checks a topic name and writes its fully qualified form (leading '/') to
 * out (out_size bytes, at least ZL_TOPIC_NAME_MAX + 1). Rules, as ROS 2's:
 * tokens of [A-Za-z0-9_] separated by single '/', no token starting with a
 * digit, no trailing '/', not empty.
 * @retval 0 valid; out holds the qualified name.
 * @retval ZL_ENAME invalid (the detail says why).
 * @retval ZL_EINVAL name or out is NULL, or out_size is too small.
 * Any thread. */
ZL_API int zl_topic_name_qualify(const char *name, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif
#endif
