/* Eclipse Cyclone DDS 0.10 in the benchmark harness (see harness.h): a
 * reliable keep-last topic of opaque byte sequences between two processes
 * over the loopback interface (CYCLONEDDS_URI from bench/run.sh), so every
 * message is serialized into UDP datagrams and deserialized on the other
 * side: the copying path ROS 2 uses by default.
 *
 *   cyclone_bench latency SIZE busy|blocking SECONDS
 *   cyclone_bench throughput SIZE SUBSCRIPTIONS SECONDS
 *
 * loan() hands out the writer's own sample buffer (DDS copies on write);
 * try_take borrows the reader's deserialized sample (dds_take with a loan);
 * blocking waits in a DDS wait set on read conditions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dds/dds.h"

#include "cyclone_payload.h"
#include "harness.h"

#define SUBSCRIPTIONS_MAX 16

typedef struct cyclone_side {
    size_t size;
    dds_entity_t participant;
    dds_entity_t writer;
    dds_entity_t readers[SUBSCRIPTIONS_MAX];
    void *held[SUBSCRIPTIONS_MAX];
    unsigned reader_count;
    dds_entity_t wait_set;
    zloan_bench_Payload sample;
} cyclone_side;

static dds_entity_t check(dds_entity_t e, const char *what)
{
    if (e < 0)
        bench_die("cyclone: %s: %s", what, dds_strretcode(e));
    return e;
}

static void *cyclone_open(const bench_config *config, enum bench_role role)
{
    cyclone_side *side = calloc(1, sizeof *side);
    if (side == NULL)
        bench_die("out of memory");
    side->size = config->size;
    bool latency = role == BENCH_PING || role == BENCH_PONG;
    const char *out_topic = role == BENCH_PING ? "ping" : role == BENCH_PONG ? "pong" : "stream";
    const char *in_topic = role == BENCH_PING ? "pong" : role == BENCH_PONG ? "ping" : "stream";
    side->participant = check(dds_create_participant(DDS_DOMAIN_DEFAULT, NULL, NULL),
                              "dds_create_participant");
    dds_qos_t *qos = dds_create_qos();
    dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(10));
    dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, latency ? 4 : 16);
    char name[128];
    if (role != BENCH_SINK) {
        snprintf(name, sizeof name, "zloan_bench_%s_%s", config->tag, out_topic);
        dds_entity_t topic = check(dds_create_topic(side->participant, &zloan_bench_Payload_desc,
                                                    name, NULL, NULL),
                                   "dds_create_topic");
        side->writer = check(dds_create_writer(side->participant, topic, qos, NULL),
                             "dds_create_writer");
        side->sample.data._buffer = dds_alloc(config->size);
        if (side->sample.data._buffer == NULL)
            bench_die("out of memory");
        side->sample.data._length = (uint32_t)config->size;
        side->sample.data._maximum = (uint32_t)config->size;
        side->sample.data._release = true;
    }
    if (role != BENCH_SOURCE) {
        snprintf(name, sizeof name, "zloan_bench_%s_%s", config->tag, in_topic);
        dds_entity_t topic = check(dds_create_topic(side->participant, &zloan_bench_Payload_desc,
                                                    name, NULL, NULL),
                                   "dds_create_topic");
        if (config->blocking)
            side->wait_set = check(dds_create_waitset(side->participant), "dds_create_waitset");
        side->reader_count = config->subscriptions;
        for (unsigned i = 0; i < side->reader_count; i++) {
            side->readers[i] = check(dds_create_reader(side->participant, topic, qos, NULL),
                                     "dds_create_reader");
            if (config->blocking) {
                dds_entity_t condition = check(
                    dds_create_readcondition(side->readers[i], DDS_ANY_STATE),
                    "dds_create_readcondition");
                check(dds_waitset_attach(side->wait_set, condition, (dds_attach_t)i),
                      "dds_waitset_attach");
            }
        }
    }
    dds_delete_qos(qos);
    return side;
}

/* Fixed sizes only (bench/run.sh runs the mix with zloan and iceoryx). */
static void *cyclone_loan(void *context, size_t size)
{
    (void)size;
    cyclone_side *side = context;
    return side->sample.data._buffer;
}

static void cyclone_publish(void *context, void *message)
{
    cyclone_side *side = context;
    (void)message; /* it is side->sample's buffer */
    check(dds_write(side->writer, &side->sample), "dds_write");
}

static const void *cyclone_try_take(void *context, unsigned index)
{
    cyclone_side *side = context;
    void *samples[1] = {NULL};
    dds_sample_info_t info;
    dds_return_t n = check(dds_take(side->readers[index], samples, &info, 1, 1), "dds_take");
    if (n == 0)
        return NULL;
    const zloan_bench_Payload *payload = samples[0];
    if (!info.valid_data || payload->data._length != side->size) {
        dds_return_loan(side->readers[index], samples, n);
        return NULL;
    }
    side->held[index] = samples[0];
    return payload->data._buffer;
}

static void cyclone_release(void *context, unsigned index, const void *message)
{
    cyclone_side *side = context;
    (void)message;
    check(dds_return_loan(side->readers[index], &side->held[index], 1), "dds_return_loan");
    side->held[index] = NULL;
}

static void cyclone_wait(void *context)
{
    cyclone_side *side = context;
    check(dds_waitset_wait(side->wait_set, NULL, 0, DDS_INFINITY), "dds_waitset_wait");
}

static void cyclone_close(void *context)
{
    cyclone_side *side = context;
    dds_delete(side->participant);
    if (side->sample.data._buffer != NULL)
        dds_free(side->sample.data._buffer);
    free(side);
}

static const bench_ops cyclone_ops = {
    .system = "cyclonedds",
    .open = cyclone_open,
    .loan = cyclone_loan,
    .publish = cyclone_publish,
    .try_take = cyclone_try_take,
    .release = cyclone_release,
    .wait = cyclone_wait,
    .close = cyclone_close,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &cyclone_ops); }
