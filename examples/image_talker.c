/* Publishes 4 MiB camera frames through loans: the frame is written once,
 * straight into shared memory, and never copied on its way to listeners.
 *
 *   image_talker [seconds] [rate_hz]      (default: 3 s at 60 Hz)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "image.h"

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    double rate = argc > 2 ? atof(argv[2]) : 60.0;
    zl_context *context;
    zl_publisher *publisher;
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    /* 4 MiB chunks: reserve for a few listeners, each holding a few. */
    options.max_subscriptions = 4;
    options.chunks_per_subscription = 8;
    options.max_loans = 2;
    zl_context_options context_options;
    zl_context_options_init(&context_options);
    context_options.name = "camera"; /* shown by the zloan tool */
    int rc = zl_context_create(&context_options, &context);
    if (rc == 0)
        rc = zl_publisher_create(context, IMAGE_TOPIC, &image_type, &options, &publisher);
    if (rc != 0) {
        fprintf(stderr, "image_talker: %s: %s\n", zl_strerror(rc), zl_last_error_detail());
        return 1;
    }
    printf("image_talker: publishing %s for %.1f s at %.0f Hz (zero copy: %s)\n", IMAGE_TOPIC,
           seconds, rate, zl_publisher_can_loan(publisher) ? "yes" : "no");
    long frames = (long)(seconds * rate);
    struct timespec period = {0, (long)(1e9 / rate)};
    long published = 0, refused = 0;
    for (long f = 0; f < frames; f++) {
        void *loan;
        rc = zl_publisher_loan(publisher, &loan);
        if (rc == ZL_EEXHAUSTED) { /* every frame is held by listeners: skip one */
            refused++;
        } else if (rc != 0) {
            fprintf(stderr, "image_talker: loan: %s\n", zl_strerror(rc));
            break;
        } else {
            image *img = loan;
            img->frame = (uint64_t)f;
            img->width = IMAGE_WIDTH;
            img->height = IMAGE_HEIGHT;
            for (uint32_t i = 0; i < IMAGE_WIDTH * IMAGE_HEIGHT; i++)
                img->pixels[i] = (uint32_t)f + i; /* a "camera" writing its frame */
            rc = zl_publisher_publish_loan(publisher, loan);
            if (rc != 0) {
                fprintf(stderr, "image_talker: publish: %s\n", zl_strerror(rc));
                zl_publisher_return_loan(publisher, loan);
                break;
            }
            published++;
        }
        nanosleep(&period, NULL);
    }
    printf("image_talker: published %ld frames (%ld skipped: pool exhausted)\n", published,
           refused);
    zl_publisher_destroy(publisher);
    zl_context_destroy(context);
    return 0;
}
