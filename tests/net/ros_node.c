/* A plain Cyclone DDS program playing a ROS 2 node: its types come from
 * ros_msgs.idl through idlc, as rosidl generates them, and it speaks on
 * "rt/" topics with ROS 2's default QoS (reliable, volatile, keep last,
 * XCDR1). No zloan in here.
 *
 *   net_ros_node read-string TOPIC EXPECT TIMEOUT_MS
 *   net_ros_node read-image TOPIC EXPECT TIMEOUT_MS
 *     reads messages written by net_node (tag 1, sequences 1..) and checks
 *     them (images: 320x240 rgb8, 1920x1080 rgb8, 1024x1024 rgba8 in turn,
 *     as net_node writes them); prints "received R bad B"; exits 0 when
 *     R >= EXPECT, B == 0.
 *   net_ros_node write-string TOPIC COUNT
 *   net_ros_node write-image TOPIC COUNT
 *     waits (up to 20 s) for a matched reader, writes "tag 2 seq N" (or
 *     image N of tag 2) for N in 1..COUNT every 5 ms (images: 200 ms), then
 *     waits until they are acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dds/dds.h>

#include "ros_msgs.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static dds_qos_t *ros_default_qos(void)
{
    dds_qos_t *qos = dds_create_qos();
    dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
    /* ROS 2's default depth is 10; 100 keeps a reader that the shared CI
     * machine stalls for a moment from losing messages (keep-last). */
    dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 100);
    dds_qset_durability(qos, DDS_DURABILITY_VOLATILE);
    dds_data_representation_id_t xcdr1 = DDS_DATA_REPRESENTATION_XCDR1;
    dds_qset_data_representation(qos, 1, &xcdr1);
    return qos;
}

/* Image seq's shape: the three sizes net_node publishes in turn. */
typedef struct image_shape {
    uint32_t width, height, channels;
    const char *encoding;
} image_shape;

static image_shape image_shape_of(long seq)
{
    static const image_shape shapes[] = {
        {320, 240, 3, "rgb8"}, {1920, 1080, 3, "rgb8"}, {1024, 1024, 4, "rgba8"}};
    return shapes[seq % 3];
}

static uint8_t pixel(long tag, long seq, size_t i)
{
    return (uint8_t)(i * 131 + (size_t)seq * 7 + (size_t)tag);
}

static bool image_intact(const sensor_msgs_msg_dds__Image_ *m, long want_tag)
{
    long tag = (long)m->header.stamp.nanosec, seq = m->header.stamp.sec;
    image_shape shape = image_shape_of(seq);
    char frame[64];
    snprintf(frame, sizeof frame, "camera_%ld", tag);
    if (tag != want_tag || strcmp(m->header.frame_id, frame) != 0 ||
        strcmp(m->encoding, shape.encoding) != 0 || m->width != shape.width ||
        m->height != shape.height || m->step != shape.width * shape.channels ||
        m->data._length != m->step * shape.height)
        return false;
    for (size_t i = 0; i < m->data._length; i++)
        if (m->data._buffer[i] != pixel(tag, seq, i))
            return false;
    return true;
}

static int read_topic(dds_entity_t participant, const char *topic, bool image, long expect,
                      long timeout_ms)
{
    char name[256];
    snprintf(name, sizeof name, "rt%s", topic);
    dds_entity_t t = dds_create_topic(participant,
                                      image ? &sensor_msgs_msg_dds__Image__desc
                                            : &std_msgs_msg_dds__String__desc,
                                      name, NULL, NULL);
    dds_qos_t *qos = ros_default_qos();
    dds_entity_t reader = dds_create_reader(participant, t, qos, NULL);
    dds_delete_qos(qos);
    if (reader < 0) {
        fprintf(stderr, "ros_node: reader: %s\n", dds_strretcode(reader));
        return 2;
    }
    long received = 0, bad = 0;
    int64_t deadline = now_ms() + timeout_ms;
    while (received < expect && now_ms() < deadline) {
        void *samples[1] = {NULL};
        dds_sample_info_t info;
        dds_return_t n = dds_take(reader, samples, &info, 1, 1);
        if (n <= 0) {
            dds_sleepfor(DDS_MSECS(2));
            continue;
        }
        if (info.valid_data) {
            bool ok;
            if (image) {
                ok = image_intact(samples[0], 1);
            } else {
                long tag, seq;
                const std_msgs_msg_dds__String_ *s = samples[0];
                ok = sscanf(s->data, "tag %ld seq %ld", &tag, &seq) == 2 && tag == 1;
            }
            received += ok;
            bad += !ok;
        }
        dds_return_loan(reader, samples, n);
    }
    printf("received %ld bad %ld\n", received, bad);
    return received >= expect && bad == 0 ? 0 : 1;
}

