/* The benchmark harness: processes, handshake, payload, clocks, statistics.
 * See harness.h for what a system provides.
 *
 * Result lines (tab-separated, on stdout):
 *   latency  SYSTEM VARIANT SIZE METRIC N P50 P90 P99 P99.9 MAX P10 MIN   (one-way ns;
 *            P10 and MIN last, so that readers of the first eleven fields
 *            keep working)
 *   throughput SYSTEM VARIANT SIZE SUBSCRIPTIONS RECEIVED/S PUBLISHED/S LOST
 *   rate SYSTEM VARIANT SIZE SUBSCRIPTIONS N P10 P50 P90   (received/s per slice)
 *
 * Latency. The ping process (first CPU) and the pong process (second CPU)
 * exchange messages of the same size. Per round, ping reads the clock (t0),
 * loans and fills a message, reads the clock (t1), publishes, and waits for
 * the reply (t2). Pong, on receipt, checks the message, releases it, loans
 * and fills its reply, measuring how long that took (f), and writes f into
 * the reply's header. One-way figures are halves of round trips:
 *   end to end = (t2 - t0) / 2            (both fills included)
 *   transport  = (t2 - t1 - f) / 2        (clock read after each fill)
 * Two settings of the latency rounds isolate what a large message's
 * transport figure holds besides the transport (bench/RESULTS.md, "Flat in
 * size: huge pages"), and name the variant of their result lines:
 *   ZLOAN_BENCH_FILL=stream    fill past the first 4 KiB with non-temporal
 *                              stores (x86 SSE2; elsewhere memset), which
 *                              leave the caches as they were: variant
 *                              busy-stream
 *   ZLOAN_BENCH_PACE_NS=N      each side, after filling, waits until N ns
 *                              have passed since its t0 (inside the fill
 *                              time, so out of the transport figure): a
 *                              small message's round as long as a large
 *                              one's, the receiver polling as long: busy-paced
 *
 * Throughput. The source (first CPU) publishes as fast as it can for the
 * whole window; the sink (second CPU) polls its subscriptions round-robin.
 * The window opens when every subscription has received a message and lasts
 * the given seconds by the sink's clock. Received/s is the smallest count of
 * any subscription over the window; published/s comes from the sequence
 * numbers seen (the source numbers every message), so the two together show
 * how much keep-last dropped. The window is also cut into slices of
 * SLICE_NS; the rate line gives percentiles of the received/s of the
 * slices (the slowest subscription's count again), so that one run shows
 * how steady the stream was, not only its mean. The lossless variant is the same with
 * subscriptions that never drop (the source waits for them): the sink fails
 * on any gap in the sequence numbers, so received/s == published/s.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "harness.h"

#define MAX_SAMPLES 200000u
#define MIN_SAMPLES 50u
#define WARMUP_ROUNDS 50u
#define HANDSHAKE_TIMEOUT_NS (20LL * 1000000000)
#define SLICE_NS 100000000LL /* throughput: 100 ms */
#define MAX_SLICES 1024u

void bench_die(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fprintf(stderr, "bench [%d]: ", (int)getpid());
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(3);
}

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_pin(unsigned index)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        bench_die("sched_getaffinity: %s", strerror(errno));
    unsigned seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        if (seen++ == index) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            if (sched_setaffinity(0, sizeof one, &one) != 0)
                bench_die("sched_setaffinity(%d): %s", cpu, strerror(errno));
            return;
        }
    }
    bench_die("fewer than %u CPUs available", index + 1);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double p)
{
    /* Nearest rank: the smallest sample with at least p of them at or below. */
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank == 0)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

void bench_print_latency(const char *system, const char *variant, size_t size,
                         const char *metric, double *samples, size_t n)
{
    qsort(samples, n, sizeof *samples, compare_double);
    printf("latency\t%s\t%s\t%zu\t%s\t%zu\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n", system,
           variant, size, metric, n, percentile(samples, n, 50), percentile(samples, n, 90),
           percentile(samples, n, 99), percentile(samples, n, 99.9), samples[n - 1],
           percentile(samples, n, 10), samples[0]);
    fflush(stdout);
}

/* ---- payload ---------------------------------------------------------- */

/* ZLOAN_BENCH_FILL=stream and ZLOAN_BENCH_PACE_NS (the top of this file),
 * read once by bench_main before fork. */
