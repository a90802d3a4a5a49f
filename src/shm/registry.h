/* A topic's registry: discovery without a daemon.
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

#include "layout.h"
#include "segment.h"

typedef struct zl__registry {
    int fd; /* -1 when closed, and in a forked child (registry_fork.c) */
    zl__registry_shm *shm;
    uint32_t domain;
    mode_t mode;  /* 0600, or 0660 in the group namespace */
    bool group;   /* zl__shm_name_registry */
    char topic[ZL_TOPIC_NAME_MAX + 1];
    char name[ZL__SHM_NAME_MAX + 1];
    struct zl__registry *next, *prev; /* the open registries (registry_fork.c) */
    /* The slot our endpoint holds (own_kind 0: none yet). Written and read
     * under the tracked registries' lock: the liveness monitor must never
     * test our own slot, whose lock it would obtain through our own open
     * file description and take for a dead owner's. */
    uint32_t own_kind;
    uint32_t own_slot;
} zl__registry;

/* Keeps the list of open registries whose descriptors a forked child closes
 * (registry_fork.c). Called by zl__registry_open and zl__registry_close. */
void zl__registry_track(zl__registry *registry);
void zl__registry_untrack(zl__registry *registry);
/* Sets (kind != 0) or clears our own slot, under the tracked lock. */
void zl__registry_set_own(zl__registry *registry, uint32_t kind, uint32_t slot);
/* Calls visit for every open registry, under the tracked lock (so none is
 * closed meanwhile). */
void zl__registry_visit_tracked(void (*visit)(zl__registry *registry, void *arg), void *arg);

/* The liveness monitor (liveness.c): a thread of the process that, every
 * ZLOAN_LIVENESS_PERIOD_MS (default 20; 0 disables it), reaps the dead
 * endpoints of every open registry, so that endpoints learn of deaths from
 * the generation counter alone. Started with the first open registry.
 * Returns whether it runs (when not, endpoints check on their own). */
bool zl__liveness_monitor_start(void);
bool zl__liveness_monitor_running(void);

/* Opens (creating if needed) the registry of topic in domain. */
/* Opens (creating if needed) the registry of topic in domain, in the
 * user's namespace, or with group in the effective group's (mode 0660). */
int zl__registry_open(zl__registry *registry, uint32_t domain, const char *topic, bool group);

/* How many other owners (users, or groups) have a registry of the same
 * domain and topic in /dev/shm (owners.c); example, if not NULL, receives
 * the path of one. Endpoints of different owners never connect: this only
 * lets an endpoint say so. A directory scan: not for the hot path. */
uint32_t zl__registry_other_owners(const zl__registry *registry, char *example,
                                   size_t example_size);

/* The name of an endpoint's object of this topic (see segment.h). */
void zl__registry_endpoint_name(const zl__registry *registry, char *out, size_t out_size,
                                char kind, uint64_t id);

/* Closes it; the last user of the topic removes the registry and whatever
 * dead endpoints left behind. */
void zl__registry_close(zl__registry *registry);

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

/* Whether two records describe the same type. */
bool zl__record_same_type(const zl__endpoint_record *a, const zl__endpoint_record *b);

#endif
