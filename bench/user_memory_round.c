/* One in-process round of user memory beside one of a pool loan, repeated:
 * bench/user_memory.sh runs it under callgrind with N and 2N rounds to count
 * the instructions of one round (the difference divided by N; setup and
 * teardown cancel out).
 *
 *   zloan_bench_user_round pool ROUNDS   loan -> publish -> take -> return
 *   zloan_bench_user_round user ROUNDS   publish from a sealed memfd -> take
 *                                        -> return -> completion notice taken
 *
 * The message is 64 bytes in both; the round writes its first byte and reads
 * it back, so the count is zloan's bookkeeping, not the payload. It also
 * prints the wall time of one round (meaningful only outside valgrind).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "zloan/zloan.h"

typedef struct payload {
    _Alignas(64) uint8_t bytes[64];
} payload;

static const zl_type payload_type = ZL_TYPE_PLAIN(payload);

static void check_rc(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "zloan_bench_user_round: %s: %s (%s)\n", what, zl_strerror(rc),
                zl_last_error_detail());
        exit(3);
    }
}

typedef struct bench {
    zl_publisher *publisher;
    zl_subscription *subscription;
    zl_user_memory *memory;
    payload *frames; /* 4 payloads in the memfd */
} bench;

/* One round; returns the byte read back. */
static unsigned round_pool(bench *b, unsigned long i)
{
    void *out;
    check_rc(zl_publisher_loan(b->publisher, &out), "zl_publisher_loan");
    ((payload *)out)->bytes[0] = (uint8_t)i;
    check_rc(zl_publisher_publish_loan(b->publisher, out), "zl_publisher_publish_loan");
    const void *in;
    check_rc(zl_subscription_take_loan(b->subscription, &in, NULL), "zl_subscription_take_loan");
    unsigned byte = ((const payload *)in)->bytes[0];
    check_rc(zl_subscription_return_loan(b->subscription, in), "zl_subscription_return_loan");
    return byte;
}

static unsigned round_user(bench *b, unsigned long i)
{
    payload *frame = &b->frames[i % 4];
    frame->bytes[0] = (uint8_t)i;
    check_rc(zl_user_memory_publish(b->memory, frame, 0), "zl_user_memory_publish");
    const void *in;
    check_rc(zl_subscription_take_loan(b->subscription, &in, NULL), "zl_subscription_take_loan");
    unsigned byte = ((const payload *)in)->bytes[0];
    check_rc(zl_subscription_return_loan(b->subscription, in), "zl_subscription_return_loan");
    const void *done;
    check_rc(zl_user_memory_take_completed(b->memory, &done), "zl_user_memory_take_completed");
    if (done != frame)
        check_rc(ZL_EINVAL, "the completion names another frame");
    return byte;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "pool") != 0 && strcmp(argv[1], "user") != 0)) {
        fprintf(stderr, "usage: %s pool|user ROUNDS\n", argv[0]);
        return 2;
    }
    bool user = strcmp(argv[1], "user") == 0;
    unsigned long rounds = strtoul(argv[2], NULL, 10);
    char topic[64];
    snprintf(topic, sizeof topic, "/zloan_bench/user_round_%d", (int)getpid());
    zl_context *context;
    bench b = {0};
    check_rc(zl_context_create(NULL, &context), "zl_context_create");
    check_rc(zl_publisher_create(context, topic, &payload_type, NULL, &b.publisher),
             "zl_publisher_create");
    check_rc(zl_subscription_create(context, topic, &payload_type, NULL, &b.subscription),
             "zl_subscription_create");
    int fd = memfd_create("bench-frames", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    size_t bytes = 4096; /* one page: 4 payloads, the registered range */
    if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0)
        check_rc(ZL_ESYSTEM, "memfd");
    b.frames = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (b.frames == MAP_FAILED)
        check_rc(ZL_ESYSTEM, "mmap");
    zl_user_memory_options o;
    zl_user_memory_options_init(&o);
    o.fd = fd;
    o.base = b.frames;
    o.length = bytes;
    o.max_in_flight = 4;
    check_rc(zl_user_memory_create(b.publisher, &o, &b.memory), "zl_user_memory_create");
    /* The publisher connects the subscription inside its own calls: publish
     * until one message arrives, so every counted round delivers. */
    for (int tries = 0;; tries++) {
        void *out;
        check_rc(zl_publisher_loan(b.publisher, &out), "zl_publisher_loan");
        check_rc(zl_publisher_publish_loan(b.publisher, out), "zl_publisher_publish_loan");
        const void *in;
        int rc = zl_subscription_take_loan(b.subscription, &in, NULL);
        if (rc == 0) {
            check_rc(zl_subscription_return_loan(b.subscription, in), "return (connecting)");
            break;
        }
        if (rc != ZL_ENODATA || tries == 1000)
            check_rc(rc == 0 ? ZL_ENODATA : rc, "zl_subscription_take_loan (connecting)");
    }
    /* One round of each kind before counting: the subscription maps the
     * user segment and the memfd on its first user message. */
    unsigned sum = round_pool(&b, 0) + round_user(&b, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < rounds; i++)
        sum += user ? round_user(&b, i) : round_pool(&b, i);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    check_rc(zl_user_memory_destroy(b.memory), "zl_user_memory_destroy");
    check_rc(zl_subscription_destroy(b.subscription), "zl_subscription_destroy");
    check_rc(zl_publisher_destroy(b.publisher), "zl_publisher_destroy");
    check_rc(zl_context_destroy(context), "zl_context_destroy");
    munmap(b.frames, bytes);
    close(fd);
    printf("rounds %lu checksum %u ns_per_round %.1f\n", rounds, sum,
           rounds ? ns / (double)rounds : 0.0);
    return 0;
}
