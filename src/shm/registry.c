/* A topic's registry: slots behind sequence locks, claimed with byte locks.
 *
 * Invariants
 *   G1. A slot's record is written only by the holder of the slot's byte
 *       lock (its endpoint, or a reaper that took the lock of a dead one), so
 *       there is one writer at a time; the sequence lock lets readers detect
 *       a concurrent rewrite and retry.
 *   G2. A record with id != 0 whose lock nobody holds belongs to a dead
 *       process. Taking the lock proves it (the kernel drops locks of dead
 *       processes), so reaping never hits a live endpoint.
 *   G3. Every change of a slot is followed by a release increment of the
 *       generation, so an endpoint that sees the generation unchanged (one
 *       acquire load) knows no slot changed since it last looked.
 *   G4. Registrations hold the REGISTER lock, so the type check and the
 *       claim of a slot are atomic with respect to other registrations: two
 *       endpoints of different types cannot both join.
 *   G5. Each user holds a read lock on USERS; the one that obtains the write
 *       lock knows it is the last and removes the registry. An opener checks,
 *       after it got its read lock, that the file it opened is still linked,
 *       and starts over otherwise, so it never joins a removed registry.
 *   G6. An endpoint takes the REGISTER lock (zl__registry_lock_register)
 *       before it creates its segment and keeps it until its record is in
 *       its slot (zl__registry_register) or it gave up (close): whoever
 *       holds REGISTER knows that every existing segment of a live endpoint
 *       is named by a slot. The sweep (sweep.c, rule C) relies on it to
 *       remove orphans safely.
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
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zloan/error.h"

#include "../error_detail.h"
#include "../log.h"
#include "registry.h"
#include "notify.h"
#include "queue.h"

#define LOCK_WAIT_MS 5000
#define SEQLOCK_TRIES 64

static const char *kind_name(uint32_t kind)
{
    return kind == ZL__KIND_PUBLISHER ? "publisher" : "subscription";
}

static zl__slot *slot_at(const zl__registry *registry, uint32_t kind, uint32_t slot)
{
    return kind == ZL__KIND_PUBLISHER ? &registry->shm->publishers[slot]
                                      : &registry->shm->subscriptions[slot];
}

static uint32_t slot_count(uint32_t kind)
{
    return kind == ZL__KIND_PUBLISHER ? ZL__PUB_SLOTS : ZL__SUB_SLOTS;
}

static off_t slot_byte(uint32_t kind, uint32_t slot)
{
    return kind == ZL__KIND_PUBLISHER ? ZL__LOCK_PUB_SLOT(slot) : ZL__LOCK_SUB_SLOT(slot);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Takes a byte lock, retrying for up to LOCK_WAIT_MS: the holders of USERS
 * (write) and REGISTER keep them for microseconds, and a holder that dies
 * loses them at once. */
static int lock_waiting(int fd, off_t byte, bool exclusive, const char *what, const char *topic)
{
    for (int waited = 0; waited <= LOCK_WAIT_MS; waited++) {
        int rc = zl__ofd_lock(fd, byte, exclusive);
        if (rc != ZL_EBUSY)
            return rc;
        sleep_ms(1);
    }
    return zl__fail(ZL_EBUSY, "the %s lock of topic %s was held for more than %d ms", what, topic,
                    LOCK_WAIT_MS);
}

static void write_record(zl__slot *slot, const zl__endpoint_record *record)
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

static void bump_generation(zl__registry *registry)
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
    zl__slot *s = slot_at(registry, kind, slot);
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

bool zl__record_same_type(const zl__endpoint_record *a, const zl__endpoint_record *b)
{
    return a->type_size == b->type_size && a->layout_hash == b->layout_hash &&
           a->plain == b->plain && a->payload_size == b->payload_size &&
           a->description_hash == b->description_hash && strcmp(a->type_name, b->type_name) == 0;
}

uint64_t zl__description_hash(const char *text)
{
    if (text[0] == '\0')
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = text; *p != '\0'; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ull;
    }
    return h == 0 ? 1 : h;
}

/* Stores our description as the topic's, behind its sequence lock (like a
 * slot's). Under the REGISTER lock: one writer. */
