/* How long a publisher held back by a lossless subscription takes to notice
 * that the subscription was killed.
 *
 *   zloan_bench_lossless_notice [RUNS=50]
 *
 * Each run forks a lossless subscription (depth 2) that never takes; the
 * publisher fills its queue, then publishes once more and blocks (its
 * max_blocking_time is 60 s). A thread of the publisher's process kills the
 * subscription with SIGKILL after a random 10-50 ms (so the kill falls at
 * any phase of the liveness monitor's period). The time measured runs from
 * kill() to the blocked publish's return. Prints median, 90th percentile and
 * worst, in milliseconds. Run it with ZLOAN_LIVENESS_PERIOD_MS=0 to measure
 * the publisher's own lock tests instead of the monitor. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zloan/zloan.h"

typedef struct bench_msg {
    uint64_t sequence;
} bench_msg;

static const zl_type bench_msg_type = ZL_TYPE_PLAIN(bench_msg);

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, zl_strerror(rc), zl_last_error_detail());
        exit(1);
    }
}

typedef struct killer {
    pid_t pid;
    long delay_ms;
    int64_t killed_at;
} killer;

static void *kill_later(void *arg)
{
    killer *k = arg;
    struct timespec delay = {0, k->delay_ms * 1000000L};
    nanosleep(&delay, NULL);
    k->killed_at = now_ns();
    kill(k->pid, SIGKILL);
    return NULL;
}

static void subscriber(const char *topic, int ready_fd)
{
    zl_context *context;
    check(zl_context_create(NULL, &context), "zl_context_create");
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.depth = 2;
    options.reliability = ZL_LOSSLESS;
    zl_subscription *sub;
    check(zl_subscription_create(context, topic, &bench_msg_type, &options, &sub),
          "zl_subscription_create");
    if (write(ready_fd, "r", 1) != 1)
        _exit(1);
    for (;;)
        pause();
}

static void publish(zl_publisher *pub, uint64_t sequence)
{
    void *loan;
    check(zl_publisher_loan(pub, &loan), "zl_publisher_loan");
    ((bench_msg *)loan)->sequence = sequence;
    check(zl_publisher_publish_loan(pub, loan), "zl_publisher_publish_loan");
}

static double one_run(int run)
{
    char topic[64];
    snprintf(topic, sizeof topic, "/zloan_bench/notice_%d_%d", (int)getpid(), run);
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        subscriber(topic, fds[1]);
    }
    close(fds[1]);
    char byte;
    if (read(fds[0], &byte, 1) != 1)
        exit(1);
    close(fds[0]);
    zl_context *context;
    check(zl_context_create(NULL, &context), "zl_context_create");
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    options.max_blocking_time_ns = 60 * 1000000000LL;
    zl_publisher *pub;
    check(zl_publisher_create(context, topic, &bench_msg_type, &options, &pub),
          "zl_publisher_create");
    publish(pub, 1);
    publish(pub, 2);
    killer k = {child, 10 + rand() % 41, 0};
    pthread_t thread;
    pthread_create(&thread, NULL, kill_later, &k);
    publish(pub, 3); /* blocks until the death is noticed */
    int64_t returned_at = now_ns();
    pthread_join(thread, NULL);
    waitpid(child, NULL, 0);
    check(zl_publisher_destroy(pub), "zl_publisher_destroy");
    check(zl_context_destroy(context), "zl_context_destroy");
    return (double)(returned_at - k.killed_at) / 1e6;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 50;
    if (runs < 1 || runs > 10000) {
        fprintf(stderr, "usage: %s [RUNS=50]\n", argv[0]);
        return 2;
    }
    srand((unsigned)getpid());
    double *ms = calloc((size_t)runs, sizeof *ms);
    if (ms == NULL)
        return 1;
    for (int i = 0; i < runs; i++)
        ms[i] = one_run(i);
    qsort(ms, (size_t)runs, sizeof *ms, compare);
    const char *period = getenv("ZLOAN_LIVENESS_PERIOD_MS");
    printf("lossless subscription killed -> blocked publish returns (%d runs, liveness period %s "
           "ms): median %.1f ms, p90 %.1f ms, worst %.1f ms\n",
           runs, period != NULL ? period : "20 (default)", ms[runs / 2], ms[runs * 9 / 10],
           ms[runs - 1]);
    free(ms);
    return 0;
}
