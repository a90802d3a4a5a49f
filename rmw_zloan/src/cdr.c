/* rmw_zloan — CDR (XCDR1, little endian) driven by the C or the C++
 * introspection type support: the bytes rmw_cyclonedds writes for the same
 * message, so serialized messages travel unchanged between the two, through
 * zloan-bridge, and between C and C++ endpoints of one type.
 *
 * Both introspection type supports describe members with the same struct
 * layout; they differ in what a string, a wide string and a sequence are in
 * memory. C: rosidl_runtime_c structs, read directly. C++: std::string and
 * std::u16string, reached through cpp.cpp, and std::vector (bounded or not),
 * reached through the member's size/get/resize functions, and for
 * std::vector<bool> fetch/assign one element at a time.
 *
 * The stream starts with the 4-byte encapsulation header {0, 1, 0, 0}
 * (CDR, little endian); every primitive is aligned to min(its size, 8)
 * counted from the end of that header; a string is its length with the NUL
 * (u32), its bytes and the NUL; a wide string its length in code units
 * (u32) and 4 bytes per unit (wchar_t, as rmw_cyclonedds writes it); a
 * sequence its length (u32) and its elements; a fixed array its elements;
 * an empty run of primitives is not even aligned.
 *
 * Deserialization reads bytes another process wrote: every length is checked
 * against the bytes left and the member's bound before anything is
 * allocated or copied. */
#include "rmw_zloan.h"

#include <string.h>

#include <rosidl_runtime_c/string.h>
#include <rosidl_runtime_c/string_functions.h>
#include <rosidl_runtime_c/u16string.h>
#include <rosidl_runtime_c/u16string_functions.h>
#include <rosidl_typesupport_introspection_c/field_types.h>

#define CDR_HEADER ZR_CDR_HEADER
#define CDR_DEPTH_MAX ZR_CDR_DEPTH_MAX

typedef zr_sequence generic_sequence;

const uint8_t zr_cdr_placed_magic[4] = {'z', 'r', 'p', 'l'};

/* Bytes of one primitive in CDR and in C (the same for every kind but
 * strings and messages, which are not primitives here). */
size_t zr_primitive_size(uint8_t type_id)
{
    switch (type_id) {
    case rosidl_typesupport_introspection_c__ROS_TYPE_FLOAT:
    case rosidl_typesupport_introspection_c__ROS_TYPE_UINT32:
    case rosidl_typesupport_introspection_c__ROS_TYPE_INT32:
        return 4;
    case rosidl_typesupport_introspection_c__ROS_TYPE_DOUBLE:
    case rosidl_typesupport_introspection_c__ROS_TYPE_UINT64:
    case rosidl_typesupport_introspection_c__ROS_TYPE_INT64:
        return 8;
    case rosidl_typesupport_introspection_c__ROS_TYPE_LONG_DOUBLE:
        return 16;
    case rosidl_typesupport_introspection_c__ROS_TYPE_WCHAR:
    case rosidl_typesupport_introspection_c__ROS_TYPE_UINT16:
    case rosidl_typesupport_introspection_c__ROS_TYPE_INT16:
        return 2;
    case rosidl_typesupport_introspection_c__ROS_TYPE_CHAR:
    case rosidl_typesupport_introspection_c__ROS_TYPE_BOOLEAN:
    case rosidl_typesupport_introspection_c__ROS_TYPE_OCTET:
    case rosidl_typesupport_introspection_c__ROS_TYPE_UINT8:
    case rosidl_typesupport_introspection_c__ROS_TYPE_INT8:
        return 1;
    default:
        return 0;
    }
}

size_t zr_primitive_alignment(uint8_t type_id)
{
    switch (type_id) {
    case rosidl_typesupport_introspection_c__ROS_TYPE_LONG_DOUBLE:
        return _Alignof(long double);
    case rosidl_typesupport_introspection_c__ROS_TYPE_DOUBLE:
        return _Alignof(double);
    case rosidl_typesupport_introspection_c__ROS_TYPE_INT64:
    case rosidl_typesupport_introspection_c__ROS_TYPE_UINT64:
        return _Alignof(int64_t);
    default:
        return zr_primitive_size(type_id);
    }
}

