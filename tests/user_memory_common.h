/* Helpers shared by the user-memory tests: a sealed memfd of frames, and
 * whether an address lies in a read-only mapping of a memfd. */
#ifndef ZL_TEST_USER_MEMORY_COMMON_H
#define ZL_TEST_USER_MEMORY_COMMON_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* Include harness.h first. */

typedef struct frame {
    uint32_t number;
    uint8_t pixels[4092];
} frame;

static const zl_type frame_type = ZL_TYPE_PLAIN(frame);

/* A memfd of count frames, mapped read-write at *frames; sealed against
 * shrinking and growing when sealed is true. */
static inline int frames_memfd(uint32_t count, bool sealed, frame **frames)
{
    int fd = memfd_create("zl-test-frames", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK(fd >= 0);
    CHECK_EQ(ftruncate(fd, (off_t)(sizeof(frame) * count)), 0);
    if (sealed)
        CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    void *base = mmap(NULL, sizeof(frame) * count, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(base != MAP_FAILED);
    *frames = base;
    return fd;
}

/* Registers count frames of the memfd (fd -1: plain memory) with pub. */
static inline zl_user_memory *frames_register(zl_publisher *pub, int fd, frame *frames,
                                              uint32_t count)
{
    zl_user_memory_options o;
    zl_user_memory_options_init(&o);
    o.fd = fd;
    o.base = frames;
    o.length = sizeof(frame) * count;
    zl_user_memory *memory;
    CHECK_OK(zl_user_memory_create(pub, &o, &memory));
    return memory;
}

/* The line of /proc/self/maps that contains address, in line (or ""). */
static inline void mapping_of(const void *address, char *line, size_t size)
{
    line[0] = '\0';
    FILE *maps = fopen("/proc/self/maps", "r");
    CHECK(maps != NULL);
    char buffer[512];
    while (fgets(buffer, sizeof buffer, maps) != NULL) {
        unsigned long lo, hi;
        if (sscanf(buffer, "%lx-%lx", &lo, &hi) == 2 && (uintptr_t)address >= lo &&
            (uintptr_t)address < hi) {
            snprintf(line, size, "%s", buffer);
            break;
        }
    }
    fclose(maps);
}

/* address lies in a read-only shared mapping of the test's memfd: the
 * subscription reads the user's memory itself, not a copy. */
static inline bool in_memfd_read_only(const void *address)
{
    char line[512];
    mapping_of(address, line, sizeof line);
    if (strstr(line, "memfd:zl-test-frames") == NULL || strstr(line, " r--s ") == NULL) {
        fprintf(stderr, "mapping of %p: %s\n", address, line);
        return false;
    }
    return true;
}

#endif
