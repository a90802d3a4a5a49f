/** @file
 * zloan — introspection: a read-only look at the topics of a domain.
 *
 * What the `zloan` tool shows is read through these calls, and a program may
 * use them too: the topics this user can see (its own namespace and its
 * effective group's), and for one topic its type and every endpoint with
 * its process, options and counters. They read shared memory only: they
 * never create an endpoint, take no lock an endpoint waits for, write
 * nothing, and so never change what endpoints see. Everything they read is
 * validated: a registry that fails validation gives ZL_ECORRUPT, never a
 * crash. Counters are written by endpoints with plain stores and read here
 * without synchronisation: each value is one the endpoint wrote, but values
 * of one endpoint may be from slightly different moments.
 */
#ifndef ZLOAN_INTROSPECTION_H
#define ZLOAN_INTROSPECTION_H

#include "zloan/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/context.h"
#include "zloan/publisher.h"
#include "zloan/topic.h"
#include "zloan/type.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZL_EXECUTABLE_NAME_MAX 32 /**< bytes, including the terminating NUL */

/** What an endpoint is. */
typedef enum zl_endpoint_kind {
    ZL_ENDPOINT_PUBLISHER = 1,   /**< a publisher */
    ZL_ENDPOINT_SUBSCRIPTION = 2 /**< a subscription */
} zl_endpoint_kind;

/** One topic of a domain, as zl_introspection_list_topics() finds it. */
typedef struct zl_topic_summary {
    char name[ZL_TOPIC_NAME_MAX + 1]; /**< qualified ("/camera") */
    char type_name[ZL_TYPE_NAME_MAX]; /**< "" while the topic has no endpoint */
    bool group;                       /**< in the effective group's namespace */
    uint32_t publishers;              /**< endpoints in the registry, dead or alive */
    uint32_t subscriptions;           /**< endpoints in the registry, dead or alive */
    /** Of `publishers`, those whose process died (their records wait for
     * the sweep); `publishers - dead_publishers` are alive. */
    uint32_t dead_publishers;
    /** Of `subscriptions`, those whose process died. */
    uint32_t dead_subscriptions;
    /** Its registry failed validation (zl_introspection_topic_info says
     * why); the other fields but name and group are then 0. */
    bool corrupt;
} zl_topic_summary;

/** One of a subscription's queues: what one publisher delivered to it. */
typedef struct zl_queue_info {
    uint64_t publisher_id; /**< zl_publisher_id() of the publisher */
    uint32_t fill;     /**< messages queued, not yet taken */
    uint32_t capacity; /**< the deliver ring's size (the publisher may keep fewer: depth) */
    uint64_t lost;     /**< messages the publisher dropped from it (keep-last) */
    /** Lossless subscriptions: publishes that found this queue full and
     * waited for room (or timed out); 0 for keep-last. */
    uint64_t held_back;
} zl_queue_info;

/** One endpoint of a topic. */
typedef struct zl_endpoint_info {
    zl_endpoint_kind kind;                      /**< publisher or subscription */
    uint64_t id;                                /**< zl_publisher_id() of a publisher */
    uint32_t pid;                               /**< as the endpoint wrote it */
    char executable[ZL_EXECUTABLE_NAME_MAX];    /**< the process's short name */
    char context_name[ZL_CONTEXT_NAME_MAX];     /**< "" when its context has none */
    /** Whether its process is alive (it holds its slot's lock). A dead one
     * stays listed until a surviving endpoint of the topic reclaims it. */
    bool alive;
    /* Options. */
    uint32_t depth;     /**< subscription: keep-last depth */
    uint32_t history;   /**< publisher: messages kept for late joiners */
    uint32_t max_loans; /**< loans its user may hold at once: the max_loans it was created with */
    bool wants_history; /**< subscription */
    bool lossless;      /**< subscription: reliability ZL_LOSSLESS */
    /* Counters since it joined. */
    uint64_t messages;  /**< publisher: published; subscription: taken */
    uint64_t bytes;     /**< payload bytes published / taken */
    int64_t last_ns;    /**< publisher: source timestamp of its last message (0: none) */
    uint32_t loans_held; /**< loans its user holds now */
    /* Publisher: its pool (chunks of every size class together). */
    uint32_t chunks_total;    /**< chunks in the pool, as zl_publisher_get_stats() counts them */
    uint32_t chunks_free;     /**< free chunks, as zl_publisher_get_stats() counts them after
                                   the publisher's last call */
    /** The most chunks in use (lent, queued, kept or held) at once since the
     * publisher's creation: its high-water mark. A pool that shrank since
     * may have fewer chunks now. */
    uint32_t chunks_used_max;
    uint64_t chunk_bytes;     /**< bytes of its largest chunk, header included (0: unknown) */
    uint64_t pool_bytes;      /**< bytes reserved in /dev/shm, all segments (0: unknown) */
    /** Subscription: messages it dropped itself plus every queue's lost. */
    uint64_t lost;
    uint32_t queue_count;                          /**< subscription: queues[] filled */
    zl_queue_info queues[ZL_TOPIC_PUBLISHERS_MAX]; /**< subscription: one per publisher */
} zl_endpoint_info;

