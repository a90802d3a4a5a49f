/* The connection rings under two threads (run it under ThreadSanitizer):
 * a producer that delivers with keep-last and drains returns, a consumer
 * that takes and returns. Checks the ownership rules of ring.h and the
 * publisher's accounting (publisher/pool.c P1, publisher/connection.c P2) on private memory: every chunk
 * is owned by exactly one side at any time, none is lost or duplicated. */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "shm/ring.h"

#define CAPACITY 8u
#define DEPTH 6u
#define CHUNKS 32u
#define ROUNDS 200000u

static struct {
    zl__connection_shm shm;
    zl__atomic_u32 deliver_entries[CAPACITY];
    zl__atomic_u32 return_entries[2 * CAPACITY];
} shared;

static zl__ring deliver_ring, return_ring;
/* Payload stand-in: the producer writes the round into the chunk before
 * delivering; the consumer checks it (a release/acquire failure shows up
 * as a data race under TSan and as a wrong value). */
static uint64_t chunk_payload[CHUNKS];
static atomic_bool done;
static atomic_uint_fast64_t consumed;

static void *consumer(void *arg)
{
    (void)arg;
    uint64_t return_tail = 0, return_head_seen = 0;
    uint32_t pending[CAPACITY];
    unsigned pending_count = 0;
    for (;;) {
        uint64_t position;
        uint32_t chunk;
        /* Read `done` before peeking: once it is set nothing more is pushed,
         * so an empty ring seen after it is empty for good. */
        bool finished = atomic_load(&done);
        int rc = zl__deliver_peek(&deliver_ring, &position, &chunk);
        CHECK(rc >= 0);
        if (rc == 1 && zl__deliver_take(&deliver_ring, position)) {
            CHECK(chunk < CHUNKS);
            CHECK(chunk_payload[chunk] != 0);
            atomic_fetch_add(&consumed, 1);
            pending[pending_count++] = chunk;
        }
        /* Return in bursts of up to three, as a holder of loans would. */
        while (pending_count > 0 && (pending_count >= 3 || rc != 1)) {
            int pushed = zl__return_push(&return_ring, &return_tail, &return_head_seen, pending[0]);
            if (pushed == ZL_EEXHAUSTED)
                break;
            CHECK_EQ(pushed, 0);
            memmove(pending, pending + 1, sizeof(uint32_t) * --pending_count);
        }
        if (rc == 0 && finished && pending_count == 0)
            return NULL;
    }
}

int main(void)
{
    zl__queue_shm q = {.deliver_capacity = CAPACITY, .return_capacity = 2 * CAPACITY};
    deliver_ring = (zl__ring){&shared.shm.deliver, shared.deliver_entries, CAPACITY - 1};
    return_ring = (zl__ring){&shared.shm.ret, shared.return_entries, 2 * CAPACITY - 1};
    (void)q;
    uint32_t refs[CHUNKS] = {0};
    uint8_t outstanding[CHUNKS] = {0};
    uint32_t free_stack[CHUNKS];
    uint32_t free_top = 0;
    for (uint32_t c = 0; c < CHUNKS; c++)
        free_stack[free_top++] = c;
    uint32_t mirror[CAPACITY];
    uint64_t tail = 0, head_seen = 0, return_head = 0, reclaimed = 0;
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, consumer, NULL), 0);
    for (uint64_t round = 1; round <= ROUNDS; round++) {
        /* Drain returns (drain_returns). */
        uint64_t seen;
        int64_t n = zl__return_available(&return_ring, return_head, &seen);
        CHECK(n >= 0);
        for (uint64_t p = return_head; p != seen; p++) {
            uint32_t chunk = zl__return_entry(&return_ring, p);
            CHECK(chunk < CHUNKS && outstanding[chunk]);
            outstanding[chunk] = 0;
            if (--refs[chunk] == 0) {
                chunk_payload[chunk] = 0; /* "reuse": written only when free */
                free_stack[free_top++] = chunk;
            }
        }
        return_head = seen;
        zl__return_consumed(&return_ring, seen);
        if (free_top == 0) {
            round--; /* everything held or queued: wait for returns */
            continue;
        }
        uint32_t chunk = free_stack[--free_top];
        CHECK_EQ(refs[chunk], 0);
        chunk_payload[chunk] = round;
        refs[chunk] = 1;
        /* deliver() with keep-last. */
        uint32_t oldest;
        int rc;
        while ((rc = zl__deliver_reclaim_oldest(&deliver_ring, tail, mirror, DEPTH, &head_seen, &oldest)) == 1) {
            CHECK(outstanding[oldest]);
            outstanding[oldest] = 0;
            reclaimed++;
            if (--refs[oldest] == 0) {
                chunk_payload[oldest] = 0;
                free_stack[free_top++] = oldest;
            }
        }
        CHECK_EQ(rc, 0);
        zl__deliver_push(&deliver_ring, &tail, mirror, chunk);
        outstanding[chunk] = 1;
        refs[chunk]++;
        if (--refs[chunk] == 0) /* the "user's" reference */
            free_stack[free_top++] = chunk;
    }
    atomic_store(&done, true);
    CHECK_EQ(pthread_join(thread, NULL), 0);
    /* Drain the last returns: every chunk must be free again. */
    uint64_t seen;
    CHECK(zl__return_available(&return_ring, return_head, &seen) >= 0);
    for (uint64_t p = return_head; p != seen; p++) {
        uint32_t chunk = zl__return_entry(&return_ring, p);
        CHECK(outstanding[chunk]);
        outstanding[chunk] = 0;
        if (--refs[chunk] == 0)
            free_stack[free_top++] = chunk;
    }
    CHECK_EQ(free_top, CHUNKS);
    CHECK_EQ(atomic_load(&consumed) + reclaimed, ROUNDS);
    printf("consumed %llu reclaimed %llu\n", (unsigned long long)atomic_load(&consumed),
           (unsigned long long)reclaimed);
    return 0;
}
