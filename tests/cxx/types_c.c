/* The C half of the cxx_headers test: the same types described in C. */
#include <zloan/zloan.h>

#include "point.h"

const zl_type *c_point_type(void)
{
    static const zl_type type = ZL_TYPE_PLAIN(point);
    return &type;
}

static const zl_field vec_fields[] = {ZL_FIELD(vec, F64, x), ZL_FIELD(vec, F32, y)};
static const zl_field sample_fields[] = {ZL_FIELD_NESTED(sample, where, vec, vec_fields),
                                         ZL_FIELD(sample, CHAR, label),
                                         ZL_FIELD(sample, U16, flags)};

const zl_type *c_sample_type(void)
{
    static const zl_type type = ZL_TYPE_DESCRIBED(sample, sample_fields);
    return &type;
}

const zl_type *c_wide_type(void)
{
    static const zl_type type = ZL_TYPE_PLAIN_LAYOUT(wide, "u8 bytes[40] align 32");
    return &type;
}

const zl_type *c_samples_type(void)
{
    static const zl_type type = ZL_TYPE_SIZED(samples, values, 1000);
    return &type;
}
