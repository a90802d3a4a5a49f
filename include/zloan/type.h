/** @file
 * zloan — message type descriptors.
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
 *
 * A sized type varies in size from message to message: a fixed part (a
 * plain struct) followed by a tail of `count` elements of one plain type,
 * the shape of an image (header + pixels) or a point cloud. Declare it with
 * a C flexible array member:
 *
 *     struct image { uint32_t width, height; uint8_t data[]; };
 *     static const zl_type image_type = ZL_TYPE_SIZED(struct image, data, 0);
 *
 * A message of count elements is zl_type_message_size(type, count) bytes.
 * Loans of a sized type are asked with a count (zl_publisher_loan_sized)
 * and published with the count actually filled; subscriptions learn it in
 * zl_message_info.count.
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

#define ZL_TYPE_NAME_MAX 128 /**< bytes, including the terminating NUL */
#define ZL_TYPE_DESCRIPTION_MAX 2048 /**< bytes of a field description, with its NUL */

/** Field descriptions: what a message's fields are, so that tools can decode
 * it without being compiled against it and the type check can compare
 * layouts field by field (see ZL_TYPE_DESCRIBED below). */
typedef enum zl_field_kind {
    ZL_FIELD_BOOL = 1, /**< 1 byte, 0 or 1 */
    ZL_FIELD_CHAR,     /**< 1 byte of text; an array of them is shown as a string */
    ZL_FIELD_I8,       /**< int8_t */
    ZL_FIELD_U8,       /**< uint8_t */
    ZL_FIELD_I16,      /**< int16_t */
    ZL_FIELD_U16,      /**< uint16_t */
    ZL_FIELD_I32,      /**< int32_t */
    ZL_FIELD_U32,      /**< uint32_t */
    ZL_FIELD_I64,      /**< int64_t */
    ZL_FIELD_U64,      /**< uint64_t */
    ZL_FIELD_F32,      /**< float */
    ZL_FIELD_F64,      /**< double */
    ZL_FIELD_STRUCT    /**< a nested struct described by `fields` */
} zl_field_kind;

/** One field of a described type (see ZL_FIELD and ZL_FIELD_NESTED). */
typedef struct zl_field {
    const char *name;   /**< [A-Za-z_][A-Za-z0-9_]* */
    zl_field_kind kind; /**< what one element is */
    size_t offset;      /**< offsetof the member */
    size_t size;        /**< sizeof the member: a multiple of one element's
                         * size, so a fixed array is one field */
    /** ZL_FIELD_STRUCT only: the nested struct's fields. */
    const struct zl_field *fields;
    size_t field_count;  /**< ZL_FIELD_STRUCT only: how many fields */
    size_t element_size; /**< ZL_FIELD_STRUCT only: sizeof the nested struct */
} zl_field;

/** A message type descriptor (see the file's description). */
typedef struct zl_type {
    /** Type name, 1..ZL_TYPE_NAME_MAX-1 bytes, compared exactly. */
    const char *name;
    /** sizeof the in-memory message; alignment is a power of two. */
    size_t size;
    size_t alignment; /**< alignof the message, a power of two */
    /** Optional text describing the fields (e.g. "u32 w;u32 h;u8 px[64]");
     * it enters the layout hash, so two builds with different layouts of the
     * same name and size are told apart. May be NULL. */
    const char *layout;
    /** If non-zero, used as the layout hash instead of the computed one. */
    uint64_t layout_hash;
    /** Sized types only (plain): bytes of one tail element (0: the type has
     * a fixed size). The tail starts at `size`, which is then the offset of
     * the tail (for a flexible array member, its offsetof). */
    size_t element_size;
    /** Sized types only: the most elements a message may have (0: no
     * maximum of elements, but a message is at most 1 TiB: a loan or
     * publish of more elements fails with ZL_EINVAL). */
    size_t max_count;
    /** Optional field description (plain types): field_count fields. It
     * enters the layout hash and travels with the topic, so tools decode
     * its messages and a peer whose fields differ (another order, another
     * kind) is refused with a detail naming the first field that differs.
     * A sized type's fields describe its fixed part and may end with its
     * tail (ZL_FIELD_TAIL). May be NULL. */
    const zl_field *fields;
    size_t field_count; /**< how many fields `fields` has */
    /** true: the message is its bytes (no pointers). */
    bool plain;
    /** Non-plain types only: the largest serialized size, in bytes. */
    size_t serialized_size_max;
    /** Non-plain types only. serialize writes msg into buf (cap bytes) and
     * stores the length in *used; returns 0 or a negative code (ZL_ESERIALIZE
     * when it does not fit). */
    int (*serialize)(const void *msg, void *buf, size_t cap, size_t *used);
    /** Non-plain types only. deserialize fills msg (type->size bytes, not
     * initialised) from buf; it may allocate through the allocator given. */
    int (*deserialize)(const void *buf, size_t len, void *msg, const zl_allocator *allocator);
    /** Non-plain types only, may be NULL: frees what deserialize allocated
     * (or what the user put into a loaned message before publishing it). */
    void (*fini)(void *msg, const zl_allocator *allocator);
} zl_type;

