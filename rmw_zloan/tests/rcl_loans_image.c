/* rmw_zloan test — rcl's loaned take of non-plain C types between two
 * processes: sensor_msgs/Image 1920x1080 rgb8 and sensor_msgs/PointCloud2.
 *   - the subscription lends them (rcl_subscription_can_loan_messages);
 *   - a loaned Image's data and strings point into zloan's shared memory,
 *     mapped read-only (/proc/self/maps): no copy out; every byte is the
 *     publisher's;
 *   - four loans held stay unchanged while the publisher publishes 40 more
 *     images (zloan never reuses a chunk a subscription holds);
 *   - messages that lie (a sequence count beyond the message, a string
 *     without its NUL, a placed head whose stream lies outside the
 *     message), sent as serialized messages, fail the take with what is
 *     wrong and are dropped; the next good message is taken;
 *   - a PointCloud2's fields (a sequence of messages) lie in the
 *     subscription's own memory, their names and the points in the loan.
 * On a build whose non-plain types are not lent the first check fails. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <string.h>
#include <unistd.h>

#include <rmw/rmw.h>
#include <rosidl_runtime_c/primitives_sequence_functions.h>
#include <rosidl_runtime_c/string_functions.h>
#include <sensor_msgs/msg/image.h>
#include <sensor_msgs/msg/point_cloud2.h>
#include <sensor_msgs/msg/point_field.h>

#define WIDTH 1920
#define HEIGHT 1080
#define BYTES ((size_t)WIDTH * HEIGHT * 3)
#define HELD 4
#define MORE 40
#define LAST_SEQ 1000
#define POINTS 100

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
    return (uint8_t)(i * 31u + (size_t)seq * 7u + (i >> 12));
}

static void fill_image(image *m, int seq)
{
    char frame[32];
    snprintf(frame, sizeof frame, "camera%d", seq);
    CHECK(rosidl_runtime_c__String__assign(&m->header.frame_id, frame));
    CHECK(rosidl_runtime_c__String__assign(&m->encoding, "rgb8"));
    m->header.stamp.sec = seq;
    m->height = HEIGHT;
    m->width = WIDTH;
    m->step = WIDTH * 3;
    m->is_bigendian = 0;
    if (m->data.size != BYTES)
        CHECK(rosidl_runtime_c__uint8__Sequence__init(&m->data, BYTES));
    for (size_t i = 0; i < BYTES; i++)
        m->data.data[i] = pixel(i, seq);
}

/* The sequence number of an intact image, or a message saying what is wrong
 * (and -1). */
static int image_seq(const image *m)
{
    int seq = m->header.stamp.sec;
    char frame[32];
    snprintf(frame, sizeof frame, "camera%d", seq);
    if (m->header.frame_id.data == NULL || strcmp(m->header.frame_id.data, frame) != 0 ||
        m->header.frame_id.size != strlen(frame) || m->encoding.data == NULL ||
        strcmp(m->encoding.data, "rgb8") != 0 || m->height != HEIGHT || m->width != WIDTH ||
        m->step != WIDTH * 3 || m->data.size != BYTES) {
        fprintf(stderr, "image %d: a field is wrong (frame '%s', %ux%u, %zu bytes)\n", seq,
                m->header.frame_id.data ? m->header.frame_id.data : "(null)", m->width,
                m->height, m->data.size);
        return -1;
    }
    for (size_t i = 0; i < BYTES; i++)
        if (m->data.data[i] != pixel(i, seq)) {
            fprintf(stderr, "image %d: byte %zu is %u, not %u\n", seq, i, m->data.data[i],
                    pixel(i, seq));
            return -1;
        }
    return seq;
}

static bool shm_read_only(const void *p)
{
    bool writable = true;
    return in_zloan_shm(p, &writable) && !writable;
}

/* Polls rcl_take_loaned_message for up to timeout_s: RCL_RET_OK with *m set,
 * or the first error other than "nothing to take". */
static rcl_ret_t take_loaned(rcl_subscription_t *sub, void **m, rmw_message_info_t *info,
                             double timeout_s)
{
    double end = now_s() + timeout_s;
    for (;;) {
        *m = NULL;
        rcl_ret_t ret = rcl_take_loaned_message(sub, m, info, NULL);
        if (ret != RCL_RET_SUBSCRIPTION_TAKE_FAILED || now_s() > end)
            return ret;
        usleep(1000);
    }
}

