/* Logging: a context's level and callback, stderr by default. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

const char *zl_log_level_name(zl_log_level level)
{
    switch (level) {
    case ZL_LOG_ERROR: return "error";
    case ZL_LOG_WARN: return "warn";
    case ZL_LOG_INFO: return "info";
    case ZL_LOG_DEBUG: return "debug";
    default: return "?";
    }
}

bool zl__log_level_parse(const char *text, zl_log_level *level)
{
    for (int l = ZL_LOG_ERROR; l <= ZL_LOG_DEBUG; l++)
        if (strcmp(text, zl_log_level_name((zl_log_level)l)) == 0) {
            *level = (zl_log_level)l;
            return true;
        }
    return false;
}

void zl__log(const zl__logger *logger, zl_log_level level, const char *format, ...)
{
    if (!zl__log_enabled(logger, level))
        return;
    char line[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(line, sizeof line, format, ap);
    va_end(ap);
    if (logger->callback != NULL)
        logger->callback(level, line, logger->state);
    else
        fprintf(stderr, "zloan: %s: %s\n", zl_log_level_name(level), line);
}
