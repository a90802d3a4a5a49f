/* Latency and throughput between hosts (bench/net_bench.sh runs it in two
 * network namespaces): zloan through zloan-bridge, beside plain Cyclone DDS
 * with the same type, and zloan's local latency with and without a bridge.
 *
 *   net_bench zl-echo|dds-echo IN OUT small|large
 *       echoes every message from IN to OUT until stopped (SIGTERM).
 *   net_bench zl-ping|dds-ping OUT IN small|large ROUNDS LABEL
 *       ping-pong: prints "LABEL SIZE median_us p99_us" (one way = RTT / 2).
 *   net_bench zl-blast|dds-blast OUT small COUNT
 *       publishes COUNT messages as fast as the publisher accepts them.
 *   net_bench zl-count|dds-count IN COUNT TIMEOUT_MS LABEL
 *       counts them: prints "LABEL received R of COUNT, N msg/s".
 *
 * The DDS side is plain Cyclone: its type is built from the same field
 * description by the bridge's ros_wire.c (what idlc would generate). Ping
 * messages carry only a sequence number: the payload is sent whole but never
 * filled, so the numbers are the transport's.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dds/dds.h>

#include "ros_wire.h"
#include "zloan/zloan.h"

typedef struct bench_small {
    uint64_t seq;
    uint8_t pad[56];
} bench_small;

#define LARGE_BYTES (4u << 20)
typedef struct bench_large {
    uint64_t seq;
    uint32_t data_length;
    uint8_t data[LARGE_BYTES];
} bench_large;

static const zl_field small_fields[] = {ZL_FIELD(bench_small, U64, seq),
                                        ZL_FIELD(bench_small, U8, pad)};
static const zl_field large_fields[] = {ZL_FIELD(bench_large, U64, seq),
                                        ZL_FIELD(bench_large, U32, data_length),
                                        ZL_FIELD(bench_large, U8, data)};
static const zl_type small_type = {.name = "zloan_bench/msg/Small", .size = sizeof(bench_small),
                                   .alignment = 8, .plain = true, .fields = small_fields,
                                   .field_count = 2};
static const zl_type large_type = {.name = "zloan_bench/msg/Large", .size = sizeof(bench_large),
                                   .alignment = 8, .plain = true, .fields = large_fields,
                                   .field_count = 3};

static volatile sig_atomic_t stop;
static void on_signal(int signo) { (void)signo; stop = 1; }

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "net_bench: %s: %d (%s)\n", what, rc, zl_last_error_detail());
    exit(2);
}

/* One endpoint pair of either kind, behind four calls. */
typedef struct channel {
    bool dds;
    const zl_type *type;
    size_t size;
    zl_context *ctx;
    zl_publisher *pub;
    zl_subscription *sub;
    zl_waitset *ws;
    ros_wire_type wire;
    dds_entity_t participant, writer, reader, waitset;
    void *scratch, *sample;
} channel;

static void channel_open(channel *c, bool dds, const char *kind, const char *out, const char *in)
{
    memset(c, 0, sizeof *c);
    c->dds = dds;
    c->type = strcmp(kind, "large") == 0 ? &large_type : &small_type;
    c->size = c->type->size;
    if (!dds) {
        int rc = zl_context_create(NULL, &c->ctx);
        if (rc != 0)
            die("context", rc);
        if (out != NULL) {
            zl_publisher_options po;
            zl_publisher_options_init(&po);
            po.max_subscriptions = 2;
            po.chunks_per_subscription = c->size > 4096 ? 4 : 64;
            if ((rc = zl_publisher_create(c->ctx, out, c->type, &po, &c->pub)) != 0)
                die("publisher", rc);
        }
        if (in != NULL) {
            zl_subscription_options so;
            zl_subscription_options_init(&so);
            so.depth = c->size > 4096 ? 2 : 32;
            so.max_loans = 1;
            if ((rc = zl_subscription_create(c->ctx, in, c->type, &so, &c->sub)) != 0 ||
                (rc = zl_waitset_create(c->ctx, 1, &c->ws)) != 0 ||
                (rc = zl_waitset_attach_subscription(c->ws, c->sub, NULL)) != 0)
                die("subscription", rc);
        }
        return;
    }
    if (ros_wire_type_init(&c->wire, c->type->name, c->size, c->type->fields,
                           c->type->field_count) != 0)
        exit(2);
    c->scratch = calloc(1, c->wire.sample_size);
    c->sample = calloc(1, c->size);
    c->participant = dds_create_participant(DDS_DOMAIN_DEFAULT, NULL, NULL);
    if (c->participant < 0)
        die("participant", c->participant);
    dds_qos_t *qos = ros_wire_qos(c->size > 4096 ? 2 : 32, false);
    char name[256];
    if (out != NULL) {
        snprintf(name, sizeof name, "rt%s", out);
        dds_entity_t t = dds_create_topic(c->participant, &c->wire.descriptor, name, NULL, NULL);
        c->writer = dds_create_writer(c->participant, t, qos, NULL);
        if (c->writer < 0)
            die("writer", c->writer);
    }
    if (in != NULL) {
        snprintf(name, sizeof name, "rt%s", in);
        dds_entity_t t = dds_create_topic(c->participant, &c->wire.descriptor, name, NULL, NULL);
        c->reader = dds_create_reader(c->participant, t, qos, NULL);
        if (c->reader < 0)
            die("reader", c->reader);
        c->waitset = dds_create_waitset(c->participant);
        dds_entity_t cond = dds_create_readcondition(c->reader, DDS_ANY_STATE);
        dds_waitset_attach(c->waitset, cond, 0);
    }
    dds_delete_qos(qos);
}

