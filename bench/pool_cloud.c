/* Shared memory a pool reserves against the bytes in flight, for the cloud
 * example's mix (examples/cloud_talker.c: clouds of 1 KiB to 16 MiB, spread
 * evenly over the powers of two between, 50 a second by default) with a
 * listener that holds each cloud until the next one arrives. Each step
 * samples the pool's reserved bytes (get_stats) and the bytes in flight
 * (the cloud held and the one just taken) and prints the means and peaks:
 *
 *   zloan_bench_pool_cloud [seconds] [clouds_per_second] [seed]   (10, 50, 1)
 *
 * One process, default options, seeded sizes: runs of two builds compare
 * (build it against each one's libzloan.a). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "point_cloud.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "pool_cloud: %s: %s: %s\n", what, zl_strerror(rc), zl_last_error_detail());
    return 1;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    double rate = argc > 2 ? atof(argv[2]) : 50.0;
    unsigned seed = argc > 3 ? (unsigned)atoi(argv[3]) : 1u;
    char topic[64];
    snprintf(topic, sizeof topic, "/bench/pool_cloud_%d", (int)getpid());
    zl_context *context;
    zl_publisher *publisher;
    zl_subscription *subscription;
    int rc = zl_context_create(NULL, &context);
    if (rc != 0)
        return fail("context", rc);
    rc = zl_subscription_create(context, topic, &point_cloud_type, NULL, &subscription);
    if (rc != 0)
        return fail("subscription", rc);
    rc = zl_publisher_create(context, topic, &point_cloud_type, NULL, &publisher);
    if (rc != 0)
        return fail("publisher", rc);
    srand(seed);
    const void *held = NULL;
    size_t held_bytes = 0;
    double reserved_sum = 0, flight_sum = 0;
    uint64_t flight_peak = 0, steps = 0;
    int64_t start = now_ns(), period = (int64_t)(1e9 / rate);
    for (int64_t next = start; next - start < (int64_t)(seconds * 1e9); next += period) {
        size_t count = point_cloud_random_count(); /* as cloud_talker */
        void *loan;
        rc = zl_publisher_loan_sized(publisher, count, &loan);
        if (rc != 0)
            return fail("loan", rc);
        ((point_cloud *)loan)->scan = steps;
        rc = zl_publisher_publish_loan(publisher, loan);
        if (rc != 0)
            return fail("publish", rc);
        const void *taken;
        zl_message_info info;
        rc = zl_subscription_take_loan(subscription, &taken, &info);
        if (rc != 0)
            return fail("take", rc);
        zl_publisher_stats stats;
        zl_publisher_get_stats(publisher, &stats);
        uint64_t flight = held_bytes + info.size;
        reserved_sum += (double)stats.shm_bytes;
        flight_sum += (double)flight;
        flight_peak = flight > flight_peak ? flight : flight_peak;
        steps++;
        if (held != NULL)
            zl_subscription_return_loan(subscription, held);
        held = taken;
        held_bytes = info.size;
        int64_t left = next + period - now_ns();
        if (left > 0) {
            struct timespec pause = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
            nanosleep(&pause, NULL);
        }
    }
    zl_publisher_stats stats;
    zl_publisher_get_stats(publisher, &stats);
    printf("steps %llu, growths %llu\n", (unsigned long long)steps,
           (unsigned long long)stats.growths);
    printf("mean: reserved %.1f MB, in flight %.1f MB, reserved / in flight %.2f\n",
           reserved_sum / (double)steps / 1e6, flight_sum / (double)steps / 1e6,
           reserved_sum / flight_sum);
    printf("peak: reserved %.1f MB, in flight %.1f MB, reserved / in flight %.2f\n",
           (double)stats.shm_bytes_high / 1e6, (double)flight_peak / 1e6,
           (double)stats.shm_bytes_high / (double)flight_peak);
    if (held != NULL)
        zl_subscription_return_loan(subscription, held);
    zl_subscription_destroy(subscription);
    zl_publisher_destroy(publisher);
    zl_context_destroy(context);
    return 0;
}
