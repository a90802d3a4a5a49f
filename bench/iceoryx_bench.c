/* iceoryx 2.0 (C binding) in the benchmark harness (see harness.h): chunks
 * loaned from RouDi's mempools, taken and released by the subscribers, so
 * zero copy like zloan. Needs iox-roudi running with mempools large enough
 * for SIZE (bench/roudi.toml; bench/run.sh starts it).
 *
 *   iceoryx_bench latency SIZE busy|blocking SECONDS
 *   iceoryx_bench throughput SIZE SUBSCRIPTIONS SECONDS
 *
 * Blocking: an iceoryx wait set with every subscriber's HAS_DATA state.
 * Queues and policies match zloan's setup: keep-last (discard the oldest),
 * depth 4 for latency and 16 for throughput; the lossless throughput
 * variant uses WAIT_FOR_CONSUMER with BLOCK_PRODUCER (zloan: ZL_LOSSLESS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceoryx_binding_c/enums.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/types.h"
#include "iceoryx_binding_c/wait_set.h"

#include "harness.h"

#define SUBSCRIPTIONS_MAX 16

typedef struct iceoryx_side {
    size_t size;
    iox_pub_storage_t publisher_storage;
    iox_pub_t publisher;
    iox_sub_storage_t subscriber_storage[SUBSCRIPTIONS_MAX];
    iox_sub_t subscribers[SUBSCRIPTIONS_MAX];
    unsigned subscriber_count;
    iox_ws_storage_t wait_set_storage;
    iox_ws_t wait_set;
} iceoryx_side;

static void *iceoryx_open(const bench_config *config, enum bench_role role)
{
    static const char *role_names[] = {"ping", "pong", "source", "sink"};
    char name[64];
    snprintf(name, sizeof name, "zlb_%s_%s", config->tag, role_names[role]);
    iox_runtime_init(name);
    iceoryx_side *side = calloc(1, sizeof *side);
    if (side == NULL)
        bench_die("out of memory");
    side->size = config->size;
    bool latency = role == BENCH_PING || role == BENCH_PONG;
    const char *out_topic = role == BENCH_PING ? "ping" : role == BENCH_PONG ? "pong" : "stream";
    const char *in_topic = role == BENCH_PING ? "pong" : role == BENCH_PONG ? "ping" : "stream";
    if (role != BENCH_SINK) {
        iox_pub_options_t options;
        iox_pub_options_init(&options);
        options.historyCapacity = 0;
        options.offerOnCreate = true;
        options.subscriberTooSlowPolicy = config->lossless
                                              ? ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER
                                              : ConsumerTooSlowPolicy_DISCARD_OLDEST_DATA;
        side->publisher = iox_pub_init(&side->publisher_storage, "zloan_bench", config->tag,
                                       out_topic, &options);
    }
    if (role != BENCH_SOURCE) {
        iox_sub_options_t options;
        iox_sub_options_init(&options);
        options.queueCapacity = latency ? 4 : 16;
        options.historyRequest = 0;
        options.subscribeOnCreate = true;
        options.queueFullPolicy = config->lossless ? QueueFullPolicy_BLOCK_PRODUCER
                                                   : QueueFullPolicy_DISCARD_OLDEST_DATA;
        side->subscriber_count = config->subscriptions;
        for (unsigned i = 0; i < side->subscriber_count; i++)
            side->subscribers[i] = iox_sub_init(&side->subscriber_storage[i], "zloan_bench",
                                                config->tag, in_topic, &options);
        if (config->blocking) {
            side->wait_set = iox_ws_init(&side->wait_set_storage);
            for (unsigned i = 0; i < side->subscriber_count; i++)
                if (iox_ws_attach_subscriber_state(side->wait_set, side->subscribers[i],
                                                   SubscriberState_HAS_DATA, i,
                                                   NULL) != WaitSetResult_SUCCESS)
                    bench_die("iceoryx: attaching subscriber %u to the wait set failed", i);
        }
    }
    return side;
}

/* Loans of any size up to the largest mempool: RouDi picks the smallest
 * mempool that fits (the mix runs through bench/roudi.toml's six). */
static void *iceoryx_loan(void *context, size_t size)
{
    iceoryx_side *side = context;
    void *message = NULL;
    enum iox_AllocationResult rc =
        iox_pub_loan_aligned_chunk(side->publisher, &message, (uint32_t)size, 64);
    if (rc != AllocationResult_SUCCESS)
        bench_die("iceoryx: loaning a chunk of %zu bytes failed (%d): are roudi's mempools "
                  "large enough?",
                  size, (int)rc);
    return message;
}

static void iceoryx_publish(void *context, void *message)
{
    iceoryx_side *side = context;
    iox_pub_publish_chunk(side->publisher, message);
}

static const void *iceoryx_try_take(void *context, unsigned index)
{
    iceoryx_side *side = context;
    const void *message = NULL;
    enum iox_ChunkReceiveResult rc = iox_sub_take_chunk(side->subscribers[index], &message);
    if (rc == ChunkReceiveResult_NO_CHUNK_AVAILABLE)
        return NULL;
    if (rc != ChunkReceiveResult_SUCCESS)
        bench_die("iceoryx: taking a chunk failed (%d)", (int)rc);
    return message;
}

static void iceoryx_release(void *context, unsigned index, const void *message)
{
    iceoryx_side *side = context;
    iox_sub_release_chunk(side->subscribers[index], message);
}

static void iceoryx_wait(void *context)
{
    iceoryx_side *side = context;
    iox_notification_info_t infos[SUBSCRIPTIONS_MAX];
    uint64_t missed = 0;
    iox_ws_wait(side->wait_set, infos, SUBSCRIPTIONS_MAX, &missed);
}

static void iceoryx_close(void *context)
{
    iceoryx_side *side = context;
    if (side->wait_set != NULL)
        iox_ws_deinit(side->wait_set);
    for (unsigned i = 0; i < side->subscriber_count; i++)
        iox_sub_deinit(side->subscribers[i]);
    if (side->publisher != NULL)
        iox_pub_deinit(side->publisher);
    free(side);
    iox_runtime_shutdown();
}

static const bench_ops iceoryx_ops = {
    .system = "iceoryx",
    .open = iceoryx_open,
    .loan = iceoryx_loan,
    .publish = iceoryx_publish,
    .try_take = iceoryx_try_take,
    .release = iceoryx_release,
    .wait = iceoryx_wait,
    .close = iceoryx_close,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &iceoryx_ops); }
