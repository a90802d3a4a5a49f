/* Type descriptors: validation and the layout hash. */
#include <string.h>

#include "zloan/error.h"
#include "zloan/type.h"

#include "error_detail.h"

#define MAX_ALIGNMENT 4096

int zl_type_validate(const zl_type *type)
{
    if (type == NULL)
        return zl__fail(ZL_EINVAL, "type is NULL");
    if (type->name == NULL || type->name[0] == '\0')
        return zl__fail(ZL_EINVAL, "type has no name");
    if (strnlen(type->name, ZL_TYPE_NAME_MAX) >= ZL_TYPE_NAME_MAX)
        return zl__fail(ZL_EINVAL, "type name is longer than %d bytes", ZL_TYPE_NAME_MAX - 1);
    if (type->size == 0)
        return zl__fail(ZL_EINVAL, "type '%s' has size 0", type->name);
    if (type->alignment == 0 || (type->alignment & (type->alignment - 1)) != 0 ||
        type->alignment > MAX_ALIGNMENT)
        return zl__fail(ZL_EINVAL, "type '%s' has alignment %zu; it must be a power of two up to %d",
                        type->name, type->alignment, MAX_ALIGNMENT);
    if (type->size > (size_t)1 << 40)
        return zl__fail(ZL_EINVAL, "type '%s' is larger than 1 TiB", type->name);
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

uint64_t zl_type_layout_hash(const zl_type *type)
{
    if (type->layout_hash != 0)
        return type->layout_hash;
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, type->name, strlen(type->name) + 1);
    uint64_t numbers[3] = {type->size, type->alignment, type->plain ? 1u : 0u};
    h = fnv1a(h, numbers, sizeof numbers);
    if (type->layout != NULL)
        h = fnv1a(h, type->layout, strlen(type->layout));
    return h == 0 ? 1 : h;
}
