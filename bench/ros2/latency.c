/* rcl talker -> listener one-way latency, in two processes, on whichever
 * middleware RMW_IMPLEMENTATION selects (bench/ros2/run.sh runs rmw_zloan
 * and rmw_cyclonedds_cpp interleaved).
 *
 *   zloan_bench_ros2_latency <plain64|plain4m|image|img-take|img-sized> <messages> <period_us>
 *
 * The process forks before either side initializes rcl: the child is the
 * listener, the parent the talker. The talker waits until its publisher
 * counts one subscription, publishes WARMUP messages that are not counted
 * (a DDS reader may not yet know the writer), then <messages> at a fixed
 * period (absolute CLOCK_MONOTONIC deadlines). Before each publish it reads
 * CLOCK_MONOTONIC and writes it into the message: for a loan, the clock is
 * read before rcl_borrow_loaned_message, so the borrow is part of the
 * figure. The listener blocks in rcl_wait (no busy-poll), takes every
 * message that is ready and reads CLOCK_MONOTONIC as soon as the take
 * returns: latency = that time - the stamp. Neither side writes or reads the
 * payload (only the stamp and the sequence number): the figure is what the
 * middleware costs.
 *
 * Plain messages (plain64, plain4m: zloan_bench_msgs, generated beside this
 * file) go through rcl's loan calls when the middleware lends
 * (rcl_publisher_can_loan_messages, rcl_subscription_can_loan_messages:
 * rmw_zloan) and through rcl_publish / rcl_take into a message of the
 * process otherwise (rmw_cyclonedds_cpp without shared memory). The image
 * (sensor_msgs/Image 1920x1080 rgb8) is not plain: rcl_publish and rcl_take
 * on every middleware (rmw_zloan serializes it into a sized loan). img-take
 * is the same image taken with rcl_take_loaned_message where the
 * subscription lends (rmw_zloan: a view of the CDR in shared memory, no copy
 * out); img-sized also publishes it from rmw_zloan's sized loan
 * (rmw_zloan_borrow_loaned_message_sized, found with dlsym in the loaded
 * middleware; rcl_publish_loaned_message): the pixels are never copied.
 * The talker writes only the stamp and the sequence number in either. A
 * middleware without those calls copies, as for image.
 *
 * Output, one tab-separated line on stdout:
 *   case rmw path sent received p50_us p90_us p99_us max_us mean_us
 * where path is "loan" or "copy" (publisher side / subscription side). */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rcl/error_handling.h>
#include <rcl/rcl.h>
#include <rmw/error_handling.h>
#include <rmw/rmw.h>
#include <rosidl_runtime_c/primitives_sequence_functions.h>
#include <rosidl_runtime_c/string_functions.h>
#include <sensor_msgs/msg/image.h>

#include "zloan_bench_msgs/msg/plain4_m.h"
#include "zloan_bench_msgs/msg/plain64.h"

#define WARMUP 20
#define IMAGE_WIDTH 1920
#define IMAGE_HEIGHT 1080
#define IMAGE_BYTES ((size_t)IMAGE_WIDTH * IMAGE_HEIGHT * 3)
/* The listener gives up this long after the last message it took. */
#define IDLE_NS 3000000000LL

