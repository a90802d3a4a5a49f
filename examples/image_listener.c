/* Receives 4 MiB frames as loans (read in place, in the talker's shared
 * memory), sleeping in a wait set between frames, checks them, and prints
 * how many arrived, how many were lost and the median one-way latency.
 *
 *   image_listener [seconds]     (default 5; stops early 1 s after the
 *                                 talker's last frame)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "image.h"

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5.0;
    zl_context *context;
    zl_subscription *subscription;
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.depth = 2;
    options.max_loans = 2;
    zl_context_options context_options;
    zl_context_options_init(&context_options);
    context_options.name = "viewer"; /* shown by the zloan tool */
    int rc = zl_context_create(&context_options, &context);
    if (rc == 0)
        rc = zl_subscription_create(context, IMAGE_TOPIC, &image_type, &options, &subscription);
    if (rc != 0) {
        fprintf(stderr, "image_listener: %s: %s\n", zl_strerror(rc), zl_last_error_detail());
        return 1;
    }
    zl_waitset *waitset;
    rc = zl_waitset_create(context, 1, &waitset);
    if (rc == 0)
        rc = zl_waitset_attach_subscription(waitset, subscription, NULL);
    if (rc != 0) {
        fprintf(stderr, "image_listener: %s: %s\n", zl_strerror(rc), zl_last_error_detail());
        return 1;
    }
    printf("image_listener: listening on %s (zero copy: %s)\n", IMAGE_TOPIC,
           zl_subscription_can_loan(subscription) ? "yes" : "no");
    fflush(stdout);
    static int64_t latency[100000];
    long received = 0, corrupt = 0;
    int64_t start = now_ns(CLOCK_MONOTONIC), last_frame = 0;
    while (now_ns(CLOCK_MONOTONIC) - start < (int64_t)(seconds * 1e9)) {
        const void *loan;
        zl_message_info info;
        rc = zl_subscription_take_loan(subscription, &loan, &info);
        if (rc == ZL_ENODATA) {
            if (received > 0 && now_ns(CLOCK_MONOTONIC) - last_frame > 1000000000)
                break; /* the talker is done */
            /* Sleep until the talker publishes (it wakes us), at most 100 ms. */
            zl_waitset_wait(waitset, 100000000, NULL);
            continue;
        }
        if (rc != 0) {
            fprintf(stderr, "image_listener: take: %s\n", zl_strerror(rc));
            break;
        }
        int64_t arrived = now_ns(CLOCK_REALTIME);
        last_frame = now_ns(CLOCK_MONOTONIC);
        const image *img = loan;
        /* Read the frame in place: first and last pixel tell a torn frame. */
        uint32_t last = IMAGE_WIDTH * IMAGE_HEIGHT - 1;
        if (img->pixels[0] != (uint32_t)img->frame || img->pixels[last] != (uint32_t)img->frame + last)
            corrupt++;
        if (received < (long)(sizeof latency / sizeof latency[0]))
            latency[received] = arrived - info.source_timestamp_ns;
        received++;
        zl_subscription_return_loan(subscription, loan);
    }
    zl_subscription_stats stats;
    zl_subscription_get_stats(subscription, &stats);
    long n = received < (long)(sizeof latency / sizeof latency[0]) ? received : 100000;
    qsort(latency, (size_t)n, sizeof latency[0], compare);
    printf("image_listener: received %ld frames, lost %llu, corrupt %ld, median one-way latency "
           "%.1f us (publish to take, 4 MiB, zero copy)\n",
           received, (unsigned long long)stats.lost, corrupt,
           n ? (double)latency[n / 2] / 1000.0 : 0.0);
    zl_waitset_destroy(waitset);
    zl_subscription_destroy(subscription);
    zl_context_destroy(context);
    return corrupt == 0 ? 0 : 1;
}
