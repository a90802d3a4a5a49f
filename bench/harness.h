/* The benchmark harness shared by zloan and its peers (iceoryx, Cyclone DDS,
 * a Unix-domain socket).
 *
 * A system plugs in as a table of operations (bench_ops) on endpoints it
 * opens in one process: publishing a message is loan, fill, publish; taking
 * one is try_take (never blocks), read, release. The harness owns everything
 * else, identically for every system: processes (fork, one per side, pinned
 * to different cores), the handshake, the payload fill and checks, clocks,
 * percentiles, and the output lines. So the figures of two systems differ
 * only by what their operations do.
 *
 * Busy-poll and blocking variants differ only in what the receiver does when
 * try_take finds nothing: busy-poll spins (a pause instruction), blocking
 * calls ops->wait, which sleeps until a subscription of the context may have
 * data. A system offers the blocking variant by setting wait.
 *
 * Payload: every message has `size` bytes; with SIZE "mix" (latency only),
 * message n has bench_message_size(config, n) bytes, a pseudo-random size
 * from 1 KiB to 16 MiB spread evenly over the powers of two between, the
 * same in both processes. The sender writes all of them for
 * every message (memset to the sequence number's low byte), then the header
 * below at the start; the receiver reads the header and the last byte and
 * checks both against the sequence number it expects, so no system can skip
 * the work of moving the bytes.
 *
 * Output: one tab-separated line per figure on stdout (see harness.c),
 * which bench/run.sh gathers into the table, the JSON and the plot.
 */
#ifndef ZL_BENCH_HARNESS_H
#define ZL_BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Roles a process plays; open() gets one. */
enum bench_role {
    BENCH_PING,   /* latency: publishes on "ping", takes from "pong" */
    BENCH_PONG,   /* latency: takes from "ping", publishes on "pong" */
    BENCH_SOURCE, /* throughput: publishes on "stream" */
    BENCH_SINK    /* throughput: takes from "stream" with `subscriptions` subscriptions */
};

typedef struct bench_config {
    size_t size;            /* payload bytes, >= sizeof(bench_header); the largest with mix */
    bool mix;               /* sizes vary from message to message (bench_message_size) */
    unsigned subscriptions; /* BENCH_SINK: how many; 1 for the other roles */
    bool blocking;          /* the receiver will call ops->wait */
    /* Throughput: the subscriptions never drop; the source waits for them
     * (zloan ZL_LOSSLESS, iceoryx WAIT_FOR_CONSUMER + BLOCK_PRODUCER). */
    bool lossless;
    const char *tag;        /* unique per run: systems put it in their topic names */
} bench_config;

typedef struct bench_ops {
    const char *system;
    /* Opens the role's endpoints; returns the context, or NULL after printing
     * why to stderr. Called in the process that plays the role. */
    void *(*open)(const bench_config *config, enum bench_role role);
    /* A buffer of size bytes (config->size unless config->mix) for the next
     * message (never NULL: a system that cannot lend exits with a message). */
    void *(*loan)(void *context, size_t size);
    /* Sends what loan gave; the buffer is the system's again. */
    void (*publish)(void *context, void *message);
    /* The oldest message of subscription `index`, or NULL when there is none. */
    const void *(*try_take)(void *context, unsigned index);
    /* Gives back what try_take returned. */
    void (*release)(void *context, unsigned index, const void *message);
    /* Blocks until a subscription of the context may hold a message (false
     * wake-ups are fine). NULL: the system has no blocking variant. */
    void (*wait)(void *context);
    void (*close)(void *context);
} bench_ops;

/* What the sender writes at the start of every payload. */
typedef struct bench_header {
    uint64_t sequence;
    /* Latency: nanoseconds the pong side spent producing its reply (loan and
     * fill), so that the ping side can take it out of the transport figure. */
    uint64_t fill_ns;
} bench_header;

#define BENCH_MIX_MIN 1024u
#define BENCH_MIX_MAX (16u << 20)

/* Bytes of message `sequence`: config->size, or with mix a pseudo-random
 * size from BENCH_MIX_MIN to BENCH_MIX_MAX. */
size_t bench_message_size(const bench_config *config, uint64_t sequence);

/* Sequence numbers with a meaning of their own. */
#define BENCH_SEQUENCE_STOP UINT64_MAX

int64_t bench_now_ns(void);

/* What a busy-polling loop does between two polls. */
static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Pins the calling process to the index-th CPU it may run on (0 or 1). */
void bench_pin(unsigned index);

/* Sorts samples (nanoseconds, n >= 1) and prints their percentiles as a
 * result line: system, variant, size (0: the mix), metric name. */
void bench_print_latency(const char *system, const char *variant, size_t size,
                         const char *metric, double *samples, size_t n);

/* Runs what argv asks for with ops and prints the result lines:
 *   PROGRAM latency SIZE busy|blocking SECONDS
 *   PROGRAM throughput SIZE SUBSCRIPTIONS SECONDS
 *   PROGRAM lossless SIZE SUBSCRIPTIONS SECONDS   (throughput, nothing dropped)
 * Returns the process's exit code. */
int bench_main(int argc, char **argv, const bench_ops *ops);

/* Prints a message to stderr and exits the process with status 3. */
void bench_die(const char *format, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