#define CHECK_RET(expr)                                                              \
    do {                                                                             \
        rcl_ret_t r_ = (expr);                                                       \
        if (r_ != RCL_RET_OK) {                                                      \
            fprintf(stderr, "latency: %s:%d: %s returned %d: %s\n", __FILE__, __LINE__, \
                    #expr, (int)r_, rcl_get_error_string().str);                     \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

typedef enum kind { PLAIN64, PLAIN4M, IMAGE } kind;
/* How an image travels: copied both ways, taken as a loan, or also
 * published from a sized loan (where the middleware has them). */
typedef enum image_path { IMAGE_COPY, IMAGE_TAKE_LOAN, IMAGE_SIZED_LOAN } image_path;
typedef rmw_ret_t (*borrow_sized_fn)(const rmw_publisher_t *, size_t, void **);

typedef struct bench {
    kind kind;
    image_path image_path;
    const char *name;
    const rosidl_message_type_support_t *ts;
    long messages;
    long period_us;
    rcl_context_t context;
    rcl_node_t node;
    rcl_publisher_t pub;
} bench;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void ros_open(bench *b, const char *node_name)
{
    rcl_allocator_t a = rcl_get_default_allocator();
    rcl_init_options_t io = rcl_get_zero_initialized_init_options();
    CHECK_RET(rcl_init_options_init(&io, a));
    b->context = rcl_get_zero_initialized_context();
    CHECK_RET(rcl_init(0, NULL, &io, &b->context));
    CHECK_RET(rcl_init_options_fini(&io));
    b->node = rcl_get_zero_initialized_node();
    rcl_node_options_t no = rcl_node_get_default_options();
    CHECK_RET(rcl_node_init(&b->node, node_name, "", &b->context, &no));
}

static void ros_close(bench *b)
{
    CHECK_RET(rcl_node_fini(&b->node));
    CHECK_RET(rcl_shutdown(&b->context));
    CHECK_RET(rcl_context_fini(&b->context));
}

/* Reliable, keep-last 10, volatile: rcl's default profile. */
static const char *topic(const bench *b)
{
    return b->kind == IMAGE ? "/zloan_bench/image" : b->kind == PLAIN64 ? "/zloan_bench/plain64"
                                                                        : "/zloan_bench/plain4m";
}

/* ---- the talker ------------------------------------------------------- */

/* A message of the process, for rcl_publish (copy path and image). */
static void *message_create(const bench *b)
{
    if (b->kind == PLAIN64)
        return zloan_bench_msgs__msg__Plain64__create();
    if (b->kind == PLAIN4M)
        return zloan_bench_msgs__msg__Plain4M__create();
    sensor_msgs__msg__Image *m = sensor_msgs__msg__Image__create();
    if (!m || !rosidl_runtime_c__String__assign(&m->encoding, "rgb8") ||
        !rosidl_runtime_c__String__assign(&m->header.frame_id, "camera") ||
        !rosidl_runtime_c__uint8__Sequence__init(&m->data, IMAGE_BYTES))
        return NULL;
    m->width = IMAGE_WIDTH;
    m->height = IMAGE_HEIGHT;
    m->step = IMAGE_WIDTH * 3;
    return m;
}

static void message_destroy(const bench *b, void *m)
{
    if (b->kind == PLAIN64)
        zloan_bench_msgs__msg__Plain64__destroy(m);
    else if (b->kind == PLAIN4M)
        zloan_bench_msgs__msg__Plain4M__destroy(m);
    else
        sensor_msgs__msg__Image__destroy(m);
}

/* The stamp and the sequence number; an image carries the sequence number
 * in its first 8 bytes of pixels. */
static void stamp(const bench *b, void *m, int64_t t, uint64_t seq)
{
    if (b->kind == PLAIN64) {
        zloan_bench_msgs__msg__Plain64 *p = m;
        p->stamp_ns = (uint64_t)t;
        p->seq = seq;
    } else if (b->kind == PLAIN4M) {
        zloan_bench_msgs__msg__Plain4M *p = m;
        p->stamp_ns = (uint64_t)t;
        p->seq = seq;
    } else {
        sensor_msgs__msg__Image *p = m;
        p->header.stamp.sec = (int32_t)(t / 1000000000LL);
        p->header.stamp.nanosec = (uint32_t)(t % 1000000000LL);
        memcpy(p->data.data, &seq, sizeof seq);
    }
}

static void wait_for_subscription(const rcl_publisher_t *pub)
{
    int64_t end = now_ns() + 20000000000LL;
    for (;;) {
        size_t n = 0;
        CHECK_RET(rcl_publisher_get_subscription_count(pub, &n));
        if (n > 0)
            return;
        if (now_ns() > end) {
            fprintf(stderr, "latency: no subscription matched within 20 s\n");
            exit(1);
        }
        usleep(10000);
    }
}

static void sleep_until(int64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000LL), .tv_nsec = (long)(t % 1000000000LL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* rmw_zloan's sized borrow when the loaded middleware has it, else NULL. */
static borrow_sized_fn find_borrow_sized(void)
{
    void *lib = dlopen("librmw_zloan.so", RTLD_NOLOAD | RTLD_LAZY);
    if (lib == NULL)
        return NULL;
    borrow_sized_fn f;
    void *sym = dlsym(lib, "rmw_zloan_borrow_loaned_message_sized");
    memcpy(&f, &sym, sizeof f); /* POSIX: a function's address through void * */
    return f;
}

/* A sized loan of an image: its strings and sizes set once per loan slot
 * (rmw_zloan keeps them from one loan to the next). */
static void *borrow_image(const rcl_publisher_t *pub, borrow_sized_fn borrow_sized)
{
    sensor_msgs__msg__Image *m = NULL;
    if (borrow_sized(rcl_publisher_get_rmw_handle(pub), IMAGE_BYTES, (void **)&m) != RMW_RET_OK) {
        fprintf(stderr, "latency: rmw_zloan_borrow_loaned_message_sized: %s\n",
                rmw_get_error_string().str);
        exit(1);
    }
    if (m->encoding.size == 0 && (!rosidl_runtime_c__String__assign(&m->encoding, "rgb8") ||
                                  !rosidl_runtime_c__String__assign(&m->header.frame_id, "camera"))) {
        fprintf(stderr, "latency: out of memory\n");
        exit(1);
    }
    m->width = IMAGE_WIDTH;
    m->height = IMAGE_HEIGHT;
    m->step = IMAGE_WIDTH * 3;
    return m;
}

/* Publishes WARMUP + messages; returns whether it lent. */
static bool talk(bench *b)
{
    rcl_publisher_t *pub = &b->pub;
    *pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    CHECK_RET(rcl_publisher_init(pub, &b->node, b->ts, topic(b), &po));
    bool lend = b->kind != IMAGE && rcl_publisher_can_loan_messages(pub);
    borrow_sized_fn borrow_sized = NULL;
    if (b->kind == IMAGE && b->image_path == IMAGE_SIZED_LOAN)
        borrow_sized = find_borrow_sized();
    lend = lend || borrow_sized != NULL;
    void *own = lend ? NULL : message_create(b);
    if (!lend && !own) {
        fprintf(stderr, "latency: out of memory\n");
        exit(1);
    }
    wait_for_subscription(pub);
    usleep(200000);
    int64_t next = now_ns();
    long total = WARMUP + b->messages;
    for (long i = 0; i < total; i++) {
        next += b->period_us * 1000LL;
        sleep_until(next);
        int64_t t = now_ns();
        if (lend) {
            void *m = NULL;
            if (borrow_sized != NULL)
                m = borrow_image(pub, borrow_sized);
            else
                CHECK_RET(rcl_borrow_loaned_message(pub, b->ts, &m));
            stamp(b, m, t, (uint64_t)i);
            CHECK_RET(rcl_publish_loaned_message(pub, m, NULL));
        } else {
            stamp(b, own, t, (uint64_t)i);
            CHECK_RET(rcl_publish(pub, own, NULL));
        }
    }
    if (own)
        message_destroy(b, own);
    /* The publisher lives on until the listener reports (main): a reliable
     * DDS writer resends what the reader has not acknowledged yet. */
    return lend;
}

/* ---- the listener ----------------------------------------------------- */

/* The stamp and sequence number of a message taken. */
static int64_t read_stamp(const bench *b, const void *m, uint64_t *seq)
{
    if (b->kind == PLAIN64) {
        const zloan_bench_msgs__msg__Plain64 *p = m;
        *seq = p->seq;
        return (int64_t)p->stamp_ns;
    }
    if (b->kind == PLAIN4M) {
        const zloan_bench_msgs__msg__Plain4M *p = m;
        *seq = p->seq;
        return (int64_t)p->stamp_ns;
    }
    const sensor_msgs__msg__Image *p = m;
    *seq = 0;
    if (p->data.size >= sizeof *seq)
        memcpy(seq, p->data.data, sizeof *seq);
    return (int64_t)p->header.stamp.sec * 1000000000LL + p->header.stamp.nanosec;
}

typedef struct samples {
    int64_t *ns;
    long n;
    bool lent;
} samples;

/* Takes one message if one is ready: 1 taken, 0 none. */
static int take_one(const bench *b, rcl_subscription_t *sub, bool lend, void *own, samples *s,
                    uint64_t *last_seq)
{
    rmw_message_info_t info = rmw_get_zero_initialized_message_info();
    void *m = own;
    rcl_ret_t ret = lend ? rcl_take_loaned_message(sub, &m, &info, NULL)
                         : rcl_take(sub, own, &info, NULL);
    int64_t t = now_ns();
    if (ret == RCL_RET_SUBSCRIPTION_TAKE_FAILED)
        return 0;
    CHECK_RET(ret);
    uint64_t seq = 0;
    int64_t sent = read_stamp(b, m, &seq);
    if (lend)
        CHECK_RET(rcl_return_loaned_message_from_subscription(sub, m));
    if (seq >= WARMUP && s->n < b->messages)
        s->ns[s->n++] = t - sent;
    *last_seq = seq;
    return 1;
}

static samples listen(bench *b)
{
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    CHECK_RET(rcl_subscription_init(&sub, &b->node, b->ts, topic(b), &so));
    samples s = {.ns = calloc((size_t)b->messages, sizeof(int64_t))};
    s.lent = (b->kind != IMAGE || b->image_path != IMAGE_COPY) &&
             rcl_subscription_can_loan_messages(&sub);
    void *own = s.lent ? NULL : message_create(b);
    if (!s.ns || (!s.lent && !own)) {
        fprintf(stderr, "latency: out of memory\n");
        exit(1);
    }
    rcl_wait_set_t ws = rcl_get_zero_initialized_wait_set();
    CHECK_RET(rcl_wait_set_init(&ws, 1, 0, 0, 0, 0, 0, &b->context, rcl_get_default_allocator()));
    uint64_t last = 0;
    int64_t deadline = now_ns() + 30000000000LL; /* the first message */
    while (last + 1 < (uint64_t)(WARMUP + b->messages) && now_ns() < deadline) {
        CHECK_RET(rcl_wait_set_clear(&ws));
        CHECK_RET(rcl_wait_set_add_subscription(&ws, &sub, NULL));
        rcl_ret_t ret = rcl_wait(&ws, RCL_MS_TO_NS(100));
        if (ret == RCL_RET_TIMEOUT)
            continue;
        CHECK_RET(ret);
        while (take_one(b, &sub, s.lent, own, &s, &last))
            deadline = now_ns() + IDLE_NS;
    }
    CHECK_RET(rcl_wait_set_fini(&ws));
    if (own)
        message_destroy(b, own);
    CHECK_RET(rcl_subscription_fini(&sub, &b->node));
    return s;
}

/* ---- the figures ------------------------------------------------------ */

static int cmp_ns(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(const int64_t *sorted, long n, double p)
{
    if (n == 0)
        return 0;
    long k = (long)(p * (double)(n - 1) + 0.5);
    return (double)sorted[k] / 1000.0;
}

static void report(const bench *b, bool talker_lent, samples *s)
{
    qsort(s->ns, (size_t)s->n, sizeof *s->ns, cmp_ns);
    double sum = 0;
    for (long i = 0; i < s->n; i++)
        sum += (double)s->ns[i];
    const char *rmw = getenv("RMW_IMPLEMENTATION");
    printf("%s\t%s\t%s/%s\t%ld\t%ld\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n", b->name,
           rmw ? rmw : rmw_get_implementation_identifier(), talker_lent ? "loan" : "copy",
           s->lent ? "loan" : "copy", b->messages, s->n, pct_us(s->ns, s->n, 0.50),
           pct_us(s->ns, s->n, 0.90), pct_us(s->ns, s->n, 0.99),
           s->n ? (double)s->ns[s->n - 1] / 1000.0 : 0.0,
           s->n ? sum / (double)s->n / 1000.0 : 0.0);
}

/* The listener's samples travel to the talker through a pipe. */
static void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w <= 0) {
            perror("latency: write");
            exit(1);
        }
        c += w;
        n -= (size_t)w;
    }
}

static bool read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r <= 0)
            return false;
        c += r;
        n -= (size_t)r;
    }
    return true;
}

