/* rmw_zloan test — types that are not plain travel as CDR:
 *   - std_msgs/String and a 1920x1080 rgb8 sensor_msgs/Image cross from one
 *     process to another, every byte checked;
 *   - rmw_serialize gives the bytes rmw_cyclonedds gives for the same
 *     messages (compared when librmw_cyclonedds_cpp.so can be loaded), and
 *     rmw_deserialize reads them back;
 *   - rcl_publish_serialized_message / rcl_take_serialized_message carry
 *     those bytes unchanged, also for a plain type (decoded into a loan);
 *   - truncated and corrupted CDR is refused or decoded, never overrun;
 *   - rmw_get_serialized_message_size bounds a type of bounded sequences. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include <geometry_msgs/msg/vector3.h>
#include <rmw/error_handling.h>
#include <rmw/serialized_message.h>
#include <rosidl_runtime_c/primitives_sequence_functions.h>
#include <rosidl_runtime_c/string_functions.h>
#include <sensor_msgs/msg/image.h>
#include <std_msgs/msg/string.h>
#ifdef RMW_ZLOAN_TEST_MSGS
#include <rosidl_typesupport_introspection_c/identifier.h>
#include <rosidl_typesupport_introspection_c/message_introspection.h>
#include <test_msgs/msg/bounded_plain_sequences.h>
#endif

#define W 1920
#define H 1080

static const rosidl_message_type_support_t *string_ts(void)
{
    return ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, String);
}
static const rosidl_message_type_support_t *image_ts(void)
{
    return ROSIDL_GET_MSG_TYPE_SUPPORT(sensor_msgs, msg, Image);
}

static void make_image(sensor_msgs__msg__Image *img, int seed)
{
    CHECK(sensor_msgs__msg__Image__init(img));
    img->header.stamp.sec = seed;
    CHECK(rosidl_runtime_c__String__assign(&img->header.frame_id, "camera_optical"));
    img->width = W;
    img->height = H;
    CHECK(rosidl_runtime_c__String__assign(&img->encoding, "rgb8"));
    img->step = W * 3;
    CHECK(rosidl_runtime_c__uint8__Sequence__init(&img->data, (size_t)W * H * 3));
    for (size_t i = 0; i < img->data.size; i++)
        img->data.data[i] = (uint8_t)(i * 7 + (size_t)seed);
}

static bool image_ok(const sensor_msgs__msg__Image *img, int seed)
{
    if (img->width != W || img->height != H || img->step != W * 3 ||
        strcmp(img->encoding.data, "rgb8") != 0 ||
        strcmp(img->header.frame_id.data, "camera_optical") != 0 ||
        img->header.stamp.sec != seed || img->data.size != (size_t)W * H * 3)
        return false;
    for (size_t i = 0; i < img->data.size; i++)
        if (img->data.data[i] != (uint8_t)(i * 7 + (size_t)seed))
            return false;
    return true;
}

typedef rmw_ret_t (*serialize_fn)(const void *, const rosidl_message_type_support_t *,
                                  rmw_serialized_message_t *);

/* The bytes of msg from rmw_zloan, and from rmw_cyclonedds when it loads. */
static void compare_with_cyclonedds(const void *msg, const rosidl_message_type_support_t *ts,
                                    const char *what)
{
    rcutils_allocator_t a = rcutils_get_default_allocator();
    rmw_serialized_message_t ours = rmw_get_zero_initialized_serialized_message();
    CHECK(rmw_serialized_message_init(&ours, 0, &a) == RMW_RET_OK);
    CHECK(rmw_serialize(msg, ts, &ours) == RMW_RET_OK);
    void *lib = dlopen("librmw_cyclonedds_cpp.so", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        printf("%s: %zu bytes of CDR; rmw_cyclonedds not loadable (%s): not compared\n", what,
               ours.buffer_length, dlerror());
    } else {
        serialize_fn theirs_fn = (serialize_fn)(uintptr_t)dlsym(lib, "rmw_serialize");
        CHECK(theirs_fn != NULL);
        rmw_serialized_message_t theirs = rmw_get_zero_initialized_serialized_message();
        CHECK(rmw_serialized_message_init(&theirs, 0, &a) == RMW_RET_OK);
        CHECK(theirs_fn(msg, ts, &theirs) == RMW_RET_OK);
        CHECK_EQ(ours.buffer_length, theirs.buffer_length);
        CHECK(memcmp(ours.buffer, theirs.buffer, ours.buffer_length) == 0);
        printf("%s: %zu bytes of CDR, identical to rmw_cyclonedds'\n", what, ours.buffer_length);
        CHECK(rmw_serialized_message_fini(&theirs) == RMW_RET_OK);
    }
    CHECK(rmw_serialized_message_fini(&ours) == RMW_RET_OK);
}

