/* Type descriptors: validation and the layout hash. */
#include <string.h>

#include "zloan/error.h"
#include "zloan/type.h"

#include "error_detail.h"

#define MAX_ALIGNMENT 4096
#define ZL__TYPE_BYTES_MAX ((size_t)1 << 40)

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
    size_t bytes = type->size + count * type->element_size;
    return (bytes + type->alignment - 1) & ~(type->alignment - 1);
}

uint64_t zl_type_layout_hash(const zl_type *type)
{
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
    return h == 0 ? 1 : h;
}
