/** @file
 * zloan — the user's allocator.
 *
 * Wherever zloan allocates heap memory on the user's behalf (endpoint state,
 * loans it cannot take from shared memory, executor storage) it calls these
 * hooks. They may be called from any thread that calls zloan, so they must be
 * thread-safe.
 */
#ifndef ZLOAN_ALLOCATOR_H
#define ZLOAN_ALLOCATOR_H

#include "zloan/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The user's allocator: hooks zloan calls for every heap allocation. */
typedef struct zl_allocator {
    /** Returns size bytes aligned to alignment (a power of two), or NULL. */
    void *(*allocate)(size_t size, size_t alignment, void *state);
    /** Frees what allocate returned; size and alignment are those asked for. */
    void (*deallocate)(void *ptr, size_t size, size_t alignment, void *state);
    /** Passed back to both hooks unchanged. */
    void *state;
} zl_allocator;

/** The default allocator: aligned_alloc and free. Never NULL. */
ZL_API const zl_allocator *zl_allocator_default(void);

#ifdef __cplusplus
}
#endif
#endif
