/* A camera that publishes its own frame buffers (user memory, no copy).
 *
 * The "driver" owns 4 frame buffers in one sealed memfd. At each tick of a
 * timer, the camera fills the next free buffer as a driver would (a frame
 * number and a pixel pattern derived from it) and publishes it from where
 * it lies; subscriptions in the two listener processes read those very
 * bytes. A buffer goes back to the driver's queue only on its completion
 * notice (the executor's callback): every listener returned it, dropped it
 * or died. A tick with no free buffer is a frame the driver drops, as a
 * real one does when userspace keeps every buffer.
 *
 * The listeners check each frame's pattern before and after reading it
 * (the slow one reads for 25 ms): had the camera written a buffer while a
 * listener read it, the pattern would break and the frame count as corrupt.
 *
 *   camera_user_memory [frames]      (default 200) runs the camera and
 *                                    starts both listeners itself
 *   camera_user_memory listen NAME DELAY_MS   one listener (started by the camera)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zloan/zloan.h"

#define TOPIC "/camera/user_memory"
#define BUFFERS 4
#define WIDTH 640
#define HEIGHT 480

typedef struct frame {
    uint32_t number;
    uint32_t last; /* the end of the stream: listeners stop */
    uint8_t pixels[WIDTH * HEIGHT];
} frame;

static const zl_type frame_type = ZL_TYPE_PLAIN(frame);

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint8_t pixel(uint32_t number, size_t i) { return (uint8_t)(number * 7u + i * 13u); }

/* Whether f still holds frame `number`, every pixel of it. */
static bool intact(const frame *f, uint32_t number)
{
    if (f->number != number)
        return false;
    for (size_t i = 0; i < sizeof f->pixels; i++)
        if (f->pixels[i] != pixel(number, i))
            return false;
    return true;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s (%s)\n", what, zl_strerror(rc), zl_last_error_detail());
    return 1;
}

/* ---- a listener ---------------------------------------------------------- */

static int listen_frames(const char *name, long delay_ms)
{
    zl_context *context;
    zl_subscription *sub;
    zl_waitset *waitset;
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.depth = 2; /* a slow listener keeps the newest frames */
    int rc = zl_context_create(NULL, &context);
    if (rc == 0)
        rc = zl_subscription_create(context, TOPIC, &frame_type, &options, &sub);
    if (rc == 0)
        rc = zl_waitset_create(context, 1, &waitset);
    if (rc == 0)
        rc = zl_waitset_attach_subscription(waitset, sub, NULL);
    if (rc != 0)
        return fail("listener", rc);
    uint64_t received = 0, lost = 0, corrupt = 0;
    int64_t next = -1;
    for (bool done = false; !done;) {
        rc = zl_waitset_wait(waitset, 5LL * 1000000000, NULL);
        if (rc == ZL_ETIMEOUT) {
            fprintf(stderr, "listener %s: no frame for 5 s\n", name);
            return 1;
        }
        const void *message;
        while (!done && zl_subscription_take_loan(sub, &message, NULL) == 0) {
            const frame *f = message;
            if (f->last) {
                done = true;
            } else {
                uint32_t number = f->number;
                bool before = intact(f, number);
                struct timespec pause = {0, delay_ms * 1000000};
                nanosleep(&pause, NULL); /* reading slowly: the camera must not touch it */
                if (!before || !intact(f, number))
                    corrupt++;
                received++;
                if (next >= 0 && number > next)
                    lost += number - (uint64_t)next;
                next = (int64_t)number + 1;
            }
            zl_subscription_return_loan(sub, message);
        }
    }
    printf("listener %s: received %llu frames, lost %llu, corrupt %llu\n", name,
           (unsigned long long)received, (unsigned long long)lost, (unsigned long long)corrupt);
    zl_waitset_destroy(waitset);
    zl_subscription_destroy(sub);
    zl_context_destroy(context);
    return corrupt == 0 ? 0 : 1;
}

/* ---- the camera ---------------------------------------------------------- */

typedef struct camera {
    zl_user_memory *memory;
    frame *buffers;          /* BUFFERS frames in the memfd */
    int queue[BUFFERS];      /* the driver's free buffers, oldest first */
    int queued;
    int64_t published_at[BUFFERS];
    uint32_t frames_wanted;
    uint32_t captured, published, completed, dropped;
    int64_t *latencies; /* publish to completion, ns, one per completion */
    zl_executor *executor;
} camera;

/* The driver captured into buffer b (a real one DMAs; we draw). */
static void capture(frame *f, uint32_t number)
{
    f->number = number;
    f->last = 0;
    for (size_t i = 0; i < sizeof f->pixels; i++)
        f->pixels[i] = pixel(number, i);
}

static void on_tick(zl_timer *timer, uint64_t expirations, void *arg)
{
    (void)timer;
    (void)expirations;
    camera *c = arg;
    if (c->captured == c->frames_wanted)
        return;
    if (c->queued == 0) { /* every buffer is still read by someone */
        c->dropped++;
        return;
    }
    int b = c->queue[0];
    memmove(c->queue, c->queue + 1, sizeof(int) * (size_t)--c->queued);
    capture(&c->buffers[b], c->captured++);
    c->published_at[b] = now_ns();
    int rc = zl_user_memory_publish(c->memory, &c->buffers[b], 0);
    if (rc != 0) {
        fail("publish", rc);
        exit(1);
    }
    c->published++;
}

