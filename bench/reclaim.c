/* How long until a publisher has back what a dead subscription held.
 *
 *   zloan_bench_reclaim [RUNS=200]
 *
 * A publisher of the shared-memory transport lives in this process; the
 * bench drives it through the middleware seam (src/mw.h) because the public
 * zl_publisher_get_stats() runs a liveness check itself, which would hide
 * how long loan and publish alone take to notice a death (the last way
 * below measures exactly that public path). Each run forks a subscription that takes
 * and holds 4 loans while the publisher fills its queue (depth 8), so 12 or
 * more chunks are out. Then the subscription dies (SIGKILL, or exit() without
 * destroying anything) and the publisher goes on in one of these ways:
 *
 *   publish-1kHz    loan + publish every 1 ms
 *   publish-100Hz   loan + publish every 10 ms
 *   idle-loan       no messages: loan + return_loan every 1 ms
 *   idle-update     no messages: zl_publisher_update_connections every 1 ms
 *   exit-1kHz       as publish-1kHz, but the subscription calls exit()
 *   stats-poll      no messages: the public zl_publisher_get_stats every 1 ms
 *
 * The time measured runs from kill() (or from the command that makes the
 * child exit) to the first call after which the publisher's stats show every
 * chunk free again; its resolution is the publisher's call period. Prints
 * median, 90th percentile and worst per way, in milliseconds. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zloan/zloan.h"

#include "small.h"

#include "mw.h"

typedef struct bench_msg {
    uint64_t sequence;
    uint64_t payload[31];
} bench_msg;

static const zl_type bench_type = ZL_TYPE_PLAIN(bench_msg);


static void sleep_until(int64_t when)
{
    struct timespec ts = {when / 1000000000, when % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* The subscription: takes and holds 4 loans, says so, then waits (for death
 * or for a byte that makes it exit() with everything still held). */
static void subscription_child(const char *topic, int ready_fd, int command_fd)
{
    zl_context *context;
    zl_subscription *subscription;
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.depth = 8;
    options.max_loans = 4;
    MUST(zl_context_create(NULL, &context));
    MUST(zl_subscription_create(context, topic, &bench_type, &options, &subscription));
    int held = 0;
    while (held < 4) {
        const void *loan;
        int rc = zl_subscription_take_loan(subscription, &loan, NULL);
        if (rc == 0)
            held++;
        else if (rc != ZL_ENODATA)
            MUST(rc);
        else
            usleep(100);
    }
    char c = 'r';
    if (write(ready_fd, &c, 1) != 1)
        _exit(1);
    if (read(command_fd, &c, 1) == 1)
        exit(0); /* nothing destroyed, loans and queue still held */
    for (;;)
        pause();
}

enum activity { PUBLISH, IDLE_LOAN, IDLE_UPDATE, STATS_POLL };

typedef struct way {
    const char *name;
    enum activity activity;
    int64_t period_ns;
    bool by_exit;
} way;

static const zl__mw_ops *mw = &zl__shm_ops;
static zl_publisher *public_publisher; /* for stats-poll */

static void act(zl__mw_publisher *publisher, enum activity activity, uint64_t *sequence)
{
    void *loan;
    zl__mw_loan_handle handle;
    zl_publisher_stats stats;
    switch (activity) {
    case PUBLISH:
        MUST(mw->publisher_loan(publisher, sizeof(bench_msg), &loan, &handle));
        ((bench_msg *)loan)->sequence = ++*sequence;
        MUST(mw->publisher_publish_loan(publisher, handle, sizeof(bench_msg)));
        break;
    case IDLE_LOAN:
        MUST(mw->publisher_loan(publisher, sizeof(bench_msg), &loan, &handle));
        MUST(mw->publisher_return_loan(publisher, handle));
        break;
    case IDLE_UPDATE:
        MUST(mw->publisher_update_connections(publisher));
        break;
    case STATS_POLL:
        MUST(zl_publisher_get_stats(public_publisher, &stats));
        break;
    }
}

