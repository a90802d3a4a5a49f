/* cxx_headers: the public C headers as C++ (built by check_headers.sh with
 * g++ and clang++, -std=c++17 and -std=c++20, warnings as errors). Every
 * public macro is used here (the script checks that each one defined in
 * include/zloan/ is named in this file), and a descriptor made by
 * ZL_TYPE_PLAIN (or _LAYOUT, or ZL_TYPE_SIZED) in C++ must equal the one made in C, so that C and C++
 * endpoints of one type meet on a topic. */
#include <zloan/zloan.h>
#include <zloan/zloan.hpp>
#include <zloan/ros_msgs.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "point.h"

static int failures = 0;

/* ZL_API marks what libzloan.so exports; in C++ it stays an attribute of an
 * ordinary declaration. */
extern "C" ZL_API int cxx_headers_exported(void);
extern "C" int cxx_headers_exported(void) { return 1; }

#define EXPECT(cond)                                                   \
    do {                                                               \
        if (!(cond)) {                                                 \
            std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                \
        }                                                              \
    } while (0)

static void expect_same(const zl_type &cxx, const zl_type &c)
{
    EXPECT(zl_type_validate(&cxx) == 0);
    EXPECT(std::strcmp(cxx.name, c.name) == 0);
    EXPECT(cxx.size == c.size);
    EXPECT(cxx.alignment == c.alignment);
    EXPECT(cxx.plain == c.plain);
    EXPECT(cxx.element_size == c.element_size);
    EXPECT(cxx.max_count == c.max_count);
    EXPECT((cxx.layout == nullptr) == (c.layout == nullptr));
    EXPECT(zl_type_layout_hash(&cxx) == zl_type_layout_hash(&c));
    if (zl_type_layout_hash(&cxx) != zl_type_layout_hash(&c))
        std::fprintf(stderr, "  %s: C++ hash %llx, C hash %llx\n", cxx.name,
                     static_cast<unsigned long long>(zl_type_layout_hash(&cxx)),
                     static_cast<unsigned long long>(zl_type_layout_hash(&c)));
}

