/* Error names and the per-thread failure detail. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zloan/error.h"

#include "error_detail.h"

_Thread_local char *zl__detail __attribute__((tls_model("initial-exec")));

/* The key whose destructor frees a thread's buffer when it exits. */
static pthread_key_t detail_key;
static pthread_once_t detail_once = PTHREAD_ONCE_INIT;
static atomic_bool detail_key_made;

static void detail_free(void *buffer)
{
    /* The exiting thread's own variable: a zloan call from a later
     * destructor allocates again (the key is set again, and the C library
     * runs destructors again). */
    zl__detail = NULL;
    free(buffer);
}

static void detail_key_create(void)
{
    atomic_store(&detail_key_made, pthread_key_create(&detail_key, detail_free) == 0);
}

/* When the library is unloaded (dlclose of libzloan.so, or of a module
 * that links it, the Python module, librmw_zloan.so) or the process
 * exits: the key's destructor is ours and is about to be unmapped, so the
 * key goes first; a thread that exits later must not call it. The calling
 * thread's buffer is freed; other live threads' buffers (512 bytes each)
 * are left, the price of not crashing them. A failure after this keeps its
 * code and loses its detail. */
__attribute__((destructor)) static void detail_key_delete(void)
{
    if (!atomic_exchange(&detail_key_made, false))
        return;
    pthread_key_delete(detail_key);
    free(zl__detail);
    zl__detail = NULL;
}

/* The calling thread's buffer, allocated at its first failure; NULL when
 * the allocation or the key failed (the detail is lost, the code is not). */
static char *detail_buffer(void)
{
    if (zl__detail != NULL)
        return zl__detail;
    pthread_once(&detail_once, detail_key_create);
    if (!atomic_load(&detail_key_made))
        return NULL;
    char *buffer = malloc(ZL__DETAIL_MAX);
    if (buffer == NULL)
        return NULL;
    buffer[0] = '\0'; /* empty until written (zl__fail_more appends) */
    if (pthread_setspecific(detail_key, buffer) != 0) {
        free(buffer);
        return NULL;
    }
    zl__detail = buffer;
    return buffer;
}

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

const char *zl_last_error_detail(void)
{
    return zl__detail != NULL ? zl__detail : "";
}


int zl__fail(int code, const char *format, ...)
{
    char *detail = detail_buffer();
    if (detail == NULL)
        return code;
    va_list ap;
    va_start(ap, format);
    vsnprintf(detail, ZL__DETAIL_MAX, format, ap);
    va_end(ap);
    return code;
}

int zl__fail_more(int code, const char *format, ...)
{
    char *detail = detail_buffer();
    if (detail == NULL)
        return code;
    size_t used = strnlen(detail, ZL__DETAIL_MAX - 1);
    va_list ap;
    va_start(ap, format);
    vsnprintf(detail + used, ZL__DETAIL_MAX - used, format, ap);
    va_end(ap);
    return code;
}
