/* Internal: the ordered transports of a context. */
#ifndef ZL_TRANSPORT_LIST_H
#define ZL_TRANSPORT_LIST_H

#include <stddef.h>

#include "mw.h"

/* Every known transport at most once. */
#define ZL__TRANSPORTS_MAX 2

typedef struct zl__transport_list {
    const zl__mw_ops *ops[ZL__TRANSPORTS_MAX];
    size_t count;
} zl__transport_list;

/* Parses "name[,name...]" (no spaces, each known name at most once) into
 * *list; ZL_EINVAL with a detail naming source and the accepted names. */
int zl__transport_list_parse(const char *text, const char *source, zl__transport_list *list);

/* The option when it is not NULL, else ZLOAN_TRANSPORT when set and not
 * empty, else shm alone. */
int zl__transport_list_choose(const char *option, zl__transport_list *list);

#endif
