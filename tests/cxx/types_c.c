/* The C half of the cxx_headers test: the same types described in C. */
#include <zloan/zloan.h>

#include "point.h"

const zl_type *c_point_type(void)
{
    static const zl_type type = ZL_TYPE_PLAIN(point);
    return &type;
}

const zl_type *c_wide_type(void)
{
    static const zl_type type = ZL_TYPE_PLAIN_LAYOUT(wide, "u8 bytes[40] align 32");
    return &type;
}