static int subscriber(void *arg)
{
    int ready = *(int *)arg;
    ros2 r;
    ros2_open(&r, "cdr_listener");
    rcl_subscription_t s1 = rcl_get_zero_initialized_subscription();
    rcl_subscription_t s2 = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    CHECK_RET(rcl_subscription_init(&s1, &r.node, string_ts(), "/text", &so));
    CHECK_RET(rcl_subscription_init(&s2, &r.node, image_ts(), "/image", &so));
    /* A non-plain C type lends views of its CDR (ros2_rcl_loans_image);
     * rcl_take, used here, still deserializes. */
    CHECK(rcl_subscription_can_loan_messages(&s1));
    say(ready, 'S');
    std_msgs__msg__String text;
    CHECK(std_msgs__msg__String__init(&text));
    sensor_msgs__msg__Image img;
    CHECK(sensor_msgs__msg__Image__init(&img));
    bool got_text = false;
    int images = 0;
    double end = now_s() + 30;
    while ((!got_text || images < 3) && now_s() < end) {
        if (!got_text && rcl_take(&s1, &text, NULL, NULL) == RCL_RET_OK) {
            CHECK(strcmp(text.data.data, "ünïcode and a long enough string to matter") == 0);
            got_text = true;
        }
        rcl_ret_t ret = rcl_take(&s2, &img, NULL, NULL);
        if (ret == RCL_RET_OK) {
            CHECK(image_ok(&img, images + 1));
            images++;
        } else {
            CHECK_EQ(ret, RCL_RET_SUBSCRIPTION_TAKE_FAILED);
            usleep(1000);
        }
    }
    CHECK(got_text);
    CHECK_EQ(images, 3);
    printf("subscriber: String and 3 images of %dx%d rgb8 received intact\n", W, H);
    std_msgs__msg__String__fini(&text);
    sensor_msgs__msg__Image__fini(&img);
    CHECK_RET(rcl_subscription_fini(&s1, &r.node));
    CHECK_RET(rcl_subscription_fini(&s2, &r.node));
    ros2_close(&r);
    return 0;
}

/* Bytes another process wrote are hostile: every truncation and 2000
 * random corruptions of a serialized message must be refused or decoded,
 * never overrun (run under valgrind or ASan to see an overrun). */
static void hostile_bytes(void)
{
    const rosidl_message_type_support_t *ts = ROSIDL_GET_MSG_TYPE_SUPPORT(sensor_msgs, msg, Image);
    sensor_msgs__msg__Image img;
    CHECK(sensor_msgs__msg__Image__init(&img));
    CHECK(rosidl_runtime_c__String__assign(&img.header.frame_id, "frame"));
    CHECK(rosidl_runtime_c__String__assign(&img.encoding, "mono8"));
    img.width = 4;
    img.height = 4;
    img.step = 4;
    CHECK(rosidl_runtime_c__uint8__Sequence__init(&img.data, 16));
    memset(img.data.data, 0x5a, img.data.size);
    rcutils_allocator_t a = rcutils_get_default_allocator();
    rmw_serialized_message_t ser = rmw_get_zero_initialized_serialized_message();
    CHECK(rmw_serialized_message_init(&ser, 0, &a) == RMW_RET_OK);
    CHECK(rmw_serialize(&img, ts, &ser) == RMW_RET_OK);
    size_t len = ser.buffer_length;
    uint8_t *copy = malloc(len);
    CHECK(copy != NULL);
    memcpy(copy, ser.buffer, len);
    int refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        rmw_serialized_message_t m = ser;
        m.buffer_length = cut;
        sensor_msgs__msg__Image out;
        CHECK(sensor_msgs__msg__Image__init(&out));
        if (rmw_deserialize(&m, ts, &out) != RMW_RET_OK) {
            rmw_reset_error();
            refused++;
        }
        sensor_msgs__msg__Image__fini(&out);
    }
    CHECK_EQ(refused, (long long)len); /* every truncation is refused */
    srand(7);
    for (int i = 0; i < 2000; i++) {
        memcpy(ser.buffer, copy, len);
        for (int k = 0; k < 3; k++)
            ser.buffer[4 + (size_t)rand() % (len - 4)] = (uint8_t)rand();
        sensor_msgs__msg__Image out;
        CHECK(sensor_msgs__msg__Image__init(&out));
        if (rmw_deserialize(&ser, ts, &out) != RMW_RET_OK)
            rmw_reset_error();
        sensor_msgs__msg__Image__fini(&out);
    }
    free(copy);
    CHECK(rmw_serialized_message_fini(&ser) == RMW_RET_OK);
    sensor_msgs__msg__Image__fini(&img);
    printf("hostile CDR: %zu truncations refused, 2000 corruptions survived\n", len);
}