static void store_description(zl__registry *registry, const char *text)
{
    zl__registry_shm *shm = registry->shm;
    size_t size = strlen(text);
    uint64_t words[ZL__DESCRIPTION_MAX / 8];
    memset(words, 0, sizeof words);
    memcpy(words, text, size);
    uint32_t seq = zl__load_relaxed(&shm->description.seq) | 1u;
    zl__store_relaxed(&shm->description.seq, seq);
    /* Orders the odd seq before the stores below (pairs with the reader's
     * acquire fence, zl__registry_read_description). */
    zl__fence_release();
    __atomic_store_n(&shm->description.size, (uint32_t)size, __ATOMIC_RELAXED);
    __atomic_store_n(&shm->description.hash, zl__description_hash(text), __ATOMIC_RELAXED);
    for (size_t i = 0; i < (size + 8) / 8; i++)
        __atomic_store_n(&shm->description.words[i], words[i], __ATOMIC_RELAXED);
    /* Publishes the text; pairs with the reader's acquire load of seq. */
    zl__store_release(&shm->description.seq, seq + 1);
}

/* Names the first field where descriptions a (ours) and b (the topic's)
 * differ, into out ("" when either is missing). */
static void describe_difference(const char *a, const char *b, char *out, size_t out_size)
{
    out[0] = '\0';
    if (a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0')
        return;
    for (int field = 0;; field++) {
        size_t na = strcspn(a, ";"), nb = strcspn(b, ";");
        if (na != nb || strncmp(a, b, na) != 0) {
            snprintf(out, out_size, "; field %d is '%.*s' here but '%.*s' on the topic", field,
                     (int)(na > 60 ? 60 : na), a, (int)(nb > 60 ? 60 : nb), b);
            return;
        }
        if (a[na] == '\0' || b[nb] == '\0')
            return;
        a += na + 1;
        b += nb + 1;
    }
}

/* When two types agree on name, size and layout hash but not on their
 * largest message (a sized type's element size or max_count, a serialized
 * type's bound, or a sized type against a fixed one), says so: the rest of
 * the detail would show two identical types. */
static void describe_payload(uint64_t here, uint64_t there, char *out, size_t out_size)
{
    char a[32] = "unbounded", b[32] = "unbounded";
    const uint64_t unbounded = (uint64_t)1 << 40; /* ZL__PAYLOAD_UNBOUNDED */
    if (here < unbounded)
        snprintf(a, sizeof a, "%llu bytes", (unsigned long long)here);
    if (there < unbounded)
        snprintf(b, sizeof b, "%llu bytes", (unsigned long long)there);
    snprintf(out, out_size,
             "; its largest message is %s here but %s on the topic (the element size or "
             "max_count of a sized type, or the bound of a serialized one, differs)",
             a, b);
}

bool zl__registry_alive(const zl__registry *registry, uint32_t kind, uint32_t slot)
{
    return zl__ofd_held_by_other(registry->fd, slot_byte(kind, slot));
}

/* Removes what a dead endpoint's record points at. Caller holds its lock. */
static void remove_leftovers(zl__registry *registry, const zl__endpoint_record *record)
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
    off_t byte = slot_byte(kind, slot);
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
            remove_leftovers(registry, &record);
            zl__log(registry->logger, ZL_LOG_INFO,
                    "topic %s: reclaimed what a dead %s left (id %016llx, pid %u, %s%s%s)",
                    registry->topic, kind_name(kind), (unsigned long long)record.id, record.pid,
                    record.executable, record.context_name[0] ? ", context " : "",
                    record.context_name);
        }
        zl__endpoint_record empty;
        memset(&empty, 0, sizeof empty);
        write_record(slot_at(registry, kind, slot), &empty);
        bump_generation(registry);
        if (settle) {
            settle_lingering(registry, &queue, record.id);
            zl__segment_unmap(&queue);
        }
    }
    zl__ofd_unlock(registry->fd, byte);
    return true;
}

static void unlink_pool(zl__registry *registry, uint64_t pool_id)
{
    zl__shm_unlink_pool(registry->name, pool_id);
}

bool zl__registry_linger(zl__registry *registry, uint64_t pool_id, uint32_t count)
{
    if (lock_waiting(registry->fd, ZL__LOCK_REGISTER, true, "register", registry->topic) != 0)
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
            unlink_pool(registry, pool_id);
            zl__store_release(&registry->shm->lingering[i].pool_id, 0);
        }
        return;
    }
}

void zl__registry_poke(zl__registry *registry) { bump_generation(registry); }

bool zl__registry_reap_dead(zl__registry *registry)
{
    bool reaped = false;
    for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++)
        for (uint32_t i = 0; i < slot_count(kind); i++) {
            if (zl__load_relaxed(&registry->own) == zl__registry_own_word(kind, i))
                continue; /* owner thread: its own store */
            zl__endpoint_record record;
            if (zl__registry_lookup(registry, kind, i, &record) == ZL__SLOT_PRESENT &&
                !zl__registry_alive(registry, kind, i))
                reaped |= zl__registry_reap(registry, kind, i, record.id);
        }
    return reaped;
}