/* Sends a message with this sequence number (payload left as it is). */
static void channel_send(channel *c, uint64_t seq)
{
    if (!c->dds) {
        void *loan;
        int rc;
        while ((rc = zl_publisher_loan(c->pub, &loan)) == ZL_EEXHAUSTED)
            usleep(50);
        if (rc != 0)
            die("loan", rc);
        memcpy(loan, &seq, sizeof seq);
        if (c->type == &large_type)
            ((bench_large *)loan)->data_length = LARGE_BYTES;
        if ((rc = zl_publisher_publish_loan(c->pub, loan)) != 0)
            die("publish", rc);
        return;
    }
    memcpy(c->sample, &seq, sizeof seq);
    if (c->type == &large_type)
        ((bench_large *)c->sample)->data_length = LARGE_BYTES;
    dds_return_t rc = ros_wire_write(&c->wire, c->writer, c->sample, c->scratch);
    if (rc != 0)
        die("write", rc);
}

/* Waits up to timeout_ms for a message: its sequence, or 0 on timeout. */
static uint64_t channel_receive(channel *c, int64_t timeout_ms)
{
    int64_t deadline = now_ns() + timeout_ms * 1000000;
    while (!stop) {
        uint64_t seq = 0;
        if (!c->dds) {
            const void *msg;
            zl_message_info info;
            if (zl_subscription_take_loan(c->sub, &msg, &info) == 0) {
                memcpy(&seq, msg, sizeof seq);
                zl_subscription_return_loan(c->sub, msg);
                return seq;
            }
        } else if (ros_wire_take(&c->wire, c->reader, c->sample, c->scratch) == 1) {
            memcpy(&seq, c->sample, sizeof seq);
            return seq;
        }
        int64_t left = deadline - now_ns();
        if (left <= 0)
            return 0;
        if (!c->dds) {
            size_t ready;
            zl_waitset_wait(c->ws, left, &ready);
        } else {
            dds_waitset_wait(c->waitset, NULL, 0, left);
        }
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int ping(channel *c, long rounds, const char *label)
{
    /* Warm up until the echo answers (discovery, the bridge's matching). */
    uint64_t seq = 1;
    for (int i = 0; i < 600; i++) {
        channel_send(c, seq);
        if (channel_receive(c, 100) == seq)
            break;
        seq++;
    }
    int64_t *rtt = calloc((size_t)rounds, sizeof *rtt);
    long done = 0;
    for (long r = 0; r < rounds && !stop; r++) {
        seq++;
        int64_t t0 = now_ns();
        channel_send(c, seq);
        uint64_t got;
        while ((got = channel_receive(c, 2000)) != 0 && got != seq) {
        }
        if (got != seq)
            continue; /* lost (keep-last under load): not timed */
        rtt[done++] = now_ns() - t0;
    }
    if (done == 0) {
        printf("%s %zu no replies\n", label, c->size);
        return 1;
    }
    qsort(rtt, (size_t)done, sizeof *rtt, cmp_i64);
    printf("%-28s %8zu B  one-way median %9.1f us  p99 %9.1f us  (%ld rounds)\n", label, c->size,
           (double)rtt[done / 2] / 2000.0, (double)rtt[done * 99 / 100] / 2000.0, done);
    free(rtt);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: see bench/net_bench.c\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    const char *mode = argv[1];
    bool dds = strncmp(mode, "dds-", 4) == 0;
    const char *verb = mode + (dds ? 4 : 3);
    channel c;
    if (strcmp(verb, "echo") == 0 && argc >= 5) {
        channel_open(&c, dds, argv[4], argv[3], argv[2]);
        while (!stop) {
            uint64_t seq = channel_receive(&c, 200);
            if (seq != 0)
                channel_send(&c, seq);
        }
        return 0;
    }
    if (strcmp(verb, "ping") == 0 && argc >= 7) {
        channel_open(&c, dds, argv[4], argv[2], argv[3]);
        return ping(&c, strtol(argv[5], NULL, 10), argv[6]);
    }
    if (strcmp(verb, "blast") == 0 && argc >= 5) {
        channel_open(&c, dds, argv[3], argv[2], NULL);
        long count = strtol(argv[4], NULL, 10);
        /* Until a reader is connected (for zloan through the bridge: the
         * bridge's subscription, made once the remote reader matched). */
        for (int i = 0; i < 1000 && !stop; i++) {
            if (!c.dds) {
                zl_publisher_stats st;
                zl_publisher_update_connections(c.pub);
                if (zl_publisher_get_stats(c.pub, &st) == 0 && st.subscriptions > 0)
                    break;
            } else {
                dds_publication_matched_status_t st;
                if (dds_get_publication_matched_status(c.writer, &st) == 0 && st.current_count > 0)
                    break;
            }
            usleep(20000);
        }
        usleep(500000);
        for (long i = 1; i <= count && !stop; i++)
            channel_send(&c, (uint64_t)i);
        sleep(2);
        return 0;
    }
    if (strcmp(verb, "count") == 0 && argc >= 6) {
        channel_open(&c, dds, "small", NULL, argv[2]);
        long count = strtol(argv[3], NULL, 10), received = 0;
        int64_t first = 0, last = 0, deadline = now_ns() + strtol(argv[4], NULL, 10) * 1000000;
        while (received < count && now_ns() < deadline && !stop) {
            uint64_t seq = channel_receive(&c, 500);
            if (seq == 0)
                continue;
            last = now_ns();
            if (received++ == 0)
                first = last;
        }
        double seconds = (double)(last - first) / 1e9;
        printf("%-28s %8zu B  received %ld of %ld, %.0f msg/s\n", argv[5], c.size, received,
               count, seconds > 0 ? (double)(received - 1) / seconds : 0.0);
        return 0;
    }
    fprintf(stderr, "net_bench: bad arguments\n");
    return 2;
}
