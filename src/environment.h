/* Internal: the environment variables zloan reads, parsed in one place so
 * that a bad value is refused the same way wherever it is read. */
#ifndef ZL_ENVIRONMENT_H
#define ZL_ENVIRONMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "zloan/log.h"

#define ZL__ENV_DOMAIN_ID "ZLOAN_DOMAIN_ID"
#define ZL__ENV_LIVENESS_PERIOD_MS "ZLOAN_LIVENESS_PERIOD_MS"
#define ZL__LIVENESS_PERIOD_MS_MAX 10000
#define ZL__LIVENESS_PERIOD_MS_DEFAULT 20

/* A decimal number 0..max in variable name. Unset or empty: 0 with *set
 * false. Anything else (a sign, spaces, letters, above max): ZL_EINVAL with
 * a detail naming the variable, its value and the accepted range. */
int zl__environment_number(const char *name, uint32_t max, uint32_t *value, bool *set);

/* The same number, or fallback when unset, empty or invalid; records no
 * detail (for callers that cannot fail: zl_context_create reports). */
uint32_t zl__environment_number_or(const char *name, uint32_t max, uint32_t fallback);

/* A switch in variable name: 1, true, yes, on (any case) turn it on; 0,
 * false, no, off, empty or unset leave it off. Anything else: ZL_EINVAL with
 * a detail as above. */
int zl__environment_switch(const char *name, bool *on);

/* The log level in ZLOAN_LOG (ZL_ENV_LOG): error, warn, info or debug. Unset
 * or empty: 0 with *set false. Anything else: ZL_EINVAL with a detail as
 * above. */
int zl__environment_log_level(zl_log_level *level, bool *set);

/* Checks every variable zloan reads (zl_context_create refuses a context
 * while one is invalid). 0, or ZL_EINVAL with the detail of the first bad one. */
int zl__environment_check(void);

#endif