static void init_registry(zl__registry_shm *shm, const char *topic)
{
    memset(shm, 0, sizeof *shm);
    shm->version = ZL__LAYOUT_VERSION;
    shm->size = sizeof *shm;
    snprintf(shm->topic, sizeof shm->topic, "%s", topic);
    /* Publishes the initialised header; pairs with the acquire load of magic
     * in zl__registry_open (done under the REGISTER lock as well). */
    __atomic_store_n(&shm->magic, ZL__REGISTRY_MAGIC, __ATOMIC_RELEASE);
}

static int open_once(zl__registry *registry)
{
    const char *name = registry->name;
    int fd = shm_open(name, O_RDWR | O_CREAT | O_CLOEXEC, registry->mode);
    if (fd < 0) {
        if (errno == EACCES)
            return zl__fail(ZL_EPERM, "cannot open the registry %s of topic %s: %s", name,
                            registry->topic, strerror(errno));
        if (errno == ENOSPC)
            return zl__fail(ZL_ENOSHM, "cannot create the registry %s of topic %s: /dev/shm "
                            "has no inode left", name, registry->topic);
        return zl__fail(ZL_ESYSTEM, "shm_open(%s): %s", name, strerror(errno));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = zl__fail(ZL_ESYSTEM, "fstat(%s): %s", name, strerror(errno));
        goto fail;
    }
    if (!zl__shm_owner_trusted(st.st_uid, st.st_gid, st.st_mode, registry->group)) {
        rc = zl__fail(ZL_EPERM, "the registry %s belongs to uid %u gid %u (mode %o), not to us",
                      name, (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)st.st_mode & 0777);
        goto fail;
    }
    rc = lock_waiting(fd, ZL__LOCK_USERS, false, "users", registry->topic);
    if (rc != 0)
        goto fail;
    if (fstat(fd, &st) != 0) {
        rc = zl__fail(ZL_ESYSTEM, "fstat(%s): %s", name, strerror(errno));
        goto fail;
    }
    if (st.st_nlink == 0) {
        close(fd);
        return ZL_ENODATA; /* removed by its last user meanwhile: open again */
    }
    rc = lock_waiting(fd, ZL__LOCK_REGISTER, true, "register", registry->topic);
    if (rc != 0)
        goto fail;
    if (st.st_size == 0) {
        fchmod(fd, registry->mode);
        int e = posix_fallocate(fd, 0, sizeof(zl__registry_shm));
        if (e != 0) {
            rc = zl__fail(e == ENOSPC ? ZL_ENOSHM : ZL_ESYSTEM,
                          "cannot reserve %zu bytes for the registry %s in /dev/shm: %s",
                          sizeof(zl__registry_shm), name, strerror(e));
            /* Leave no empty registry behind when nobody else uses it (G5:
             * the USERS write lock proves it). */
            if (zl__ofd_lock(fd, ZL__LOCK_USERS, true) == 0)
                shm_unlink(name);
            goto fail;
        }
    } else if ((size_t)st.st_size != sizeof(zl__registry_shm)) {
        rc = zl__fail(ZL_ECORRUPT, "the registry %s has size %lld, expected %zu", name,
                      (long long)st.st_size, sizeof(zl__registry_shm));
        goto fail;
    }
    void *base =
        mmap(NULL, sizeof(zl__registry_shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        rc = zl__fail(ZL_ESYSTEM, "mmap(%s): %s", name, strerror(errno));
        goto fail;
    }
    zl__registry_shm *shm = base;
    uint64_t magic = __atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE);
    if (magic == 0) {
        init_registry(shm, registry->topic);
    } else if (magic != ZL__REGISTRY_MAGIC || shm->version != ZL__LAYOUT_VERSION ||
               shm->size != sizeof *shm ||
               strncmp(shm->topic, registry->topic, sizeof shm->topic) != 0) {
        munmap(base, sizeof *shm);
        rc = zl__fail(ZL_ECORRUPT,
                      "the registry %s is not a zloan registry of this version for topic %s",
                      name, registry->topic);
        goto fail;
    }
    zl__ofd_unlock(fd, ZL__LOCK_REGISTER);
    registry->fd = fd;
    registry->shm = shm;
    return 0;
fail:
    close(fd); /* drops every lock this description holds */
    return rc;
}

