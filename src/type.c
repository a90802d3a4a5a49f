/* Type descriptors: validation and the layout hash. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zloan/error.h"
#include "zloan/type.h"

#include "error_detail.h"

#define MAX_ALIGNMENT 4096
#define ZL__TYPE_BYTES_MAX ((size_t)1 << 40)
#define MAX_NESTING 8

static const char *const kind_names[] = {
    [ZL_FIELD_BOOL] = "bool", [ZL_FIELD_CHAR] = "char", [ZL_FIELD_I8] = "i8",
    [ZL_FIELD_U8] = "u8",     [ZL_FIELD_I16] = "i16",   [ZL_FIELD_U16] = "u16",
    [ZL_FIELD_I32] = "i32",   [ZL_FIELD_U32] = "u32",   [ZL_FIELD_I64] = "i64",
    [ZL_FIELD_U64] = "u64",   [ZL_FIELD_F32] = "f32",   [ZL_FIELD_F64] = "f64",
};

static size_t kind_size(zl_field_kind kind)
{
    switch (kind) {
    case ZL_FIELD_BOOL: case ZL_FIELD_CHAR: case ZL_FIELD_I8: case ZL_FIELD_U8: return 1;
    case ZL_FIELD_I16: case ZL_FIELD_U16: return 2;
    case ZL_FIELD_I32: case ZL_FIELD_U32: case ZL_FIELD_F32: return 4;
    case ZL_FIELD_I64: case ZL_FIELD_U64: case ZL_FIELD_F64: return 8;
    default: return 0;
    }
}

static bool name_valid(const char *name)
{
    if (name == NULL || !((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') ||
                          name[0] == '_'))
        return false;
    size_t i = 1;
    for (; name[i] != '\0' && i < 64; i++)
        if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' && name[i] <= 'z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return false;
    return name[i] == '\0';
}

/* Appends text to out at *at; false when it does not fit. */
static bool append(char *out, size_t out_size, size_t *at, const char *format, ...)
    __attribute__((format(printf, 4, 5)));


static bool append(char *out, size_t out_size, size_t *at, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(out + *at, out_size - *at, format, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= out_size - *at)
        return false;
    *at += (size_t)n;
    return true;
}

/* Checks fields (bounded by size bytes) and writes their text. tail_element
 * is a sized type's element size at the top level (0 elsewhere): its last
 * field may then be the tail, of size 0 at offset size ("u8 data[]@120"). */
static int describe(const char *type_name, const zl_field *fields, size_t count, size_t size,
                    size_t tail_element, int depth, char *out, size_t out_size, size_t *at)
{
    if (depth > MAX_NESTING)
        return zl__fail(ZL_EINVAL, "type '%s' nests structs more than %d deep", type_name,
                        MAX_NESTING);
    if (fields == NULL || count == 0 || count > 1024)
        return zl__fail(ZL_EINVAL, "type '%s' has a struct with %zu fields (1..1024)", type_name,
                        count);
    for (size_t i = 0; i < count; i++) {
        const zl_field *f = &fields[i];
        if (!name_valid(f->name))
            return zl__fail(ZL_EINVAL, "type '%s': field %zu has no valid name", type_name, i);
        size_t element = f->kind == ZL_FIELD_STRUCT ? f->element_size : kind_size(f->kind);
        if (element == 0)
            return zl__fail(ZL_EINVAL, "type '%s': field %s has an invalid kind %d", type_name,
                            f->name, (int)f->kind);
        bool tail = tail_element != 0 && i == count - 1 && f->size == 0;
        if (tail && (f->offset != size || element != tail_element))
            return zl__fail(ZL_EINVAL, "type '%s': tail field %s must lie at offset %zu with "
                            "elements of %zu bytes (it has offset %zu, elements of %zu)",
                            type_name, f->name, size, tail_element, f->offset, element);
        if (!tail && (f->size == 0 || f->size % element != 0))
            return zl__fail(ZL_EINVAL,
                            "type '%s': field %s has %zu bytes, not a multiple of its kind's %zu",
                            type_name, f->name, f->size, element);
        if (f->offset > size || f->size > size - f->offset)
            return zl__fail(ZL_EINVAL, "type '%s': field %s (offset %zu, %zu bytes) lies outside "
                            "the %zu bytes of its struct", type_name, f->name, f->offset,
                            f->size, size);
        if (i > 0 && !append(out, out_size, at, ";"))
            goto full;
        if (f->kind == ZL_FIELD_STRUCT) {
            if (!append(out, out_size, at, "{"))
                goto full;
            int rc = describe(type_name, f->fields, f->field_count, f->element_size, 0,
                              depth + 1, out, out_size, at);
            if (rc != 0)
                return rc;
            if (!append(out, out_size, at, "}:%zu", f->element_size))
                goto full;
        } else if (!append(out, out_size, at, "%s", kind_names[f->kind])) {
            goto full;
        }
        size_t n = f->size / element;
        if (tail) {
            if (!append(out, out_size, at, " %s[]@%zu", f->name, f->offset))
                goto full;
            continue;
        }
        if (!(n == 1 ? append(out, out_size, at, " %s@%zu", f->name, f->offset)
                     : append(out, out_size, at, " %s[%zu]@%zu", f->name, n, f->offset)))
            goto full;
    }
    return 0;
full:
    return zl__fail(ZL_EINVAL, "the field description of type '%s' needs more than %zu bytes",
                    type_name, out_size - 1);
}