/* A buffer's completion notice: nobody reads it any more; requeue it. */
static void on_completed(zl_user_memory *memory, const void *message, void *arg)
{
    (void)memory;
    camera *c = arg;
    int b = (int)((const frame *)message - c->buffers);
    c->latencies[c->completed++] = now_ns() - c->published_at[b];
    c->queue[c->queued++] = b;
    if (c->captured == c->frames_wanted && c->queued == BUFFERS)
        zl_executor_stop(c->executor); /* every frame captured and completed */
}

static int compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static pid_t start_listener(const char *self, const char *name, const char *delay_ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "listen", name, delay_ms, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits until n subscriptions are connected (10 s at most). */
static int wait_for_listeners(zl_publisher *pub, uint32_t n)
{
    for (int i = 0; i < 10000; i++) {
        zl_publisher_stats stats;
        zl_publisher_get_stats(pub, &stats);
        if (stats.subscriptions >= n)
            return 0;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return ZL_ETIMEOUT;
}

/* Publishes the end of the stream from buffer 0 and waits for it. */
static int finish(camera *c)
{
    c->buffers[0].last = 1;
    int rc = zl_user_memory_publish(c->memory, &c->buffers[0], 0);
    for (int i = 0; rc == 0 && i < 10000 && zl_user_memory_in_flight_count(c->memory) != 0; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return rc;
}

static int run_camera(const char *self, uint32_t frames_wanted)
{
    pid_t fast = start_listener(self, "fast", "0");
    pid_t slow = start_listener(self, "slow", "25");

    /* The driver's buffers: one memfd, sealed so that no reader can fault. */
    int fd = memfd_create("camera-frames", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    size_t bytes = sizeof(frame) * BUFFERS;
    if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
        perror("memfd");
        return 1;
    }
    frame *buffers = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (buffers == MAP_FAILED) {
        perror("mmap");
        return 1;
    }

    zl_context *context;
    zl_publisher *pub;
    zl_timer *timer;
    camera c = {.buffers = buffers, .queued = BUFFERS, .frames_wanted = frames_wanted};
    c.latencies = calloc(frames_wanted, sizeof(int64_t));
    for (int b = 0; b < BUFFERS; b++)
        c.queue[b] = b;
    zl_user_memory_options o;
    zl_user_memory_options_init(&o);
    o.fd = fd;
    o.base = buffers;
    o.length = bytes;
    o.max_in_flight = BUFFERS;
    int rc = zl_context_create(NULL, &context);
    if (rc == 0)
        rc = zl_publisher_create(context, TOPIC, &frame_type, NULL, &pub);
    if (rc == 0)
        rc = zl_user_memory_create(pub, &o, &c.memory);
    if (rc == 0)
        rc = zl_timer_create(context, 5 * 1000000, &timer); /* 200 frames per second */
    if (rc == 0)
        rc = zl_executor_create(context, 2, &c.executor);
    if (rc == 0)
        rc = zl_executor_add_timer(c.executor, timer, on_tick, &c);
    if (rc == 0)
        rc = zl_executor_add_user_memory(c.executor, c.memory, on_completed, &c);
    if (rc == 0)
        rc = wait_for_listeners(pub, 2);
    if (rc == 0)
        rc = zl_timer_reset(timer);
    if (rc == 0)
        rc = zl_executor_spin(c.executor); /* until every frame completed */
    if (rc == 0)
        rc = finish(&c);
    if (rc != 0)
        return fail("camera", rc);

    qsort(c.latencies, c.completed, sizeof(int64_t), compare);
    printf("camera: captured %u frames, published %u, completed %u, dropped %u (no free "
           "buffer)\n",
           c.captured, c.published, c.completed, c.dropped);
    if (c.completed > 0)
        printf("camera: publish to completion: median %.2f ms, p99 %.2f ms, max %.2f ms\n",
               (double)c.latencies[c.completed / 2] / 1e6,
               (double)c.latencies[(c.completed * 99) / 100] / 1e6,
               (double)c.latencies[c.completed - 1] / 1e6);
    int status_fast = 1, status_slow = 1;
    waitpid(fast, &status_fast, 0);
    waitpid(slow, &status_slow, 0);
    bool good = c.completed == c.published && c.published == c.captured &&
                WIFEXITED(status_fast) && WEXITSTATUS(status_fast) == 0 &&
                WIFEXITED(status_slow) && WEXITSTATUS(status_slow) == 0;
    printf(good ? "camera: every frame completed; no listener saw a frame overwritten\n"
                : "camera: FAILED\n");

    zl_executor_destroy(c.executor);
    zl_timer_destroy(timer);
    zl_user_memory_destroy(c.memory);
    zl_publisher_destroy(pub);
    zl_context_destroy(context);
    munmap(buffers, bytes);
    close(fd);
    free(c.latencies);
    return good ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "listen") == 0)
        return listen_frames(argv[2], atol(argv[3]));
    uint32_t frames = argc > 1 ? (uint32_t)atoi(argv[1]) : 200;
    return run_camera("/proc/self/exe", frames == 0 ? 1 : frames);
}
