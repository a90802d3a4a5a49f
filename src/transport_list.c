/* The transports a context can hold, and the text that names a list of
 * them (zl_context_options.transports, ZLOAN_TRANSPORT). */
#include <stdlib.h>
#include <string.h>

#include "zloan/context.h"
#include "zloan/error.h"

#include "error_detail.h"
#include "transport_list.h"

static const zl__mw_ops *const known[] = {&zl__shm_ops, &zl__loopback_ops};

const zl__mw_ops *zl__mw_transport_find(const char *name, size_t length)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i]->name) == length && memcmp(known[i]->name, name, length) == 0)
            return known[i];
    return NULL;
}

const zl__mw_ops *zl__mw_transport_introspecting(void)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i]->list_topics != NULL)
            return known[i];
    return NULL;
}

int zl__transport_list_parse(const char *text, const char *source, zl__transport_list *list)
{
    zl__transport_list parsed = {.count = 0};
    const char *at = text;
    for (;;) {
        size_t length = strcspn(at, ",");
        const zl__mw_ops *ops = zl__mw_transport_find(at, length);
        if (ops == NULL)
            return zl__fail(ZL_EINVAL,
                            "%s is '%.64s': expected transport names (shm, loopback) "
                            "separated by commas",
                            source, text);
        for (size_t i = 0; i < parsed.count; i++)
            if (parsed.ops[i] == ops)
                return zl__fail(ZL_EINVAL, "%s is '%.64s': '%s' is named twice (expected shm, loopback, "
                                "each at most once)",
                                source, text, ops->name);
        parsed.ops[parsed.count++] = ops; /* no duplicates: at most all known */
        if (at[length] == '\0')
            break;
        at += length + 1;
    }
    *list = parsed;
    return 0;
}

int zl__transport_list_choose(const char *option, zl__transport_list *list)
{
    if (option != NULL)
        return zl__transport_list_parse(option, "the transports option", list);
    const char *text = getenv(ZL_ENV_TRANSPORT);
    if (text != NULL && text[0] != '\0')
        return zl__transport_list_parse(text, ZL_ENV_TRANSPORT, list);
    list->ops[0] = &zl__shm_ops;
    list->count = 1;
    return 0;
}
