/* The loopback transport's topics: the endpoints of one process that meet
 * on a name, under one mutex per topic.
 *
 * The loopback transport (transport.c) carries messages between the
 * endpoints of one process, with no shared memory: publishing copies the
 * payload into the subscription's own buffers, taking lends those buffers.
 * It is the second table behind the seam (mw.h) and the conformance
 * suite's other subject. It takes a mutex on every operation: it is a
 * reference transport, not the zero-copy one (I4 is the shm transport's).
 */
#ifndef ZL_LOOPBACK_TOPIC_H
#define ZL_LOOPBACK_TOPIC_H

#include <pthread.h>

#include "../mw.h"

typedef struct zl__loopback_topic {
    struct zl__loopback_topic *next; /* the process's list (topic.c) */
    uint32_t users;                  /* endpoints joined; under the list's mutex */
    uint32_t domain_id;
    char name[ZL_TOPIC_NAME_MAX + 1];
    /* The type of its first endpoint, which every other must match (I7). */
    char type_name[ZL_TYPE_NAME_MAX];
    uint64_t type_size;
    uint64_t layout_hash;
    /* Guards the endpoint lists and every endpoint's queue and history. */
    pthread_mutex_t lock;
    struct zl__mw_publisher *publishers;
    struct zl__mw_subscription *subscriptions;
} zl__loopback_topic;

/* Joins the topic of config (made on first use), checking the type:
 * ZL_ETYPE with a detail naming both types, ZL_ENOMEM. */
int zl__loopback_topic_join(const zl__mw_endpoint_config *config, zl__loopback_topic **topic);

/* Leaves it; the last endpoint to leave frees it. */
void zl__loopback_topic_leave(zl__loopback_topic *topic);

#endif