void zl__registry_endpoint_name(const zl__registry *registry, char *out, size_t out_size,
                                char kind, uint64_t id)
{
    zl__shm_name_endpoint(out, out_size, registry->name, kind, id);
}

int zl__registry_open_file(zl__registry *registry, uint32_t domain, const char *topic,
                           bool group)
{
    memset(registry, 0, sizeof *registry);
    registry->fd = -1;
    registry->domain = domain;
    registry->group = group;
    registry->mode = group ? 0660 : 0600;
    snprintf(registry->topic, sizeof registry->topic, "%s", topic);
    zl__shm_name_registry(registry->name, sizeof registry->name, domain, topic, group);
    for (int attempt = 0; attempt < 100; attempt++) {
        int rc = open_once(registry);
        if (rc != ZL_ENODATA)
            return rc;
    }
    return zl__fail(ZL_EBUSY, "the registry of topic %s kept being removed while opening it",
                    topic);
}

void zl__registry_close_file(zl__registry *registry)
{
    if (registry->shm == NULL)
        return;
    /* Closers take turns (REGISTER), so that of two leaving together the
     * second sees the first gone: each drops its USERS read lock, then asks
     * for the write lock, which it gets only when no other open description
     * holds USERS: it is the topic's last user (G5). Without the turns, both
     * could fail while the other still held its read lock. If the REGISTER
     * lock cannot be had, we leave without removing anything (the next user
     * of the topic, or the sweep at start, finishes the job). */
    bool turn = lock_waiting(registry->fd, ZL__LOCK_REGISTER, true, "register",
                             registry->topic) == 0;
    zl__ofd_unlock(registry->fd, ZL__LOCK_USERS);
    if (turn && zl__ofd_lock(registry->fd, ZL__LOCK_USERS, true) == 0) {
        for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++)
            for (uint32_t i = 0; i < slot_count(kind); i++) {
                zl__endpoint_record record;
                if (zl__registry_read(registry, kind, i, &record))
                    remove_leftovers(registry, &record);
            }
        for (uint32_t i = 0; i < ZL__PUB_SLOTS; i++) {
            uint64_t pool_id = zl__load_acquire(&registry->shm->lingering[i].pool_id);
            if (pool_id != 0)
                unlink_pool(registry, pool_id);
        }
        /* Also what no slot names: segments of endpoints killed before they
         * registered or while rewriting their record. */
        zl__segment_unlink_topic(registry->name);
        shm_unlink(registry->name);
    }
    munmap(registry->shm, sizeof *registry->shm);
    close(registry->fd);
    registry->shm = NULL;
    registry->fd = -1;
}

int zl__registry_lock_register(zl__registry *registry)
{
    return lock_waiting(registry->fd, ZL__LOCK_REGISTER, true, "register", registry->topic);
}

