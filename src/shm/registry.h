/* One topic's registry (registry/, its files listed in registry/internal.h;
 * owners.c counts other owners' ones).
 *
 * Every endpoint of a topic opens the registry (holding a read lock on its
 * USERS byte), claims a slot by taking that slot's byte lock, and writes its
 * record there. Peers find each other by reading the slots when the
 * generation counter changes. A slot whose record says "in use" but whose
 * lock nobody holds belongs to a dead process: the first endpoint to take the
 * lock reaps it (removes its shared memory, clears the record). The last
 * endpoint to leave removes the registry itself.
 */
#ifndef ZL_SHM_REGISTRY_H
#define ZL_SHM_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../log.h"
#include "layout.h"
#include "segment.h"

typedef struct zl__registry {
    int fd; /* -1 when closed, and in a forked child (discovery.c) */
    zl__registry_shm *shm;
    uint32_t domain;
    mode_t mode;  /* 0600, or 0660 in the group namespace */
    bool group;   /* zl__shm_name_registry */
    char topic[ZL_TOPIC_NAME_MAX + 1];
    char name[ZL__SHM_NAME_MAX + 1];
    const zl__logger *logger; /* the endpoint's context's; NULL: none */
    /* The endpoint's type description during registration ("" or NULL:
     * none); the registry stores it for the topic. */
    const char *description;
    struct zl__registry *next, *prev; /* the process's open registries (discovery.c) */
    /* The slot our endpoint holds: (kind << 16) | slot, 0 for none yet.
     * The liveness monitor skips it: it would obtain that slot's lock
     * through our own open file description and take us for dead. Written
     * by registration (relaxed, before the record's release), read by the
     * monitor after the record (acquire), so a monitor that sees our record
     * sees it ours. When we leave, the record goes first: a monitor that
     * read it just before may test the freed slot once, which costs one
     * needless generation bump and nothing else. */
    zl__atomic_u32 own;
} zl__registry;

static inline uint32_t zl__registry_own_word(uint32_t kind, uint32_t slot)
{
    return kind == 0 ? 0 : (kind << 16) | slot;
}

/* ---- one topic's registry (registry/) ---------------------------------- */

/* How many other owners (users, or groups) have a registry of the same
 * domain and topic in /dev/shm (owners.c); example, if not NULL, receives
 * the path of one. Endpoints of different owners never connect: this only
 * lets an endpoint say so (a warning in the log and the detail). A
 * directory scan: not for the hot path. */
uint32_t zl__registry_other_owners(const zl__registry *registry, char *example,
                                   size_t example_size);

/* Opens (creating if needed) the registry file, without tracking it. */
int zl__registry_open_file(zl__registry *registry, uint32_t domain, const char *topic,
                           bool group);

/* The name of an endpoint's object of this topic (see segment.h). */
void zl__registry_endpoint_name(const zl__registry *registry, char *out, size_t out_size,
                                char kind, uint64_t id);

/* Closes the file; the last user of the topic removes the registry and
 * whatever dead endpoints left behind. */
void zl__registry_close_file(zl__registry *registry);

/* In a forked child: lets go of the parent's description and mapping (the
 * mapping becomes private blank memory), see discovery.c. */
void zl__registry_forget_after_fork(zl__registry *registry);

/* Takes the topic's REGISTER lock (waiting a little when another endpoint
 * registers). An endpoint takes it before it creates its segment; then
 * zl__registry_register or zl__registry_close lets it go. ZL_EBUSY. */
int zl__registry_lock_register(zl__registry *registry);

/* Checks the record's type against every live endpoint of the topic, reaps
 * dead ones, claims a free slot of record->kind and publishes the record.
 * Releases the REGISTER lock, on success and on error.
 * ZL_ETYPE (detail names both types), ZL_ELIMIT, ZL_EBUSY. */
int zl__registry_register(zl__registry *registry, const zl__endpoint_record *record,
                          uint32_t *slot);

/* Clears our slot and lets it go. */
void zl__registry_unregister(zl__registry *registry, uint32_t kind, uint32_t slot);

enum { ZL__SLOT_BUSY = -1, ZL__SLOT_EMPTY = 0, ZL__SLOT_PRESENT = 1 };

/* Copies slot's record (validated: strings terminated). Returns
 * ZL__SLOT_PRESENT, ZL__SLOT_EMPTY (free), or ZL__SLOT_BUSY when it could not
 * be read consistently (being rewritten): then nothing is known and the
 * caller must look again later, never conclude that the endpoint left. */
int zl__registry_lookup(const zl__registry *registry, uint32_t kind, uint32_t slot,
                        zl__endpoint_record *record);

/* zl__registry_lookup() == ZL__SLOT_PRESENT. */
bool zl__registry_read(const zl__registry *registry, uint32_t kind, uint32_t slot,
                       zl__endpoint_record *record);

/* Whether the endpoint in slot is alive (some other open file description
 * holds the slot's lock). Makes one fcntl call. */
bool zl__registry_alive(const zl__registry *registry, uint32_t kind, uint32_t slot);

/* If slot still holds id and its owner is dead, removes what it left and
 * frees the slot. Returns true when the slot no longer holds a live id. */
bool zl__registry_reap(zl__registry *registry, uint32_t kind, uint32_t slot, uint64_t id);

/* Reaps every dead endpoint of the topic but ours (an fcntl per live
 * slot). For the endpoint's own thread, when the generation changed.
 * Returns whether it reaped one. */
bool zl__registry_reap_dead(zl__registry *registry);

/* Bumps the generation (and wakes its waiters) without changing a slot:
 * "look again". */
void zl__registry_poke(zl__registry *registry);

/* The counters beside slot (layout.h), for the slot's endpoint to update. */
static inline zl__endpoint_counters *zl__registry_counters(const zl__registry *registry,
                                                           uint32_t kind, uint32_t slot)
{
    return kind == ZL__KIND_PUBLISHER ? &registry->shm->publisher_counters[slot]
                                      : &registry->shm->subscription_counters[slot];
}

static inline uint32_t zl__registry_generation(const zl__registry *registry)
{
    /* Acquire pairs with the release increment after a slot change: the
     * caller then reads the slots as they were at least as new as this. */
    return zl__load_acquire(&registry->shm->generation);
}

/* A departing publisher whose pool `pool_id` must outlive it for `count`
 * subscriptions. Returns false when the table is full (then the caller
 * removes the pool at once). */
bool zl__registry_linger(zl__registry *registry, uint64_t pool_id, uint32_t count);

/* A subscription counted by zl__registry_linger is done with pool_id; the
 * last one removes the pool. */
void zl__registry_linger_done(zl__registry *registry, uint64_t pool_id);

/* Copies the topic's type description (text, NUL-terminated) into out and
 * its hash into *hash ("" and 0 when it has none). ZL_ECORRUPT when the
 * stored text fails its size or hash, ZL_EBUSY when it kept changing.
 */
int zl__registry_read_description(const zl__registry *registry, char *out, size_t out_size,
                                  uint64_t *hash);

/* The hash of a description's text (0 for ""). */
uint64_t zl__description_hash(const char *text);

/* Whether two records describe the same type. */
bool zl__record_same_type(const zl__endpoint_record *a, const zl__endpoint_record *b);

#endif