int main()
{
    static const zl_type point_type = ZL_TYPE_PLAIN(point);
    static const zl_type wide_type = ZL_TYPE_PLAIN_LAYOUT(wide, "u8 bytes[40] align 32");
    expect_same(point_type, *c_point_type());
    expect_same(wide_type, *c_wide_type());
    EXPECT(wide_type.alignment == 32);
    static const zl_type samples_type = ZL_TYPE_SIZED(samples, values, 1000);
    expect_same(samples_type, *c_samples_type());
    EXPECT(samples_type.size == 4 && samples_type.element_size == 2 && samples_type.max_count == 1000);

    /* A described type (ZL_FIELD, ZL_FIELD_NESTED, ZL_TYPE_DESCRIBED): the
     * same fields, hash and description text as in C. */
    static const zl_field vec_fields[] = {ZL_FIELD(vec, F64, x), ZL_FIELD(vec, F32, y)};
    static const zl_field sample_fields[] = {ZL_FIELD_NESTED(sample, where, vec, vec_fields),
                                             ZL_FIELD(sample, CHAR, label),
                                             ZL_FIELD(sample, U16, flags)};
    static const zl_type sample_type = ZL_TYPE_DESCRIBED(sample, sample_fields);
    expect_same(sample_type, *c_sample_type());
    EXPECT(sample_type.field_count == 3 && c_sample_type()->field_count == 3);
    char cxx_text[ZL_TYPE_DESCRIPTION_MAX];
    char c_text[ZL_TYPE_DESCRIPTION_MAX];
    EXPECT(zl_type_describe(&sample_type, cxx_text, sizeof cxx_text) == 0);
    EXPECT(zl_type_describe(c_sample_type(), c_text, sizeof c_text) == 0);
    EXPECT(std::strcmp(cxx_text, c_text) == 0);
    EXPECT(std::strstr(cxx_text, "char label[8]") != nullptr);

    /* The ROS 2 equivalents (zloan/ros_msgs.h, outside zloan.h): ZL_ROS_TYPE
     * makes the same descriptor in C++ as the header's own. */
    static_assert(ZL_ROS_STRING_MAX > 1 && ZL_ROS_FRAME_ID_MAX > 1 && ZL_ROS_ENCODING_MAX > 1,
                  "ROS bounds");
    static_assert(ZL_ROS_IMAGE_DATA_MAX == sizeof(static_cast<zl_ros_image *>(nullptr)->data),
                  "Image.data");
    static const zl_type ZL_ROS_MAYBE_UNUSED vector3_type =
        ZL_ROS_TYPE(zl_ros_vector3, "geometry_msgs/msg/Vector3");
    expect_same(vector3_type, zl_ros_vector3_type);
    EXPECT(std::strcmp(zl_ros_image_type.name, "sensor_msgs/msg/Image") == 0);
    EXPECT(zl_ros_string_type.field_count == 1);

    /* The constants, as a C++ user would use them. */
    char qualified[ZL_TOPIC_NAME_MAX + 1];
    EXPECT(zl_topic_name_qualify("cxx/headers", qualified, sizeof qualified) == 0);
    EXPECT(std::strcmp(qualified, "/cxx/headers") == 0);
    static_assert(ZL_TYPE_NAME_MAX > 1, "ZL_TYPE_NAME_MAX");
    static_assert(ZL_DOMAIN_ID_MAX >= 1, "ZL_DOMAIN_ID_MAX");
    static_assert(ZL_TOPIC_PUBLISHERS_MAX >= 1 && ZL_TOPIC_SUBSCRIPTIONS_MAX >= 1, "limits");
    static_assert(ZL_WAITSET_CAPACITY_MAX >= 2, "ZL_WAITSET_CAPACITY_MAX");
    static_assert(ZL_MAX_BLOCKING_TIME_DEFAULT_NS > 0 &&
                      ZL_MAX_BLOCKING_TIME_DEFAULT_NS <= ZL_MAX_BLOCKING_TIME_MAX_NS,
                  "blocking time");
    static_assert(ZLOAN_VERSION_MAJOR >= 0 && ZLOAN_VERSION_MINOR >= 0 && ZLOAN_VERSION_PATCH >= 0,
                  "version");
    EXPECT(std::strcmp(ZL_ENV_DISABLE_LOANS, "ZLOAN_DISABLE_LOANS") == 0);
    EXPECT(std::strcmp(ZL_ENV_LOG, "ZLOAN_LOG") == 0);
    static_assert(ZL_CONTEXT_NAME_MAX > 1 && ZL_EXECUTABLE_NAME_MAX > 1, "name limits");
    EXPECT(std::strcmp(zl_strerror(ZL_ETYPE), "unknown error") != 0);

    /* A round trip through the C API with the C++ descriptor. */
    zl_context_options options;
    zl_context_options_init(&options);
    options.domain_id = ZL_DOMAIN_ID_MAX - 1;
    options.name = "cxx-headers";
    EXPECT(cxx_headers_exported() == 1);
    zl_context *context = nullptr;
    zl_publisher *publisher = nullptr;
    zl_subscription *subscription = nullptr;
    EXPECT(zl_context_create(&options, &context) == 0);
    if (context != nullptr)
        EXPECT(std::strcmp(zl_context_name(context), "cxx-headers") == 0);
    EXPECT(zl_subscription_create(context, qualified, c_point_type(), nullptr, &subscription) == 0);
    EXPECT(zl_publisher_create(context, qualified, &point_type, nullptr, &publisher) == 0);
    if (publisher != nullptr && subscription != nullptr) {
        void *loan = nullptr;
        EXPECT(zl_publisher_loan(publisher, &loan) == 0);
        if (loan != nullptr) {
            static_cast<point *>(loan)->x = 7;
            EXPECT(zl_publisher_publish_loan(publisher, loan) == 0);
        }
        point got{};
        EXPECT(zl_subscription_take(subscription, &got, nullptr) == 0);
        EXPECT(got.x == 7);
    }
    if (publisher != nullptr)
        zl_publisher_destroy(publisher);
    if (subscription != nullptr)
        zl_subscription_destroy(subscription);
    if (context != nullptr)
        zl_context_destroy(context);
    if (failures != 0)
        std::fprintf(stderr, "cxx_headers: %d failure(s)\n", failures);
    return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
