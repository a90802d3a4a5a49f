/* What the two files of introspection share (for src/shm/introspection/
 * alone; transport.h declares the view's operations):
 *
 *   view.c        opening a view (the read-only mapping, the registry's
 *                 header validated), the validation of records, and the
 *                 listing of topics
 *   topic_info.c  building a zl_topic_info from a view: records, counters,
 *                 pools and queues
 */
#ifndef ZL_SHM_INTROSPECTION_INTERNAL_H
#define ZL_SHM_INTROSPECTION_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../registry.h"
#include "../transport.h"

struct zl__mw_topic_view {
    zl__registry registry; /* fd and shm read-only; never tracked */
    uint32_t domain;
};

/* Opens name read-only after checking its owner; maps the first `bytes`
 * (0: all of it). *file_size gets the object's size; *fd_out, if not NULL,
 * the descriptor (else it is closed). */
int zl__introspection_map_readonly(const char *name, bool group, size_t bytes, zl__mapping *map,
                                   uint64_t *file_size, int *fd_out);

/* Opens the registry of topic in domain (group: the group namespace) into
 * view, read-only, its header validated. ZL_ENODATA (absent or being
 * created), ZL_ENOTSUP (another layout version), ZL_ECORRUPT, ZL_EPERM. */
int zl__introspection_view_open_in(zl__mw_topic_view *view, uint32_t domain, const char *topic,
                                   bool group);

/* Whether a record's fields are within the ranges endpoints accept. */
bool zl__introspection_record_sane(const zl__endpoint_record *r);

#endif
