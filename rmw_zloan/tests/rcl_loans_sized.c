/* rmw_zloan test — a publisher's sized loans (rmw_zloan/rmw_zloan.h)
 * between two processes:
 *   - rmw_zloan_borrow_loaned_message_sized lends a sensor_msgs/Image whose
 *     data (1920x1080 rgb8) lies in zloan's shared memory, writable; the
 *     publisher writes the pixels there and publishes with
 *     rcl_publish_loaned_message;
 *   - the subscriber gets every byte through a loaned take (data in zloan's
 *     shared memory), rcl_take (a copy) and rcl_take_serialized_message,
 *     whose bytes are rmw_serialize's of the same message: the stream is
 *     ordinary CDR wherever it starts in the loan;
 *   - a PointCloud2 (a member after data: is_dense) likewise;
 *   - a type without a tail sequence (std_msgs/String) is refused; a
 *     frame id longer than a sized loan reserves fails the publish with the
 *     loan still held, which rcl_return_loaned_message_from_publisher ends;
 *     a message returned unpublished never arrives.
 * Before sized loans (main), the borrow does not exist: this does not link. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <string.h>
#include <unistd.h>

#include <rmw/error_handling.h>
#include <rmw/rmw.h>
#include <rmw/serialized_message.h>
#include <rmw_zloan/rmw_zloan.h>
#include <rosidl_runtime_c/primitives_sequence_functions.h>
#include <rosidl_runtime_c/string_functions.h>
#include <sensor_msgs/msg/image.h>
#include <sensor_msgs/msg/point_cloud2.h>
#include <std_msgs/msg/string.h>

#define WIDTH 1920
#define HEIGHT 1080
#define BYTES ((size_t)WIDTH * HEIGHT * 3)
#define IMAGES 5
#define POINTS 1000

typedef sensor_msgs__msg__Image image;
typedef sensor_msgs__msg__PointCloud2 cloud;

static const rosidl_message_type_support_t *image_ts(void)
{
    return ROSIDL_GET_MSG_TYPE_SUPPORT(sensor_msgs, msg, Image);
}

static const rosidl_message_type_support_t *cloud_ts(void)
{
    return ROSIDL_GET_MSG_TYPE_SUPPORT(sensor_msgs, msg, PointCloud2);
}

static uint8_t pixel(size_t i, int seq)
{
    return (uint8_t)(i * 13u + (size_t)seq * 5u + (i >> 10));
}

/* Every member of an image but its pixels (the frame id's length varies,
 * so the pixels' place in the stream does too). */
static void set_fields(image *m, int seq)
{
    char frame[64];
    snprintf(frame, sizeof frame, "camera%0*d", seq * 3, seq);
    CHECK(rosidl_runtime_c__String__assign(&m->header.frame_id, frame));
    CHECK(rosidl_runtime_c__String__assign(&m->encoding, "rgb8"));
    m->header.stamp.sec = seq;
    m->header.stamp.nanosec = 1000u * (uint32_t)seq;
    m->height = HEIGHT;
    m->width = WIDTH;
    m->step = WIDTH * 3;
    m->is_bigendian = 0;
}

static bool image_ok(const image *m, int seq)
{
    char frame[64];
    snprintf(frame, sizeof frame, "camera%0*d", seq * 3, seq);
    if (m->header.stamp.sec != seq || m->header.stamp.nanosec != 1000u * (uint32_t)seq ||
        strcmp(m->header.frame_id.data, frame) != 0 || strcmp(m->encoding.data, "rgb8") != 0 ||
        m->height != HEIGHT || m->width != WIDTH || m->step != WIDTH * 3 ||
        m->data.size != BYTES) {
        fprintf(stderr, "image %d: a field is wrong (frame '%s', %zu bytes)\n", seq,
                m->header.frame_id.data, m->data.size);
        return false;
    }
    for (size_t i = 0; i < BYTES; i++)
        if (m->data.data[i] != pixel(i, seq)) {
            fprintf(stderr, "image %d: byte %zu is %u, not %u\n", seq, i, m->data.data[i],
                    pixel(i, seq));
            return false;
        }
    return true;
}

/* The CDR rmw_serialize gives for image seq (built by copy). */
static void expected_cdr(int seq, rcl_serialized_message_t *out)
{
    image m;
    CHECK(sensor_msgs__msg__Image__init(&m));
    set_fields(&m, seq);
    CHECK(rosidl_runtime_c__uint8__Sequence__init(&m.data, BYTES));
    for (size_t i = 0; i < BYTES; i++)
        m.data.data[i] = pixel(i, seq);
    CHECK(rmw_serialize(&m, image_ts(), out) == RMW_RET_OK);
    sensor_msgs__msg__Image__fini(&m);
}

