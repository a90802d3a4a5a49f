/** @file
 * zloan — logging.
 *
 * zloan tells about events a user would otherwise not notice: a dead peer
 * whose loans were reclaimed, a peer that wrote an invalid value into
 * shared memory, a topic of the same name owned by another user (whose
 * endpoints this user can never meet), leftovers removed at start. It never
 * logs from loan, publish, take or return in the steady state: a log line is
 * written only when such an event happens, and peer errors are logged the
 * 1st, 2nd, 4th, 8th... time per endpoint.
 *
 * By default lines of level warn and above go to stderr as
 * "zloan: <level>: <message>". A context's options may set a level and a
 * callback instead; ZLOAN_LOG=error|warn|info|debug sets the default level.
 */
#ifndef ZLOAN_LOG_H
#define ZLOAN_LOG_H

#include "zloan/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How important a log line is. */
typedef enum zl_log_level {
    ZL_LOG_ERROR = 0, /**< zloan could not do what it was asked */
    ZL_LOG_WARN = 1,  /**< something the user should look at (the default level) */
    ZL_LOG_INFO = 2,  /**< events of note: peers reclaimed, leftovers removed */
    ZL_LOG_DEBUG = 3  /**< endpoints joining a topic */
} zl_log_level;

/** Environment variable: the default log level ("error", "warn", "info" or
 * "debug"); any other value makes zl_context_create fail with ZL_EINVAL. */
#define ZL_ENV_LOG "ZLOAN_LOG"

/** Receives one line (no trailing newline; valid during the call only). May
 * be called from any thread that calls zloan, never from a signal handler,
 * never from loan/publish/take/return in the steady state. It must not call
 * zloan. */
typedef void (*zl_log_callback)(zl_log_level level, const char *message, void *state);

/** "error", "warn", "info" or "debug" ("?" for anything else). Any thread. */
ZL_API const char *zl_log_level_name(zl_log_level level);

#ifdef __cplusplus
}
#endif
#endif