static int usage(void)
{
    fprintf(stderr, "usage: zloan_bench_ros2_latency <plain64|plain4m|image|img-take|img-sized> "
                    "<messages> <period_us>\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return usage();
    bench b = {.name = argv[1], .messages = atol(argv[2]), .period_us = atol(argv[3])};
    if (strcmp(argv[1], "plain64") == 0) {
        b.kind = PLAIN64;
        b.ts = ROSIDL_GET_MSG_TYPE_SUPPORT(zloan_bench_msgs, msg, Plain64);
    } else if (strcmp(argv[1], "plain4m") == 0) {
        b.kind = PLAIN4M;
        b.ts = ROSIDL_GET_MSG_TYPE_SUPPORT(zloan_bench_msgs, msg, Plain4M);
    } else if (strcmp(argv[1], "image") == 0 || strcmp(argv[1], "img-take") == 0 ||
               strcmp(argv[1], "img-sized") == 0) {
        b.kind = IMAGE;
        b.image_path = strcmp(argv[1], "img-take") == 0    ? IMAGE_TAKE_LOAN
                       : strcmp(argv[1], "img-sized") == 0 ? IMAGE_SIZED_LOAN
                                                           : IMAGE_COPY;
        b.ts = ROSIDL_GET_MSG_TYPE_SUPPORT(sensor_msgs, msg, Image);
    } else {
        return usage();
    }
    if (b.messages <= 0 || b.period_us <= 0)
        return usage();

    int fds[2];
    if (pipe(fds) != 0) {
        perror("latency: pipe");
        return 1;
    }
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        perror("latency: fork");
        return 1;
    }
    if (child == 0) {
        close(fds[0]);
        ros_open(&b, "zloan_bench_listener");
        samples s = listen(&b);
        ros_close(&b);
        write_all(fds[1], &s.n, sizeof s.n);
        write_all(fds[1], &s.lent, sizeof s.lent);
        write_all(fds[1], s.ns, (size_t)s.n * sizeof *s.ns);
        _exit(0);
    }
    close(fds[1]);
    ros_open(&b, "zloan_bench_talker");
    bool lent = talk(&b);
    samples s = {.ns = calloc((size_t)b.messages, sizeof(int64_t))};
    bool ok = s.ns && read_all(fds[0], &s.n, sizeof s.n) && s.n <= b.messages &&
              read_all(fds[0], &s.lent, sizeof s.lent) &&
              read_all(fds[0], s.ns, (size_t)s.n * sizeof *s.ns);
    int status = 0;
    waitpid(child, &status, 0);
    CHECK_RET(rcl_publisher_fini(&b.pub, &b.node));
    ros_close(&b);
    if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "latency: the listener failed (status %d)\n", status);
        return 1;
    }
    report(&b, lent, &s);
    return 0;
}
