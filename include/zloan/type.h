/* zloan — message type descriptors.
 *
 * A type descriptor tells zloan how large a message is, how it is aligned and
 * whether it is "plain" (no pointers: it can travel as its bytes, so it can be
 * lent from shared memory). Endpoints of one topic must agree on the name,
 * size and layout hash, or the later one is refused with ZL_ETYPE.
 *
 * A plain C struct gets its descriptor in one line:
 *
 *     static const zl_type point_type = ZL_TYPE_PLAIN(struct point);
 *
 * A type with pointers (strings, sequences) sets plain = false and supplies
 * serialize/deserialize/fini hooks; zloan then never lends its memory from
 * shared memory but from the user's allocator (the "refusal path").
 */
#ifndef ZLOAN_TYPE_H
#define ZLOAN_TYPE_H

#include "zloan/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/allocator.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZL_TYPE_NAME_MAX 128 /* bytes, including the terminating NUL */
#define ZL_TYPE_DESCRIPTION_MAX 2048 /* bytes of a field description, with its NUL */

typedef struct zl_type {
    /* Type name, 1..ZL_TYPE_NAME_MAX-1 bytes, compared exactly. */
    const char *name;
    /* sizeof the in-memory message; alignment is a power of two. */
    size_t size;
    size_t alignment;
    /* Optional text describing the fields (e.g. "u32 w;u32 h;u8 px[64]");
     * it enters the layout hash, so two builds with different layouts of the
     * same name and size are told apart. May be NULL. */
    const char *layout;
    /* If non-zero, used as the layout hash instead of the computed one. */
    uint64_t layout_hash;
    /* true: the message is its bytes (no pointers). */
    bool plain;
    /* Non-plain types only: the largest serialized size, in bytes. */
    size_t serialized_size_max;
    /* Non-plain types only. serialize writes msg into buf (cap bytes) and
     * stores the length in *used; returns 0 or a negative code (ZL_ESERIALIZE
     * when it does not fit). */
    int (*serialize)(const void *msg, void *buf, size_t cap, size_t *used);
    /* Non-plain types only. deserialize fills msg (type->size bytes, not
     * initialised) from buf; it may allocate through the allocator given. */
    int (*deserialize)(const void *buf, size_t len, void *msg, const zl_allocator *allocator);
    /* Non-plain types only, may be NULL: frees what deserialize allocated
     * (or what the user put into a loaned message before publishing it). */
    void (*fini)(void *msg, const zl_allocator *allocator);
} zl_type;

/* Descriptor of a plain C type T (a struct without pointers). */
#define ZL_TYPE_PLAIN(T) \
    { .name = #T, .size = sizeof(T), .alignment = _Alignof(T), .plain = true }

/* Same, with a textual layout that enters the layout hash. */
#define ZL_TYPE_PLAIN_LAYOUT(T, layout_text) \
    { .name = #T, .size = sizeof(T), .alignment = _Alignof(T), .layout = (layout_text), .plain = true }

/* Checks a descriptor. Returns 0, or ZL_EINVAL (with a detail) when a field
 * is out of range or hooks are missing. Any thread. */
ZL_API int zl_type_validate(const zl_type *type);

/* The layout hash zloan compares: type->layout_hash when set, otherwise a
 * 64-bit FNV-1a hash of name, size, alignment, plain flag and layout text.
 * type must be valid. Any thread. */
ZL_API uint64_t zl_type_layout_hash(const zl_type *type);

#ifdef __cplusplus
}
#endif
#endif
