/* A plain Cyclone DDS program playing a ROS 2 node: its types come from
 * ros_msgs.idl through idlc, as rosidl generates them, and it speaks on
 * "rt/" topics with ROS 2's default QoS (reliable, volatile, keep last,
 * XCDR1). No zloan in here.
 *
 *   net_ros_node read-string TOPIC EXPECT TIMEOUT_MS
 *   net_ros_node read-image TOPIC EXPECT TIMEOUT_MS
 *     reads messages written by net_node (tag 1, sequences 1..) and checks
 *     them; prints "received R bad B"; exits 0 when R >= EXPECT, B == 0.
 *   net_ros_node write-string TOPIC COUNT
 *     waits (up to 20 s) for a matched reader, writes "tag 2 seq N" for N in
 *     1..COUNT every 5 ms, then waits until they are acknowledged.
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

static bool image_intact(const sensor_msgs_msg_dds__Image_ *m)
{
    long tag = (long)m->header.stamp.nanosec, seq = m->header.stamp.sec;
    char frame[64];
    snprintf(frame, sizeof frame, "camera_%ld", tag);
    if (strcmp(m->header.frame_id, frame) != 0 || strcmp(m->encoding, "rgba8") != 0 ||
        m->width != 1024 || m->height != 1024 || m->data._length != 1024u * 1024u * 4u)
        return false;
    for (size_t i = 0; i < m->data._length; i++)
        if (m->data._buffer[i] != (uint8_t)(i * 131 + (size_t)seq * 7 + (size_t)tag))
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
                ok = image_intact(samples[0]);
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

static int write_strings(dds_entity_t participant, const char *topic, long count)
{
    char name[256];
    snprintf(name, sizeof name, "rt%s", topic);
    dds_entity_t t = dds_create_topic(participant, &std_msgs_msg_dds__String__desc, name, NULL,
                                      NULL);
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
    char text[64];
    for (long seq = 1; seq <= count; seq++) {
        snprintf(text, sizeof text, "tag 2 seq %ld", seq);
        std_msgs_msg_dds__String_ m = {.data = text};
        dds_return_t rc = dds_write(writer, &m);
        if (rc != 0) {
            fprintf(stderr, "ros_node: write: %s\n", dds_strretcode(rc));
            return 2;
        }
        dds_sleepfor(DDS_MSECS(5));
    }
    dds_wait_for_acks(writer, DDS_SECS(10));
    printf("written %ld\n", count);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: net_ros_node read-string|read-image|write-string TOPIC ...\n");
        return 2;
    }
    dds_entity_t participant = dds_create_participant(DDS_DOMAIN_DEFAULT, NULL, NULL);
    if (participant < 0) {
        fprintf(stderr, "ros_node: participant: %s\n", dds_strretcode(participant));
        return 2;
    }
    int rc = 2;
    if (strcmp(argv[1], "write-string") == 0)
        rc = write_strings(participant, argv[2], strtol(argv[3], NULL, 10));
    else if (argc >= 5 && strncmp(argv[1], "read-", 5) == 0)
        rc = read_topic(participant, argv[2], strcmp(argv[1], "read-image") == 0,
                        strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
    dds_delete(participant);
    return rc;
}