static const zr_members *nested(const zr_member *m)
{
    return (const zr_members *)m->members_->data;
}

/* A C++ std::vector<bool>: no element has an address. */
static bool is_bool_vector(const zr_member *m)
{
    return m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_BOOLEAN &&
           m->get_const_function == NULL;
}

/* Bytes of one element of member m in memory (C or C++). */
static size_t element_c_size(const zr_member *m, bool cpp)
{
    switch (m->type_id_) {
    case rosidl_typesupport_introspection_c__ROS_TYPE_STRING:
        return cpp ? zr_cpp_string_size() : sizeof(rosidl_runtime_c__String);
    case rosidl_typesupport_introspection_c__ROS_TYPE_WSTRING:
        return cpp ? zr_cpp_wstring_size() : sizeof(rosidl_runtime_c__U16String);
    case rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE:
        return nested(m)->size_of_;
    default:
        return zr_primitive_size(m->type_id_);
    }
}

/* ---- writing ------------------------------------------------------------ */

typedef struct cdr_out {
    uint8_t *buf; /* NULL: only count */
    size_t cap;
    size_t pos;   /* from the start of the stream, header included */
    bool overflow;
    bool cpp;     /* the message is C++ */
    const void *mark; /* counting: the bytes whose place in the stream is asked */
    size_t mark_pos;  /* where they go (SIZE_MAX: not met) */
} cdr_out;

static void put(cdr_out *o, const void *p, size_t n)
{
    if (p != NULL && p == o->mark)
        o->mark_pos = o->pos;
    if (o->buf != NULL) {
        if (o->overflow || n > o->cap - o->pos) {
            o->overflow = true;
            return;
        }
        /* Bytes already in their place (a publisher's sized loan, sized.c)
         * are left as they are. */
        if (p == o->buf + o->pos)
            ;
        else if (p != NULL)
            memcpy(o->buf + o->pos, p, n);
        else
            memset(o->buf + o->pos, 0, n);
    }
    o->pos += n;
}

static void put_align(cdr_out *o, size_t a)
{
    size_t off = (o->pos - CDR_HEADER) % a;
    if (off != 0)
        put(o, NULL, a - off);
}

static void put_u32(cdr_out *o, size_t v)
{
    uint32_t u = (uint32_t)v;
    put_align(o, 4);
    put(o, &u, 4);
}

static void put_struct(cdr_out *o, const zr_members *members, const uint8_t *msg);

static void put_values(cdr_out *o, const zr_member *m, const uint8_t *data, size_t count)
{
    size_t csize = element_c_size(m, o->cpp);
    switch (m->type_id_) {
    case rosidl_typesupport_introspection_c__ROS_TYPE_STRING:
        for (size_t i = 0; i < count; i++) {
            const void *e = data + i * csize;
            size_t n = 0;
            const char *chars;
            if (o->cpp) {
                chars = zr_cpp_string_data(e, &n);
            } else {
                const rosidl_runtime_c__String *s = e;
                chars = s->data;
                n = s->data != NULL ? s->size : 0;
            }
            put_u32(o, n + 1);
            put(o, chars, n);
            put(o, NULL, 1);
        }
        return;
    case rosidl_typesupport_introspection_c__ROS_TYPE_WSTRING:
        for (size_t i = 0; i < count; i++) {
            const void *e = data + i * csize;
            size_t n = 0;
            const uint16_t *units;
            if (o->cpp) {
                units = zr_cpp_wstring_data(e, &n);
            } else {
                const rosidl_runtime_c__U16String *s = e;
                units = s->data;
                n = s->data != NULL ? s->size : 0;
            }
            put_u32(o, n);
            for (size_t k = 0; k < n; k++) {
                uint32_t unit = units[k];
                put(o, &unit, 4);
            }
        }
        return;
    case rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE:
        for (size_t i = 0; i < count; i++)
            put_struct(o, nested(m), data + i * csize);
        return;
    default:
        if (count == 0)
            return;
        put_align(o, csize < 8 ? csize : 8);
        put(o, data, csize * count);
        return;
    }
}

