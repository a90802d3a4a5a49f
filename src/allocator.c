/* The default allocator. */
#include <stdlib.h>

#include "zloan/allocator.h"

static void *default_allocate(size_t size, size_t alignment, void *state)
{
    (void)state;
    if (alignment < sizeof(void *))
        alignment = sizeof(void *);
    /* aligned_alloc wants the size to be a multiple of the alignment. */
    size_t rounded = (size + alignment - 1) & ~(alignment - 1);
    if (rounded < size)
        return NULL;
    return aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
}

static void default_deallocate(void *ptr, size_t size, size_t alignment, void *state)
{
    (void)size;
    (void)alignment;
    (void)state;
    free(ptr);
}

static const zl_allocator default_allocator = {
    .allocate = default_allocate,
    .deallocate = default_deallocate,
    .state = NULL,
};

const zl_allocator *zl_allocator_default(void) { return &default_allocator; }
