/* Shared-memory objects and byte locks.
 *
 * Huge pages. An object of at least ZL__HUGE_PAGE_BYTES is mapped, on both
 * sides, without MAP_POPULATE, advised MADV_HUGEPAGE, then populated with
 * MADV_POPULATE_WRITE (creator) or MADV_POPULATE_READ (readers): pages are
 * chosen at fault time from the mapping's advice, so a tmpfs mounted
 * huge=advise (or within_size, always) backs them with 2 MiB pages, and a
 * 16 MiB message's few transport accesses then cost a TLB entry or two
 * instead of a page walk each. On huge=never (the usual /dev/shm) the advice
 * changes nothing. Both advice calls are hints: their failure is never an
 * error, and when the populate call fails (a kernel before 5.14) the object
 * is mapped again with MAP_POPULATE, as a smaller one is. Neither runs
 * after the mapping is made: the steady state makes no system call.
 *
 * The creator's reservation stays exact: posix_fallocate runs after the
 * populate call (a no-op on the pages it allocated, the reservation of the
 * rest), because fallocate alone allocates pages with no mapping to advise,
 * hence small pages on a huge=advise mount.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "zloan/error.h"

#include "../error_detail.h"
#include "segment.h"

/* Linux 5.14; older headers lack them, older kernels refuse them (EINVAL). */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static void encode_topic(char *out, size_t out_size, const char *topic)
{
    size_t i = 0;
    for (; topic[i] != '\0' && i + 1 < out_size; i++)
        out[i] = topic[i] == '/' ? '.' : topic[i];
    out[i] = '\0';
}

void zl__shm_name_registry(char *out, size_t out_size, uint32_t domain, const char *topic,
                           bool group)
{
    char encoded[ZL__SHM_NAME_MAX + 1];
    encode_topic(encoded, sizeof encoded, topic);
    if (group)
        snprintf(out, out_size, "/zl.g%u.%u.%s", (unsigned)getegid(), (unsigned)domain, encoded);
    else
        snprintf(out, out_size, "/zl.%u.%u.%s", (unsigned)geteuid(), (unsigned)domain, encoded);
}

void zl__shm_name_endpoint(char *out, size_t out_size, const char *registry_name, char kind,
                           uint64_t id)
{
    snprintf(out, out_size, "%s:%c%016llx", registry_name, kind, (unsigned long long)id);
}

void zl__shm_name_segment(char *out, size_t out_size, const char *pool_name, uint32_t serial)
{
    snprintf(out, out_size, "%s.%08x", pool_name, (unsigned)serial);
}

uint64_t zl__shm_default_bound(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    uint64_t shm = zl__shm_free_bytes();
    uint64_t bound = ram / 4;
    if (shm / 2 < bound)
        bound = shm / 2;
    return bound;
}

bool zl__shm_owner_trusted(uid_t uid, gid_t gid, mode_t mode, bool group)
{
    if (uid == geteuid())
        return true;
    return group && gid == getegid() && (mode & 0007) == 0;
}

unsigned long long zl__shm_free_bytes(void)
{
    struct statvfs vfs;
    if (statvfs("/dev/shm", &vfs) != 0)
        return 0;
    return (unsigned long long)vfs.f_bavail * vfs.f_frsize;
}

/* Maps size bytes of fd shared, every page mapped before it returns (the
 * steady state takes no page fault on them); an object of at least
 * ZL__HUGE_PAGE_BYTES advised MADV_HUGEPAGE first (the top of this file).
 * MAP_FAILED with errno set on failure. */
static void *map_populated(int fd, size_t size, int prot)
{
    if (size < ZL__HUGE_PAGE_BYTES)
        return mmap(NULL, size, prot, MAP_SHARED | MAP_POPULATE, fd, 0);
    void *base = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return base;
    (void)madvise(base, size, MADV_HUGEPAGE); /* a hint: EINVAL without THP */
    int populate = (prot & PROT_WRITE) != 0 ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
    if (madvise(base, size, populate) == 0)
        return base;
    /* An older kernel (EINVAL), or pages missing (EFAULT, ENOMEM: the
     * creator's fallocate then reports it): map as a small object is. */
    munmap(base, size);
    return mmap(NULL, size, prot, MAP_SHARED | MAP_POPULATE, fd, 0);
}