static void put_struct(cdr_out *o, const zr_members *members, const uint8_t *msg)
{
    for (uint32_t i = 0; i < members->member_count_; i++) {
        const zr_member *m = &members->members_[i];
        const uint8_t *field = msg + m->offset_;
        if (!m->is_array_) {
            put_values(o, m, field, 1);
        } else if (m->array_size_ > 0 && !m->is_upper_bound_) {
            put_values(o, m, field, m->array_size_);
        } else if (!o->cpp) {
            const generic_sequence *seq = (const void *)field;
            put_u32(o, seq->size);
            put_values(o, m, seq->data, seq->size);
        } else if (is_bool_vector(m)) {
            size_t n = m->size_function(field);
            put_u32(o, n);
            for (size_t k = 0; k < n; k++) {
                bool b = false;
                m->fetch_function(field, k, &b);
                uint8_t byte = b;
                put(o, &byte, 1);
            }
        } else {
            /* A std::vector's elements are contiguous: the first one's
             * address is the data. */
            size_t n = m->size_function(field);
            put_u32(o, n);
            if (n > 0)
                put_values(o, m, m->get_const_function(field, 0), n);
        }
    }
}

size_t zr_cdr_size(const zr_type *type, const void *msg)
{
    cdr_out o = {NULL, 0, CDR_HEADER, false, type->cpp, NULL, SIZE_MAX};
    put_struct(&o, type->members, msg);
    return o.pos;
}

size_t zr_cdr_size_at(const zr_type *type, const void *msg, const void *at, size_t *at_pos)
{
    cdr_out o = {NULL, 0, CDR_HEADER, false, type->cpp, at, SIZE_MAX};
    put_struct(&o, type->members, msg);
    *at_pos = o.mark_pos;
    return o.pos;
}

size_t zr_cdr_serialize(const zr_type *type, const void *msg, uint8_t *buf, size_t cap)
{
    static const uint8_t header[CDR_HEADER] = {0x00, 0x01, 0x00, 0x00};
    if (cap < CDR_HEADER)
        return 0;
    memcpy(buf, header, CDR_HEADER);
    cdr_out o = {buf, cap, CDR_HEADER, false, type->cpp, NULL, SIZE_MAX};
    put_struct(&o, type->members, msg);
    return o.overflow ? 0 : o.pos;
}

/* ---- the largest size of a bounded type --------------------------------- */

/* Walks members as the writer would with every string and sequence at its
 * bound. A shorter variable part can shift what follows to another
 * alignment, so each one adds 7 bytes of slack: the result is an upper
 * bound. *bounded turns false at the first unbounded member. */
static size_t max_size_struct(const zr_members *members, size_t pos, bool *bounded, int depth);

static size_t max_size_values(const zr_member *m, size_t pos, size_t count, bool *bounded,
                              int depth)
{
    switch (m->type_id_) {
    case rosidl_typesupport_introspection_c__ROS_TYPE_STRING:
    case rosidl_typesupport_introspection_c__ROS_TYPE_WSTRING: {
        if (m->string_upper_bound_ == 0) {
            *bounded = false;
            return pos;
        }
        size_t unit = m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_STRING ? 1 : 4;
        for (size_t i = 0; i < count; i++)
            pos += 3 + 4 + unit * (m->string_upper_bound_ + 1) + 7;
        return pos;
    }
    case rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE:
        for (size_t i = 0; i < count && *bounded; i++)
            pos = max_size_struct(nested(m), pos, bounded, depth + 1);
        return pos;
    default: {
        size_t size = zr_primitive_size(m->type_id_);
        size_t a = size < 8 ? size : 8;
        size_t off = (pos - CDR_HEADER) % a;
        return pos + (off != 0 ? a - off : 0) + size * count;
    }
    }
}

