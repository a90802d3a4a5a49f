/* What the files of one topic's registry share (registry.h is the
 * interface; this header is for src/shm/registry/ alone):
 *
 *   file.c         the registry object: open, create, map, validate, close,
 *                  remove, and the waits for its byte locks (G5, G6)
 *   slots.c        the sequence-locked records, lookup, registration's
 *                  claim, release, liveness, the generation (G1, G3, G4)
 *   reap.c         reaping dead endpoints and the lingering pools they
 *                  leave (G2, G7, G8)
 *   type_check.c   whether two records agree on the type, and the detail
 *                  that names both sides of a mismatch (I7)
 *   description.c  the topic's type description: its hash, store and read
 *
 * The invariants G1-G8 are defined in docs/design.md §3.5; each file
 * repeats those it enforces.
 */
#ifndef ZL_SHM_REGISTRY_INTERNAL_H
#define ZL_SHM_REGISTRY_INTERNAL_H

#include "../registry.h"

static inline const char *zl__registry_kind_name(uint32_t kind)
{
    return kind == ZL__KIND_PUBLISHER ? "publisher" : "subscription";
}

static inline zl__slot *zl__registry_slot_at(const zl__registry *registry, uint32_t kind,
                                             uint32_t slot)
{
    return kind == ZL__KIND_PUBLISHER ? &registry->shm->publishers[slot]
                                      : &registry->shm->subscriptions[slot];
}

static inline uint32_t zl__registry_slot_count(uint32_t kind)
{
    return kind == ZL__KIND_PUBLISHER ? ZL__PUB_SLOTS : ZL__SUB_SLOTS;
}

static inline off_t zl__registry_slot_byte(uint32_t kind, uint32_t slot)
{
    return kind == ZL__KIND_PUBLISHER ? ZL__LOCK_PUB_SLOT(slot) : ZL__LOCK_SUB_SLOT(slot);
}

static inline void zl__registry_unlink_pool(zl__registry *registry, uint64_t pool_id)
{
    zl__shm_unlink_pool(registry->name, pool_id);
}

/* Takes a byte lock of the registry file fd, waiting a little (file.c).
 * ZL_EBUSY (detail names the lock and the topic). */
int zl__registry_lock_waiting(int fd, off_t byte, bool exclusive, const char *what,
                              const char *topic);

/* Writes a slot's record behind its sequence lock; the caller holds the
 * slot's byte lock (G1; slots.c). */
void zl__registry_write_record(zl__slot *slot, const zl__endpoint_record *record);

/* Increments the generation (release) and wakes its waiters (G3; slots.c). */
void zl__registry_bump_generation(zl__registry *registry);

/* Removes what a dead endpoint's record points at. Caller holds its lock
 * (reap.c). */
void zl__registry_remove_leftovers(zl__registry *registry, const zl__endpoint_record *record);

/* Stores text as the topic's description; under the REGISTER lock
 * (description.c). */
void zl__registry_store_description(zl__registry *registry, const char *text);

/* Fails with ZL_ETYPE and a detail that names both types, ours (record)
 * and other's, found in a slot of kind; under the REGISTER lock, which the
 * caller releases (type_check.c). */
int zl__registry_type_mismatch(const zl__registry *registry, const zl__endpoint_record *record,
                               const zl__endpoint_record *other, uint32_t kind);

#endif