int zl__registry_register(zl__registry *registry, const zl__endpoint_record *record,
                          uint32_t *slot_out)
{
    /* Normally held since zl__registry_lock_register (G6); taking a lock
     * this open file description already holds succeeds at once. */
    int rc = lock_waiting(registry->fd, ZL__LOCK_REGISTER, true, "register", registry->topic);
    if (rc != 0)
        return rc;
    for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++) {
        for (uint32_t i = 0; i < slot_count(kind); i++) {
            zl__endpoint_record other;
            if (!zl__registry_read(registry, kind, i, &other))
                continue;
            if (!zl__registry_alive(registry, kind, i)) {
                zl__registry_reap(registry, kind, i, other.id);
                continue;
            }
            if (!zl__record_same_type(record, &other)) {
                char theirs[ZL__DESCRIPTION_MAX], difference[200];
                uint64_t hash;
                if (zl__registry_read_description(registry, theirs, sizeof theirs, &hash) != 0 ||
                    hash != other.description_hash)
                    theirs[0] = '\0';
                describe_difference(registry->description, theirs, difference,
                                    sizeof difference);
                /* Only when the sizes agree: else the sizes printed say why. */
                if (difference[0] == '\0' && record->type_size == other.type_size &&
                    record->payload_size != other.payload_size)
                    describe_payload(record->payload_size, other.payload_size, difference,
                                     sizeof difference);
                zl__ofd_unlock(registry->fd, ZL__LOCK_REGISTER);
                return zl__fail(ZL_ETYPE,
                                "topic %s has a %s of type '%s' (size %llu, layout hash %016llx%s) "
                                "but this %s has type '%s' (size %llu, layout hash %016llx%s)%s",
                                registry->topic, kind_name(kind), other.type_name,
                                (unsigned long long)other.type_size,
                                (unsigned long long)other.layout_hash,
                                other.plain ? "" : ", not plain", kind_name(record->kind),
                                record->type_name, (unsigned long long)record->type_size,
                                (unsigned long long)record->layout_hash,
                                record->plain ? "" : ", not plain", difference);
            }
        }
    }
    uint32_t kind = record->kind;
    uint32_t *hint = &registry->shm->next_slot[kind - ZL__KIND_PUBLISHER];
    for (uint32_t n = 0; n < slot_count(kind); n++) {
        /* The hint is shared memory: reduce it, never index with it raw. */
        uint32_t i = (*hint + n) % slot_count(kind);
        if (zl__ofd_lock(registry->fd, slot_byte(kind, i), true) != 0)
            continue; /* a live endpoint holds it */
        *hint = (i + 1) % slot_count(kind);
        zl__endpoint_record old;
        if (zl__registry_read(registry, kind, i, &old))
            remove_leftovers(registry, &old); /* its owner died */
        /* Before our record appears (the record's release store orders
         * it): the monitor must know the slot is ours (registry.h, `own`). */
        zl__store_relaxed(&registry->own, zl__registry_own_word(kind, i));
        reset_counters(zl__registry_counters(registry, kind, i), record->id);
        /* Relaxed: only registrations write it, under REGISTER (held). */
        if (record->description_hash != 0 && registry->description != NULL &&
            __atomic_load_n(&registry->shm->description.hash, __ATOMIC_RELAXED) !=
                record->description_hash)
            store_description(registry, registry->description);
        write_record(slot_at(registry, kind, i), record);
        bump_generation(registry);
        zl__ofd_unlock(registry->fd, ZL__LOCK_REGISTER);
        *slot_out = i;
        return 0;
    }
    zl__ofd_unlock(registry->fd, ZL__LOCK_REGISTER);
    return zl__fail(ZL_ELIMIT, "topic %s already has %u %ss", registry->topic, slot_count(kind),
                    kind_name(kind));
}

void zl__registry_unregister(zl__registry *registry, uint32_t kind, uint32_t slot)
{
    zl__endpoint_record empty;
    memset(&empty, 0, sizeof empty);
    write_record(slot_at(registry, kind, slot), &empty);
    bump_generation(registry);
    zl__ofd_unlock(registry->fd, slot_byte(kind, slot));
    /* Only now, with our record gone, may the monitor look at the slot. */
    zl__store_relaxed(&registry->own, 0);
}

void zl__registry_forget_after_fork(zl__registry *registry)
{
    if (registry->fd >= 0)
        close(registry->fd);
    registry->fd = -1;
    if (registry->shm != NULL)
        mmap(registry->shm, sizeof *registry->shm, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

int zl__registry_read_description(const zl__registry *registry, char *out, size_t out_size,
                                  uint64_t *hash)
{
    const zl__registry_shm *shm = registry->shm;
    for (int tries = 0; tries < 64; tries++) {
        /* Acquire pairs with the writer's release store of the even seq. */
        uint32_t before = zl__load_acquire(&shm->description.seq);
        if (before & 1u)
            continue;
        uint32_t size = ZL__READ_ONCE(shm->description.size);
        uint64_t h = ZL__READ_ONCE(shm->description.hash);
        if (size == 0) {
            out[0] = '\0';
            *hash = 0;
            return 0;
        }
        if (size >= ZL__DESCRIPTION_MAX || size >= out_size)
            return zl__fail(ZL_ECORRUPT, "the type description of topic %s has size %u",
                            registry->topic, size);
        for (uint32_t i = 0; i < (size + 7) / 8; i++) {
            uint64_t w = __atomic_load_n(&shm->description.words[i], __ATOMIC_RELAXED);
            memcpy(out + 8 * i, &w, 8 * (i + 1) <= out_size ? 8 : out_size - 8 * i);
        }
        /* Orders the word loads before the second seq load (as a slot's). */
        zl__fence_acquire();
        if (zl__load_relaxed(&shm->description.seq) != before)
            continue;
        out[size] = '\0';
        if (strlen(out) != size || zl__description_hash(out) != h)
            return zl__fail(ZL_ECORRUPT, "the type description of topic %s fails its hash",
                            registry->topic);
        *hash = h;
        return 0;
    }
    return zl__fail(ZL_EBUSY, "the type description of topic %s kept changing", registry->topic);
}
