/* The environment variables zloan reads: ZLOAN_DOMAIN_ID,
 * ZLOAN_DISABLE_LOANS and ZLOAN_LIVENESS_PERIOD_MS. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zloan/context.h"
#include "zloan/error.h"

#include "environment.h"
#include "error_detail.h"
#include "log.h"

/* Whether text is a decimal number 0..max (digits only); *value receives it. */
static bool parse_number(const char *text, uint32_t max, uint32_t *value)
{
    uint64_t parsed = 0;
    size_t i = 0;
    /* At most ten digits: no overflow of 64 bits. */
    for (; text[i] >= '0' && text[i] <= '9' && i < 10; i++)
        parsed = parsed * 10 + (uint64_t)(text[i] - '0');
    if (i == 0 || text[i] != '\0' || parsed > max)
        return false;
    *value = (uint32_t)parsed;
    return true;
}

int zl__environment_number(const char *name, uint32_t max, uint32_t *value, bool *set)
{
    const char *text = getenv(name);
    *set = false;
    *value = 0;
    if (text == NULL || text[0] == '\0')
        return 0;
    if (!parse_number(text, max, value))
        return zl__fail(ZL_EINVAL, "%s is '%.32s': expected a number 0..%u (or unset)", name,
                        text, max);
    *set = true;
    return 0;
}

uint32_t zl__environment_number_or(const char *name, uint32_t max, uint32_t fallback)
{
    const char *text = getenv(name);
    uint32_t value;
    return text != NULL && parse_number(text, max, &value) ? value : fallback;
}

int zl__environment_switch(const char *name, bool *on)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"", "0", "false", "no", "off"};
    const char *text = getenv(name);
    *on = false;
    if (text == NULL)
        return 0;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(text, yes[i]) == 0) {
            *on = true;
            return 0;
        }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(text, no[i]) == 0)
            return 0;
    return zl__fail(ZL_EINVAL, "%s is '%.32s': expected 1 or 0 (true/false, yes/no, on/off)",
                    name, text);
}

int zl__environment_log_level(zl_log_level *level, bool *set)
{
    const char *text = getenv(ZL_ENV_LOG);
    *set = false;
    if (text == NULL || text[0] == '\0')
        return 0;
    if (!zl__log_level_parse(text, level))
        return zl__fail(ZL_EINVAL, "%s is '%.32s': expected error, warn, info or debug (or unset)",
                        ZL_ENV_LOG, text);
    *set = true;
    return 0;
}

int zl__environment_check(void)
{
    uint32_t number;
    zl_log_level level;
    bool set;
    int rc = zl__environment_number(ZL__ENV_DOMAIN_ID, ZL_DOMAIN_ID_MAX, &number, &set);
    if (rc == 0)
        rc = zl__environment_switch(ZL_ENV_DISABLE_LOANS, &set);
    if (rc == 0)
        rc = zl__environment_number(ZL__ENV_LIVENESS_PERIOD_MS, ZL__LIVENESS_PERIOD_MS_MAX,
                                    &number, &set);
    if (rc == 0)
        rc = zl__environment_log_level(&level, &set);
    return rc;
}