int zl_type_describe(const zl_type *type, char *out, size_t out_size)
{
    if (type == NULL || out == NULL || out_size == 0)
        return zl__fail(ZL_EINVAL, "type or out is NULL, or out_size is 0");
    out[0] = '\0';
    if (type->fields == NULL && type->field_count == 0)
        return 0;
    size_t at = 0;
    int rc = describe(type->name != NULL ? type->name : "?", type->fields, type->field_count,
                      type->size, type->element_size, 0, out, out_size, &at);
    if (rc != 0)
        out[0] = '\0';
    return rc;
}

int zl_type_validate(const zl_type *type)
{
    if (type == NULL)
        return zl__fail(ZL_EINVAL, "type is NULL");
    if (type->name == NULL || type->name[0] == '\0')
        return zl__fail(ZL_EINVAL, "type has no name");
    if (strnlen(type->name, ZL_TYPE_NAME_MAX) >= ZL_TYPE_NAME_MAX)
        return zl__fail(ZL_EINVAL, "type name is longer than %d bytes", ZL_TYPE_NAME_MAX - 1);
    if (type->size == 0 && type->element_size == 0)
        return zl__fail(ZL_EINVAL, "type '%s' has size 0", type->name);
    if (type->alignment == 0 || (type->alignment & (type->alignment - 1)) != 0 ||
        type->alignment > MAX_ALIGNMENT)
        return zl__fail(ZL_EINVAL, "type '%s' has alignment %zu; it must be a power of two up to %d",
                        type->name, type->alignment, MAX_ALIGNMENT);
    if (type->size > ZL__TYPE_BYTES_MAX)
        return zl__fail(ZL_EINVAL, "type '%s' is larger than 1 TiB", type->name);
    if (type->element_size != 0) {
        if (!type->plain)
            return zl__fail(ZL_EINVAL, "sized type '%s' must be plain", type->name);
        if (type->element_size > (size_t)1 << 30 ||
            (type->max_count != 0 &&
             type->max_count > (ZL__TYPE_BYTES_MAX - type->size) / type->element_size))
            return zl__fail(ZL_EINVAL,
                            "sized type '%s': element size %zu and max_count %zu exceed 1 TiB",
                            type->name, type->element_size, type->max_count);
    } else if (type->max_count != 0) {
        return zl__fail(ZL_EINVAL, "type '%s' has max_count but no element_size", type->name);
    }
    if (!type->plain) {
        if (type->serialize == NULL || type->deserialize == NULL)
            return zl__fail(ZL_EINVAL, "non-plain type '%s' needs serialize and deserialize hooks",
                            type->name);
        if (type->serialized_size_max == 0 || type->serialized_size_max > (size_t)1 << 40)
            return zl__fail(ZL_EINVAL, "non-plain type '%s' needs serialized_size_max in 1..1 TiB",
                            type->name);
    }
    if (type->fields != NULL || type->field_count != 0) {
        if (!type->plain)
            return zl__fail(ZL_EINVAL, "type '%s': only plain types carry field descriptions",
                            type->name);
        char text[ZL_TYPE_DESCRIPTION_MAX];
        return zl_type_describe(type, text, sizeof text);
    }
    return 0;
}

static uint64_t fnv1a(uint64_t hash, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

size_t zl_type_message_size(const zl_type *type, size_t count)
{
    if (type == NULL)
        return SIZE_MAX;
    /* SIZE_MAX, which no allocation satisfies, in place of a sum that would
     * wrap to a small size: a buffer sized by it would then overflow. */
    if (type->max_count != 0 && count > type->max_count)
        return SIZE_MAX;
    size_t room = SIZE_MAX - type->size - (type->alignment - 1);
    if (type->element_size != 0 && count > room / type->element_size)
        return SIZE_MAX;
    size_t bytes = type->size + count * type->element_size;
    return (bytes + type->alignment - 1) & ~(type->alignment - 1);
}

uint64_t zl_type_layout_hash(const zl_type *type)
{
    if (type == NULL)
        return 0;
    if (type->layout_hash != 0)
        return type->layout_hash;
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, type->name, strlen(type->name) + 1);
    uint64_t numbers[3] = {type->size, type->alignment, type->plain ? 1u : 0u};
    h = fnv1a(h, numbers, sizeof numbers);
    if (type->element_size != 0) {
        uint64_t tail[2] = {type->element_size, type->max_count};
        h = fnv1a(h, tail, sizeof tail);
    }
    if (type->layout != NULL)
        h = fnv1a(h, type->layout, strlen(type->layout));
    char text[ZL_TYPE_DESCRIPTION_MAX];
    if (type->fields != NULL && zl_type_describe(type, text, sizeof text) == 0)
        h = fnv1a(h, text, strlen(text));
    return h == 0 ? 1 : h;
}