/** One topic: its type and endpoints. Large (about 21 KiB): allocate it. */
typedef struct zl_topic_info {
    char name[ZL_TOPIC_NAME_MAX + 1]; /**< qualified ("/camera") */
    uint32_t domain_id;               /**< the domain it was read in */
    bool group;                       /**< in the effective group's namespace */
    /** The type's name, from the first endpoint found ("" with none). */
    char type_name[ZL_TYPE_NAME_MAX];
    uint64_t type_size;   /**< sizeof the message (0 with no endpoint) */
    uint64_t layout_hash; /**< zl_type_layout_hash() of the type (0 with no endpoint) */
    uint64_t payload_size; /**< bytes of one message in the transport */
    bool plain; /**< the type is plain (zl_type.plain) */
    /** The type is sized (ZL_TYPE_SIZED): type_size is its fixed part, and
     * each message carries a count of tail elements after it. */
    bool sized;
    uint64_t element_size; /**< sized: bytes of one tail element (zl_type.element_size); 0 otherwise */
    uint64_t max_count;    /**< sized: the most elements a message may have (0: no maximum) */
    uint64_t alignment;    /**< the type's alignment (zl_type.alignment; 0 with no endpoint) */
    /** Its field description (zloan/type.h), "" when it has none. */
    char description[ZL_TYPE_DESCRIPTION_MAX];
    uint32_t endpoint_count; /**< endpoints[] filled */
    /** Its endpoints, publishers first. */
    zl_endpoint_info endpoints[ZL_TOPIC_PUBLISHERS_MAX + ZL_TOPIC_SUBSCRIPTIONS_MAX];
} zl_topic_info;

/** Lists the topics of domain_id visible to this user: its own namespace,
 * then its effective group's (topics of contexts with share_with_group).
 * Writes up to capacity entries to topics (which may be NULL when capacity
 * is 0) and the number found to *count, which may exceed capacity.
 * A registry that fails validation is listed with `corrupt` set; one of
 * another user or another zloan version, or being created or removed
 * meanwhile, is left out.
 * @retval 0 done.
 * @retval ZL_EINVAL count is NULL, topics is NULL with capacity > 0, or the
 *         domain id is above ZL_DOMAIN_ID_MAX.
 * @retval ZL_ESYSTEM /dev/shm cannot be read.
 * Any thread. */
ZL_API int zl_introspection_list_topics(uint32_t domain_id, zl_topic_summary *topics,
                                        size_t capacity, size_t *count);

/** Fills *info with topic's type and endpoints in domain_id (the user's
 * namespace, else the effective group's). The caller owns info.
 * @retval 0 *info filled.
 * @retval ZL_EINVAL an argument is NULL or the domain id is out of range.
 * @retval ZL_ENAME the topic name is invalid.
 * @retval ZL_ENODATA the topic does not exist (no registry, or one its first
 *         endpoint is still creating).
 * @retval ZL_ECORRUPT its registry failed validation (the detail says what);
 *         *info is unspecified.
 * @retval ZL_EPERM the registry belongs to another user.
 * @retval ZL_ENOTSUP the registry is of another zloan version (layout).
 * Any thread. */
ZL_API int zl_introspection_topic_info(uint32_t domain_id, const char *topic, zl_topic_info *info);

/** A topic view: zl_introspection_topic_info() for repeated reads (a tool
 * sampling counters), keeping the registry mapped read-only in between. */
typedef struct zl_topic_view zl_topic_view;

/** @retval 0 *view holds the view; the caller owns it (zl_topic_view_close).
 * Other codes as zl_introspection_topic_info(). Any thread. */
ZL_API int zl_topic_view_open(uint32_t domain_id, const char *topic, zl_topic_view **view);

/** Reads the topic as it is now (the same answer as
 * zl_introspection_topic_info()). A topic whose last endpoint left is still
 * read (with no endpoints) until the view is closed.
 * @retval 0, ZL_EINVAL, ZL_ECORRUPT. One thread at a time per view. */
ZL_API int zl_topic_view_read(zl_topic_view *view, zl_topic_info *info);

/** Closes a view (NULL: nothing). */
ZL_API void zl_topic_view_close(zl_topic_view *view);

#ifdef __cplusplus
}
#endif
#endif
