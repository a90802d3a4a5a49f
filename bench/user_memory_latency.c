/* Publish-to-completion latency of user memory across processes: the time
 * from zl_user_memory_publish() of a frame in a sealed memfd to the
 * publisher's wait set reporting its completion notice, with SUBS
 * subscription processes that each sleep in a wait set, take the frame,
 * read it and return it at once. One frame in flight at a time (a round
 * trip: two wake-ups per subscription, the last return wakes the
 * publisher).
 *
 *   zloan_bench_user_latency SUBS ROUNDS        (4 KiB frames)
 *
 * Prints "subs N rounds R median_us M p99_us P max_us X".
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zloan/zloan.h"

#include "small.h"

typedef struct frame {
    uint64_t number;
    uint8_t bytes[4088];
} frame;

static const zl_type frame_type = ZL_TYPE_PLAIN(frame);

static void check_rc(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "zloan_bench_user_latency: %s: %s (%s)\n", what, zl_strerror(rc),
                zl_last_error_detail());
        exit(3);
    }
}

/* A subscription process: take, read, return, until the frame numbered
 * UINT64_MAX. */
static void reader(const char *topic, int ready_fd)
{
    zl_context *context;
    zl_subscription *sub;
    zl_waitset *ws;
    check_rc(zl_context_create(NULL, &context), "reader context");
    check_rc(zl_subscription_create(context, topic, &frame_type, NULL, &sub), "reader subscription");
    check_rc(zl_waitset_create(context, 1, &ws), "reader waitset");
    check_rc(zl_waitset_attach_subscription(ws, sub, NULL), "reader attach");
    if (write(ready_fd, "R", 1) != 1)
        _exit(4);
    for (;;) {
        int rc = zl_waitset_wait(ws, 10LL * 1000000000, NULL);
        if (rc == ZL_ETIMEOUT)
            _exit(5);
        const void *message;
        while (zl_subscription_take_loan(sub, &message, NULL) == 0) {
            uint64_t number = ((const frame *)message)->number;
            zl_subscription_return_loan(sub, message);
            if (number == UINT64_MAX)
                _exit(0);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SUBS ROUNDS\n", argv[0]);
        return 2;
    }
    int subs = atoi(argv[1]);
    long rounds = atol(argv[2]);
    size_t bytes = sizeof(frame);
    if (subs < 1 || subs > 8 || rounds < 1) {
        fprintf(stderr, "SUBS 1..8, ROUNDS >= 1\n");
        return 2;
    }
    char topic[64];
    snprintf(topic, sizeof topic, "/zloan_bench/user_latency_%d", (int)getpid());
    pid_t pids[8];
    int up[2];
    if (pipe(up) != 0)
        return 3;
    for (int i = 0; i < subs; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(up[0]);
            reader(topic, up[1]);
        }
    }
    close(up[1]);
    for (int i = 0; i < subs; i++) {
        char c;
        if (read(up[0], &c, 1) != 1)
            return 3;
    }

    zl_context *context;
    zl_publisher *pub;
    zl_user_memory *memory;
    zl_waitset *ws;
    int fd = memfd_create("bench-user-latency", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    size_t length = ((bytes * 2 + 4095) / 4096) * 4096;
    if (fd < 0 || ftruncate(fd, (off_t)length) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0)
        check_rc(ZL_ESYSTEM, "memfd");
    uint8_t *base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        check_rc(ZL_ESYSTEM, "mmap");
    zl_user_memory_options o;
    zl_user_memory_options_init(&o);
    o.fd = fd;
    o.base = base;
    o.length = length;
    o.max_in_flight = 2;
    check_rc(zl_context_create(NULL, &context), "context");
    check_rc(zl_publisher_create(context, topic, &frame_type, NULL, &pub), "publisher");
    check_rc(zl_user_memory_create(pub, &o, &memory), "user memory");
    check_rc(zl_waitset_create(context, 1, &ws), "waitset");
    check_rc(zl_waitset_attach_user_memory(ws, memory, NULL), "attach");
    for (int i = 0; i < 20000; i++) {
        zl_publisher_stats stats;
        check_rc(zl_publisher_get_stats(pub, &stats), "stats");
        if (stats.subscriptions == (uint32_t)subs)
            break;
        usleep(1000);
    }

    int64_t *latencies = calloc((size_t)rounds, sizeof(int64_t));
    long warmup = rounds / 10 + 10;
    for (long i = -warmup; i < rounds; i++) {
        frame *f = (frame *)(void *)(base + (size_t)(i & 1) * bytes);
        f->number = (uint64_t)(i + warmup);
        int64_t t0 = small_now_ns();
        check_rc(zl_user_memory_publish(memory, f, 0), "publish");
        const void *done = NULL;
        while (zl_user_memory_take_completed(memory, &done) == ZL_ENODATA)
            check_rc(zl_waitset_wait(ws, 10LL * 1000000000, NULL), "wait for the completion");
        int64_t t1 = small_now_ns();
        if (done != f)
            check_rc(ZL_EINVAL, "the completion names another frame");
        if (i >= 0)
            latencies[i] = t1 - t0;
    }
    frame *last = (frame *)(void *)base;
    last->number = UINT64_MAX;
    check_rc(zl_user_memory_publish(memory, last, 0), "publish the end");
    for (int i = 0; i < subs; i++)
        waitpid(pids[i], NULL, 0);
    check_rc(zl_waitset_destroy(ws), "waitset destroy");
    while (zl_user_memory_in_flight_count(memory) != 0)
        usleep(1000);
    check_rc(zl_user_memory_destroy(memory), "user memory destroy");
    check_rc(zl_publisher_destroy(pub), "publisher destroy");
    check_rc(zl_context_destroy(context), "context destroy");
    qsort(latencies, (size_t)rounds, sizeof(int64_t), small_compare_i64);
    printf("subs %d rounds %ld median_us %.1f p99_us %.1f max_us %.1f\n", subs, rounds,
           (double)latencies[rounds / 2] / 1e3, (double)latencies[(rounds * 99) / 100] / 1e3,
           (double)latencies[rounds - 1] / 1e3);
    free(latencies);
    return 0;
}
