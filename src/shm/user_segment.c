/* User segments: checking the user's file (publisher) and mapping it
 * read-only (subscription). See user_segment.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zloan/error.h"

#include "../error_detail.h"
#include "user_segment.h"

/* The range lies in the file, and the file cannot shrink. The seals are
 * read before the size: once F_SEAL_SHRINK is there the size can only
 * grow, where a size read first could be shrunk (then sealed) before the
 * seals were read, and the mapping would run past the end (SIGBUS). */
static bool range_safe(int fd, uint64_t offset, uint64_t length)
{
    int seals = fcntl(fd, F_GET_SEALS);
    struct stat st;
    return seals >= 0 && (seals & F_SEAL_SHRINK) && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
           length != 0 && offset <= (uint64_t)st.st_size &&
           length <= (uint64_t)st.st_size - offset;
}

int zl__user_file_check(int fd, uint64_t offset, uint64_t length, zl__user_file *file)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return zl__fail(ZL_EINVAL, "descriptor %d is not open", fd);
    if (!S_ISREG(st.st_mode))
        return zl__fail(ZL_ENOTSUP,
                        "descriptor %d is not a memfd or tmpfs file: it cannot be sealed, so "
                        "zloan cannot share it without risking a SIGBUS in a subscription",
                        fd);
    long page = sysconf(_SC_PAGESIZE);
    if (offset % (uint64_t)page != 0)
        return zl__fail(ZL_EINVAL, "offset %llu is not a multiple of the page size (%ld)",
                        (unsigned long long)offset, page);
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0)
        return zl__fail(ZL_ENOTSUP,
                        "descriptor %d cannot be sealed (not a memfd: %s); zloan shares only "
                        "memory that no process can shrink",
                        fd, strerror(errno));
    if (!(seals & F_SEAL_SHRINK))
        return zl__fail(ZL_EINVAL,
                        "the memfd is not sealed against shrinking: add F_SEAL_SHRINK "
                        "(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)) so no subscription can fault");
    /* Sealed against shrinking: the size read now can only grow (see
     * range_safe). */
    if (fstat(fd, &st) != 0)
        return zl__fail(ZL_EINVAL, "descriptor %d is not open", fd);
    if (length == 0 || offset > (uint64_t)st.st_size ||
        length > (uint64_t)st.st_size - offset)
        return zl__fail(ZL_EINVAL, "%llu bytes at offset %llu do not lie in the file (%lld bytes)",
                        (unsigned long long)length, (unsigned long long)offset,
                        (long long)st.st_size);
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0)
        return zl__fail(ZL_ESYSTEM, "duplicating descriptor %d: %s", fd, strerror(errno));
    file->pid = (uint32_t)getpid();
    file->fd = (uint32_t)copy;
    file->dev = (uint64_t)st.st_dev;
    file->ino = (uint64_t)st.st_ino;
    file->offset = offset;
    file->length = length;
    return 0;
}

int zl__user_file_map(const zl__user_file *file, zl__mapping *out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%u/fd/%u", (unsigned)file->pid, (unsigned)file->fd);
    /* The pid and fd come from shared memory (hostile): look at what they
     * name without opening it (a FIFO would block open(), a device would
     * act on it), and open it for reading only once it is the regular
     * file the segment names. */
    int path_fd = open(path, O_PATH | O_CLOEXEC);
    if (path_fd < 0)
        return zl__fail(errno == EACCES ? ZL_EPERM : ZL_ECORRUPT, "open(%s): %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(path_fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != file->dev ||
        (uint64_t)st.st_ino != file->ino) {
        close(path_fd);
        return zl__fail(ZL_ECORRUPT, "%s is not the user memory its segment names", path);
    }
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", path_fd);
    int fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    int open_errno = errno;
    close(path_fd);
    if (fd < 0)
        return zl__fail(open_errno == EACCES ? ZL_EPERM : ZL_ECORRUPT, "open(%s): %s", path,
                        strerror(open_errno));
    int rc = 0;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != file->dev ||
        (uint64_t)st.st_ino != file->ino || file->length > SIZE_MAX ||
        !range_safe(fd, file->offset, file->length))
        rc = zl__fail(ZL_ECORRUPT, "%s is not the sealed user memory its segment names", path);
    void *base = MAP_FAILED;
    if (rc == 0) {
        base = mmap(NULL, (size_t)file->length, PROT_READ, MAP_SHARED, fd, (off_t)file->offset);
        if (base == MAP_FAILED)
            rc = zl__fail(ZL_ECORRUPT, "mmap(%s): %s", path, strerror(errno));
    }
    close(fd);
    if (rc != 0)
        return rc;
    out->base = base;
    out->size = (size_t)file->length;
    return 0;
}
