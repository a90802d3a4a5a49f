/* Field descriptions: ZL_TYPE_DESCRIBED gives a plain struct a description
 * that zl_type_describe renders, zl_type_validate checks, the topic stores
 * (introspection reads it back) and the type check compares: a struct of the
 * same name and size with its fields in another order is refused, with a
 * detail naming the first field that differs. */
#include "harness.h"

struct point {
    double x, y;
};

struct shape {
    uint32_t width;
    uint32_t height;
    double pose[3];
    struct point corners[2];
    char label[8];
};

static const zl_field point_fields[] = {
    ZL_FIELD(struct point, F64, x),
    ZL_FIELD(struct point, F64, y),
};

static const zl_field shape_fields[] = {
    ZL_FIELD(struct shape, U32, width),
    ZL_FIELD(struct shape, U32, height),
    ZL_FIELD(struct shape, F64, pose),
    ZL_FIELD_NESTED(struct shape, corners, struct point, point_fields),
    ZL_FIELD(struct shape, CHAR, label),
};

static const zl_type shape_type = ZL_TYPE_DESCRIBED(struct shape, shape_fields);

/* The same struct as another build might lay it out: height first. */
struct shape_reordered {
    uint32_t height;
    uint32_t width;
    double pose[3];
    struct point corners[2];
    char label[8];
};

static const zl_field reordered_fields[] = {
    ZL_FIELD(struct shape_reordered, U32, height),
    ZL_FIELD(struct shape_reordered, U32, width),
    ZL_FIELD(struct shape_reordered, F64, pose),
    ZL_FIELD_NESTED(struct shape_reordered, corners, struct point, point_fields),
    ZL_FIELD(struct shape_reordered, CHAR, label),
};

int main(void)
{
    char text[ZL_TYPE_DESCRIPTION_MAX];
    CHECK_OK(zl_type_validate(&shape_type));
    CHECK_OK(zl_type_describe(&shape_type, text, sizeof text));
    const char *expected =
        "u32 width@0;u32 height@4;f64 pose[3]@8;{f64 x@0;f64 y@8}:16 corners[2]@32;"
        "char label[8]@64";
    if (strcmp(text, expected) != 0) {
        fprintf(stderr, "described as '%s', expected '%s'\n", text, expected);
        return 1;
    }

    /* A kind that does not fit the member is refused. */
    static const zl_field wrong_fields[] = {ZL_FIELD(struct point, F32, x),
                                            {"y", ZL_FIELD_U64, 8, 4, NULL, 0, 0}};
    zl_type wrong = ZL_TYPE_DESCRIBED(struct point, wrong_fields);
    CHECK_RC(zl_type_validate(&wrong), ZL_EINVAL);
    CHECK(strstr(zl_last_error_detail(), "field y") != NULL);
    static const zl_field outside_fields[] = {{"x", ZL_FIELD_F64, 16, 8, NULL, 0, 0}};
    zl_type outside = ZL_TYPE_DESCRIBED(struct point, outside_fields);
    CHECK_RC(zl_type_validate(&outside), ZL_EINVAL);

    zl_context *ctx;
    CHECK_OK(zl_context_create(NULL, &ctx));
    const char *topic = test_topic("type_description");
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(ctx, topic, &shape_type, NULL, &pub));

    /* The topic carries the description. */
    zl_topic_info *info = malloc(sizeof *info);
    CHECK(info != NULL);
    CHECK_OK(zl_introspection_topic_info(0, topic, info));
    CHECK(strcmp(info->description, expected) == 0);
    CHECK(strcmp(info->type_name, "struct shape") == 0);

    /* Same name, same size, fields reordered: refused, naming field 0. */
    zl_type reordered = ZL_TYPE_DESCRIBED(struct shape_reordered, reordered_fields);
    reordered.name = "struct shape";
    CHECK_EQ(reordered.size, shape_type.size);
    zl_subscription *sub;
    CHECK_RC(zl_subscription_create(ctx, topic, &reordered, NULL, &sub), ZL_ETYPE);
    const char *detail = zl_last_error_detail();
    if (strstr(detail, "field 0 is 'u32 height@0' here but 'u32 width@0' on the topic") == NULL) {
        fprintf(stderr, "detail: %s\n", detail);
        return 1;
    }

    /* The same struct without a description is another layout too. */
    zl_type undescribed = ZL_TYPE_PLAIN(struct shape);
    CHECK_RC(zl_subscription_create(ctx, topic, &undescribed, NULL, &sub), ZL_ETYPE);

    /* The matching description joins and receives. */
    CHECK_OK(zl_subscription_create(ctx, topic, &shape_type, NULL, &sub));
    struct shape s = {.width = 3, .height = 4, .label = "box"};
    CHECK_OK(zl_publisher_publish(pub, &s));
    struct shape got;
    CHECK_OK(zl_subscription_take(sub, &got, NULL));
    CHECK_EQ(got.height, 4);
    free(info);
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(ctx));
    printf("type_description: ok\n");
    return 0;
}