int zl__segment_create(const char *name, size_t size, mode_t mode, zl__mapping *out)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EACCES)
            return zl__fail(ZL_EPERM, "cannot create shared memory %s: %s", name, strerror(errno));
        if (errno == ENOSPC)
            return zl__fail(ZL_ENOSHM,
                            "cannot create shared memory %s of %zu bytes: /dev/shm has no inode "
                            "left",
                            name, size);
        return zl__fail(ZL_ESYSTEM, "shm_open(%s): %s", name, strerror(errno));
    }
    /* The mode given to shm_open is filtered by the umask; set it exactly. */
    if (fchmod(fd, mode) != 0) {
        int e = errno;
        close(fd);
        shm_unlink(name);
        return zl__fail(ZL_ESYSTEM, "fchmod(%s): %s", name, strerror(e));
    }
    bool huge = size >= ZL__HUGE_PAGE_BYTES;
    /* Large: the size first, so that the populate call can fault the pages
     * in through the advised mapping; fallocate reserves after it. */
    if (huge && ftruncate(fd, (off_t)size) != 0) {
        int e = errno;
        close(fd);
        shm_unlink(name);
        return zl__fail(ZL_ESYSTEM, "ftruncate(%s, %zu): %s", name, size, strerror(e));
    }
    /* Reserve every page now: on tmpfs, fallocate fails with ENOSPC when the
     * memory is not there, instead of a SIGBUS at some later write. */
    int rc = huge ? 0 : posix_fallocate(fd, 0, (off_t)size);
    void *base = MAP_FAILED;
    int e = 0;
    if (rc == 0) {
        base = map_populated(fd, size, PROT_READ | PROT_WRITE);
        e = errno;
        if (base != MAP_FAILED && huge)
            rc = posix_fallocate(fd, 0, (off_t)size);
    }
    close(fd);
    if (rc != 0) {
        if (base != MAP_FAILED)
            munmap(base, size);
        shm_unlink(name);
        if (rc == ENOSPC || rc == EFBIG || rc == ENOMEM)
            return zl__fail(ZL_ENOSHM,
                            "shared memory %s needs %zu bytes (%.1f MiB) but /dev/shm has %llu "
                            "bytes free: enlarge /dev/shm or reduce the pool (history, depth, "
                            "max_subscriptions, message size, pool_bytes_max)",
                            name, size, (double)size / (1024.0 * 1024.0), zl__shm_free_bytes());
        return zl__fail(ZL_ESYSTEM, "fallocate(%s, %zu): %s", name, size, strerror(rc));
    }
    if (base == MAP_FAILED) {
        shm_unlink(name);
        if (e == ENOMEM)
            return zl__fail(ZL_ENOSHM, "cannot map %zu bytes of %s: out of address space", size,
                            name);
        return zl__fail(ZL_ESYSTEM, "mmap(%s, %zu): %s", name, size, strerror(e));
    }
    out->base = base;
    out->size = size;
    return 0;
}

int zl__segment_open(const char *name, bool writable, bool group, zl__mapping *out)
{
    int fd = shm_open(name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT)
            return ZL_ENODATA;
        if (errno == EACCES)
            return zl__fail(ZL_EPERM, "cannot open shared memory %s: %s", name, strerror(errno));
        return zl__fail(ZL_ESYSTEM, "shm_open(%s): %s", name, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return zl__fail(ZL_ESYSTEM, "fstat(%s): %s", name, strerror(e));
    }
    if (!zl__shm_owner_trusted(st.st_uid, st.st_gid, st.st_mode, group)) {
        close(fd);
        return zl__fail(ZL_EPERM, "shared memory %s belongs to uid %u gid %u (mode %o), not to us",
                        name, (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)st.st_mode & 0777);
    }
    if (st.st_size <= 0) {
        close(fd);
        return zl__fail(ZL_ECORRUPT, "shared memory %s is empty", name);
    }
    size_t size = (size_t)st.st_size;
    void *base = map_populated(fd, size, writable ? PROT_READ | PROT_WRITE : PROT_READ);
    int e = errno;
    close(fd);
    if (base == MAP_FAILED)
        return zl__fail(ZL_ESYSTEM, "mmap(%s, %zu): %s", name, size, strerror(e));
    out->base = base;
    out->size = size;
    return 0;
}

