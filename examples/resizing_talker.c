/* Publishes rgb8 images whose resolution changes every second, from
 * 320×240 up to 3840×2160 and back: each frame is a loan of exactly the
 * bytes it needs (zl_publisher_loan_sized), filled in place. The pool
 * grows by a segment for each new size and gives back what stays unused;
 * the talker prints what it holds at each change.
 *
 *   resizing_talker [seconds] [frames_per_second]     (default 10, 30)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rgb_image.h"

static const struct {
    uint32_t width, height;
} resolutions[] = {{320, 240}, {640, 480}, {1280, 720}, {1920, 1080}, {3840, 2160},
                   {1920, 1080}, {1280, 720}, {640, 480}};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    double fps = argc > 2 ? atof(argv[2]) : 30.0;
    zl_context *context;
    zl_publisher *publisher;
    int rc = zl_context_create(NULL, &context);
    if (rc == 0)
        rc = zl_publisher_create(context, RGB_IMAGE_TOPIC, &rgb_image_type, NULL, &publisher);
    if (rc != 0) {
        fprintf(stderr, "resizing_talker: %s: %s\n", zl_strerror(rc), zl_last_error_detail());
        return 1;
    }
    int64_t start = now_ns(), period = (int64_t)(1e9 / fps);
    size_t shown = (size_t)-1;
    uint64_t frame = 0;
    for (int64_t next = start; next - start < (int64_t)(seconds * 1e9); next += period) {
        size_t which = (size_t)((next - start) / 1000000000) % (sizeof resolutions / sizeof resolutions[0]);
        uint32_t width = resolutions[which].width, height = resolutions[which].height;
        size_t bytes = (size_t)width * height * 3;
        void *loan;
        rc = zl_publisher_loan_sized(publisher, bytes, &loan);
        if (rc == 0) {
            rgb_image *img = loan;
            img->frame = ++frame;
            img->width = width;
            img->height = height;
            for (size_t i = 0; i < bytes; i++)
                img->data[i] = rgb_image_byte(frame, i);
            rc = zl_publisher_publish_loan(publisher, loan);
        }
        if (rc != 0)
            fprintf(stderr, "resizing_talker: frame %llu: %s: %s\n", (unsigned long long)frame,
                    zl_strerror(rc), zl_last_error_detail());
        if (which != shown) {
            zl_publisher_stats stats;
            zl_publisher_get_stats(publisher, &stats);
            printf("resizing_talker: %ux%u, pool: %u segments, %.1f MB (most %.1f MB)\n", width,
                   height, stats.segments, (double)stats.shm_bytes / 1e6,
                   (double)stats.shm_bytes_high / 1e6);
            fflush(stdout);
            shown = which;
        }
        struct timespec pause;
        int64_t left = next + period - now_ns();
        if (left > 0) {
            pause.tv_sec = (time_t)(left / 1000000000);
            pause.tv_nsec = (long)(left % 1000000000);
            nanosleep(&pause, NULL);
        }
    }
    printf("resizing_talker: published %llu frames\n", (unsigned long long)frame);
    zl_publisher_destroy(publisher);
    zl_context_destroy(context);
    return 0;
}