#ifdef RMW_ZLOAN_TEST_MSGS
/* rmw_get_serialized_message_size: an upper bound for a type whose
 * sequences are all bounded (checked against a message with every sequence
 * at its bound), refused for a type with an unbounded string. */
static void size_bounds(void)
{
    const rosidl_message_type_support_t *ts =
        ROSIDL_GET_MSG_TYPE_SUPPORT(test_msgs, msg, BoundedPlainSequences);
    size_t max = 0;
    CHECK(rmw_get_serialized_message_size(ts, NULL, &max) == RMW_RET_OK);
    const rosidl_message_type_support_t *h =
        get_message_typesupport_handle(ts, rosidl_typesupport_introspection_c__identifier);
    CHECK(h != NULL);
    const rosidl_typesupport_introspection_c__MessageMembers *members = h->data;
    test_msgs__msg__BoundedPlainSequences m;
    CHECK(test_msgs__msg__BoundedPlainSequences__init(&m));
    for (uint32_t i = 0; i < members->member_count_; i++) {
        const rosidl_typesupport_introspection_c__MessageMember *f = &members->members_[i];
        if (f->is_upper_bound_)
            CHECK(f->resize_function((uint8_t *)&m + f->offset_, f->array_size_));
    }
    rcutils_allocator_t a = rcutils_get_default_allocator();
    rmw_serialized_message_t ser = rmw_get_zero_initialized_serialized_message();
    CHECK(rmw_serialized_message_init(&ser, 0, &a) == RMW_RET_OK);
    CHECK(rmw_serialize(&m, ts, &ser) == RMW_RET_OK);
    CHECK(ser.buffer_length <= max);
    printf("BoundedPlainSequences at its bounds: %zu bytes, bound given %zu\n", ser.buffer_length,
           max);
    CHECK(rmw_serialized_message_fini(&ser) == RMW_RET_OK);
    test_msgs__msg__BoundedPlainSequences__fini(&m);
    CHECK_EQ(rmw_get_serialized_message_size(string_ts(), NULL, &max), RMW_RET_UNSUPPORTED);
    rmw_reset_error();
}
#else
static void size_bounds(void)
{
    size_t max = 0;
    CHECK_EQ(rmw_get_serialized_message_size(string_ts(), NULL, &max), RMW_RET_UNSUPPORTED);
    rmw_reset_error();
    printf("test_msgs not found: the bound of a bounded type not checked\n");
}
#endif

