/* zl_type_message_size saturates to SIZE_MAX, which no allocation
 * satisfies, where the sum would wrap: a buffer sized by a wrapped result
 * is smaller than the message zl_subscription_take_sized writes into it. */
#include <stdint.h>

#include "harness.h"

typedef struct cloud {
    uint32_t frame;
    uint32_t reserved;
    uint32_t points[];
} cloud;

static const zl_type unbounded_type = ZL_TYPE_SIZED(cloud, points, 0);
static const zl_type bounded_type = ZL_TYPE_SIZED(cloud, points, 1000);
static const zl_type fixed_type = ZL_TYPE_PLAIN(cloud);

int main(void)
{
    /* Sizes that fit are the fixed part plus the elements, aligned. */
    CHECK_EQ(zl_type_message_size(&unbounded_type, 0), 8);
    CHECK_EQ(zl_type_message_size(&unbounded_type, 3), 20);
    CHECK_EQ(zl_type_message_size(&bounded_type, 1000), 4008);
    CHECK_EQ(zl_type_message_size(&fixed_type, 0), sizeof(cloud));

    /* Counts whose size does not fit in a size_t: once returned 16 and 8. */
    CHECK_EQ(zl_type_message_size(&unbounded_type, SIZE_MAX / 2), SIZE_MAX);
    CHECK_EQ(zl_type_message_size(&unbounded_type, SIZE_MAX), SIZE_MAX);
    CHECK_EQ(zl_type_message_size(&unbounded_type, SIZE_MAX / 4), SIZE_MAX);
    /* The largest count that fits still fits, and one more does not. */
    size_t largest = (SIZE_MAX - 8 - 3) / 4;
    CHECK(zl_type_message_size(&unbounded_type, largest) != SIZE_MAX);
    CHECK(zl_type_message_size(&unbounded_type, largest) >= 8 + largest * 4);
    CHECK_EQ(zl_type_message_size(&unbounded_type, largest + 1), SIZE_MAX);

    /* A count above max_count has no message either. */
    CHECK_EQ(zl_type_message_size(&bounded_type, 1001), SIZE_MAX);
    CHECK_EQ(zl_type_message_size(&bounded_type, SIZE_MAX / 2), SIZE_MAX);
    printf("message_size: ok\n");
    return 0;
}
