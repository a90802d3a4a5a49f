/* A zloan publisher or subscription of one of the ROS-equivalent types
 * (zloan/ros_msgs.h), for the net tests: they run it inside a network
 * namespace ("host") with its own /dev/shm.
 *
 *   net_node pub TOPIC TYPE TAG COUNT [--interval-us U] [--history H]
 *                [--wait-subs S] [--linger-ms M] [--max-subs X] [--chunks-per-sub C]
 *     TYPE is string, image or vector3. Waits (up to 20 s) until S
 *     subscriptions are connected, publishes COUNT messages carrying TAG and
 *     a sequence number 1..COUNT (images: sized loans of 320x240 rgb8,
 *     1920x1080 rgb8 and 1024x1024 rgba8 (4 MiB) in turn, their pixels
 *     derived from both),
 *     stays M ms, prints "published N, most subscriptions S, dropped D"
 *     (D: messages a subscription lost, keep-last); with
 *     --max-subs, exits 1 when more than X subscriptions were connected;
 *     --chunks-per-sub sets chunks_per_subscription (a bridge's local
 *     subscription keeps 64 only when the publisher lets it).
 *
 *   net_node sub TOPIC TYPE EXPECT [--timeout-ms T] [--history] [--exact]
 *                [--settle-ms S] [--check-mapping] [--last L] [--until L]
 *     takes loans until EXPECT messages arrived (then S ms more, to catch
 *     duplicates) or the timeout; checks every message's contents, that no
 *     (tag, sequence) arrives twice and, with --check-mapping, that each loan
 *     lies in a read-only mapping of /dev/shm (zero copy). --last L: the
 *     highest sequence seen must be L and, from the first one received, none
 *     may be missing (of the first message's tag). --until L: the highest
 *     sequence must reach L (gaps allowed). Prints "received R dup D bad B" and exits 0 when
 *     D == B == 0 and R == EXPECT (--exact) or R >= EXPECT.
 *
 * Exit code 2: a zloan call failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zloan/ros_msgs.h"

#define TAGS_MAX 8
#define SEQ_MAX 100000

static long option(int argc, char **argv, const char *name, long fallback)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtol(argv[i + 1], NULL, 10);
    return fallback;
}

static bool flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

#define MUST(call)                                                                         \
    do {                                                                                   \
        int must_rc_ = (call);                                                             \
        if (must_rc_ != 0) {                                                               \
            fprintf(stderr, "net_node %d: %s: %s (%s)\n", (int)getpid(), #call,            \
                    zl_strerror(must_rc_), zl_last_error_detail());                        \
            exit(2);                                                                       \
        }                                                                                  \
    } while (0)

static const zl_type *type_named(const char *name)
{
    if (strcmp(name, "string") == 0)
        return &zl_ros_string_type;
    if (strcmp(name, "image") == 0)
        return &zl_ros_image_type;
    if (strcmp(name, "vector3") == 0)
        return &zl_ros_vector3_type;
    fprintf(stderr, "net_node: unknown type %s\n", name);
    exit(2);
}

static uint8_t pixel(long tag, long seq, size_t i)
{
    return (uint8_t)(i * 131 + (size_t)seq * 7 + (size_t)tag);
}

/* The image of sequence seq: three sizes in turn (ros_node.c agrees). */
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

/* Tail elements of message seq: an image's bytes, 0 for the other types. */
static size_t tail_count(const zl_type *type, long seq)
{
    if (type != &zl_ros_image_type)
        return 0;
    image_shape shape = image_shape_of(seq);
    return (size_t)shape.width * shape.height * shape.channels;
}

static void fill(const zl_type *type, void *message, long tag, long seq)
{
    if (type == &zl_ros_string_type) {
        zl_ros_string *m = message;
        snprintf(m->data, sizeof m->data, "tag %ld seq %ld", tag, seq);
    } else if (type == &zl_ros_vector3_type) {
        zl_ros_vector3 *m = message;
        *m = (zl_ros_vector3){.x = (double)tag, .y = (double)seq, .z = (double)seq * 0.5};
    } else {
        zl_ros_image *m = message;
        m->header.stamp.sec = (int32_t)seq;
        m->header.stamp.nanosec = (uint32_t)tag;
        snprintf(m->header.frame_id, sizeof m->header.frame_id, "camera_%ld", tag);
        image_shape shape = image_shape_of(seq);
        m->height = shape.height;
        m->width = shape.width;
        snprintf(m->encoding, sizeof m->encoding, "%s", shape.encoding);
        m->is_bigendian = 0;
        m->step = shape.width * shape.channels;
        for (size_t i = 0, n = tail_count(type, seq); i < n; i++)
            m->data[i] = pixel(tag, seq, i);
    }
}