static void serialized_round_trip(ros2 *r)
{
    const rosidl_message_type_support_t *vts = ROSIDL_GET_MSG_TYPE_SUPPORT(geometry_msgs, msg, Vector3);
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    CHECK_RET(rcl_publisher_init(&pub, &r->node, vts, "/vector", &po));
    CHECK_RET(rcl_subscription_init(&sub, &r->node, vts, "/vector", &so));
    geometry_msgs__msg__Vector3 v = {1.5, -2.25, 1e300};
    rcutils_allocator_t a = rcutils_get_default_allocator();
    rmw_serialized_message_t out = rmw_get_zero_initialized_serialized_message();
    CHECK(rmw_serialized_message_init(&out, 0, &a) == RMW_RET_OK);
    CHECK(rmw_serialize(&v, vts, &out) == RMW_RET_OK);
    CHECK_EQ(out.buffer_length, 4 + 24);
    size_t size = 0;
    CHECK(rmw_get_serialized_message_size(vts, NULL, &size) == RMW_RET_OK);
    CHECK_EQ(size, out.buffer_length);
    CHECK_RET(rcl_publish_serialized_message(&pub, &out, NULL));
    geometry_msgs__msg__Vector3 in;
    CHECK_RET(rcl_take(&sub, &in, NULL, NULL));
    CHECK(in.x == v.x && in.y == v.y && in.z == v.z);
    CHECK_RET(rcl_publish(&pub, &v, NULL));
    rmw_serialized_message_t back = rmw_get_zero_initialized_serialized_message();
    CHECK(rmw_serialized_message_init(&back, 0, &a) == RMW_RET_OK);
    CHECK_RET(rcl_take_serialized_message(&sub, &back, NULL, NULL));
    CHECK_EQ(back.buffer_length, out.buffer_length);
    CHECK(memcmp(back.buffer, out.buffer, out.buffer_length) == 0);
    CHECK(rmw_serialized_message_fini(&out) == RMW_RET_OK);
    CHECK(rmw_serialized_message_fini(&back) == RMW_RET_OK);
    CHECK_RET(rcl_subscription_fini(&sub, &r->node));
    CHECK_RET(rcl_publisher_fini(&pub, &r->node));
    printf("serialized publish and take of a plain type: ok\n");
}

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t child = spawn(subscriber, &p[1]);
    CHECK(hear(p[0], 20) == 'S');
    ros2 r;
    ros2_open(&r, "cdr_talker");

    std_msgs__msg__String text;
    CHECK(std_msgs__msg__String__init(&text));
    CHECK(rosidl_runtime_c__String__assign(&text.data, "ünïcode and a long enough string to matter"));
    sensor_msgs__msg__Image img;
    make_image(&img, 1);
    compare_with_cyclonedds(&text, string_ts(), "std_msgs/String");
    compare_with_cyclonedds(&img, image_ts(), "sensor_msgs/Image 1920x1080 rgb8");

    /* rmw_deserialize reads back what rmw_serialize wrote. */
    rcutils_allocator_t a = rcutils_get_default_allocator();
    rmw_serialized_message_t ser = rmw_get_zero_initialized_serialized_message();
    CHECK(rmw_serialized_message_init(&ser, 0, &a) == RMW_RET_OK);
    CHECK(rmw_serialize(&img, image_ts(), &ser) == RMW_RET_OK);
    sensor_msgs__msg__Image back;
    CHECK(sensor_msgs__msg__Image__init(&back));
    CHECK(rmw_deserialize(&ser, image_ts(), &back) == RMW_RET_OK);
    CHECK(image_ok(&back, 1));
    /* A stream cut short is refused, not overrun. */
    ser.buffer_length -= 100;
    CHECK(rmw_deserialize(&ser, image_ts(), &back) == RMW_RET_ERROR);
    rmw_reset_error();
    sensor_msgs__msg__Image__fini(&back);
    CHECK(rmw_serialized_message_fini(&ser) == RMW_RET_OK);

    rcl_publisher_t p1 = rcl_get_zero_initialized_publisher();
    rcl_publisher_t p2 = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    CHECK_RET(rcl_publisher_init(&p1, &r.node, string_ts(), "/text", &po));
    CHECK_RET(rcl_publisher_init(&p2, &r.node, image_ts(), "/image", &po));
    CHECK(!rcl_publisher_can_loan_messages(&p2));
    size_t subs = 0;
    double end = now_s() + 20;
    while (subs == 0 && now_s() < end) {
        CHECK_RET(rcl_publisher_get_subscription_count(&p2, &subs));
        usleep(10000);
    }
    CHECK_EQ(subs, 1);
    CHECK_RET(rcl_publish(&p1, &text, NULL));
    for (int i = 1; i <= 3; i++) {
        sensor_msgs__msg__Image__fini(&img);
        make_image(&img, i);
        CHECK_RET(rcl_publish(&p2, &img, NULL));
    }
    CHECK_EQ(reap(child), 0);
    serialized_round_trip(&r);
    hostile_bytes();
    size_bounds();
    sensor_msgs__msg__Image__fini(&img);
    std_msgs__msg__String__fini(&text);
    CHECK_RET(rcl_publisher_fini(&p1, &r.node));
    CHECK_RET(rcl_publisher_fini(&p2, &r.node));
    ros2_close(&r);
    printf("serialized messages: ok\n");
    return 0;
}
