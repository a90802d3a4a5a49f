/* User segments: memory the user registered with a publisher
 * (docs/user_memory.md), as the shared-memory transport checks and maps
 * it. The segment object itself (chunk headers only) is a pool segment
 * (layout.h); this is the user's file behind it. */
#ifndef ZL_SHM_USER_SEGMENT_H
#define ZL_SHM_USER_SEGMENT_H

#include <stdint.h>

#include "segment.h"

/* What identifies the registered file to a subscription. */
typedef struct zl__user_file {
    uint32_t pid;    /* the publisher's process */
    uint32_t fd;     /* its descriptor there (the publisher's own duplicate) */
    uint64_t dev;    /* st_dev and st_ino of the file */
    uint64_t ino;
    uint64_t offset; /* the registered range in the file */
    uint64_t length;
} zl__user_file;

/* Publisher side: checks that length bytes at offset of fd can be mapped by
 * other processes without any of them ever taking a SIGBUS: a regular file
 * (a memfd) sealed against shrinking (F_SEAL_SHRINK), offset a multiple of
 * the page size, the range inside the file. On success duplicates fd
 * (close-on-exec) into *file (the caller owns the duplicate). ZL_EINVAL with
 * a detail that says what is wrong; ZL_ENOTSUP for a descriptor that cannot
 * be sealed (not a memfd). */
int zl__user_file_check(int fd, uint64_t offset, uint64_t length, zl__user_file *file);

/* Subscription side: opens the publisher's descriptor through
 * /proc/<pid>/fd/<fd> read-only, accepts it only when it is the file the
 * segment names (dev, ino), still sealed against shrinking and long enough
 * (I3: a hostile or reused pid cannot make us map something else or fault),
 * and maps the range read-only. 0, or ZL_ECORRUPT / ZL_EPERM. */
int zl__user_file_map(const zl__user_file *file, zl__mapping *out);

#endif
