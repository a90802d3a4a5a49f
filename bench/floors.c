/* Floors: what the hardware and the kernel cost at the least, measured in the
 * same run as the systems.
 *
 *   zloan_bench_floor cacheline SECONDS
 *     one 64-bit word on one cache line, bounced between two processes on
 *     two cores by busy polling: the least a busy-poll one-way hop can cost.
 *   zloan_bench_floor futex SECONDS
 *     the same word, but each side sleeps in FUTEX_WAIT and is woken by the
 *     other's FUTEX_WAKE: the least a blocking one-way hop can cost.
 *   zloan_bench_floor latency SIZE blocking SECONDS
 *     a Unix-domain stream socket through the harness: the payload is copied
 *     into the kernel and out again (the copying baseline).
 *
 * Floors report one-way = round trip / 2 like the systems.
 */
#include <errno.h>
#include <linux/futex.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MAX_SAMPLES 400000u
#define WARMUP_ROUNDS 1000u

typedef struct word {
    _Alignas(64) _Atomic uint32_t value;
} word;

static void futex_wait(_Atomic uint32_t *address, uint32_t expected)
{
    syscall(SYS_futex, (uint32_t *)address, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *address)
{
    syscall(SYS_futex, (uint32_t *)address, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Waits until *w == target, spinning or sleeping on the futex. */
static void await_value(word *w, uint32_t target, bool sleep)
{
    for (;;) {
        /* Acquire pairs with the other side's release store: nothing else is
         * exchanged, but it is what a real handoff would need. */
        uint32_t v = atomic_load_explicit(&w->value, memory_order_acquire);
        if (v == target)
            return;
        if (sleep)
            futex_wait(&w->value, v);
        else
            bench_relax();
    }
}

static void post_value(word *w, uint32_t value, bool sleep)
{
    /* Release pairs with the acquire load in await_value. */
    atomic_store_explicit(&w->value, value, memory_order_release);
    if (sleep)
        futex_wake(&w->value);
}

/* Ping writes odd values, pong answers with the next even one. */
static int word_floor(const char *name, bool sleep, double seconds)
{
    word *w = mmap(NULL, sizeof(word), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (w == MAP_FAILED)
        bench_die("mmap: %s", strerror(errno));
    atomic_init(&w->value, 0);
    const uint32_t stop = UINT32_MAX;
    pid_t child = fork();
    if (child < 0)
        bench_die("fork: %s", strerror(errno));
    if (child == 0) {
        alarm((unsigned)seconds * 4 + 30);
        bench_pin(1);
        for (uint32_t v = 1;; v += 2) {
            for (;;) {
                uint32_t seen = atomic_load_explicit(&w->value, memory_order_acquire);
                if (seen == v || seen == stop)
                    break;
                if (sleep)
                    futex_wait(&w->value, seen);
                else
                    bench_relax();
            }
            if (atomic_load_explicit(&w->value, memory_order_acquire) == stop)
                _exit(0);
            post_value(w, v + 1, sleep);
        }
    }
    alarm((unsigned)seconds * 4 + 30);
    bench_pin(0);
    double *samples = malloc(sizeof(double) * MAX_SAMPLES);
    if (samples == NULL)
        bench_die("out of memory");
    size_t n = 0;
    int64_t budget = (int64_t)(seconds * 1e9), start = 0;
    for (uint32_t round = 0, v = 1;; round++, v += 2) {
        if (round == WARMUP_ROUNDS)
            start = bench_now_ns();
        int64_t t0 = bench_now_ns();
        post_value(w, v, sleep);
        await_value(w, v + 1, sleep);
        int64_t t1 = bench_now_ns();
        if (round < WARMUP_ROUNDS)
            continue;
        samples[n++] = (double)(t1 - t0) / 2.0;
        if (n == MAX_SAMPLES || t1 - start >= budget)
            break;
    }
    post_value(w, stop, sleep);
    int status;
    waitpid(child, &status, 0);
    bench_print_latency(name, sleep ? "blocking" : "busy", 64, "transport", samples, n);
    free(samples);
    return 0;
}

/* ---- Unix-domain socket through the harness --------------------------- */

typedef struct uds_side {
    int fd;
    size_t size;
    void *tx;
    void *rx;
} uds_side;

/* The socket pair is made before the harness forks (see main). */
static int uds_fds[2] = {-1, -1};

static void *uds_open(const bench_config *config, enum bench_role role)
{
    if (role != BENCH_PING && role != BENCH_PONG)
        bench_die("uds: latency only");
    uds_side *side = calloc(1, sizeof *side);
    if (side == NULL)
        bench_die("out of memory");
    side->fd = uds_fds[role == BENCH_PING ? 0 : 1];
    close(uds_fds[role == BENCH_PING ? 1 : 0]);
    side->size = config->size;
    side->tx = malloc(config->size);
    side->rx = malloc(config->size);
    if (side->tx == NULL || side->rx == NULL)
        bench_die("out of memory");
    /* Touch the buffers now so that page faults are not measured. */
    memset(side->tx, 0, config->size);
    memset(side->rx, 0, config->size);
    return side;
}

/* Fixed sizes only (bench/run.sh runs the mix with zloan and iceoryx). */
static void *uds_loan(void *context, size_t size)
{
    (void)size;
    return ((uds_side *)context)->tx;
}

static void uds_publish(void *context, void *message)
{
    uds_side *side = context;
    const char *p = message;
    size_t left = side->size;
    while (left > 0) {
        ssize_t n = write(side->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            bench_die("uds write: %s", strerror(errno));
        p += n;
        left -= (size_t)n;
    }
}

/* Blocks in read until a whole message arrived (the socket is the wait). */
static const void *uds_try_take(void *context, unsigned index)
{
    (void)index;
    uds_side *side = context;
    char *p = side->rx;
    size_t left = side->size;
    while (left > 0) {
        ssize_t n = read(side->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            bench_die("uds read: %s", n == 0 ? "peer closed" : strerror(errno));
        p += n;
        left -= (size_t)n;
    }
    return side->rx;
}

static void uds_release(void *context, unsigned index, const void *message)
{
    (void)context;
    (void)index;
    (void)message;
}

/* try_take already blocks; nothing is left to wait for. */
static void uds_wait(void *context) { (void)context; }

static void uds_close(void *context)
{
    uds_side *side = context;
    close(side->fd);
    free(side->tx);
    free(side->rx);
    free(side);
}

static const bench_ops uds_ops = {
    .system = "uds",
    .open = uds_open,
    .loan = uds_loan,
    .publish = uds_publish,
    .try_take = uds_try_take,
    .release = uds_release,
    .wait = uds_wait,
    .close = uds_close,
};

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "cacheline") == 0)
        return word_floor("cacheline", false, strtod(argv[2], NULL));
    if (argc == 3 && strcmp(argv[1], "futex") == 0)
        return word_floor("futex", true, strtod(argv[2], NULL));
    if (argc == 5 && strcmp(argv[1], "latency") == 0) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, uds_fds) != 0)
            bench_die("socketpair: %s", strerror(errno));
        return bench_main(argc, argv, &uds_ops);
    }
    fprintf(stderr,
            "usage: %s cacheline SECONDS | futex SECONDS | latency SIZE blocking SECONDS\n",
            argv[0]);
    return 2;
}
