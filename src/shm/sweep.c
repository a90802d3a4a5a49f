/* The sweep: removing what dead processes left in /dev/shm.
 *
 * Objects (layout.h): a registry "zl.<uid>.<domain>.<topic>" and, per
 * endpoint, a segment "<registry>:p<id>" (a pool's control object) or
 * "<registry>:s<id>" (queue), where <id> is the endpoint's 64-bit random id
 * in 16 hex digits; a pool's chunks live in "<registry>:p<id>.<serial>"
 * (8 hex digits), which the rules below treat as the pool: they belong to
 * the publisher with that id.
 *
 * Invariants the sweep relies on (docs/design.md G5 and G6)
 *   W1. Every endpoint holds a read lock on its registry's USERS byte from
 *       before it creates its segment until after it has unregistered. The
 *       registry cannot be unlinked while such a lock is held: only the
 *       holder of the USERS write lock unlinks it.
 *   W2. An endpoint holds its registry's REGISTER lock from before it
 *       creates its segment until its record (naming the segment by id) is
 *       in its slot, and holds the slot's lock from then on until it leaves.
 *       A publisher creates the pool segments after its first while it is
 *       registered (its slot names the id) and removes them before it
 *       unregisters, or leaves them to its lingering entry.
 *
 * Rules, each removing only what is provably dead:
 *   A. A segment whose registry does not exist. Its creator, if it were
 *      still in the topic, would hold the registry (W1), so it has left or
 *      died; the segment was seen before the registry was found missing.
 *   B. A registry whose USERS write lock we obtain, on a file still linked:
 *      nobody uses the topic (W1), so the registry and every segment of the
 *      topic are dead. Openers that race with us wait for the lock, then see
 *      the file unlinked and start over with a new one (G5 in docs/design.md).
 *   C. A segment of a registry in use, when we obtain the REGISTER lock and
 *      no slot (nor, for a pool, a lingering entry) names the segment's id
 *      and every slot whose owner is alive could be read. Holding REGISTER
 *      means no endpoint is between creating its segment and writing its
 *      record (W2), so a live creator would be named. If REGISTER is busy we
 *      leave the segment for a later sweep.
 *
 * Ids are random 64-bit values, so a segment name is never reused by a new
 * endpoint in a way that could confuse these rules.
 *
 * Two sweeps (or a sweep and a topic's last user) may meet on a topic: the
 * one holding a lock makes the other leave the topic alone, and the holder
 * finishes the removal. A sweep killed half-way leaves work that the rules
 * still cover (rule A once the registry is gone, rule B before).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery.h"

/* The length of "zl.<uid>." for this user (or, with group, "zl.g<gid>."
 * for the effective group's shared namespace), written into prefix. In the
 * group's namespace only our own objects are ever removed (owned_by_us,
 * zl__shm_unlink_own; /dev/shm's sticky bit would refuse the others anyway). */
static size_t namespace_prefix(char *prefix, size_t size, bool group)
{
    int n = group ? snprintf(prefix, size, "zl.g%u.", (unsigned)getegid())
                  : snprintf(prefix, size, "zl.%u.", (unsigned)geteuid());
    return n > 0 ? (size_t)n : 0;
}

/* Whether the object open as fd (a /dev/shm entry) is a regular file of
 * ours, still linked. */
static bool owned_by_us(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
           st.st_nlink > 0;
}

/* Rule B, with fd open on the registry at path and the USERS write lock
 * held: removes the topic's segments, then the registry. */
static int remove_unused(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_nlink == 0)
        return 0; /* removed by someone else meanwhile: not ours to judge */
    /* Whatever its size: 0 when its creator died before reserving it, and
     * another size when a different version of zloan left it (which would
     * make every later open fail with ZL_ECORRUPT). The lock bytes are the
     * same in every version, so "unused" is proven all the same. */
    int removed = zl__segment_unlink_topic(path);
    /* We hold the write lock of the file linked under path, and only such a
     * holder unlinks (W1), so path still names this very file. */
    if (shm_unlink(path) == 0)
        removed++;
    return removed;
}

/* Rule C, with fd open on a registry in use and its REGISTER lock held:
 * whether some live endpoint may own the segment with this id. */