static bool fill_stream;
static int64_t pace_ns;

/* Bytes a streaming fill writes with memset first: the header and what a
 * small message has, which the receiver reads and which then stays cached
 * (a non-temporal store evicts its line), so that a small message's figure
 * is the same with either fill. */
#define FILL_CACHED_BYTES 4096u

/* memset with non-temporal stores past FILL_CACHED_BYTES: those lines go to
 * memory without displacing what the caches hold. */
static void fill_bytes_stream(uint8_t *bytes, size_t size, uint8_t value)
{
#if defined(__SSE2__)
    size_t head = FILL_CACHED_BYTES + (size_t)(-(uintptr_t)(bytes + FILL_CACHED_BYTES) & 15u);
    if (head > size)
        head = size;
    memset(bytes, value, head);
    __m128i v = _mm_set1_epi8((char)value);
    size_t i = head;
    for (; i + 16 <= size; i += 16)
        _mm_stream_si128((__m128i *)(void *)(bytes + i), v);
    memset(bytes + i, value, size - i);
    _mm_sfence(); /* the streamed lines visible before the publish that follows */
#else
    memset(bytes, value, size);
#endif
}

static void fill(void *message, size_t size, uint64_t sequence)
{
    if (fill_stream)
        fill_bytes_stream(message, size, (uint8_t)(sequence & 0xff));
    else
        memset(message, (int)(sequence & 0xff), size);
    bench_header header = {.sequence = sequence, .fill_ns = 0};
    memcpy(message, &header, sizeof header);
}

/* Reads the header and the last byte; dies when they disagree. */
static bench_header check(const void *message, const bench_config *config)
{
    bench_header header;
    memcpy(&header, message, sizeof header);
    size_t size = bench_message_size(config, header.sequence);
    uint8_t last = ((const volatile uint8_t *)message)[size - 1];
    if (header.sequence != BENCH_SEQUENCE_STOP && last != (uint8_t)(header.sequence & 0xff))
        bench_die("message %llu of %zu bytes: last byte %u, expected %u",
                  (unsigned long long)header.sequence, size, last,
                  (unsigned)(header.sequence & 0xff));
    return header;
}

/* Takes the next message of subscription index, waiting as the variant says. */
static const void *take(const bench_ops *ops, void *context, unsigned index, bool blocking)
{
    for (;;) {
        const void *message = ops->try_take(context, index);
        if (message != NULL)
            return message;
        if (blocking)
            ops->wait(context);
        else
            bench_relax();
    }
}

/* Like take, but gives up after timeout_ns (busy-polling with short sleeps:
 * used only while peers discover each other). */
static const void *take_within(const bench_ops *ops, void *context, unsigned index,
                               int64_t timeout_ns)
{
    int64_t end = bench_now_ns() + timeout_ns;
    for (;;) {
        const void *message = ops->try_take(context, index);
        if (message != NULL)
            return message;
        if (bench_now_ns() >= end)
            return NULL;
        struct timespec pause = {0, 50000};
        nanosleep(&pause, NULL);
    }
}

/* ---- latency ---------------------------------------------------------- */

size_t bench_message_size(const bench_config *config, uint64_t sequence)
{
    if (!config->mix)
        return config->size;
    uint64_t x = sequence * 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    unsigned octaves = 0;
    while (((size_t)BENCH_MIX_MIN << (octaves + 1)) <= BENCH_MIX_MAX)
        octaves++;
    size_t low = (size_t)BENCH_MIX_MIN << (x % (octaves + 1));
    size_t size = low + (size_t)((x >> 8) % low);
    return size > BENCH_MIX_MAX ? BENCH_MIX_MAX : size;
}

static void publish_filled(const bench_ops *ops, void *context, const bench_config *config,
                           uint64_t sequence)
{
    size_t size = bench_message_size(config, sequence);
    void *message = ops->loan(context, size);
    fill(message, size, sequence);
    ops->publish(context, message);
}

/* ZLOAN_BENCH_PACE_NS: waits until pace_ns have passed since t0. */
static void pace(int64_t t0)
{
    while (pace_ns > 0 && bench_now_ns() - t0 < pace_ns)
        bench_relax();
}

