/* rmw_zloan — error mapping and small helpers shared by every file. */
#include "rmw_zloan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char zr_identifier[] = "rmw_zloan";

rmw_ret_t zr_fail_zl(int code, const char *what)
{
    const char *detail = zl_last_error_detail();
    RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("%s failed: %s%s%s", what, zl_strerror(code),
                                         detail[0] != '\0' ? ": " : "", detail);
    switch (code) {
    case ZL_ENOMEM:
        return RMW_RET_BAD_ALLOC;
    case ZL_EINVAL:
    case ZL_ENAME:
        return RMW_RET_INVALID_ARGUMENT;
    case ZL_ETIMEOUT:
        return RMW_RET_TIMEOUT;
    case ZL_ENOTSUP:
        return RMW_RET_UNSUPPORTED;
    default:
        return RMW_RET_ERROR;
    }
}

rmw_ret_t zr_join_topic(const char *prefix, const char *name, char *out, size_t out_size)
{
    int n = snprintf(out, out_size, "%s%s%s", prefix, name[0] == '/' ? "" : "/", name);
    if (n < 0 || (size_t)n >= out_size || (size_t)n > ZL_TOPIC_NAME_MAX) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("name '%s' is too long for zloan (%d bytes at most)",
                                             name, ZL_TOPIC_NAME_MAX - (int)strlen(prefix));
        return RMW_RET_INVALID_ARGUMENT;
    }
    return RMW_RET_OK;
}

char *zr_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

int64_t zr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t zr_duration_ns(rmw_time_t t)
{
    if (t.sec >= 9223372036ULL)
        return -1;
    return (int64_t)t.sec * 1000000000LL + (int64_t)t.nsec;
}

bool zr_loans_disabled_by_env(void)
{
    const char *v = getenv("ROS_DISABLE_LOANED_MESSAGES");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

void zr_gid_from_id(rmw_gid_t *gid, uint64_t id)
{
    memset(gid, 0, sizeof *gid);
    gid->implementation_identifier = zr_identifier;
    memcpy(gid->data, &id, sizeof id);
}
