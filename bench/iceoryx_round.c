/* One in-process iceoryx round, loan -> publish -> take -> release, repeated:
 * the counterpart of zloan_round.c, run the same way under callgrind (N and
 * 2N rounds; the difference divided by N, for the round and for each of the
 * four calls). Needs iox-roudi running.
 *
 *   iceoryx_bench_round ROUNDS [fixed|lossless]
 *
 * fixed (the default): 64-byte chunks, keep-last (iceoryx's defaults);
 * lossless: the publisher waits for its subscriber (WAIT_FOR_CONSUMER and
 * BLOCK_PRODUCER, as bench/iceoryx_bench.c's lossless throughput). iceoryx
 * has no counterpart of zloan's sized types: every iceoryx loan names its
 * size, so its fixed round is already that.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iceoryx_binding_c/enums.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/types.h"

int main(int argc, char **argv)
{
    const char *mode = argc == 3 ? argv[2] : "fixed";
    bool lossless = strcmp(mode, "lossless") == 0;
    if ((argc != 2 && argc != 3) || (!lossless && strcmp(mode, "fixed") != 0)) {
        fprintf(stderr, "usage: %s ROUNDS [fixed|lossless]\n", argv[0]);
        return 2;
    }
    unsigned long rounds = strtoul(argv[1], NULL, 10);
    char name[64];
    snprintf(name, sizeof name, "zlb_round_%s_%lu", mode, rounds);
    iox_runtime_init(name);
    iox_pub_storage_t pub_storage;
    iox_sub_storage_t sub_storage;
    iox_pub_options_t pub_options;
    iox_pub_options_init(&pub_options);
    iox_sub_options_t sub_options;
    iox_sub_options_init(&sub_options);
    sub_options.queueCapacity = 8;
    if (lossless) {
        pub_options.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
        sub_options.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
    }
    iox_pub_t pub = iox_pub_init(&pub_storage, "zloan_bench", name, "round", &pub_options);
    iox_sub_t sub = iox_sub_init(&sub_storage, "zloan_bench", name, "round", &sub_options);
    /* RouDi connects the two asynchronously. */
    for (int i = 0; i < 10000 && !iox_pub_has_subscribers(pub); i++) {
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    if (!iox_pub_has_subscribers(pub)) {
        fprintf(stderr, "iceoryx_bench_round: the subscriber never connected\n");
        return 3;
    }
    unsigned sum = 0;
    for (unsigned long i = 0; i < rounds; i++) {
        void *out = NULL;
        if (iox_pub_loan_aligned_chunk(pub, &out, 64, 64) != AllocationResult_SUCCESS) {
            fprintf(stderr, "iceoryx_bench_round: loan failed\n");
            return 3;
        }
        *(uint8_t *)out = (uint8_t)i;
        iox_pub_publish_chunk(pub, out);
        const void *in = NULL;
        if (iox_sub_take_chunk(sub, &in) != ChunkReceiveResult_SUCCESS) {
            fprintf(stderr, "iceoryx_bench_round: take failed in round %lu\n", i);
            return 3;
        }
        sum += *(const uint8_t *)in;
        iox_sub_release_chunk(sub, in);
    }
    iox_sub_deinit(sub);
    iox_pub_deinit(pub);
    iox_runtime_shutdown();
    printf("rounds %lu mode %s checksum %u\n", rounds, mode, sum);
    /* Flushed here: under valgrind, iceoryx's runtime destructor (at exit) sometimes
     * waits for ever for RouDi's answer ("Got wrong response from IPC
     * channel for PREPARE_APP_TERMINATION"); bench/run.sh then kills the
     * program and still counts the rounds, which were over. */
    fflush(stdout);
    return 0;
}