static int run_pong(const bench_ops *ops, const bench_config *config)
{
    void *context = ops->open(config, BENCH_PONG);
    if (context == NULL)
        return 3;
    for (;;) {
        const void *message = take(ops, context, 0, config->blocking);
        bench_header header = check(message, config);
        ops->release(context, 0, message);
        if (header.sequence == BENCH_SEQUENCE_STOP)
            break;
        int64_t t0 = bench_now_ns();
        size_t size = bench_message_size(config, header.sequence);
        void *reply = ops->loan(context, size);
        fill(reply, size, header.sequence);
        pace(t0);
        int64_t t1 = bench_now_ns();
        bench_header stamped = {.sequence = header.sequence, .fill_ns = (uint64_t)(t1 - t0)};
        memcpy(reply, &stamped, sizeof stamped);
        ops->publish(context, reply);
    }
    ops->close(context);
    return 0;
}

/* Waits for the reply to `sequence`, dropping older ones (left over from the
 * handshake). Returns the pong side's fill time. */
static uint64_t await_reply(const bench_ops *ops, void *context, const bench_config *config,
                            uint64_t sequence)
{
    for (;;) {
        const void *message = take(ops, context, 0, config->blocking);
        bench_header header = check(message, config);
        ops->release(context, 0, message);
        if (header.sequence == sequence)
            return header.fill_ns;
        if (header.sequence > sequence)
            bench_die("reply %llu while waiting for %llu", (unsigned long long)header.sequence,
                      (unsigned long long)sequence);
    }
}

static int wait_child(pid_t child);

/* The pong process is `child`: ping waits for it to exit before it closes
 * its own endpoints, so the stop message is never withdrawn under it. */
static int run_ping(const bench_ops *ops, const bench_config *config, double seconds, pid_t child)
{
    void *context = ops->open(config, BENCH_PING);
    if (context == NULL)
        return 3;
    /* Handshake: send numbered hellos until one comes back, so that both
     * sides are connected before anything is measured. */
    uint64_t sequence = 0;
    int64_t give_up = bench_now_ns() + HANDSHAKE_TIMEOUT_NS;
    for (;;) {
        publish_filled(ops, context, config, ++sequence);
        const void *message = take_within(ops, context, 0, 20000000);
        if (message != NULL) {
            bench_header header = check(message, config);
            ops->release(context, 0, message);
            if (header.sequence <= sequence)
                break;
        }
        if (bench_now_ns() > give_up)
            bench_die("%s: no reply from the pong process within %lld s", ops->system,
                      HANDSHAKE_TIMEOUT_NS / 1000000000);
    }
    double *e2e = malloc(sizeof(double) * MAX_SAMPLES);
    double *transport = malloc(sizeof(double) * MAX_SAMPLES);
    if (e2e == NULL || transport == NULL)
        bench_die("out of memory");
    size_t n = 0;
    int64_t budget_ns = (int64_t)(seconds * 1e9);
    int64_t start = 0;
    for (unsigned round = 0;; round++) {
        if (round == WARMUP_ROUNDS)
            start = bench_now_ns();
        ++sequence;
        int64_t t0 = bench_now_ns();
        size_t size = bench_message_size(config, sequence);
        void *message = ops->loan(context, size);
        fill(message, size, sequence);
        pace(t0);
        int64_t t1 = bench_now_ns();
        ops->publish(context, message);
        uint64_t pong_fill = await_reply(ops, context, config, sequence);
        int64_t t2 = bench_now_ns();
        if (round < WARMUP_ROUNDS)
            continue;
        e2e[n] = (double)(t2 - t0) / 2.0;
        transport[n] = ((double)(t2 - t1) - (double)pong_fill) / 2.0;
        n++;
        if (n == MAX_SAMPLES || (t2 - start >= budget_ns && n >= MIN_SAMPLES))
            break;
    }
    publish_filled(ops, context, config, BENCH_SEQUENCE_STOP);
    int child_rc = wait_child(child);
    ops->close(context);
    char variant[32];
    snprintf(variant, sizeof variant, "%s%s%s", config->blocking ? "blocking" : "busy",
             fill_stream ? "-stream" : "", pace_ns > 0 ? "-paced" : "");
    size_t shown = config->mix ? 0 : config->size;
    bench_print_latency(ops->system, variant, shown, "e2e", e2e, n);
    bench_print_latency(ops->system, variant, shown, "transport", transport, n);
    free(e2e);
    free(transport);
    return child_rc;
}