/* Writes COUNT strings or images of tag 2 once a reader matched. */
static int write_topic(dds_entity_t participant, const char *topic, bool image, long count)
{
    char name[256];
    snprintf(name, sizeof name, "rt%s", topic);
    dds_entity_t t = dds_create_topic(participant,
                                      image ? &sensor_msgs_msg_dds__Image__desc
                                            : &std_msgs_msg_dds__String__desc,
                                      name, NULL, NULL);
    dds_qos_t *qos = ros_default_qos();
    dds_entity_t writer = dds_create_writer(participant, t, qos, NULL);
    dds_delete_qos(qos);
    if (writer < 0) {
        fprintf(stderr, "ros_node: writer: %s\n", dds_strretcode(writer));
        return 2;
    }
    dds_publication_matched_status_t st = {0};
    for (int64_t deadline = now_ms() + 20000; st.current_count == 0 && now_ms() < deadline;) {
        dds_get_publication_matched_status(writer, &st);
        dds_sleepfor(DDS_MSECS(10));
    }
    if (st.current_count == 0) {
        fprintf(stderr, "ros_node: no reader matched %s\n", name);
        return 1;
    }
    char text[64], frame[64];
    static uint8_t pixels[1920 * 1080 * 3];
    for (long seq = 1; seq <= count; seq++) {
        dds_return_t rc;
        if (image) {
            image_shape shape = image_shape_of(seq);
            uint32_t bytes = shape.width * shape.height * shape.channels;
            for (size_t i = 0; i < bytes; i++)
                pixels[i] = pixel(2, seq, i);
            snprintf(frame, sizeof frame, "camera_2");
            sensor_msgs_msg_dds__Image_ m = {
                .header = {.stamp = {.sec = (int32_t)seq, .nanosec = 2}, .frame_id = frame},
                .height = shape.height, .width = shape.width,
                .encoding = (char *)shape.encoding, .is_bigendian = 0,
                .step = shape.width * shape.channels,
                .data = {._maximum = bytes, ._length = bytes, ._buffer = pixels,
                         ._release = false}};
            rc = dds_write(writer, &m);
        } else {
            snprintf(text, sizeof text, "tag 2 seq %ld", seq);
            std_msgs_msg_dds__String_ m = {.data = text};
            rc = dds_write(writer, &m);
        }
        if (rc != 0) {
            fprintf(stderr, "ros_node: write: %s\n", dds_strretcode(rc));
            return 2;
        }
        dds_sleepfor(image ? DDS_MSECS(200) : DDS_MSECS(5));
    }
    dds_wait_for_acks(writer, DDS_SECS(10));
    printf("written %ld\n", count);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: net_ros_node read-string|read-image|write-string|write-image TOPIC ...\n");
        return 2;
    }
    dds_entity_t participant = dds_create_participant(DDS_DOMAIN_DEFAULT, NULL, NULL);
    if (participant < 0) {
        fprintf(stderr, "ros_node: participant: %s\n", dds_strretcode(participant));
        return 2;
    }
    int rc = 2;
    if (strncmp(argv[1], "write-", 6) == 0)
        rc = write_topic(participant, argv[2], strcmp(argv[1], "write-image") == 0,
                         strtol(argv[3], NULL, 10));
    else if (argc >= 5 && strncmp(argv[1], "read-", 5) == 0)
        rc = read_topic(participant, argv[2], strcmp(argv[1], "read-image") == 0,
                        strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
    dds_delete(participant);
    return rc;
}