/* The tag and sequence a message of count tail elements carries, or false
 * when it is not intact. */
static bool decode(const zl_type *type, const void *message, size_t count, long *tag, long *seq)
{
    if (type == &zl_ros_string_type) {
        const zl_ros_string *m = message;
        return memchr(m->data, '\0', sizeof m->data) != NULL &&
               sscanf(m->data, "tag %ld seq %ld", tag, seq) == 2;
    }
    if (type == &zl_ros_vector3_type) {
        const zl_ros_vector3 *m = message;
        *tag = (long)m->x;
        *seq = (long)m->y;
        return m->z == m->y * 0.5;
    }
    const zl_ros_image *m = message;
    *tag = (long)m->header.stamp.nanosec;
    *seq = m->header.stamp.sec;
    char frame[ZL_ROS_FRAME_ID_MAX];
    snprintf(frame, sizeof frame, "camera_%ld", *tag);
    image_shape shape = image_shape_of(*seq);
    if (strcmp(m->header.frame_id, frame) != 0 || strcmp(m->encoding, shape.encoding) != 0 ||
        m->width != shape.width || m->height != shape.height ||
        m->step != shape.width * shape.channels || count != tail_count(type, *seq) ||
        count != (size_t)m->step * m->height)
        return false;
    for (size_t i = 0; i < count; i++)
        if (m->data[i] != pixel(*tag, *seq, i))
            return false;
    return true;
}

static int run_publisher(int argc, char **argv)
{
    const char *topic = argv[2];
    const zl_type *type = type_named(argv[3]);
    long tag = strtol(argv[4], NULL, 10), count = strtol(argv[5], NULL, 10);
    long interval_us = option(argc, argv, "--interval-us", 1000);
    long wait_subs = option(argc, argv, "--wait-subs", 0);
    zl_context *ctx;
    MUST(zl_context_create(NULL, &ctx));
    zl_publisher_options po;
    zl_publisher_options_init(&po);
    po.history = (uint32_t)option(argc, argv, "--history", 0);
    po.chunks_per_subscription =
        (uint32_t)option(argc, argv, "--chunks-per-sub", (long)po.chunks_per_subscription);
    if (type == &zl_ros_image_type) { /* images up to 6 MiB: 35 chunks */
        po.max_subscriptions = 4;
        po.chunks_per_subscription = 8;
    }
    zl_publisher *pub;
    MUST(zl_publisher_create(ctx, topic, type, &po, &pub));
    for (int i = 0; i < 2000; i++) {
        zl_publisher_stats stats;
        MUST(zl_publisher_update_connections(pub));
        MUST(zl_publisher_get_stats(pub, &stats));
        if ((long)stats.subscriptions >= wait_subs)
            break;
        test_sleep_ms(10);
    }
    long published = 0, max_subs = option(argc, argv, "--max-subs", -1), most_subs = 0;
    for (long seq = 1; seq <= count; seq++) {
        zl_publisher_stats stats;
        MUST(zl_publisher_get_stats(pub, &stats));
        if ((long)stats.subscriptions > most_subs)
            most_subs = (long)stats.subscriptions;
        void *loan;
        int rc = type->element_size != 0
                     ? zl_publisher_loan_sized(pub, tail_count(type, seq), &loan)
                     : zl_publisher_loan(pub, &loan);
        if (rc == ZL_EEXHAUSTED) { /* a slow reader holds them all: retry */
            test_sleep_ms(1);
            seq--;
            continue;
        }
        MUST(rc);
        fill(type, loan, tag, seq);
        MUST(zl_publisher_publish_loan(pub, loan));
        published++;
        if (interval_us > 0)
            usleep((useconds_t)interval_us);
    }
    long linger = option(argc, argv, "--linger-ms", 1000);
    for (long waited = 0; waited < linger; waited += 10) {
        zl_publisher_update_connections(pub);
        test_sleep_ms(10);
    }
    zl_publisher_stats final_stats;
    MUST(zl_publisher_get_stats(pub, &final_stats));
    printf("published %ld, most subscriptions %ld, dropped %llu\n", published, most_subs,
           (unsigned long long)final_stats.dropped);
    fflush(stdout);
    MUST(zl_publisher_destroy(pub));
    MUST(zl_context_destroy(ctx));
    return max_subs >= 0 && most_subs > max_subs ? 1 : 0;
}

