/* Error names and the per-thread failure detail. */
#include <stdarg.h>
#include <stdio.h>

#include "zloan/error.h"

#include "error_detail.h"

_Thread_local char zl__detail[512];

const char *zl_strerror(int code)
{
    switch (code) {
    case ZL_OK: return "success";
    case ZL_EINVAL: return "invalid argument";
    case ZL_ENODATA: return "nothing to take";
    case ZL_ETOOMANYLOANS: return "too many loans held";
    case ZL_EEXHAUSTED: return "pool exhausted";
    case ZL_ETYPE: return "type mismatch";
    case ZL_ENAME: return "invalid topic name";
    case ZL_ENOSHM: return "out of shared memory";
    case ZL_ENOMEM: return "out of memory";
    case ZL_ENOTLOAN: return "not a loan held from this endpoint";
    case ZL_ELIMIT: return "limit reached";
    case ZL_ESERIALIZE: return "serialization failed";
    case ZL_ECORRUPT: return "shared memory failed validation";
    case ZL_EPERM: return "permission denied";
    case ZL_EBUSY: return "still in use";
    case ZL_ETIMEOUT: return "timed out";
    case ZL_ESYSTEM: return "system call failed";
    case ZL_ENOTSUP: return "not supported";
    default: return "unknown error";
    }
}

const char *zl_last_error_detail(void) { return zl__detail; }


int zl__fail(int code, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(zl__detail, sizeof zl__detail, format, ap);
    va_end(ap);
    return code;
}