static rcl_ret_t take_polled(rcl_subscription_t *sub, int how, void *out, double timeout_s)
{
    double end = now_s() + timeout_s;
    for (;;) {
        rcl_ret_t ret;
        if (how == 'l') {
            *(void **)out = NULL;
            ret = rcl_take_loaned_message(sub, out, NULL, NULL);
        } else if (how == 's') {
            ret = rcl_take_serialized_message(sub, out, NULL, NULL);
        } else {
            ret = rcl_take(sub, out, NULL, NULL);
        }
        if (ret != RCL_RET_SUBSCRIPTION_TAKE_FAILED || now_s() > end)
            return ret;
        usleep(1000);
    }
}

static void check_cloud(rcl_subscription_t *sub)
{
    void *m = NULL;
    CHECK_RET(take_polled(sub, 'l', &m, 30));
    const cloud *c = m;
    CHECK(strcmp(c->header.frame_id.data, "lidar") == 0);
    CHECK_EQ(c->width, POINTS);
    CHECK_EQ(c->data.size, POINTS * 12);
    bool writable = true;
    CHECK(in_zloan_shm(c->data.data, &writable) && !writable);
    for (int i = 0; i < POINTS * 3; i++) {
        float v;
        memcpy(&v, c->data.data + 4 * i, 4);
        CHECK(v == (float)i * 0.25f);
    }
    CHECK(c->is_dense); /* the member after the tail, written behind it at publish */
    CHECK_EQ(c->row_step, 12 * POINTS);
    CHECK_RET(rcl_return_loaned_message_from_subscription(sub, m));
}

static int subscriber(void *arg)
{
    pipes *p = arg;
    ros2 r;
    ros2_open(&r, "sized_listener");
    rcl_subscription_t loaned = rcl_get_zero_initialized_subscription();
    rcl_subscription_t copied = rcl_get_zero_initialized_subscription();
    rcl_subscription_t raw = rcl_get_zero_initialized_subscription();
    rcl_subscription_t clouds = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    CHECK_RET(rcl_subscription_init(&loaned, &r.node, image_ts(), "/sized", &so));
    CHECK_RET(rcl_subscription_init(&copied, &r.node, image_ts(), "/sized", &so));
    CHECK_RET(rcl_subscription_init(&raw, &r.node, image_ts(), "/sized", &so));
    CHECK_RET(rcl_subscription_init(&clouds, &r.node, cloud_ts(), "/sized_cloud", &so));
    say(p->to_parent[1], 'S');

    image copy;
    CHECK(sensor_msgs__msg__Image__init(&copy));
    rcutils_allocator_t a = rcutils_get_default_allocator();
    rcl_serialized_message_t bytes = rmw_get_zero_initialized_serialized_message();
    rcl_serialized_message_t want = rmw_get_zero_initialized_serialized_message();
    CHECK(rmw_serialized_message_init(&bytes, 0, &a) == RMW_RET_OK);
    CHECK(rmw_serialized_message_init(&want, 0, &a) == RMW_RET_OK);
    for (int seq = 1; seq <= IMAGES; seq++) {
        void *m = NULL;
        CHECK_RET(take_polled(&loaned, 'l', &m, 30));
        CHECK(image_ok(m, seq));
        bool writable = true;
        CHECK(in_zloan_shm(((image *)m)->data.data, &writable) && !writable);
        CHECK_RET(rcl_return_loaned_message_from_subscription(&loaned, m));
        CHECK_RET(take_polled(&copied, 'c', &copy, 30));
        CHECK(image_ok(&copy, seq));
        CHECK_RET(take_polled(&raw, 's', &bytes, 30));
        expected_cdr(seq, &want);
        CHECK_EQ(bytes.buffer_length, want.buffer_length);
        CHECK(memcmp(bytes.buffer, want.buffer, want.buffer_length) == 0);
    }
    printf("subscriber: %d sized images, by loan, by copy and as rmw_serialize's bytes\n", IMAGES);
    check_cloud(&clouds);
    printf("subscriber: a sized PointCloud2, is_dense after its points\n");
    /* Nothing more came: the loan returned unpublished and the failed
     * publish sent nothing. */
    CHECK(hear(p->to_child[0], 60) == 'D');
    void *m = NULL;
    CHECK_EQ(rcl_take_loaned_message(&loaned, &m, NULL, NULL), RCL_RET_SUBSCRIPTION_TAKE_FAILED);
    CHECK(rmw_serialized_message_fini(&bytes) == RMW_RET_OK);
    CHECK(rmw_serialized_message_fini(&want) == RMW_RET_OK);
    sensor_msgs__msg__Image__fini(&copy);
    CHECK_RET(rcl_subscription_fini(&clouds, &r.node));
    CHECK_RET(rcl_subscription_fini(&raw, &r.node));
    CHECK_RET(rcl_subscription_fini(&copied, &r.node));
    CHECK_RET(rcl_subscription_fini(&loaned, &r.node));
    ros2_close(&r);
    return 0;
}

