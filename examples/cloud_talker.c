/* Publishes point clouds of random sizes, from 1 KiB to 16 MiB (spread
 * evenly over the powers of two between), each a loan of exactly its
 * points (zl_publisher_loan_sized) filled in place. Prints the pool's
 * growth: segments and shared memory, now and at most.
 *
 *   cloud_talker [seconds] [clouds_per_second]     (default 10, 50)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "point_cloud.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    double rate = argc > 2 ? atof(argv[2]) : 50.0;
    zl_context *context;
    zl_publisher *publisher;
    int rc = zl_context_create(NULL, &context);
    if (rc == 0)
        rc = zl_publisher_create(context, POINT_CLOUD_TOPIC, &point_cloud_type, NULL, &publisher);
    if (rc != 0) {
        fprintf(stderr, "cloud_talker: %s: %s\n", zl_strerror(rc), zl_last_error_detail());
        return 1;
    }
    srand((unsigned)time(NULL));
    int64_t start = now_ns(), period = (int64_t)(1e9 / rate), report = start;
    uint64_t scan = 0;
    for (int64_t next = start; next - start < (int64_t)(seconds * 1e9); next += period) {
        size_t count = point_cloud_random_count();
        void *loan;
        rc = zl_publisher_loan_sized(publisher, count, &loan);
        if (rc == 0) {
            point_cloud *cloud = loan;
            cloud->scan = ++scan;
            cloud->seed = ((uint64_t)rand() << 32) ^ (uint64_t)rand();
            for (size_t i = 0; i < count; i++)
                cloud->points[i] = point_cloud_point(cloud->seed, i);
            rc = zl_publisher_publish_loan(publisher, loan);
        }
        if (rc != 0)
            fprintf(stderr, "cloud_talker: scan %llu: %s: %s\n", (unsigned long long)scan,
                    zl_strerror(rc), zl_last_error_detail());
        if (now_ns() >= report) {
            zl_publisher_stats stats;
            zl_publisher_get_stats(publisher, &stats);
            printf("cloud_talker: %llu scans, pool: %u segments, %.1f MB (most %.1f MB, bound "
                   "%.0f MB)\n",
                   (unsigned long long)scan, stats.segments, (double)stats.shm_bytes / 1e6,
                   (double)stats.shm_bytes_high / 1e6, (double)stats.shm_bytes_max / 1e6);
            fflush(stdout);
            report += 1000000000;
        }
        int64_t left = next + period - now_ns();
        if (left > 0) {
            struct timespec pause = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
            nanosleep(&pause, NULL);
        }
    }
    printf("cloud_talker: published %llu scans\n", (unsigned long long)scan);
    zl_publisher_destroy(publisher);
    zl_context_destroy(context);
    return 0;
}
