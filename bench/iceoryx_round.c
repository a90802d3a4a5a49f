/* One in-process iceoryx round, loan -> publish -> take -> release, repeated:
 * the counterpart of zloan_round.c, run the same way under callgrind (N and
 * 2N rounds; the difference divided by N). Needs iox-roudi running.
 *
 *   iceoryx_bench_round ROUNDS
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "iceoryx_binding_c/enums.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/types.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s ROUNDS\n", argv[0]);
        return 2;
    }
    unsigned long rounds = strtoul(argv[1], NULL, 10);
    char name[64];
    snprintf(name, sizeof name, "zlb_round_%lu", rounds);
    iox_runtime_init(name);
    iox_pub_storage_t pub_storage;
    iox_sub_storage_t sub_storage;
    iox_pub_options_t pub_options;
    iox_pub_options_init(&pub_options);
    iox_sub_options_t sub_options;
    iox_sub_options_init(&sub_options);
    sub_options.queueCapacity = 8;
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
    printf("rounds %lu checksum %u\n", rounds, sum);
    return 0;
}