#ifndef __cplusplus
/** Descriptor of a plain C type T (a struct without pointers). */
#define ZL_TYPE_PLAIN(T) \
    { .name = #T, .size = sizeof(T), .alignment = _Alignof(T), .plain = true }

/** Descriptor of a sized type: struct T whose flexible array member is
 * `member`, with at most max_count_ elements (0: no maximum). */
#define ZL_TYPE_SIZED(T, member, max_count_)                                        \
    { .name = #T, .size = offsetof(T, member), .alignment = _Alignof(T), .plain = true, \
      .element_size = sizeof(((T *)0)->member[0]), .max_count = (max_count_) }

/** Same, with a textual layout that enters the layout hash. */
#define ZL_TYPE_PLAIN_LAYOUT(T, layout_text) \
    { .name = #T, .size = sizeof(T), .alignment = _Alignof(T), .layout = (layout_text), .plain = true }
#else
/* The same three in C++ (11 and later), which has neither _Alignof nor, before
 * C++20, designated initializers: every field in declaration order, so that
 * -Wextra's missing-field-initializers stays quiet. A field added to zl_type
 * must be added here too (the test cxx_headers fails to compile otherwise). */
#define ZL_TYPE_PLAIN(T) \
    { #T, sizeof(T), alignof(T), nullptr, 0, 0, 0, nullptr, 0, true, 0, nullptr, nullptr, nullptr }
#define ZL_TYPE_SIZED(T, member, max_count_)                                             \
    { #T, offsetof(T, member), alignof(T), nullptr, 0,                                   \
      sizeof(static_cast<T *>(nullptr)->member[0]), (max_count_), nullptr, 0, true, 0,   \
      nullptr, nullptr, nullptr }
#define ZL_TYPE_PLAIN_LAYOUT(T, layout_text) \
    { #T, sizeof(T), alignof(T), (layout_text), 0, 0, 0, nullptr, 0, true, 0, nullptr, nullptr, \
      nullptr }
#endif

/** One field of plain struct T: a scalar or a fixed array of KIND, a
 * scalar zl_field_kind without its ZL_FIELD_ prefix (BOOL, CHAR, U8, F64,
 * and the other signed and unsigned widths), e.g.
 * ZL_FIELD(struct image, U8, pixels) for uint8_t pixels[640 * 480]. */
#ifndef __cplusplus
#define ZL_FIELD(T, KIND, member) \
    { #member, ZL_FIELD_##KIND, offsetof(T, member), sizeof(((T *)0)->member), NULL, 0, 0 }
#else
#define ZL_FIELD(T, KIND, member)                                                      \
    { #member, ZL_FIELD_##KIND, offsetof(T, member),                                    \
      sizeof(static_cast<T *>(nullptr)->member), nullptr, 0, 0 }
#endif

/** The tail of sized type T (ZL_TYPE_SIZED): its flexible array member,
 * elements of KIND, as the last field of T's description. Its size is 0
 * (the count varies) and its offset is the type's size; it lets tools and
 * zloan-bridge know what the tail holds. ZL_TYPE_SIZED leaves a
 * descriptor's fields empty: set fields and field_count after it. */
#ifndef __cplusplus
#define ZL_FIELD_TAIL(T, KIND, member) \
    { #member, ZL_FIELD_##KIND, offsetof(T, member), 0, NULL, 0, 0 }
#else
#define ZL_FIELD_TAIL(T, KIND, member) \
    { #member, ZL_FIELD_##KIND, offsetof(T, member), 0, nullptr, 0, 0 }
#endif

/** A member of T that is a struct S (or a fixed array of them) described by
 * the array S_fields. */
#ifndef __cplusplus
#define ZL_FIELD_NESTED(T, member, S, S_fields)                                          \
    { #member, ZL_FIELD_STRUCT, offsetof(T, member), sizeof(((T *)0)->member), (S_fields), \
      sizeof(S_fields) / sizeof((S_fields)[0]), sizeof(S) }
#else
#define ZL_FIELD_NESTED(T, member, S, S_fields)                                        \
    { #member, ZL_FIELD_STRUCT, offsetof(T, member),                                    \
      sizeof(static_cast<T *>(nullptr)->member), (S_fields),                           \
      sizeof(S_fields) / sizeof((S_fields)[0]), sizeof(S) }
#endif

#ifndef __cplusplus
/** Descriptor of a plain C type T whose fields the array T_fields describes:
 *
 *     struct point { double x, y; };
 *     static const zl_field point_fields[] = {
 *         ZL_FIELD(struct point, F64, x), ZL_FIELD(struct point, F64, y)};
 *     static const zl_type point_type = ZL_TYPE_DESCRIBED(struct point, point_fields);
 *
 * zl_type_validate() checks every field against the struct's size (a kind
 * whose size does not divide the member's is refused). */
#define ZL_TYPE_DESCRIBED(T, T_fields)                                                       \
    { .name = #T, .size = sizeof(T), .alignment = _Alignof(T), .plain = true,                \
      .fields = (T_fields), .field_count = sizeof(T_fields) / sizeof((T_fields)[0]) }
#else
/* The same in C++: every field in declaration order (see ZL_TYPE_PLAIN). */
#define ZL_TYPE_DESCRIBED(T, T_fields)                                                  \
    { #T, sizeof(T), alignof(T), nullptr, 0, 0, 0, (T_fields),                          \
      sizeof(T_fields) / sizeof((T_fields)[0]), true, 0, nullptr, nullptr, nullptr }
#endif

/** Writes type's field description as text (the form tools show and the
 * topic stores): fields separated by ';', each "KIND NAME[COUNT]@OFFSET"
 * (COUNT only for arrays), KIND one of bool char i8 u8 i16 u16 i32 u32 i64
 * u64 f32 f64 or, for a nested struct, "{FIELDS}:SIZE". A sized type's
 * tail (ZL_FIELD_TAIL) is written "KIND NAME[]@OFFSET". Example:
 * "f64 x@0;f64 y@8". Writes "" for a type without fields.
 * @retval 0 out holds the text.
 * @retval ZL_EINVAL an argument is NULL, a field is invalid (the detail
 *         says which), or out (out_size bytes) is too small
 *         (ZL_TYPE_DESCRIPTION_MAX is always enough for a valid type).
 * Any thread. */
ZL_API int zl_type_describe(const zl_type *type, char *out, size_t out_size);

/** Checks a descriptor. Returns 0, or ZL_EINVAL (with a detail) when a field
 * is out of range or hooks are missing. Any thread. */
ZL_API int zl_type_validate(const zl_type *type);

/** Bytes of a message of type with count tail elements: the fixed part plus
 * the elements, rounded up to the type's alignment (so at least sizeof of a
 * struct with a flexible array member). type->size for a fixed-size type
 * (count must be 0). SIZE_MAX, which no allocation satisfies, when count
 * is above a nonzero max_count or the size does not fit in a size_t, or
 * when type is NULL. type must otherwise be valid. Any thread. */
ZL_API size_t zl_type_message_size(const zl_type *type, size_t count);

/** The layout hash zloan compares: type->layout_hash when set, otherwise a
 * 64-bit FNV-1a hash of name, size, alignment, plain flag, layout text and
 * field description; element size and maximum count enter it too for a
 * sized type. 0 when type is NULL; type must otherwise be valid. Any thread. */
ZL_API uint64_t zl_type_layout_hash(const zl_type *type);

#ifdef __cplusplus
}
#endif
#endif
