/* rmw_zloan — a received CDR message viewed in place (loaned takes of
 * non-plain C types).
 *
 * A subscription of a non-plain type of the C type support lends the user
 * a rosidl C struct that lives in memory of the subscription's (a view slot,
 * one per loan it may hold) and whose strings and sequences point into the
 * zloan loan that holds the CDR stream, held until the user returns the
 * message. The stream is the one cdr.c reads (its header says the rules):
 *   - a string is its u32 length with the NUL, its bytes and the NUL: the
 *     rosidl_runtime_c__String's data points at the bytes (size without the
 *     NUL, capacity with it), after the same checks as deserialization (the
 *     NUL at the end and none before it, the bound);
 *   - a sequence of primitives is its u32 count and the elements, aligned
 *     to min(size, 8) from the end of the 4-byte header: the sequence's data
 *     points at the first element when that address is aligned for the C
 *     type (the stream's place in the chunk decides it: a chunk of zloan's
 *     CDR type is aligned to 1 only, and an 8-byte element sits 4 bytes off
 *     an 8-byte boundary of the stream) and, for bool, every byte is 0 or 1
 *     (a C bool holds nothing else); otherwise the elements are copied into
 *     the slot's arena;
 *   - what has no place in the stream that C can read (a sequence of
 *     strings or of messages: arrays of C structs; a wide string: 4 bytes
 *     per unit in CDR, 2 in C) is built in the slot's arena, whose strings
 *     and sequences again point into the stream;
 *   - primitives, fixed arrays of them and nested messages live in the
 *     struct itself and are copied there.
 * The arena keeps its memory from one take to the next and grows only when
 * a message needs more than it has: in the steady state a take allocates
 * nothing. The bytes come from another process: every length is checked
 * against what is left of the message before it is used, and a message
 * that lies is refused with the member named (its loan is returned by the
 * caller). The host must be little endian, as for the rest of cdr.c. */
#include "rmw_zloan.h"

#include <stdlib.h>
#include <string.h>

#include <rosidl_runtime_c/string.h>
#include <rosidl_runtime_c/u16string.h>
#include <rosidl_typesupport_introspection_c/field_types.h>

#define ARENA_ALIGN 16u /* the largest alignment of a rosidl C member (long double) */

typedef struct view_in {
    zr_cdr_in cdr;
    uint8_t *arena;
    size_t arena_cap;
    size_t arena_used; /* may pass arena_cap: then only counted, nothing written */
} view_in;

static const char empty_string[1] = "";

bool zr_view_supported(const zr_type *type)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return !type->plain && !type->cpp;
#else
    (void)type;
    return false; /* the stream is little endian and its primitives are read in place */
#endif
}

static const zr_members *nested(const zr_member *m)
{
    return (const zr_members *)m->members_->data;
}

/* Bytes of one element of m in a C struct. */
static size_t element_size(const zr_member *m)
{
    switch (m->type_id_) {
    case rosidl_typesupport_introspection_c__ROS_TYPE_STRING:
        return sizeof(rosidl_runtime_c__String);
    case rosidl_typesupport_introspection_c__ROS_TYPE_WSTRING:
        return sizeof(rosidl_runtime_c__U16String);
    case rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE:
        return nested(m)->size_of_;
    default:
        return zr_primitive_size(m->type_id_);
    }
}

/* Room for bytes in the arena, or NULL when it is short (the need is still
 * counted, for the caller to grow it and read again). */