void zl__segment_unmap(zl__mapping *mapping)
{
    if (mapping->base != NULL)
        munmap(mapping->base, mapping->size);
    mapping->base = NULL;
    mapping->size = 0;
}

void zl__segment_unlink(const char *name) { shm_unlink(name); }

static bool is_hex(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Whether s is "<16 hex>", or for a pool "<16 hex>.<8 hex>" (a segment). */
static bool is_endpoint_id(const char *s, char kind)
{
    if (!is_hex(s, 16))
        return false;
    if (s[16] == '\0')
        return true;
    return kind == 'p' && s[16] == '.' && is_hex(s + 17, 8) && s[25] == '\0';
}

bool zl__shm_parse_segment_name(const char *name, size_t *colon, char *kind)
{
    const char *c = strchr(name, ':');
    if (c == NULL || (c[1] != 'p' && c[1] != 's') || !is_endpoint_id(c + 2, c[1]))
        return false;
    *colon = (size_t)(c - name);
    *kind = c[1];
    return true;
}

int zl__shm_unlink_own(const char *entry)
{
    char path[ZL__SHM_NAME_MAX + sizeof ZL__SHM_DIR + 1];
    snprintf(path, sizeof path, ZL__SHM_DIR "/%s", entry);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
        return 0;
    return shm_unlink(path + sizeof ZL__SHM_DIR - 1) == 0 ? 1 : 0;
}

int zl__segment_unlink_topic(const char *registry_name)
{
    const char *base = registry_name[0] == '/' ? registry_name + 1 : registry_name;
    size_t base_len = strlen(base);
    DIR *dir = opendir(ZL__SHM_DIR);
    if (dir == NULL)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t colon;
        char kind;
        if (zl__shm_parse_segment_name(e->d_name, &colon, &kind) && colon == base_len &&
            strncmp(e->d_name, base, base_len) == 0)
            removed += zl__shm_unlink_own(e->d_name);
    }
    closedir(dir);
    return removed;
}

int zl__shm_unlink_pool(const char *registry_name, uint64_t id)
{
    const char *base = registry_name[0] == '/' ? registry_name + 1 : registry_name;
    char prefix[ZL__SHM_NAME_MAX + 1];
    int n = snprintf(prefix, sizeof prefix, "%s:p%016llx", base, (unsigned long long)id);
    if (n <= 0 || (size_t)n >= sizeof prefix)
        return 0;
    DIR *dir = opendir(ZL__SHM_DIR);
    if (dir == NULL)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (strncmp(e->d_name, prefix, (size_t)n) == 0 &&
            (e->d_name[n] == '\0' || (e->d_name[n] == '.' && is_hex(e->d_name + n + 1, 8))))
            removed += zl__shm_unlink_own(e->d_name);
    closedir(dir);
    return removed;
}

static int ofd(int fd, int command, short type, off_t byte, struct flock *fl)
{
    memset(fl, 0, sizeof *fl);
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    fl->l_start = byte;
    fl->l_len = 1;
    int rc;
    do {
        rc = fcntl(fd, command, fl);
    } while (rc != 0 && errno == EINTR);
    return rc;
}

int zl__ofd_lock(int fd, off_t byte, bool exclusive)
{
    struct flock fl;
    if (ofd(fd, F_OFD_SETLK, exclusive ? F_WRLCK : F_RDLCK, byte, &fl) == 0)
        return 0;
    if (errno == EAGAIN || errno == EACCES)
        return ZL_EBUSY;
    return zl__fail(ZL_ESYSTEM, "fcntl(F_OFD_SETLK): %s", strerror(errno));
}

void zl__ofd_unlock(int fd, off_t byte)
{
    struct flock fl;
    ofd(fd, F_OFD_SETLK, F_UNLCK, byte, &fl);
}

bool zl__ofd_held_by_other(int fd, off_t byte)
{
    struct flock fl;
    if (ofd(fd, F_OFD_GETLK, F_WRLCK, byte, &fl) != 0)
        return true; /* cannot tell: assume alive, never reap on doubt */
    return fl.l_type != F_UNLCK;
}
