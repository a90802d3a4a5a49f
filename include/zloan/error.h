/** @file
 * zloan — error codes.
 *
 * Every fallible zloan call returns 0 on success or one of the negative codes
 * below. On error nothing changes and no ownership moves, unless the
 * function's comment says otherwise. zl_strerror() names a code;
 * zl_last_error_detail() gives a sentence about the most recent failure on
 * the calling thread (for instance the two type names of a type mismatch).
 */
#ifndef ZLOAN_ERROR_H
#define ZLOAN_ERROR_H

#include "zloan/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The codes zloan calls return: 0, or one of the negative ZL_E* codes. */
enum zl_error {
    ZL_OK = 0,               /**< success */
    ZL_EINVAL = -1,          /**< an argument is invalid (NULL, out of range) */
    ZL_ENODATA = -2,         /**< nothing to take */
    ZL_ETOOMANYLOANS = -3,   /**< the caller already holds as many loans as allowed */
    ZL_EEXHAUSTED = -4,      /**< the publisher's pool has no free chunk */
    ZL_ETYPE = -5,           /**< type mismatch with another endpoint of the topic */
    ZL_ENAME = -6,           /**< invalid topic name */
    ZL_ENOSHM = -7,          /**< out of shared memory (/dev/shm full or too small) */
    ZL_ENOMEM = -8,          /**< the allocator failed */
    ZL_ENOTLOAN = -9,        /**< the pointer is not a loan held from this endpoint */
    ZL_ELIMIT = -10,         /**< a fixed limit was reached (endpoints per topic, ...) */
    ZL_ESERIALIZE = -11,     /**< a type's serialize or deserialize hook failed */
    ZL_ECORRUPT = -12,       /**< shared memory written by a peer failed validation */
    ZL_EPERM = -13,          /**< the operating system refused access */
    ZL_EBUSY = -14,          /**< the object is still in use */
    ZL_ETIMEOUT = -15,       /**< a wait ended before anything was ready (a wait set), or a
                                  publish found a lossless subscription full for its
                                  whole max_blocking_time_ns */
    ZL_ESYSTEM = -16,        /**< an unexpected operating-system error (see the detail) */
    ZL_ENOTSUP = -17         /**< the operation is not supported for this endpoint */
};

/** Returns a constant, human-readable name for an error code, never NULL.
 * Unknown codes give "unknown error". Any thread. */
ZL_API const char *zl_strerror(int code);

/** Returns a description of the last failure of a zloan call on the calling
 * thread ("" when there is none), or a warning of the last call that
 * succeeded with one (it starts with "warning:"). The string is valid until the next zloan
 * call on this thread. Any thread. */
ZL_API const char *zl_last_error_detail(void);

#ifdef __cplusplus
}
#endif
#endif