static uint8_t *arena_take(view_in *in, size_t bytes)
{
    size_t at = (in->arena_used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    in->arena_used = at + bytes;
    return in->arena_used <= in->arena_cap ? in->arena + at : NULL;
}

/* dst (NULL: only checked) points at the stream's bytes. */
static bool view_string(view_in *in, const zr_member *m, rosidl_runtime_c__String *dst)
{
    const char *chars;
    size_t size;
    if (!zr_cdr_string(&in->cdr, m, &chars, &size))
        return false;
    if (dst != NULL) {
        /* Read-only, as the whole loan is: the cast drops const for
         * rosidl's struct, which has no const member. */
        dst->data = (char *)(uintptr_t)(chars != NULL ? chars : empty_string);
        dst->size = size;
        dst->capacity = size + 1;
    }
    return true;
}

/* A wide string is converted into the arena (CDR has 4 bytes per unit). */
static bool view_wstring(view_in *in, const zr_member *m, rosidl_runtime_c__U16String *dst)
{
    uint32_t n;
    if (!zr_cdr_wstring_size(&in->cdr, m, &n))
        return false;
    uint16_t *units = (uint16_t *)(void *)arena_take(in, ((size_t)n + 1) * sizeof(uint16_t));
    if (!zr_cdr_wstring_units(&in->cdr, m, n, units))
        return false;
    if (units != NULL && dst != NULL) {
        units[n] = 0;
        dst->data = units;
        dst->size = n;
        dst->capacity = (size_t)n + 1;
    }
    return true;
}

static bool view_struct(view_in *in, const zr_members *members, uint8_t *msg, int depth);

/* count elements of m into dst (C storage for them; NULL: only checked):
 * strings view the stream, primitives are copied. */
static bool view_values(view_in *in, const zr_member *m, uint8_t *dst, size_t count, int depth)
{
    size_t csize = element_size(m);
    switch (m->type_id_) {
    case rosidl_typesupport_introspection_c__ROS_TYPE_STRING:
        for (size_t i = 0; i < count; i++)
            if (!view_string(in, m, dst != NULL ? (void *)(dst + i * csize) : NULL))
                return false;
        return true;
    case rosidl_typesupport_introspection_c__ROS_TYPE_WSTRING:
        for (size_t i = 0; i < count; i++)
            if (!view_wstring(in, m, dst != NULL ? (void *)(dst + i * csize) : NULL))
                return false;
        return true;
    case rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE:
        for (size_t i = 0; i < count; i++)
            if (!view_struct(in, nested(m), dst != NULL ? dst + i * csize : NULL, depth + 1))
                return false;
        return true;
    default: {
        const uint8_t *at;
        if (!zr_cdr_primitives(&in->cdr, m, count, &at))
            return false;
        if (dst != NULL)
            zr_cdr_copy_primitives(m, dst, at, count);
        return true;
    }
    }
}

/* Whether n primitives of m at p can be read in place by C. */
static bool viewable_in_place(const zr_member *m, const uint8_t *p, size_t n)
{
    if ((uintptr_t)p % zr_primitive_alignment(m->type_id_) != 0)
        return false;
    if (m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_BOOLEAN)
        for (size_t i = 0; i < n; i++)
            if (p[i] > 1)
                return false;
    return true;
}

/* A sequence of n primitives: its data points into the stream when C can
 * read it there, else into a copy in the arena. */
static bool view_primitives(view_in *in, const zr_member *m, uint32_t n, zr_sequence *dst)
{
    const uint8_t *at;
    if (!zr_cdr_primitives(&in->cdr, m, n, &at))
        return false;
    void *data = (void *)(uintptr_t)at; /* read-only: see view_string */
    if (n > 0 && !viewable_in_place(m, at, n)) {
        uint8_t *copy = arena_take(in, n * element_size(m));
        if (copy != NULL)
            zr_cdr_copy_primitives(m, copy, at, n);
        data = copy;
    }
    if (dst != NULL) {
        dst->data = data;
        dst->size = n;
        dst->capacity = n;
    }
    return true;
}

static bool view_sequence(view_in *in, const zr_member *m, zr_sequence *dst, int depth)
{
    uint32_t n;
    if (!zr_cdr_sequence_size(&in->cdr, m, &n))
        return false;
    if (zr_primitive_size(m->type_id_) != 0)
        return view_primitives(in, m, n, dst);
    /* Strings, wide strings, messages: their C structs in the arena. */
    uint8_t *elements = n > 0 ? arena_take(in, n * element_size(m)) : NULL;
    if (!view_values(in, m, elements, n, depth))
        return false;
    if (dst != NULL) {
        dst->data = elements;
        dst->size = n;
        dst->capacity = n;
    }
    return true;
}

static bool view_struct(view_in *in, const zr_members *members, uint8_t *msg, int depth)
{
    if (depth > ZR_CDR_DEPTH_MAX)
        return zr_cdr_fail(&in->cdr, "messages nested too deep", NULL);
    for (uint32_t i = 0; i < members->member_count_; i++) {
        const zr_member *m = &members->members_[i];
        uint8_t *field = msg != NULL ? msg + m->offset_ : NULL;
        bool ok;
        if (!m->is_array_)
            ok = view_values(in, m, field, 1, depth);
        else if (m->array_size_ > 0 && !m->is_upper_bound_)
            ok = view_values(in, m, field, m->array_size_, depth);
        else
            ok = view_sequence(in, m, (void *)field, depth);
        if (!ok)
            return false;
    }
    return true;
}

/* One reading of the stream into the slot; in->arena_used tells what the
 * arena must hold. false: the message lies (in->cdr.error set). */
static bool view_once(const zr_type *type, const uint8_t *buf, size_t len, zr_view_slot *slot,
                      view_in *in)
{
    *in = (view_in){{buf, len, ZR_CDR_HEADER, NULL, NULL, false}, slot->arena, slot->arena_cap, 0};
    return view_struct(in, type->members, slot->message, 0);
}

rmw_ret_t zr_view_fill(const zr_type *type, const uint8_t *buf, size_t len, zr_view_slot *slot)
{
    if (!zr_cdr_header_ok(type->members, buf, len))
        return RMW_RET_ERROR;
    view_in in;
    bool ok = view_once(type, buf, len, slot, &in);
    if (ok && in.arena_used > slot->arena_cap) {
        /* The arena was short: the struct is incomplete. Grow it (kept for
         * the next takes) and read again. */
        uint8_t *grown = realloc(slot->arena, in.arena_used);
        if (grown == NULL) {
            RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
                "out of memory for %zu bytes of a loaned %s (its sequences of strings or "
                "messages)", in.arena_used, type->members->message_name_);
            return RMW_RET_BAD_ALLOC;
        }
        slot->arena = grown;
        slot->arena_cap = in.arena_used;
        ok = view_once(type, buf, len, slot, &in);
        if (ok && in.arena_used > slot->arena_cap)
            ok = zr_cdr_fail(&in.cdr, "the message changed while it was read", NULL);
    }
    if (!ok) {
        zr_cdr_set_error(type->members, &in.cdr);
        return RMW_RET_ERROR;
    }
    return RMW_RET_OK;
}
