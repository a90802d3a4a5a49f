/* Reproducer for a false ZL_ECORRUPT in zl__deliver_peek: the consumer loads
 * head, then tail; between the two loads a fast producer may reclaim and push
 * several times (keep-last), so tail - (stale head) can exceed the capacity
 * although every position the producer stored obeys R1. Taking that for
 * corruption made a subscription drop a live publisher's connection (and the
 * publisher then freed chunks the subscription still held). Two threads:
 * a keep-last producer with depth 1 and a consumer that peeks and takes; the
 * consumer must never see ZL_ECORRUPT. Runs under ThreadSanitizer too. */
#include <pthread.h>
#include <stdlib.h>

#include "harness.h"
#include "shm/ring.h"

#define CAPACITY 1u
#define PUSHES 2000000u

static zl__connection_shm *shared;
static zl__atomic_u32 entries[2 * CAPACITY];
static zl__atomic_u32 done;

static void *producer(void *arg)
{
    (void)arg;
    zl__ring ring = {&shared->deliver, entries, CAPACITY - 1};
    uint32_t mirror[CAPACITY];
    uint64_t tail = 0, head_seen = 0;
    for (uint32_t i = 1; i <= PUSHES; i++) {
        uint32_t oldest;
        int rc;
        while ((rc = zl__deliver_reclaim_oldest(&ring, tail, mirror, CAPACITY, &head_seen, &oldest)) == 1) {
        }
        if (rc < 0) {
            fprintf(stderr, "producer saw ZL_ECORRUPT\n");
            exit(1);
        }
        zl__deliver_push(&ring, &tail, mirror, i);
    }
    /* Release: pairs with the consumer's acquire load of done. */
    zl__store_release(&done, 1);
    return NULL;
}

int main(void)
{
    shared = aligned_alloc(64, sizeof *shared);
    CHECK(shared != NULL);
    memset(shared, 0, sizeof *shared);
    zl__ring ring = {&shared->deliver, entries, CAPACITY - 1};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, producer, NULL) == 0);
    uint64_t taken = 0, corrupt = 0;
    /* Acquire pairs with the producer's release store of done. */
    while (!zl__load_acquire(&done)) {
        uint64_t position;
        uint32_t value;
        int rc = zl__deliver_peek(&ring, &position, &value);
        if (rc < 0)
            corrupt++;
        else if (rc == 1 && zl__deliver_take(&ring, position))
            taken++;
    }
    pthread_join(thread, NULL);
    printf("taken %llu, false corruption reports %llu\n", (unsigned long long)taken,
           (unsigned long long)corrupt);
    CHECK_EQ(corrupt, 0);
    free(shared);
    return 0;
}
