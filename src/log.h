/* Internal: logging through a context's logger (see zloan/log.h). */
#ifndef ZL_LOG_INTERNAL_H
#define ZL_LOG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "zloan/log.h"

typedef struct zl__logger {
    zl_log_callback callback; /* NULL: stderr */
    void *state;
    zl_log_level level;       /* lines above it are dropped */
} zl__logger;

/* Parses ZLOAN_LOG's value; false when it is not a level name. */
bool zl__log_level_parse(const char *text, zl_log_level *level);

static inline bool zl__log_enabled(const zl__logger *logger, zl_log_level level)
{
    return logger != NULL && level <= logger->level;
}

/* Formats and delivers one line when level is enabled. logger may be NULL
 * (then nothing is logged). */
void zl__log(const zl__logger *logger, zl_log_level level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether the count-th occurrence of a repeated event is logged: the 1st,
 * 2nd, 4th, 8th... */
static inline bool zl__log_sparse(unsigned long long count)
{
    return count != 0 && (count & (count - 1)) == 0;
}

#endif
