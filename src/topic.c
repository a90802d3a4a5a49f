/* Topic name validation (ROS 2's rules for fully qualified names). */
#include <stdbool.h>
#include <string.h>

#include "zloan/error.h"
#include "zloan/topic.h"

#include "error_detail.h"

static bool is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int zl_topic_name_qualify(const char *name, char *out, size_t out_size)
{
    if (name == NULL || out == NULL || out_size < ZL_TOPIC_NAME_MAX + 1)
        return zl__fail(ZL_EINVAL, "topic name or output buffer is NULL or too small");
    /* strnlen bounds the scan: an unterminated or huge name is refused
     * without reading past ZL_TOPIC_NAME_MAX + 1 bytes. */
    size_t len = strnlen(name, ZL_TOPIC_NAME_MAX + 1);
    bool relative = len > 0 && name[0] != '/';
    size_t qualified_len = len + (relative ? 1 : 0);
    if (len == 0)
        return zl__fail(ZL_ENAME, "topic name is empty");
    if (qualified_len > ZL_TOPIC_NAME_MAX)
        return zl__fail(ZL_ENAME, "topic name is longer than %d bytes", ZL_TOPIC_NAME_MAX);
    if (len == 1 && name[0] == '/')
        return zl__fail(ZL_ENAME, "topic name '/' has no token");
    if (name[len - 1] == '/')
        return zl__fail(ZL_ENAME, "topic name '%s' ends with '/'", name);
    bool token_start = true;
    for (size_t i = relative ? 0 : 1; i < len; i++) {
        char c = name[i];
        if (c == '/') {
            if (token_start)
                return zl__fail(ZL_ENAME, "topic name '%s' has an empty token ('//')", name);
            token_start = true;
            continue;
        }
        if (!is_token_char(c))
            return zl__fail(ZL_ENAME,
                            "topic name has the character 0x%02x at %zu; allowed are "
                            "[A-Za-z0-9_] and '/'",
                            (unsigned char)c, i);
        if (token_start && c >= '0' && c <= '9')
            return zl__fail(ZL_ENAME, "topic name '%s' has a token starting with a digit", name);
        token_start = false;
    }
    size_t at = 0;
    if (relative)
        out[at++] = '/';
    memcpy(out + at, name, len);
    out[at + len] = '\0';
    return 0;
}
