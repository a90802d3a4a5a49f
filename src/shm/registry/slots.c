/* One topic's registry, its slots: the sequence-locked records, lookup,
 * registration (the type check against every live peer, then the claim of
 * a free slot), release, liveness, and the generation counter.
 *
 * Invariants
 *   G1. A slot's record is written only by the holder of the slot's byte
 *       lock (its endpoint, or a reaper that took the lock of a dead one), so
 *       there is one writer at a time; the sequence lock lets readers detect
 *       a concurrent rewrite and retry.
 *   G3. Every change of a slot is followed by a release increment of the
 *       generation, so an endpoint that sees the generation unchanged (one
 *       acquire load) knows no slot changed since it last looked.
 *   G4. Registrations hold the REGISTER lock, so the type check and the
 *       claim of a slot are atomic with respect to other registrations: two
 *       endpoints of different types cannot both join.
 *   G6. An endpoint takes the REGISTER lock (zl__registry_lock_register)
 *       before it creates its segment and keeps it until its record is in
 *       its slot (zl__registry_register) or it gave up (close): whoever
 *       holds REGISTER knows that every existing segment of a live endpoint
 *       is named by a slot. The sweep (sweep.c, rule C) relies on it to
 *       remove orphans safely.
 */
#include <string.h>

#include "zloan/error.h"

#include "../../error_detail.h"
#include "../notify.h"
#include "internal.h"

#define SEQLOCK_TRIES 64

void zl__registry_write_record(zl__slot *slot, const zl__endpoint_record *record)
{
    uint64_t words[sizeof(zl__endpoint_record) / 8];
    memcpy(words, record, sizeof words);
    /* Make seq odd (a writer that died mid-write may have left it odd). */
    uint32_t seq = zl__load_relaxed(&slot->seq) | 1u;
    zl__store_relaxed(&slot->seq, seq);
    /* Orders the odd seq before the word stores below: a reader that sees a
     * new word then sees seq changed (it pairs with the reader's acquire
     * fence). */
    zl__fence_release();
    for (size_t i = 0; i < sizeof words / 8; i++)
        __atomic_store_n(&slot->words[i], words[i], __ATOMIC_RELAXED);
    /* Publishes the words; pairs with the reader's acquire load of seq. */
    zl__store_release(&slot->seq, seq + 1);
}

/* Relaxed: counters are hints for tools, which match them to the record
 * by id (a tool that reads old values beside a new id shows them once). */
static void reset_counters(zl__endpoint_counters *c, uint64_t id)
{
    zl__store_relaxed(&c->messages, 0);
    zl__store_relaxed(&c->bytes, 0);
    zl__store_relaxed(&c->last_ns, 0);
    zl__store_relaxed(&c->loans, 0);
    zl__store_relaxed(&c->returned, 0);
    zl__store_relaxed(&c->lost, 0);
    zl__store_relaxed(&c->chunks_total, 0);
    zl__store_relaxed(&c->chunks_free, 0);
    zl__store_relaxed(&c->chunks_used_max, 0);
    zl__store_relaxed(&c->id, id);
}

void zl__registry_bump_generation(zl__registry *registry)
{
    /* Release: the slot change before it is visible to whoever sees the new
     * generation (zl__registry_generation's acquire load). */
    zl__fetch_add_release(&registry->shm->generation, 1);
    /* Wait sets sleep on the generation to hear of new peers; endpoints
     * come and go rarely, so this system call is off the hot path. */
    zl__notify_wake_all(&registry->shm->generation);
}

int zl__registry_lookup(const zl__registry *registry, uint32_t kind, uint32_t slot,
                        zl__endpoint_record *record)
{
    zl__slot *s = zl__registry_slot_at(registry, kind, slot);
    for (int tries = 0; tries < SEQLOCK_TRIES; tries++) {
        /* Acquire pairs with the writer's release store of the even seq. */
        uint32_t before = zl__load_acquire(&s->seq);
        if (before & 1u)
            continue;
        uint64_t words[sizeof(zl__endpoint_record) / 8];
        for (size_t i = 0; i < sizeof words / 8; i++)
            words[i] = __atomic_load_n(&s->words[i], __ATOMIC_RELAXED);
        /* Orders the word loads before the second seq load; pairs with the
         * writer's release fence after it made seq odd. */
        zl__fence_acquire();
        if (zl__load_relaxed(&s->seq) != before)
            continue;
        memcpy(record, words, sizeof *record);
        /* Hostile or torn-on-purpose records: never trust a string's end. */
        record->type_name[ZL_TYPE_NAME_MAX - 1] = '\0';
        record->context_name[ZL_CONTEXT_NAME_MAX - 1] = '\0';
        record->executable[ZL__EXECUTABLE_MAX - 1] = '\0';
        if (record->id == 0 || record->kind != kind)
            return ZL__SLOT_EMPTY;
        return ZL__SLOT_PRESENT;
    }
    return ZL__SLOT_BUSY;
}

