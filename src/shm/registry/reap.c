/* One topic's registry, its dead endpoints: reaping a slot whose owner died
 * (removing what it left, clearing its record), and the lingering pools of
 * departed publishers, with the counts their subscriptions give back.
 *
 * Invariants
 *   G2. A record with id != 0 whose lock nobody holds belongs to a dead
 *       process. Taking the lock proves it (the kernel drops locks of dead
 *       processes), so reaping never hits a live endpoint.
 *   G7. A lingering entry is written under the REGISTER lock: remaining is
 *       stored before pool_id is published (release), so a subscription that
 *       finds the id (acquire) decrements a valid count; whoever takes it to
 *       0 removes the pool and frees the entry.
 *   G8. Every count in a lingering entry is given back once: by the
 *       subscription (when it drained the connection, or at its destroy),
 *       by the departing publisher for a subscription already gone, or by
 *       the reaper of a dead subscription (settle_lingering). Each of them
 *       takes the connection's `lingering` flag with an exchange first.
 */
#include <string.h>

#include "zloan/error.h"

#include "../../log.h"
#include "../queue.h"
#include "internal.h"

/* Removes what a dead endpoint's record points at. Caller holds its lock. */
void zl__registry_remove_leftovers(zl__registry *registry, const zl__endpoint_record *record)
{
    if (record->kind == ZL__KIND_PUBLISHER) {
        zl__shm_unlink_pool(registry->name, record->id); /* control object and segments */
        return;
    }
    char name[ZL__SHM_NAME_MAX + 1];
    zl__shm_name_endpoint(name, sizeof name, registry->name, 's', record->id);
    zl__segment_unlink(name);
}

/* A dead subscription owed a release to each publisher that left its pool
 * lingering for it (G8): give them, as its destroy would have, so that such
 * a pool goes as soon as nobody else needs it rather than with the topic's
 * last user. Called after its record was cleared, then a fence, then the
 * flags: the other half of the handshake in the publisher's destroy (flags
 * set, fence, record read), so one of the two sees the other. The queue
 * is checked like any peer's (I3). */
static void settle_lingering(zl__registry *registry, const zl__mapping *queue, uint64_t id)
{
    zl__queue_shm *q = queue->base;
    zl__queue_geometry g;
    if (!zl__queue_geometry_read(q, queue->size, id, &g))
        return;
    zl__fence_seq_cst();
    for (uint32_t j = 0; j < ZL__PUB_SLOTS; j++) {
        zl__connection_shm *c = zl__queue_connection(q, &g, j);
        /* acq_rel pairs with the publisher's release store of the flag (its
         * lingering entry is visible) and makes us the only one to act. */
        if (atomic_exchange_explicit(&c->lingering, 0, memory_order_acq_rel) != 0)
            zl__registry_linger_done(registry, zl__load_relaxed(&c->publisher_id));
    }
}

bool zl__registry_reap(zl__registry *registry, uint32_t kind, uint32_t slot, uint64_t id)
{
    off_t byte = zl__registry_slot_byte(kind, slot);
    if (zl__ofd_lock(registry->fd, byte, true) != 0)
        return false; /* its owner is alive */
    zl__endpoint_record record;
    int state = zl__registry_lookup(registry, kind, slot, &record);
    /* BUSY with the lock in hand: its writer died mid-write; clear it. */
    if (state == ZL__SLOT_BUSY || (state == ZL__SLOT_PRESENT && (id == 0 || record.id == id))) {
        zl__mapping queue = {0};
        bool settle = false;
        if (state == ZL__SLOT_PRESENT && kind == ZL__KIND_SUBSCRIPTION) {
            char name[ZL__SHM_NAME_MAX + 1];
            zl__registry_endpoint_name(registry, name, sizeof name, 's', record.id);
            settle = zl__segment_open(name, true, registry->group, &queue) == 0;
        }
        if (state == ZL__SLOT_PRESENT) {
            zl__registry_remove_leftovers(registry, &record);
            zl__log(registry->logger, ZL_LOG_INFO,
                    "topic %s: reclaimed what a dead %s left (id %016llx, pid %u, %s%s%s)",
                    registry->topic, zl__registry_kind_name(kind), (unsigned long long)record.id,
                    record.pid, record.executable, record.context_name[0] ? ", context " : "",
                    record.context_name);
        }
        zl__endpoint_record empty;
        memset(&empty, 0, sizeof empty);
        zl__registry_write_record(zl__registry_slot_at(registry, kind, slot), &empty);
        zl__registry_bump_generation(registry);
        if (settle) {
            settle_lingering(registry, &queue, record.id);
            zl__segment_unmap(&queue);
        }
    }
    zl__ofd_unlock(registry->fd, byte);
    return true;
}

bool zl__registry_linger(zl__registry *registry, uint64_t pool_id, uint32_t count)
{
    if (zl__registry_lock_waiting(registry->fd, ZL__LOCK_REGISTER, true, "register",
                                  registry->topic) != 0)
        return false;
    bool recorded = false;
    for (uint32_t i = 0; i < ZL__PUB_SLOTS && !recorded; i++) {
        if (zl__load_relaxed(&registry->shm->lingering[i].pool_id) != 0)
            continue;
        zl__store_relaxed(&registry->shm->lingering[i].remaining, count);
        /* Release: the count is visible to whoever finds the id (G7). */
        zl__store_release(&registry->shm->lingering[i].pool_id, pool_id);
        recorded = true;
    }
    zl__ofd_unlock(registry->fd, ZL__LOCK_REGISTER);
    return recorded;
}

void zl__registry_linger_done(zl__registry *registry, uint64_t pool_id)
{
    for (uint32_t i = 0; i < ZL__PUB_SLOTS; i++) {
        /* Acquire pairs with the release store in zl__registry_linger. */
        if (zl__load_acquire(&registry->shm->lingering[i].pool_id) != pool_id)
            continue;
        /* acq_rel: the decrements form one chain; the last sees them all. */
        uint32_t before = zl__fetch_sub_acq_rel(&registry->shm->lingering[i].remaining, 1);
        if (before == 1 || before > ZL__SUB_SLOTS) { /* last one, or a broken count */
            zl__registry_unlink_pool(registry, pool_id);
            zl__store_release(&registry->shm->lingering[i].pool_id, 0);
        }
        return;
    }
}

bool zl__registry_reap_dead(zl__registry *registry)
{
    bool reaped = false;
    for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++)
        for (uint32_t i = 0; i < zl__registry_slot_count(kind); i++) {
            if (zl__load_relaxed(&registry->own) == zl__registry_own_word(kind, i))
                continue; /* owner thread: its own store */
            zl__endpoint_record record;
            if (zl__registry_lookup(registry, kind, i, &record) == ZL__SLOT_PRESENT &&
                !zl__registry_alive(registry, kind, i))
                reaped |= zl__registry_reap(registry, kind, i, record.id);
        }
    return reaped;
}