static size_t max_size_struct(const zr_members *members, size_t pos, bool *bounded, int depth)
{
    if (depth > CDR_DEPTH_MAX) {
        *bounded = false;
        return pos;
    }
    for (uint32_t i = 0; i < members->member_count_ && *bounded; i++) {
        const zr_member *m = &members->members_[i];
        if (!m->is_array_) {
            pos = max_size_values(m, pos, 1, bounded, depth);
        } else if (m->array_size_ > 0 && !m->is_upper_bound_) {
            pos = max_size_values(m, pos, m->array_size_, bounded, depth);
        } else if (!m->is_upper_bound_) {
            *bounded = false;
        } else {
            pos += 3 + 4; /* the count, aligned */
            pos = max_size_values(m, pos, m->array_size_, bounded, depth) + 7;
        }
    }
    return pos;
}

size_t zr_cdr_max_size(const zr_members *members, bool *bounded)
{
    *bounded = true;
    return max_size_struct(members, CDR_HEADER, bounded, 0);
}

/* ---- reading ------------------------------------------------------------ */

/* The checked readers below are shared with view.c: each reads one thing
 * at in->pos, checks it against the bytes left (and the member's bound),
 * and advances past it, or records why not and returns false. */

bool zr_cdr_fail(zr_cdr_in *in, const char *why, const zr_member *m)
{
    if (in->error == NULL) {
        in->error = why;
        in->member = m != NULL ? m->name_ : "";
    }
    return false;
}

bool zr_cdr_align(zr_cdr_in *in, size_t a)
{
    size_t off = (in->pos - CDR_HEADER) % a;
    size_t pad = off != 0 ? a - off : 0;
    if (pad > in->len - in->pos)
        return zr_cdr_fail(in, "the message ends inside padding", NULL);
    in->pos += pad;
    return true;
}

bool zr_cdr_u32(zr_cdr_in *in, uint32_t *v, const zr_member *m)
{
    if (!zr_cdr_align(in, 4))
        return false;
    if (4 > in->len - in->pos)
        return zr_cdr_fail(in, "the message ends inside a member", m);
    memcpy(v, in->buf + in->pos, 4);
    in->pos += 4;
    return true;
}

bool zr_cdr_string(zr_cdr_in *in, const zr_member *m, const char **chars, size_t *size)
{
    uint32_t n;
    if (!zr_cdr_u32(in, &n, m))
        return false;
    if (n > in->len - in->pos)
        return zr_cdr_fail(in, "a string is longer than the message", m);
    const char *p = (const char *)(in->buf + in->pos);
    size_t count = n > 0 ? n - 1 : 0;
    if (n > 0 && p[count] != '\0')
        return zr_cdr_fail(in, "a string lacks its terminating NUL", m);
    if (memchr(p, '\0', count) != NULL)
        return zr_cdr_fail(in, "a string holds a NUL before its end", m);
    if (m->string_upper_bound_ > 0 && count > m->string_upper_bound_)
        return zr_cdr_fail(in, "a string exceeds its bound", m);
    *chars = n > 0 ? p : NULL;
    *size = count;
    in->pos += n;
    return true;
}

bool zr_cdr_wstring_size(zr_cdr_in *in, const zr_member *m, uint32_t *n)
{
    if (!zr_cdr_u32(in, n, m))
        return false;
    if (*n > (in->len - in->pos) / 4)
        return zr_cdr_fail(in, "a wide string is longer than the message", m);
    if (m->string_upper_bound_ > 0 && *n > m->string_upper_bound_)
        return zr_cdr_fail(in, "a wide string exceeds its bound", m);
    return true;
}