bool zl__registry_read(const zl__registry *registry, uint32_t kind, uint32_t slot,
                       zl__endpoint_record *record)
{
    return zl__registry_lookup(registry, kind, slot, record) == ZL__SLOT_PRESENT;
}

bool zl__registry_alive(const zl__registry *registry, uint32_t kind, uint32_t slot)
{
    return zl__ofd_held_by_other(registry->fd, zl__registry_slot_byte(kind, slot));
}

/* The type check of a registration (G4): reaps the dead endpoints it
 * meets and fails when a live one has another type. Under REGISTER; on
 * error, releases it. */
static int check_peers(zl__registry *registry, const zl__endpoint_record *record)
{
    for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++) {
        for (uint32_t i = 0; i < zl__registry_slot_count(kind); i++) {
            zl__endpoint_record other;
            if (!zl__registry_read(registry, kind, i, &other))
                continue;
            if (!zl__registry_alive(registry, kind, i)) {
                zl__registry_reap(registry, kind, i, other.id);
                continue;
            }
            if (!zl__record_same_type(record, &other)) {
                int rc = zl__registry_type_mismatch(registry, record, &other, kind);
                zl__ofd_unlock(registry->fd, ZL__LOCK_REGISTER);
                return rc;
            }
        }
    }
    return 0;
}

/* The claim of a free slot of record->kind, and the publication of the
 * record there. Under REGISTER; releases it. */
static int claim_slot(zl__registry *registry, const zl__endpoint_record *record,
                      uint32_t *slot_out)
{
    uint32_t kind = record->kind;
    uint32_t *hint = &registry->shm->next_slot[kind - ZL__KIND_PUBLISHER];
    for (uint32_t n = 0; n < zl__registry_slot_count(kind); n++) {
        /* The hint is shared memory: reduce it, never index with it raw. */
        uint32_t i = (*hint + n) % zl__registry_slot_count(kind);
        if (zl__ofd_lock(registry->fd, zl__registry_slot_byte(kind, i), true) != 0)
            continue; /* a live endpoint holds it */
        *hint = (i + 1) % zl__registry_slot_count(kind);
        zl__endpoint_record old;
        if (zl__registry_read(registry, kind, i, &old))
            zl__registry_remove_leftovers(registry, &old); /* its owner died */
        /* Before our record appears (the record's release store orders
         * it): the monitor must know the slot is ours (registry.h, `own`). */
        zl__store_relaxed(&registry->own, zl__registry_own_word(kind, i));
        reset_counters(zl__registry_counters(registry, kind, i), record->id);
        /* Relaxed: only registrations write it, under REGISTER (held). */
        if (record->description_hash != 0 && registry->description != NULL &&
            __atomic_load_n(&registry->shm->description.hash, __ATOMIC_RELAXED) !=
                record->description_hash)
            zl__registry_store_description(registry, registry->description);
        zl__registry_write_record(zl__registry_slot_at(registry, kind, i), record);
        zl__registry_bump_generation(registry);
        zl__ofd_unlock(registry->fd, ZL__LOCK_REGISTER);
        *slot_out = i;
        return 0;
    }
    zl__ofd_unlock(registry->fd, ZL__LOCK_REGISTER);
    return zl__fail(ZL_ELIMIT, "topic %s already has %u %ss", registry->topic,
                    zl__registry_slot_count(kind), zl__registry_kind_name(kind));
}

int zl__registry_register(zl__registry *registry, const zl__endpoint_record *record,
                          uint32_t *slot_out)
{
    /* Normally held since zl__registry_lock_register (G6); taking a lock
     * this open file description already holds succeeds at once. */
    int rc = zl__registry_lock_waiting(registry->fd, ZL__LOCK_REGISTER, true, "register",
                                       registry->topic);
    if (rc != 0)
        return rc;
    rc = check_peers(registry, record);
    if (rc != 0)
        return rc;
    return claim_slot(registry, record, slot_out);
}

void zl__registry_unregister(zl__registry *registry, uint32_t kind, uint32_t slot)
{
    zl__endpoint_record empty;
    memset(&empty, 0, sizeof empty);
    zl__registry_write_record(zl__registry_slot_at(registry, kind, slot), &empty);
    zl__registry_bump_generation(registry);
    zl__ofd_unlock(registry->fd, zl__registry_slot_byte(kind, slot));
    /* Only now, with our record gone, may the monitor look at the slot. */
    zl__store_relaxed(&registry->own, 0);
}

void zl__registry_poke(zl__registry *registry) { zl__registry_bump_generation(registry); }
