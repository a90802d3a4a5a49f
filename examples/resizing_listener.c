/* Receives the resizing talker's images as loans, read in place, and
 * checks every byte of every frame against its resolution.
 *
 *   resizing_listener [seconds]     (default 10; stops early 1 s after the
 *                                    talker's last frame)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rgb_image.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether the image is whole: its size matches its resolution and every
 * byte holds what the talker wrote. */
static int intact(const rgb_image *img, const zl_message_info *info)
{
    size_t bytes = (size_t)img->width * img->height * 3;
    if (info->count != bytes)
        return 0;
    for (size_t i = 0; i < bytes; i++)
        if (img->data[i] != rgb_image_byte(img->frame, i))
            return 0;
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
        rc = zl_subscription_create(context, RGB_IMAGE_TOPIC, &rgb_image_type, NULL, &subscription);
    if (rc == 0)
        rc = zl_waitset_create(context, 1, &waitset);
    if (rc == 0)
        rc = zl_waitset_attach_subscription(waitset, subscription, NULL);
    if (rc != 0) {
        fprintf(stderr, "resizing_listener: %s: %s\n", zl_strerror(rc), zl_last_error_detail());
        return 1;
    }
    long received = 0, corrupt = 0, sizes = 0;
    uint32_t last_width = 0;
    int64_t start = now_ns(), last_frame = 0;
    while (now_ns() - start < (int64_t)(seconds * 1e9)) {
        const void *loan;
        zl_message_info info;
        rc = zl_subscription_take_loan(subscription, &loan, &info);
        if (rc == ZL_ENODATA) {
            if (received > 0 && now_ns() - last_frame > 1000000000)
                break;
            zl_waitset_wait(waitset, 100000000, NULL);
            continue;
        }
        if (rc != 0) {
            fprintf(stderr, "resizing_listener: take: %s\n", zl_strerror(rc));
            corrupt++;
            continue;
        }
        const rgb_image *img = loan;
        last_frame = now_ns();
        received++;
        corrupt += !intact(img, &info);
        if (img->width != last_width) {
            printf("resizing_listener: %ux%u (%zu bytes)\n", img->width, img->height, info.count);
            last_width = img->width;
            sizes++;
        }
        zl_subscription_return_loan(subscription, loan);
    }
    zl_subscription_stats stats;
    zl_subscription_get_stats(subscription, &stats);
    printf("resizing_listener: received %ld frames in %ld sizes, lost %llu, corrupt %ld\n",
           received, sizes, (unsigned long long)stats.lost, corrupt);
    zl_waitset_destroy(waitset);
    zl_subscription_destroy(subscription);
    zl_context_destroy(context);
    return corrupt == 0 && received > 0 ? 0 : 1;
}