bool zr_cdr_wstring_units(zr_cdr_in *in, const zr_member *m, uint32_t n, uint16_t *units)
{
    for (uint32_t k = 0; k < n; k++) {
        uint32_t unit;
        memcpy(&unit, in->buf + in->pos + 4u * k, 4);
        if (unit > 0xFFFF)
            return zr_cdr_fail(in, "a wide character does not fit 16 bits", m);
        if (units != NULL)
            units[k] = (uint16_t)unit;
    }
    in->pos += 4u * n;
    return true;
}

bool zr_cdr_primitives(zr_cdr_in *in, const zr_member *m, size_t count, const uint8_t **at)
{
    size_t size = zr_primitive_size(m->type_id_);
    *at = NULL;
    if (count == 0)
        return true;
    if (!zr_cdr_align(in, size < 8 ? size : 8))
        return false;
    if (count > (in->len - in->pos) / size)
        return zr_cdr_fail(in, "an array is longer than the message", m);
    *at = in->buf + in->pos;
    in->pos += count * size;
    return true;
}

void zr_cdr_copy_primitives(const zr_member *m, uint8_t *dst, const uint8_t *src, size_t count)
{
    if (count == 0)
        return;
    memcpy(dst, src, count * zr_primitive_size(m->type_id_));
    if (m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_BOOLEAN) {
        /* A bool holds 0 or 1, whatever byte the peer sent. */
        for (size_t i = 0; i < count; i++)
            dst[i] = dst[i] != 0;
    }
}

bool zr_cdr_sequence_size(zr_cdr_in *in, const zr_member *m, uint32_t *n)
{
    if (!zr_cdr_u32(in, n, m))
        return false;
    /* Every element takes at least one byte: a count beyond what is left is
     * a lie, refused before anything is allocated. */
    if (*n > in->len - in->pos)
        return zr_cdr_fail(in, "a sequence is longer than the message", m);
    if (m->is_upper_bound_ && *n > m->array_size_)
        return zr_cdr_fail(in, "a sequence exceeds its bound", m);
    return true;
}

bool zr_cdr_header_ok(const zr_members *members, const uint8_t *buf, size_t len)
{
    if (len >= CDR_HEADER && buf[0] == 0x00 && buf[1] == 0x01)
        return true;
    RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
        "not a little-endian CDR stream of %s (%zu bytes, header %02x %02x): rmw_zloan reads "
        "CDR_LE only", members->message_name_, len, len > 0 ? buf[0] : 0, len > 1 ? buf[1] : 0);
    return false;
}

bool zr_cdr_locate(const zr_type *type, const uint8_t *message, size_t size,
                   const uint8_t **stream, size_t *len)
{
    uint32_t at = 0;
    if (size >= ZR_CDR_PLACED_HEAD && memcmp(message, zr_cdr_placed_magic, 4) == 0) {
        memcpy(&at, message + 4, 4);
        if (at < ZR_CDR_PLACED_HEAD || at > size - CDR_HEADER) {
            RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
                "a message of %s places its CDR stream at byte %u of %zu: not inside it",
                type->members->message_name_, (unsigned)at, size);
            return false;
        }
    }
    *stream = message + at;
    *len = size - at;
    return true;
}

void zr_cdr_set_error(const zr_members *members, const zr_cdr_in *in)
{
    RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("bad CDR for %s (%zu bytes): %s%s%s",
                                         members->message_name_, in->len, in->error,
                                         in->member[0] != '\0' ? ", member " : "", in->member);
}

static bool get_struct(zr_cdr_in *in, const zr_members *members, uint8_t *msg, int depth);

static bool get_string(zr_cdr_in *in, const zr_member *m, void *s)
{
    const char *p;
    size_t chars;
    if (!zr_cdr_string(in, m, &p, &chars))
        return false;
    if (in->cpp ? !zr_cpp_string_assign(s, p != NULL ? p : "", chars)
                : !rosidl_runtime_c__String__assignn(s, p != NULL ? p : "", chars))
        return zr_cdr_fail(in, "out of memory for a string", m);
    return true;
}