static int run_subscription(int argc, char **argv)
{
    const char *topic = argv[2];
    const zl_type *type = type_named(argv[3]);
    long expect = strtol(argv[4], NULL, 10);
    long timeout_ms = option(argc, argv, "--timeout-ms", 20000);
    long settle_ms = option(argc, argv, "--settle-ms", 500);
    long last = option(argc, argv, "--last", 0);
    long until = option(argc, argv, "--until", last);
    bool exact = flag(argc, argv, "--exact"), check_mapping = flag(argc, argv, "--check-mapping");
    zl_context *ctx;
    MUST(zl_context_create(NULL, &ctx));
    zl_subscription_options so;
    zl_subscription_options_init(&so);
    so.history = flag(argc, argv, "--history");
    so.depth = type == &zl_ros_image_type ? 6 : 64;
    so.max_loans = 1;
    zl_subscription *sub;
    MUST(zl_subscription_create(ctx, topic, type, &so, &sub));
    static uint8_t seen[TAGS_MAX][SEQ_MAX + 1];
    long received = 0, dup = 0, bad = 0, unmapped = 0, first = 0, first_tag = 0, highest = 0;
    int64_t deadline = test_now_ns() + timeout_ms * 1000000;
    int64_t settle_end = 0;
    while (test_now_ns() < deadline && (settle_end == 0 || test_now_ns() < settle_end)) {
        const void *msg;
        zl_message_info info;
        int rc = zl_subscription_take_loan(sub, &msg, &info);
        if (rc == ZL_ENODATA) {
            test_sleep_ms(1);
            continue;
        }
        MUST(rc);
        if (check_mapping && !test_mapped_from(msg, "/dev/shm/"))
            unmapped++;
        long tag, seq;
        if (!decode(type, msg, info.count, &tag, &seq) || tag < 0 || tag >= TAGS_MAX || seq < 1 ||
            seq > SEQ_MAX) {
            bad++;
        } else if (seen[tag][seq]++) {
            if (dup++ < 3)
                fprintf(stderr, "duplicate: tag %ld seq %ld from publisher %llx (sequence %llu)\n",
                        tag, seq, (unsigned long long)info.publisher_id,
                        (unsigned long long)info.publication_sequence);
        } else {
            received++;
            if (first == 0) {
                first = seq;
                first_tag = tag;
            }
            if (seq > highest)
                highest = seq;
        }
        MUST(zl_subscription_return_loan(sub, msg));
        if (received >= expect && highest >= until && settle_end == 0)
            settle_end = test_now_ns() + settle_ms * 1000000;
    }
    long gaps = 0;
    for (long s = first; last > 0 && s > 0 && s <= last; s++)
        gaps += seen[first_tag][s] == 0;
    printf("received %ld dup %ld bad %ld unmapped %ld first %ld highest %ld gaps %ld\n",
           received, dup, bad, unmapped, first, highest, gaps);
    fflush(stdout);
    MUST(zl_subscription_destroy(sub));
    MUST(zl_context_destroy(ctx));
    bool ok = dup == 0 && bad == 0 && unmapped == 0 &&
              (exact ? received == expect : received >= expect) &&
              highest >= until && (last == 0 || (highest == last && gaps == 0));
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "pub") == 0)
        return run_publisher(argc, argv);
    if (argc >= 5 && strcmp(argv[1], "sub") == 0)
        return run_subscription(argc, argv);
    fprintf(stderr, "usage: net_node pub TOPIC TYPE TAG COUNT ... | sub TOPIC TYPE EXPECT ...\n");
    return 2;
}