static void check_cloud(rcl_subscription_t *sub)
{
    void *m = NULL;
    CHECK_RET(take_loaned(sub, &m, NULL, 30));
    const cloud *c = m;
    CHECK_EQ(c->fields.size, 3);
    /* The fields are C structs: built in the subscription's memory; their
     * names point into the loan. */
    bool writable = false;
    CHECK(!in_zloan_shm(c->fields.data, &writable));
    const char *names[3] = {"x", "y", "z"};
    for (int k = 0; k < 3; k++) {
        const sensor_msgs__msg__PointField *f = &c->fields.data[k];
        CHECK(strcmp(f->name.data, names[k]) == 0);
        CHECK(shm_read_only(f->name.data));
        CHECK_EQ(f->offset, 4 * k);
        CHECK_EQ(f->datatype, sensor_msgs__msg__PointField__FLOAT32);
        CHECK_EQ(f->count, 1);
    }
    CHECK_EQ(c->width, POINTS);
    CHECK_EQ(c->point_step, 12);
    CHECK_EQ(c->data.size, POINTS * 12);
    CHECK(shm_read_only(c->data.data));
    CHECK(c->is_dense);
    for (int i = 0; i < POINTS * 3; i++) {
        float v;
        memcpy(&v, c->data.data + 4 * i, 4);
        CHECK(v == (float)i * 0.5f);
    }
    CHECK(strcmp(c->header.frame_id.data, "lidar") == 0);
    CHECK_RET(rcl_return_loaned_message_from_subscription(sub, m));
    printf("subscriber: a loaned PointCloud2: fields in private memory, names and points "
           "in the loan\n");
}

static int subscriber(void *arg)
{
    pipes *p = arg;
    ros2 r;
    ros2_open(&r, "image_listener");
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_t csub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    CHECK_RET(rcl_subscription_init(&sub, &r.node, image_ts(), "/image", &so));
    CHECK_RET(rcl_subscription_init(&csub, &r.node, cloud_ts(), "/cloud", &so));
    CHECK(rcl_subscription_can_loan_messages(&sub));
    CHECK(rcl_subscription_can_loan_messages(&csub));
    say(p->to_parent[1], 'S');

    const image *held[HELD];
    for (int got = 0; got < HELD; got++) {
        void *m = NULL;
        rmw_message_info_t info = rmw_get_zero_initialized_message_info();
        CHECK_RET(take_loaned(&sub, &m, &info, 30));
        held[got] = m;
        CHECK_EQ(image_seq(held[got]), got + 1);
        CHECK_EQ(info.publication_sequence_number, got + 1);
        CHECK(shm_read_only(held[got]->data.data));
        CHECK(shm_read_only(held[got]->header.frame_id.data));
        CHECK(shm_read_only(held[got]->encoding.data));
    }
    printf("subscriber: %d loaned images held, data and strings in zloan's shared memory, "
           "read-only\n", HELD);
    say(p->to_parent[1], 'H');
    CHECK(hear(p->to_child[0], 120) == 'D');
    for (int i = 0; i < HELD; i++) {
        CHECK_EQ(image_seq(held[i]), i + 1);
        CHECK_RET(rcl_return_loaned_message_from_subscription(&sub, (void *)held[i]));
    }
    printf("subscriber: the held images were unchanged after %d more\n", MORE);
    /* The newest are queued (keep-last 10): the last one is HELD + MORE. */
    int last = 0;
    for (;;) {
        void *m = NULL;
        rcl_ret_t ret = rcl_take_loaned_message(&sub, &m, NULL, NULL);
        if (ret == RCL_RET_SUBSCRIPTION_TAKE_FAILED)
            break;
        CHECK_RET(ret);
        last = image_seq(m);
        CHECK(last > 0);
        CHECK_RET(rcl_return_loaned_message_from_subscription(&sub, m));
    }
    CHECK_EQ(last, HELD + MORE);
    say(p->to_parent[1], 'E');

    /* Three lying messages, then a good one. */
    int errors = 0;
    for (;;) {
        void *m = NULL;
        rcl_ret_t ret = take_loaned(&sub, &m, NULL, 30);
        if (ret == RCL_RET_ERROR) {
            const char *why = rcl_get_error_string().str;
            printf("subscriber: a lying message refused: %s\n", why);
            CHECK(strstr(why, errors < 2 ? "bad CDR" : "not inside it") != NULL);
            rcl_reset_error();
            errors++;
            continue;
        }
        CHECK_RET(ret);
        CHECK_EQ(image_seq(m), LAST_SEQ);
        CHECK_RET(rcl_return_loaned_message_from_subscription(&sub, m));
        break;
    }
    CHECK_EQ(errors, 3);
    check_cloud(&csub);
    CHECK_RET(rcl_subscription_fini(&csub, &r.node));
    CHECK_RET(rcl_subscription_fini(&sub, &r.node));
    ros2_close(&r);
    return 0;
}

/* A small image's CDR with one lie in it: 'n' the data's count beyond the
 * message, 's' the frame id's NUL gone, 'h' a placed head (rmw_zloan's
 * sized loans: "zrpl" and the stream's offset) pointing past the end. */
