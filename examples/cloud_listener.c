/* Receives the cloud talker's point clouds as loans and checks every
 * point of every cloud against its seed.
 *
 *   cloud_listener [seconds]     (default 10; stops early 1 s after the
 *                                 talker's last cloud)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "point_cloud.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int intact(const point_cloud *cloud, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        point expected = point_cloud_point(cloud->seed, i);
        if (memcmp(&cloud->points[i], &expected, sizeof expected) != 0)
            return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    zl_context *context;
    zl_subscription *subscription;
    zl_waitset *waitset;
    int rc = zl_context_create(NULL, &context);
    if (rc == 0)
        rc = zl_subscription_create(context, POINT_CLOUD_TOPIC, &point_cloud_type, NULL,
                                    &subscription);
    if (rc == 0)
        rc = zl_waitset_create(context, 1, &waitset);
    if (rc == 0)
        rc = zl_waitset_attach_subscription(waitset, subscription, NULL);
    if (rc != 0) {
        fprintf(stderr, "cloud_listener: %s: %s\n", zl_strerror(rc), zl_last_error_detail());
        return 1;
    }
    long received = 0, corrupt = 0;
    size_t smallest = (size_t)-1, largest = 0;
    int64_t start = now_ns(), last = 0;
    while (now_ns() - start < (int64_t)(seconds * 1e9)) {
        const void *loan;
        zl_message_info info;
        rc = zl_subscription_take_loan(subscription, &loan, &info);
        if (rc == ZL_ENODATA) {
            if (received > 0 && now_ns() - last > 1000000000)
                break;
            zl_waitset_wait(waitset, 100000000, NULL);
            continue;
        }
        if (rc != 0) {
            fprintf(stderr, "cloud_listener: take: %s\n", zl_strerror(rc));
            corrupt++;
            continue;
        }
        last = now_ns();
        received++;
        corrupt += !intact(loan, info.count);
        smallest = info.size < smallest ? info.size : smallest;
        largest = info.size > largest ? info.size : largest;
        zl_subscription_return_loan(subscription, loan);
    }
    zl_subscription_stats stats;
    zl_subscription_get_stats(subscription, &stats);
    printf("cloud_listener: received %ld clouds of %zu to %zu bytes, lost %llu, corrupt %ld\n",
           received, received ? smallest : 0, largest, (unsigned long long)stats.lost, corrupt);
    zl_waitset_destroy(waitset);
    zl_subscription_destroy(subscription);
    zl_context_destroy(context);
    return corrupt == 0 && received > 0 ? 0 : 1;
}