static bool get_wstring(zr_cdr_in *in, const zr_member *m, void *s)
{
    uint32_t n;
    if (!zr_cdr_wstring_size(in, m, &n))
        return false;
    uint16_t *units;
    if (in->cpp) {
        units = zr_cpp_wstring_resize(s, n);
    } else {
        rosidl_runtime_c__U16String *cs = s;
        units = rosidl_runtime_c__U16String__resize(cs, n) ? cs->data : NULL;
    }
    if (units == NULL)
        return zr_cdr_fail(in, "out of memory for a wide string", m);
    return zr_cdr_wstring_units(in, m, n, units);
}

static bool get_values(zr_cdr_in *in, const zr_member *m, uint8_t *data, size_t count, int depth)
{
    size_t csize = element_c_size(m, in->cpp);
    switch (m->type_id_) {
    case rosidl_typesupport_introspection_c__ROS_TYPE_STRING:
        for (size_t i = 0; i < count; i++)
            if (!get_string(in, m, (void *)(data + i * csize)))
                return false;
        return true;
    case rosidl_typesupport_introspection_c__ROS_TYPE_WSTRING:
        for (size_t i = 0; i < count; i++)
            if (!get_wstring(in, m, (void *)(data + i * csize)))
                return false;
        return true;
    case rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE:
        for (size_t i = 0; i < count; i++)
            if (!get_struct(in, nested(m), data + i * csize, depth + 1))
                return false;
        return true;
    default: {
        const uint8_t *at;
        if (!zr_cdr_primitives(in, m, count, &at))
            return false;
        zr_cdr_copy_primitives(m, data, at, count);
        return true;
    }
    }
}

static bool get_sequence(zr_cdr_in *in, const zr_member *m, uint8_t *field, int depth)
{
    uint32_t n;
    if (!zr_cdr_sequence_size(in, m, &n))
        return false;
    if (!in->cpp) {
        if (m->resize_function == NULL || !m->resize_function(field, n))
            return zr_cdr_fail(in, "out of memory for a sequence", m);
        generic_sequence *seq = (void *)field;
        return get_values(in, m, seq->data, n, depth);
    }
    /* C++: the member's resize function returns void (cast back in
     * cpp.cpp, which catches std::bad_alloc). */
    if (m->resize_function == NULL ||
        !zr_cpp_resize((void (*)(void))m->resize_function, field, n))
        return zr_cdr_fail(in, "out of memory for a sequence", m);
    if (is_bool_vector(m)) {
        for (uint32_t k = 0; k < n; k++) {
            bool b = in->buf[in->pos + k] != 0;
            m->assign_function(field, k, &b);
        }
        in->pos += n;
        return true;
    }
    return n == 0 || get_values(in, m, m->get_function(field, 0), n, depth);
}

static bool get_struct(zr_cdr_in *in, const zr_members *members, uint8_t *msg, int depth)
{
    if (depth > CDR_DEPTH_MAX)
        return zr_cdr_fail(in, "messages nested too deep", NULL);
    for (uint32_t i = 0; i < members->member_count_; i++) {
        const zr_member *m = &members->members_[i];
        uint8_t *field = msg + m->offset_;
        bool ok;
        if (!m->is_array_)
            ok = get_values(in, m, field, 1, depth);
        else if (m->array_size_ > 0 && !m->is_upper_bound_)
            ok = get_values(in, m, field, m->array_size_, depth);
        else
            ok = get_sequence(in, m, field, depth);
        if (!ok)
            return false;
    }
    return true;
}

rmw_ret_t zr_cdr_deserialize(const zr_type *type, const uint8_t *buf, size_t len, void *msg)
{
    if (!zr_cdr_header_ok(type->members, buf, len))
        return RMW_RET_ERROR;
    zr_cdr_in in = {buf, len, ZR_CDR_HEADER, NULL, NULL, type->cpp};
    if (!get_struct(&in, type->members, msg, 0)) {
        zr_cdr_set_error(type->members, &in);
        return RMW_RET_ERROR;
    }
    return RMW_RET_OK;
}