static void publish_lie(rcl_publisher_t *pub, char lie)
{
    image m;
    CHECK(sensor_msgs__msg__Image__init(&m));
    CHECK(rosidl_runtime_c__String__assign(&m.header.frame_id, "camera"));
    CHECK(rosidl_runtime_c__String__assign(&m.encoding, "mono8"));
    m.height = m.width = m.step = 4;
    CHECK(rosidl_runtime_c__uint8__Sequence__init(&m.data, 16));
    rcl_serialized_message_t s = rmw_get_zero_initialized_serialized_message();
    rcutils_allocator_t a = rcutils_get_default_allocator();
    CHECK(rmw_serialized_message_init(&s, 0, &a) == RMW_RET_OK);
    CHECK(rmw_serialize(&m, image_ts(), &s) == RMW_RET_OK);
    if (lie == 'n') {
        uint32_t count = 0x7fffff00u; /* the u32 before the 16 bytes of data */
        memcpy(s.buffer + s.buffer_length - 16 - 4, &count, 4);
    } else if (lie == 'h') {
        uint32_t at = 0x7fffff00u;
        memcpy(s.buffer, "zrpl", 4);
        memcpy(s.buffer + 4, &at, 4);
    } else {
        /* header: stamp (8 bytes), then the frame id's length (7) and "camera\0" */
        CHECK(s.buffer[4 + 8 + 4 + 6] == '\0');
        s.buffer[4 + 8 + 4 + 6] = 'X';
    }
    CHECK_RET(rcl_publish_serialized_message(pub, &s, NULL));
    CHECK(rmw_serialized_message_fini(&s) == RMW_RET_OK);
    sensor_msgs__msg__Image__fini(&m);
}

static void publish_cloud(rcl_publisher_t *pub)
{
    cloud c;
    CHECK(sensor_msgs__msg__PointCloud2__init(&c));
    CHECK(rosidl_runtime_c__String__assign(&c.header.frame_id, "lidar"));
    CHECK(sensor_msgs__msg__PointField__Sequence__init(&c.fields, 3));
    const char *names[3] = {"x", "y", "z"};
    for (int k = 0; k < 3; k++) {
        CHECK(rosidl_runtime_c__String__assign(&c.fields.data[k].name, names[k]));
        c.fields.data[k].offset = 4 * k;
        c.fields.data[k].datatype = sensor_msgs__msg__PointField__FLOAT32;
        c.fields.data[k].count = 1;
    }
    c.height = 1;
    c.width = POINTS;
    c.point_step = 12;
    c.row_step = 12 * POINTS;
    c.is_dense = true;
    CHECK(rosidl_runtime_c__uint8__Sequence__init(&c.data, POINTS * 12));
    for (int i = 0; i < POINTS * 3; i++) {
        float v = (float)i * 0.5f;
        memcpy(c.data.data + 4 * i, &v, 4);
    }
    CHECK_RET(rcl_publish(pub, &c, NULL));
    sensor_msgs__msg__PointCloud2__fini(&c);
}

int main(void)
{
    pipes p;
    pipes_open(&p);
    pid_t child = spawn(subscriber, &p);
    CHECK(hear(p.to_parent[0], 30) == 'S');

    ros2 r;
    ros2_open(&r, "image_talker");
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_t cpub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    CHECK_RET(rcl_publisher_init(&pub, &r.node, image_ts(), "/image", &po));
    CHECK_RET(rcl_publisher_init(&cpub, &r.node, cloud_ts(), "/cloud", &po));
    wait_subscribed(&pub, 1, 30);
    wait_subscribed(&cpub, 1, 30);
    image m;
    CHECK(sensor_msgs__msg__Image__init(&m));
    for (int seq = 1; seq <= HELD + MORE; seq++) {
        if (seq == HELD + 1)
            CHECK(hear(p.to_parent[0], 60) == 'H');
        fill_image(&m, seq);
        CHECK_RET(rcl_publish(&pub, &m, NULL));
    }
    printf("publisher: %d images published\n", HELD + MORE);
    say(p.to_child[1], 'D');
    CHECK(hear(p.to_parent[0], 60) == 'E');
    publish_lie(&pub, 'n');
    publish_lie(&pub, 's');
    publish_lie(&pub, 'h');
    fill_image(&m, LAST_SEQ);
    CHECK_RET(rcl_publish(&pub, &m, NULL));
    publish_cloud(&cpub);
    CHECK_EQ(reap(child), 0);
    sensor_msgs__msg__Image__fini(&m);
    CHECK_RET(rcl_publisher_fini(&cpub, &r.node));
    CHECK_RET(rcl_publisher_fini(&pub, &r.node));
    ros2_close(&r);
    printf("rcl loaned images: ok\n");
    return 0;
}