/* ---- throughput ------------------------------------------------------- */

/* Shared between source and sink (anonymous shared mapping made before fork). */
typedef struct control {
    atomic_int stop; /* the sink's window is over */
} control;

static int run_source(const bench_ops *ops, const bench_config *config, control *ctl)
{
    void *context = ops->open(config, BENCH_SOURCE);
    if (context == NULL)
        return 3;
    uint64_t sequence = 0;
    /* Relaxed: a flag polled every 64 messages; nothing else is published
     * through it. */
    while (atomic_load_explicit(&ctl->stop, memory_order_relaxed) == 0)
        for (unsigned k = 0; k < 64; k++)
            publish_filled(ops, context, config, ++sequence);
    ops->close(context);
    return 0;
}

/* The smallest of the subscriptions' counts. */
static uint64_t slowest_count(const uint64_t *count, unsigned subs)
{
    uint64_t slowest = UINT64_MAX;
    for (unsigned i = 0; i < subs; i++)
        if (count[i] < slowest)
            slowest = count[i];
    return slowest;
}

/* The rate line: percentiles of the slices' received/s (sorts rates). */
static void print_rates(const char *system, const bench_config *config, double *rates,
                        unsigned n)
{
    qsort(rates, n, sizeof *rates, compare_double);
    printf("rate\t%s\t%s\t%zu\t%u\t%u\t%.0f\t%.0f\t%.0f\n", system,
           config->lossless ? "lossless" : "busy", config->size, config->subscriptions, n,
           percentile(rates, n, 10), percentile(rates, n, 50), percentile(rates, n, 90));
}

static int run_sink(const bench_ops *ops, const bench_config *config, control *ctl,
                    double seconds)
{
    void *context = ops->open(config, BENCH_SINK);
    if (context == NULL) {
        atomic_store_explicit(&ctl->stop, 1, memory_order_relaxed);
        return 3;
    }
    unsigned subs = config->subscriptions;
    uint64_t last[16] = {0}, first[16] = {0}, count[16] = {0};
    bool started = false;
    unsigned seen = 0;
    int64_t start = 0, give_up = bench_now_ns() + HANDSHAKE_TIMEOUT_NS;
    int64_t budget_ns = (int64_t)(seconds * 1e9);
    /* Received/s of each slice of the window; slice_end is when the next
     * one closes, slice_count the slowest count when the last one did. */
    double slice_rates[MAX_SLICES];
    unsigned slices = 0;
    int64_t slice_end = 0, slice_start = 0;
    uint64_t slice_count = 0;
    for (uint64_t polls = 0;; polls++) {
        for (unsigned i = 0; i < subs; i++) {
            const void *message = ops->try_take(context, i);
            if (message == NULL)
                continue;
            bench_header header = check(message, config);
            ops->release(context, i, message);
            if (header.sequence <= last[i] ||
                (config->lossless && last[i] != 0 && header.sequence != last[i] + 1))
                bench_die("subscription %u: sequence %llu after %llu", i,
                          (unsigned long long)header.sequence, (unsigned long long)last[i]);
            if (last[i] == 0)
                seen++;
            last[i] = header.sequence;
            count[i]++;
            if (!started && seen == subs) {
                started = true;
                start = bench_now_ns();
                slice_start = start;
                slice_end = start + SLICE_NS;
                for (unsigned k = 0; k < subs; k++) {
                    first[k] = last[k];
                    count[k] = 0;
                }
            }
        }
        if ((polls & 255) == 0) {
            int64_t now = bench_now_ns();
            if (started && now >= slice_end && slices < MAX_SLICES) {
                uint64_t slowest = slowest_count(count, subs);
                slice_rates[slices++] =
                    (double)(slowest - slice_count) * 1e9 / (double)(now - slice_start);
                slice_count = slowest;
                slice_start = now;
                slice_end = now + SLICE_NS;
            }
            if (started && now - start >= budget_ns)
                break;
            if (!started && now > give_up) {
                atomic_store_explicit(&ctl->stop, 1, memory_order_relaxed);
                bench_die("%s: no messages on all %u subscriptions within %lld s", ops->system,
                          subs, HANDSHAKE_TIMEOUT_NS / 1000000000);
            }
        }
    }
    double elapsed = (double)(bench_now_ns() - start) / 1e9;
    atomic_store_explicit(&ctl->stop, 1, memory_order_relaxed);
    uint64_t received = UINT64_MAX, published = 0, lost = 0;
    for (unsigned i = 0; i < subs; i++) {
        if (count[i] < received)
            received = count[i];
        uint64_t span = last[i] - first[i];
        if (span > published)
            published = span;
        lost += span - count[i];
    }
    printf("throughput\t%s\t%s\t%zu\t%u\t%.0f\t%.0f\t%llu\n", ops->system,
           config->lossless ? "lossless" : "busy", config->size, subs,
           (double)received / elapsed, (double)published / elapsed, (unsigned long long)lost);
    if (slices > 0)
        print_rates(ops->system, config, slice_rates, slices);
    fflush(stdout);
    ops->close(context);
    return 0;
}

