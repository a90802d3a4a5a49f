/* Joining a topic, the part both endpoint kinds share: the record that
 * describes the endpoint, the registry, the endpoint's own shared object
 * created under the REGISTER lock (docs/design.md G6), and registration. */
#ifndef ZL_SHM_ENDPOINT_H
#define ZL_SHM_ENDPOINT_H

#include <stdint.h>
#include <string.h>

#include "../mw.h"
#include "discovery.h"
#include "segment.h"

/* Fills the fields of a record common to both kinds (the caller adds its
 * own: depth, history, flags). */
void zl__endpoint_record_init(zl__endpoint_record *record, const zl__mw_endpoint_config *config,
                              uint32_t kind, uint64_t id);

/* Opens the topic's registry and creates the endpoint's object of size
 * bytes (kind 'p' pool, 's' queue), holding the REGISTER lock until
 * zl__endpoint_register. On error nothing is left open or created. */
int zl__endpoint_create_object(zl__registry *registry, const zl__mw_endpoint_config *config,
                               char kind, uint64_t id, size_t size, char *name,
                               size_t name_size, zl__mapping *map);

/* Publishes the record (type check, slot claim). On error removes the
 * object and closes the registry. */
int zl__endpoint_register(zl__registry *registry, const zl__endpoint_record *record,
                          uint32_t *slot, const char *name, zl__mapping *map);

/* Private memory of an endpoint, from its allocator: zeroed, 64-byte
 * aligned (a cache line, so that no two objects share one). */
static inline void *zl__endpoint_allocate(const zl_allocator *a, size_t size)
{
    void *p = a->allocate(size, 64, a->state);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

static inline void zl__endpoint_deallocate(const zl_allocator *a, void *p, size_t size)
{
    if (p != NULL)
        a->deallocate(p, size, 64, a->state);
}

#endif