static bool maybe_named(int fd, uint32_t kind, uint64_t id)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_nlink == 0 ||
        (size_t)st.st_size != sizeof(zl__registry_shm))
        return true;
    void *base = mmap(NULL, sizeof(zl__registry_shm), PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return true;
    zl__registry registry;
    memset(&registry, 0, sizeof registry);
    registry.fd = fd;
    registry.shm = base;
    bool named = false;
    /* Acquire pairs with the initialiser's release store of magic. */
    if (__atomic_load_n(&registry.shm->magic, __ATOMIC_ACQUIRE) != ZL__REGISTRY_MAGIC) {
        named = true;
    } else {
        uint32_t slots = kind == ZL__KIND_PUBLISHER ? ZL__PUB_SLOTS : ZL__SUB_SLOTS;
        for (uint32_t i = 0; i < slots && !named; i++) {
            zl__endpoint_record record;
            if (zl__registry_read(&registry, kind, i, &record))
                named = record.id == id;
            else
                /* Empty or torn: only a live owner could be rewriting it
                 * (unregistering); then we cannot tell, so keep. */
                named = zl__registry_alive(&registry, kind, i);
        }
        /* A departed publisher's pool that subscriptions still drain is
         * named by its lingering entry instead (docs/design.md G7). */
        for (uint32_t i = 0; i < ZL__PUB_SLOTS && !named && kind == ZL__KIND_PUBLISHER; i++)
            named = zl__load_acquire(&registry.shm->lingering[i].pool_id) == id;
    }
    munmap(base, sizeof(zl__registry_shm));
    return named;
}

/* Rules A, B and C for one segment entry. */
static int sweep_segment(const char *entry, size_t colon, char kind)
{
    char registry_path[ZL__SHM_NAME_MAX + 2];
    if (colon + 2 > sizeof registry_path)
        return 0;
    registry_path[0] = '/';
    memcpy(registry_path + 1, entry, colon);
    registry_path[colon + 1] = '\0';
    int fd = shm_open(registry_path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? zl__shm_unlink_own(entry) : 0; /* rule A */
    int removed = 0;
    if (!owned_by_us(fd)) {
        /* Not ours: leave it. */
    } else if (zl__ofd_lock(fd, ZL__LOCK_USERS, true) == 0) {
        removed = remove_unused(fd, registry_path); /* rule B */
    } else if (zl__ofd_lock(fd, ZL__LOCK_REGISTER, true) == 0) {
        uint64_t id = 0;
        sscanf(entry + colon + 2, "%16llx", (unsigned long long *)&id);
        if (!maybe_named(fd, kind == 'p' ? ZL__KIND_PUBLISHER : ZL__KIND_SUBSCRIPTION, id))
            removed = zl__shm_unlink_own(entry); /* rule C */
    }
    close(fd); /* drops whatever lock we took */
    return removed;
}

/* Rule B for a registry entry. */
static int sweep_registry(const char *entry)
{
    char path[ZL__SHM_NAME_MAX + 2];
    snprintf(path, sizeof path, "/%s", entry);
    int fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int removed = 0;
    if (owned_by_us(fd) && zl__ofd_lock(fd, ZL__LOCK_USERS, true) == 0)
        removed = remove_unused(fd, path);
    close(fd);
    return removed;
}

static int sweep_namespace(bool group)
{
    char prefix[32];
    size_t prefix_len = namespace_prefix(prefix, sizeof prefix, group);
    if (prefix_len == 0)
        return 0;
    int removed = 0;
    /* Segments first (rules A and C, and B through them), then registries
     * left without segments (rule B). Entries removed during a pass may or
     * may not be returned again by readdir; the rules are idempotent. */
    for (int pass = 0; pass < 2; pass++) {
        DIR *dir = opendir(ZL__SHM_DIR);
        if (dir == NULL)
            return removed;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strncmp(e->d_name, prefix, prefix_len) != 0 ||
                strlen(e->d_name) > ZL__SHM_NAME_MAX)
                continue;
            size_t colon;
            char kind;
            bool segment = zl__shm_parse_segment_name(e->d_name, &colon, &kind);
            if (pass == 0 && segment)
                removed += sweep_segment(e->d_name, colon, kind);
            else if (pass == 1 && !segment && strchr(e->d_name, ':') == NULL)
                removed += sweep_registry(e->d_name);
        }
        closedir(dir);
    }
    return removed;
}

int zl__shm_sweep(void)
{
    return sweep_namespace(false) + sweep_namespace(true);
}