static void *borrow(rcl_publisher_t *pub, size_t count)
{
    void *m = NULL;
    rmw_ret_t ret =
        rmw_zloan_borrow_loaned_message_sized(rcl_publisher_get_rmw_handle(pub), count, &m);
    if (ret != RMW_RET_OK)
        fprintf(stderr, "borrow: %s\n", rmw_get_error_string().str);
    CHECK_EQ(ret, RMW_RET_OK);
    return m;
}

static void publish_cloud(rcl_publisher_t *pub)
{
    cloud *c = borrow(pub, POINTS * 12);
    CHECK(c->data.size == POINTS * 12 && c->data.capacity == POINTS * 12);
    CHECK(rosidl_runtime_c__String__assign(&c->header.frame_id, "lidar"));
    c->height = 1;
    c->width = POINTS;
    c->point_step = 12;
    c->row_step = 12 * POINTS;
    c->is_dense = true;
    for (int i = 0; i < POINTS * 3; i++) {
        float v = (float)i * 0.25f;
        memcpy(c->data.data + 4 * i, &v, 4);
    }
    CHECK_RET(rcl_publish_loaned_message(pub, c, NULL));
}

/* What is refused: a type without a tail; a frame id too long (the loan
 * stays held, then returned); a loan returned unpublished. */
static void refusals(ros2 *r, rcl_publisher_t *pub)
{
    rcl_publisher_t text = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    CHECK_RET(rcl_publisher_init(&text, &r->node, ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, String),
                                 "/sized_text", &po));
    void *m = NULL;
    CHECK_EQ(rmw_zloan_borrow_loaned_message_sized(rcl_publisher_get_rmw_handle(&text), 10, &m),
             RMW_RET_UNSUPPORTED);
    rmw_reset_error();
    CHECK_RET(rcl_publisher_fini(&text, &r->node));

    image *big = borrow(pub, 16);
    char frame[5000];
    memset(frame, 'f', sizeof frame - 1);
    frame[sizeof frame - 1] = '\0';
    CHECK(rosidl_runtime_c__String__assign(&big->header.frame_id, frame));
    CHECK_EQ(rcl_publish_loaned_message(pub, big, NULL), RCL_RET_ERROR);
    CHECK(strstr(rcl_get_error_string().str, "reserves") != NULL);
    rcl_reset_error();
    CHECK_RET(rcl_return_loaned_message_from_publisher(pub, big));
    image *unused = borrow(pub, BYTES);
    CHECK_RET(rcl_return_loaned_message_from_publisher(pub, unused));
}

int main(void)
{
    pipes p;
    pipes_open(&p);
    pid_t child = spawn(subscriber, &p);
    CHECK(hear(p.to_parent[0], 30) == 'S');

    ros2 r;
    ros2_open(&r, "sized_talker");
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_t cpub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    CHECK_RET(rcl_publisher_init(&pub, &r.node, image_ts(), "/sized", &po));
    CHECK_RET(rcl_publisher_init(&cpub, &r.node, cloud_ts(), "/sized_cloud", &po));
    /* rcl's own borrow lends only plain types. */
    CHECK(!rcl_publisher_can_loan_messages(&pub));
    wait_subscribed(&pub, 3, 30);
    wait_subscribed(&cpub, 1, 30);
    for (int seq = 1; seq <= IMAGES; seq++) {
        image *m = borrow(&pub, BYTES);
        CHECK(m->data.size == BYTES && m->data.capacity == BYTES);
        bool writable = false;
        CHECK(in_zloan_shm(m->data.data, &writable) && writable);
        set_fields(m, seq);
        for (size_t i = 0; i < BYTES; i++)
            m->data.data[i] = pixel(i, seq);
        CHECK_RET(rcl_publish_loaned_message(&pub, m, NULL));
    }
    printf("publisher: %d images written straight into zloan's shared memory\n", IMAGES);
    publish_cloud(&cpub);
    refusals(&r, &pub);
    say(p.to_child[1], 'D');
    CHECK_EQ(reap(child), 0);
    CHECK_RET(rcl_publisher_fini(&cpub, &r.node));
    CHECK_RET(rcl_publisher_fini(&pub, &r.node));
    ros2_close(&r);
    printf("rcl sized loans: ok\n");
    return 0;
}