/* The stats of the publisher the way is about, without any side effect. */
static void observe(zl__mw_publisher *publisher, enum activity activity, zl_publisher_stats *stats)
{
    memset(stats, 0, sizeof *stats); /* publisher_stats adds into the fields */
    if (activity == STATS_POLL)
        MUST(zl_publisher_get_stats(public_publisher, stats));
    else
        mw->publisher_stats(publisher, stats);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 200;
    char topic[64];
    snprintf(topic, sizeof topic, "/bench/reclaim_%d", (int)getpid());
    static const way ways[] = {
        {"publish-1kHz", PUBLISH, 1000000, false},
        {"publish-100Hz", PUBLISH, 10000000, false},
        {"idle-loan", IDLE_LOAN, 1000000, false},
        {"idle-update", IDLE_UPDATE, 1000000, false},
        {"exit-1kHz", PUBLISH, 1000000, true},
        {"stats-poll", STATS_POLL, 1000000, false},
    };
    zl_context *context;
    MUST(zl_context_create(NULL, &context));
    /* The same description of the type as the client library makes. */
    zl__mw_publisher_config config;
    memset(&config, 0, sizeof config);
    config.endpoint.topic = topic;
    config.endpoint.allocator = zl_allocator_default();
    config.endpoint.type_name = bench_type.name;
    config.endpoint.type_size = bench_type.size;
    config.endpoint.layout_hash = zl_type_layout_hash(&bench_type);
    config.endpoint.plain = true;
    config.endpoint.payload_size = sizeof(bench_msg);
    config.endpoint.payload_alignment = _Alignof(bench_msg);
    config.endpoint.max_loans = 5;
    config.max_subscriptions = 8;
    config.chunks_per_subscription = 24;
    double *samples = calloc((size_t)runs, sizeof *samples);
    uint64_t sequence = 0;
    printf("%-14s %5s %9s %9s %9s   (ms from the death to a full pool)\n", "way", "runs",
           "median", "p90", "worst");
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
        const way *mode = &ways[w];
        zl__mw_publisher *publisher = NULL;
        if (mode->activity == STATS_POLL) {
            MUST(zl_publisher_create(context, topic, &bench_type, NULL, &public_publisher));
        } else {
            MUST(mw->publisher_create(&config, &publisher));
        }
        for (int run = 0; run < runs; run++) {
            int ready[2], command[2];
            if (pipe(ready) != 0 || pipe(command) != 0)
                return 1;
            pid_t pid = fork();
            if (pid == 0) {
                close(ready[0]);
                close(command[1]);
                subscription_child(topic, ready[1], command[0]);
            }
            close(ready[1]);
            close(command[0]);
            /* Publish until the child holds its loans and its queue is full. */
            char c;
            for (;;) {
                act(publisher, mode->activity == STATS_POLL ? STATS_POLL : PUBLISH, &sequence);
                if (mode->activity == STATS_POLL)
                    zl_publisher_publish(public_publisher, &(bench_msg){.sequence = ++sequence});
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
                fd_set set;
                FD_ZERO(&set);
                FD_SET(ready[0], &set);
                struct timeval tv = {0, 0};
                if (select(ready[0] + 1, &set, NULL, NULL, &tv) == 1)
                    break;
            }
            if (read(ready[0], &c, 1) != 1)
                return 1;
            for (int i = 0; i < 16; i++) {
                if (mode->activity == STATS_POLL)
                    MUST(zl_publisher_publish(public_publisher, &(bench_msg){.sequence = ++sequence}));
                else
                    act(publisher, PUBLISH, &sequence);
            }
            zl_publisher_stats stats;
            observe(publisher, mode->activity, &stats);
            if (stats.chunks_free + 12 > stats.chunks_total) {
                fprintf(stderr, "the subscription holds only %u chunks\n",
                        stats.chunks_total - stats.chunks_free);
                return 1;
            }
            /* Go on for a random 0..60 ms first, so the death falls anywhere
             * in the publisher's 50 ms liveness period. */
            int64_t until = small_now_ns() + (int64_t)(rand() % 60000) * 1000;
            for (int64_t at = small_now_ns(); at < until; at += mode->period_ns) {
                act(publisher, mode->activity, &sequence);
                sleep_until(at + mode->period_ns);
            }
            int64_t start = small_now_ns();
            if (mode->by_exit) {
                if (write(command[1], "x", 1) != 1)
                    return 1;
            } else {
                kill(pid, SIGKILL);
            }
            int64_t next = start;
            for (;;) {
                act(publisher, mode->activity, &sequence);
                observe(publisher, mode->activity, &stats);
                if (stats.chunks_free == stats.chunks_total)
                    break;
                if (small_now_ns() - start > 5000000000LL) {
                    fprintf(stderr, "%s: not reclaimed after 5 s (%u of %u free)\n", mode->name,
                            stats.chunks_free, stats.chunks_total);
                    return 1;
                }
                next += mode->period_ns;
                sleep_until(next);
            }
            samples[run] = (double)(small_now_ns() - start) / 1e6;
            int status;
            waitpid(pid, &status, 0);
            close(ready[0]);
            close(command[1]);
        }
        if (publisher != NULL)
            mw->publisher_destroy(publisher);
        else
            MUST(zl_publisher_destroy(public_publisher));
        qsort(samples, (size_t)runs, sizeof *samples, small_compare_double);
        printf("%-14s %5d %9.2f %9.2f %9.2f\n", mode->name, runs, samples[runs / 2],
               samples[(runs * 9) / 10], samples[runs - 1]);
        fflush(stdout);
    }
    free(samples);
    MUST(zl_context_destroy(context));
    return 0;
}
