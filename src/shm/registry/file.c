/* One topic's registry, the object: opening the file (creating, sizing and
 * initialising it when new), mapping and validating it, closing it (the
 * last user removing the topic), and the waits for its byte locks.
 *
 * Invariants
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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zloan/error.h"

#include "../../error_detail.h"
#include "internal.h"

#define LOCK_WAIT_MS 5000

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Takes a byte lock, retrying for up to LOCK_WAIT_MS: the holders of USERS
 * (write) and REGISTER keep them for microseconds, and a holder that dies
 * loses them at once. */
int zl__registry_lock_waiting(int fd, off_t byte, bool exclusive, const char *what,
                              const char *topic)
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

/* Maps the registry file fd, initialising a new one (under REGISTER) and
 * refusing one of another version or topic. */
static int map_registry(const zl__registry *registry, int fd, zl__registry_shm **out)
{
    const char *name = registry->name;
    void *base =
        mmap(NULL, sizeof(zl__registry_shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return zl__fail(ZL_ESYSTEM, "mmap(%s): %s", name, strerror(errno));
    zl__registry_shm *shm = base;
    uint64_t magic = __atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE);
    if (magic == 0) {
        init_registry(shm, registry->topic);
    } else if (magic != ZL__REGISTRY_MAGIC || shm->version != ZL__LAYOUT_VERSION ||
               shm->size != sizeof *shm ||
               strncmp(shm->topic, registry->topic, sizeof shm->topic) != 0) {
        munmap(base, sizeof *shm);
        return zl__fail(ZL_ECORRUPT,
                        "the registry %s is not a zloan registry of this version for topic %s",
                        name, registry->topic);
    }
    *out = shm;
    return 0;
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
    rc = zl__registry_lock_waiting(fd, ZL__LOCK_USERS, false, "users", registry->topic);
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
    rc = zl__registry_lock_waiting(fd, ZL__LOCK_REGISTER, true, "register", registry->topic);
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
    zl__registry_shm *shm = NULL;
    rc = map_registry(registry, fd, &shm);
    if (rc != 0)
        goto fail;
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
    bool turn = zl__registry_lock_waiting(registry->fd, ZL__LOCK_REGISTER, true, "register",
                                          registry->topic) == 0;
    zl__ofd_unlock(registry->fd, ZL__LOCK_USERS);
    if (turn && zl__ofd_lock(registry->fd, ZL__LOCK_USERS, true) == 0) {
        for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++)
            for (uint32_t i = 0; i < zl__registry_slot_count(kind); i++) {
                zl__endpoint_record record;
                if (zl__registry_read(registry, kind, i, &record))
                    zl__registry_remove_leftovers(registry, &record);
            }
        for (uint32_t i = 0; i < ZL__PUB_SLOTS; i++) {
            uint64_t pool_id = zl__load_acquire(&registry->shm->lingering[i].pool_id);
            if (pool_id != 0)
                zl__registry_unlink_pool(registry, pool_id);
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
    return zl__registry_lock_waiting(registry->fd, ZL__LOCK_REGISTER, true, "register",
                                     registry->topic);
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