/* ---- processes -------------------------------------------------------- */

static int wait_child(pid_t child)
{
    int status = 0;
    for (int i = 0; i < 1000; i++) {
        pid_t r = waitpid(child, &status, WNOHANG);
        if (r == child)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    fprintf(stderr, "bench: child %d did not exit; killing it\n", (int)child);
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    return 4;
}

static int usage(const char *program)
{
    fprintf(stderr,
            "usage: %s latency SIZE|mix busy|blocking SECONDS\n"
            "       %s throughput|lossless SIZE SUBSCRIPTIONS SECONDS\n",
            program, program);
    return 2;
}

int bench_main(int argc, char **argv, const bench_ops *ops)
{
    if (argc != 5)
        return usage(argv[0]);
    bool latency = strcmp(argv[1], "latency") == 0;
    bool lossless = strcmp(argv[1], "lossless") == 0;
    if (!latency && !lossless && strcmp(argv[1], "throughput") != 0)
        return usage(argv[0]);
    static char tag[64];
    snprintf(tag, sizeof tag, "b%d", (int)getpid());
    bench_config config = {
        .size = strtoul(argv[2], NULL, 10), .subscriptions = 1, .lossless = lossless, .tag = tag};
    if (latency && strcmp(argv[2], "mix") == 0) {
        config.mix = true;
        config.size = BENCH_MIX_MAX;
    }
    const char *fill_mode = getenv("ZLOAN_BENCH_FILL");
    fill_stream = fill_mode != NULL && strcmp(fill_mode, "stream") == 0;
    const char *pace_text = getenv("ZLOAN_BENCH_PACE_NS");
    pace_ns = pace_text != NULL ? strtoll(pace_text, NULL, 10) : 0;
    double seconds = strtod(argv[4], NULL);
    if (config.size < sizeof(bench_header) || !(seconds > 0))
        return usage(argv[0]);
    if (latency) {
        config.blocking = strcmp(argv[3], "blocking") == 0;
        if (!config.blocking && strcmp(argv[3], "busy") != 0)
            return usage(argv[0]);
        if (config.blocking && ops->wait == NULL) {
            fprintf(stderr, "%s has no blocking variant\n", ops->system);
            return 2;
        }
    } else {
        config.subscriptions = (unsigned)strtoul(argv[3], NULL, 10);
        if (config.subscriptions < 1 || config.subscriptions > 16)
            return usage(argv[0]);
    }
    /* A stuck peer must not stall the whole benchmark run. */
    unsigned limit = (unsigned)seconds * 4 + 60;
    control *ctl = mmap(NULL, sizeof(control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                        -1, 0);
    if (ctl == MAP_FAILED)
        bench_die("mmap: %s", strerror(errno));
    atomic_init(&ctl->stop, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        bench_die("fork: %s", strerror(errno));
    if (child == 0) {
        alarm(limit);
        bench_pin(1);
        int child_rc = latency ? run_pong(ops, &config) : run_sink(ops, &config, ctl, seconds);
        if (ops->child_exits_normally)
            exit(child_rc); /* stdout was flushed before fork: nothing is written twice */
        _exit(child_rc);
    }
    alarm(limit);
    bench_pin(0);
    if (latency)
        return run_ping(ops, &config, seconds, child);
    int rc = run_source(ops, &config, ctl);
    int child_rc = wait_child(child);
    return rc != 0 ? rc : child_rc;
}
