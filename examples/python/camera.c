/* A camera: publishes 1920x1080 rgb8 frames at 30 Hz through loans, and
 * reads back the mean brightness that brightness.py computes from each
 * frame in place (numpy on the loan: no copy on either side).
 *
 *   camera [frames]        (default 90: three seconds)
 *
 * Each frame is uniformly grey at a level that changes with the frame, so
 * the camera knows the mean to expect. It waits up to 30 s for a
 * subscriber, prints the frames sent, the answers and the median round trip,
 * and exits 0 when every answer was right and at least one came.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "camera.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000};
    nanosleep(&ts, NULL);
}

static unsigned grey_of(uint64_t frame) { return 20 + (unsigned)(frame * 7 % 200); }

static int compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct answers {
    long count, wrong;
    int64_t *round_trip_ns;
} answers;

/* Takes every brightness answer there is and checks it. */
static void take_answers(zl_subscription *sub, answers *a, long capacity)
{
    brightness b;
    while (zl_subscription_take(sub, &b, NULL) == 0) {
        double expected = grey_of(b.frame);
        if (b.mean != expected) {
            fprintf(stderr, "camera: frame %llu: mean %.3f, expected %.0f\n",
                    (unsigned long long)b.frame, b.mean, expected);
            a->wrong++;
        }
        if (a->count < capacity)
            a->round_trip_ns[a->count] = now_ns() - b.stamp_ns;
        a->count++;
    }
}

int main(int argc, char **argv)
{
    long frames = argc > 1 ? atol(argv[1]) : 90;
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    /* 6 MiB chunks: size the pool for two readers holding a couple each. */
    options.max_loans = 2;
    options.max_subscriptions = 2;
    options.chunks_per_subscription = 5;
    zl_context *ctx;
    zl_publisher *pub;
    zl_subscription *sub;
    int rc = zl_context_create(NULL, &ctx);
    if (rc == 0)
        rc = zl_publisher_create(ctx, FRAME_TOPIC, &rgb_frame_type, &options, &pub);
    if (rc == 0)
        rc = zl_subscription_create(ctx, BRIGHTNESS_TOPIC, &brightness_type, NULL, &sub);
    if (rc != 0) {
        fprintf(stderr, "camera: %s: %s\n", zl_strerror(rc), zl_last_error_detail());
        return 1;
    }
    printf("camera: waiting for a subscriber on %s\n", FRAME_TOPIC);
    fflush(stdout);
    zl_publisher_stats stats = {0};
    for (int64_t give_up = now_ns() + 30000000000LL; stats.subscriptions == 0 && now_ns() < give_up;) {
        zl_publisher_get_stats(pub, &stats);
        sleep_ms(5);
    }
    /* Answers are taken as they come, while waiting for the next frame's time. */
    zl_waitset *waitset;
    rc = zl_waitset_create(ctx, 1, &waitset);
    if (rc == 0)
        rc = zl_waitset_attach_subscription(waitset, sub, NULL);
    if (rc != 0) {
        fprintf(stderr, "camera: %s: %s\n", zl_strerror(rc), zl_last_error_detail());
        return 1;
    }
    answers a = {0, 0, calloc((size_t)frames, sizeof(int64_t))};
    long sent = 0;
    int64_t next = now_ns();
    for (long f = 1; f <= frames && a.round_trip_ns != NULL; f++) {
        void *loan;
        if (zl_publisher_loan(pub, &loan) == 0) {
            rgb_frame *frame = loan;
            memset(frame->pixels, (int)grey_of((uint64_t)f), sizeof frame->pixels);
            frame->frame = (uint64_t)f;
            frame->stamp_ns = now_ns();
            if (zl_publisher_publish_loan(pub, loan) == 0)
                sent++;
        }
        next += 1000000000 / 30;
        for (int64_t left; (left = next - now_ns()) > 0;) {
            zl_waitset_wait(waitset, left, NULL);
            take_answers(sub, &a, frames);
        }
    }
    for (int64_t end = now_ns() + 1000000000; a.count < sent && now_ns() < end;) {
        zl_waitset_wait(waitset, end - now_ns(), NULL);
        take_answers(sub, &a, frames);
    }
    zl_waitset_destroy(waitset);
    long measured = a.count < frames ? a.count : frames;
    double median_ms = 0;
    if (measured > 0) {
        qsort(a.round_trip_ns, (size_t)measured, sizeof(int64_t), compare);
        median_ms = (double)a.round_trip_ns[measured / 2] / 1e6;
    }
    printf("camera: sent %ld frames, %ld answers, %ld wrong, median round trip %.2f ms\n", sent,
           a.count, a.wrong, median_ms);
    free(a.round_trip_ns);
    zl_subscription_destroy(sub);
    zl_publisher_destroy(pub);
    zl_context_destroy(ctx);
    return a.wrong == 0 && a.count > 0 ? 0 : 1;
}
