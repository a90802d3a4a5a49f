/* `zloan topic info` says that a sized type's size is its fixed part and
 * that a tail follows, with the largest message (or none for a type
 * without max_count); a fixed-size type's line stays as it was.
 *   tool_sized_info TOOL */
#include "tools/tool.h"

typedef struct { float x, y, z; } point;
typedef struct { uint64_t stamp; uint32_t count; point points[]; } scan;
static const zl_type bounded_type = ZL_TYPE_SIZED(scan, points, 100);
static const zl_type unbounded_type = ZL_TYPE_SIZED(scan, points, 0);
typedef struct { uint64_t value; } sample;
static const zl_type sample_type = ZL_TYPE_PLAIN(sample);

static char out[65536];

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];
    char bounded[128], unbounded[128], fixed[128];
    snprintf(bounded, sizeof bounded, "%s", test_topic("tool_sized_bounded"));
    snprintf(unbounded, sizeof unbounded, "%s", test_topic("tool_sized_unbounded"));
    snprintf(fixed, sizeof fixed, "%s", test_topic("tool_sized_fixed"));
    zl_context *ctx;
    CHECK_OK(zl_context_create(NULL, &ctx));
    zl_publisher *a, *b, *c;
    CHECK_OK(zl_publisher_create(ctx, bounded, &bounded_type, NULL, &a));
    CHECK_OK(zl_publisher_create(ctx, unbounded, &unbounded_type, NULL, &b));
    CHECK_OK(zl_publisher_create(ctx, fixed, &sample_type, NULL, &c));

    char expected[200];
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info %s", bounded), 0);
    printf("%s", out);
    snprintf(expected, sizeof expected,
             "Type: scan, 12 bytes then a tail (sized; messages up to %zu bytes), layout hash",
             zl_type_message_size(&bounded_type, 100));
    CHECK_EQ(count_of(out, expected), 1);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info %s", unbounded), 0);
    printf("%s", out);
    CHECK_EQ(count_of(out, "Type: scan, 12 bytes then a tail (sized; no maximum), layout hash"), 1);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info %s", fixed), 0);
    printf("%s", out);
    CHECK_EQ(count_of(out, "Type: sample, 8 bytes, layout hash"), 1);

    CHECK_OK(zl_publisher_destroy(a));
    CHECK_OK(zl_publisher_destroy(b));
    CHECK_OK(zl_publisher_destroy(c));
    CHECK_OK(zl_context_destroy(ctx));
    printf("ok\n");
    return 0;
}
