/* Crashes around growing pools (I5, I6):
 *   - publisher: a child publishes messages of sizes that keep its pool
 *     growing (and holds loans so that it must) and is killed with kill -9
 *     at a random moment, often inside a growth; the parent's subscription
 *     checks every byte of every message it takes, its loans stay readable
 *     after the kill, and the dead publisher's pool and every segment of it
 *     (made or half made) disappear from /dev/shm;
 *   - subscription: a child takes and holds messages, mapping new segments
 *     as the parent's pool grows, and is killed; the parent's pool gets
 *     every chunk back and goes on;
 *   - sweep: a segment no live publisher names is removed at the next
 *     start, the segments of a live publisher never are. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "crash.h"
#include "shm/layout.h"

typedef struct blob {
    uint64_t sequence;
    uint64_t count;
    uint8_t data[];
} blob;
static const zl_type blob_type = ZL_TYPE_SIZED(blob, data, 0);

static uint8_t byte_of(uint64_t sequence, size_t i) { return (uint8_t)(sequence * 131 + i * 7); }

/* Sizes from 1 byte to 4 MiB: every class, so the pool keeps growing. */
static size_t count_of(uint64_t sequence)
{
    return ((size_t)1 << (sequence % 23)) + (size_t)(sequence % 5);
}

static void fill(blob *b, uint64_t sequence, size_t count)
{
    b->sequence = sequence;
    b->count = count;
    for (size_t i = 0; i < count; i++)
        b->data[i] = byte_of(sequence, i);
}

/* Whether b is a whole, intact message of count elements. */
static bool intact(const blob *b, size_t count)
{
    if (b->count != count || count != count_of(b->sequence))
        return false;
    for (size_t i = 0; i < count; i++)
        if (b->data[i] != byte_of(b->sequence, i))
            return false;
    return true;
}

static void check_taken(const void *msg, const zl_message_info *info)
{
    if (!intact(msg, info->count)) {
        fprintf(stderr, "message %llu of %zu elements is damaged\n",
                (unsigned long long)((const blob *)msg)->sequence, info->count);
        exit(1);
    }
}

/* Publishes forever, holding up to two loans so the pool must grow. */
static void publisher_child(const char *topic, int report_fd)
{
    zl_context *context;
    zl_publisher *publisher;
    if (zl_context_create(NULL, &context) != 0 ||
        zl_publisher_create(context, topic, &blob_type, NULL, &publisher) != 0)
        _exit(2);
    void *held[2] = {NULL, NULL};
    for (uint64_t sequence = 1;; sequence++) {
        size_t count = count_of(sequence);
        void *loan;
        if (zl_publisher_loan_sized(publisher, count, &loan) != 0)
            continue;
        fill(loan, sequence, count);
        int slot = (int)(sequence % 3);
        if (slot < 2) { /* keep it a while, publish the one kept before */
            if (held[slot] != NULL)
                zl_publisher_publish_loan(publisher, held[slot]);
            held[slot] = loan;
        } else {
            zl_publisher_publish_loan(publisher, loan);
        }
        if (sequence == 40)
            crash_write_line(report_fd, "ready\n");
    }
}

static int pool_objects(const char *needle)
{
    char pool_needle[256];
    snprintf(pool_needle, sizeof pool_needle, "%s:p", needle);
    return crash_shm_usage(pool_needle, NULL);
}

static void case_publisher_killed(int cycles)
{
    const char *topic = test_topic("growth_pub");
    char needle[200];
    crash_shm_needle(topic, needle, sizeof needle);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.depth = 4;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &blob_type, &options, &sub));
    uint64_t taken = 0;
    for (int cycle = 0; cycle < cycles; cycle++) {
        int pipe_fds[2];
        CHECK(pipe(pipe_fds) == 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            close(pipe_fds[0]);
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
            publisher_child(topic, pipe_fds[1]);
        }
        close(pipe_fds[1]);
        char line[32];
        CHECK(crash_read_line(pipe_fds[0], line, sizeof line, 20000) > 0);
        close(pipe_fds[0]);
        /* Take for a random while, holding one loan across the kill. */
        const void *kept = NULL;
        zl_message_info kept_info = {0};
        int64_t until = test_now_ns() + (int64_t)(rand() % 30) * 1000000;
        while (test_now_ns() < until || kept == NULL) {
            const void *msg;
            zl_message_info info;
            if (zl_subscription_take_loan(sub, &msg, &info) != 0)
                continue;
            check_taken(msg, &info);
            taken++;
            if (kept == NULL) {
                kept = msg;
                kept_info = info;
            } else {
                CHECK_OK(zl_subscription_return_loan(sub, msg));
            }
        }
        crash_kill_wait(pid);
        check_taken(kept, &kept_info); /* still mapped, still intact */
        /* What was queued is taken, then the pool goes. */
        int64_t deadline = test_now_ns() + 10000000000LL;
        for (;;) {
            const void *msg;
            zl_message_info info;
            if (zl_subscription_take_loan(sub, &msg, &info) == 0) {
                check_taken(msg, &info);
                CHECK_OK(zl_subscription_return_loan(sub, msg));
                continue;
            }
            if (pool_objects(needle) == 0)
                break;
            CHECK(test_now_ns() < deadline);
            test_sleep_ms(1);
        }
        check_taken(kept, &kept_info);
        CHECK_OK(zl_subscription_return_loan(sub, kept));
    }
    printf("publisher killed %d times, %llu messages taken intact\n", cycles,
           (unsigned long long)taken);
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(crash_shm_usage(needle, NULL), 0);
}

/* Takes forever, holding four loans at a time. */
static void subscription_child(const char *topic, int report_fd)
{
    zl_context *context;
    zl_subscription *sub;
    if (zl_context_create(NULL, &context) != 0 ||
        zl_subscription_create(context, topic, &blob_type, NULL, &sub) != 0)
        _exit(2);
    const void *held[4] = {NULL, NULL, NULL, NULL};
    bool reported = false;
    for (uint64_t n = 0;; n += reported) {
        const void *msg;
        zl_message_info info;
        if (zl_subscription_take_loan(sub, &msg, &info) != 0)
            continue;
        if (!intact(msg, info.count))
            _exit(3);
        if (held[n % 4] != NULL)
            zl_subscription_return_loan(sub, held[n % 4]);
        held[n % 4] = msg;
        if (!reported && ++n >= 30) {
            crash_write_line(report_fd, "ready\n");
            reported = true;
        }
    }
}

static void case_subscription_killed(int cycles)
{
    const char *topic = test_topic("growth_sub");
    char needle[200];
    crash_shm_needle(topic, needle, sizeof needle);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &blob_type, NULL, &pub));
    uint64_t sequence = 0;
    for (int cycle = 0; cycle < cycles; cycle++) {
        int pipe_fds[2];
        CHECK(pipe(pipe_fds) == 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            close(pipe_fds[0]);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            subscription_child(topic, pipe_fds[1]);
        }
        close(pipe_fds[1]);
        bool ready = false;
        int64_t deadline = test_now_ns() + 20000000000LL;
        while (!ready) {
            CHECK(test_now_ns() < deadline);
            void *loan;
            size_t count = count_of(++sequence);
            if (zl_publisher_loan_sized(pub, count, &loan) == 0) {
                fill(loan, sequence, count);
                CHECK_OK(zl_publisher_publish_loan(pub, loan));
            }
            struct pollfd p = {pipe_fds[0], POLLIN, 0};
            ready = poll(&p, 1, 1) == 1;
        }
        close(pipe_fds[0]);
        for (int i = rand() % 50; i > 0; i--) {
            void *loan;
            size_t count = count_of(++sequence);
            if (zl_publisher_loan_sized(pub, count, &loan) == 0) {
                fill(loan, sequence, count);
                CHECK_OK(zl_publisher_publish_loan(pub, loan));
            }
        }
        crash_kill_wait(pid);
        zl_publisher_stats stats;
        deadline = test_now_ns() + 10000000000LL;
        do {
            test_sleep_ms(1);
            CHECK_OK(zl_publisher_get_stats(pub, &stats));
            CHECK(test_now_ns() < deadline);
        } while (stats.chunks_free != stats.chunks_total || stats.subscriptions != 0);
    }
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    printf("subscription killed %d times; the pool has %u segments, %u chunks, all free\n",
           cycles, stats.segments, stats.chunks_total);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(crash_shm_usage(needle, NULL), 0);
}

/* Checks that the topic's objects are the registry, the pool, the queue and
 * the segments the publisher has (read twice around the count: an idle
 * segment may be given back meanwhile). */
static void expect_live(zl_publisher *pub, const char *needle)
{
    zl_publisher_stats before, after;
    int live;
    do {
        CHECK_OK(zl_publisher_get_stats(pub, &before));
        live = crash_shm_usage(needle, NULL);
        CHECK_OK(zl_publisher_get_stats(pub, &after));
    } while (before.segments != after.segments || before.growths != after.growths);
    CHECK_EQ(live, 3 + (int)after.segments);
}

static bool exists(const char *name)
{
    char path[1300];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    return access(path, F_OK) == 0;
}

/* Creates an empty object /dev/shm/<name>. */
static void make_object(const char *name)
{
    char path[1300];
    snprintf(path, sizeof path, "/%s", name);
    int fd = shm_open(path, O_CREAT | O_RDWR | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 4096) == 0);
    close(fd);
}

static void case_sweep(void)
{
    const char *topic = test_topic("growth_sweep");
    char needle[200];
    crash_shm_needle(topic, needle, sizeof needle);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &blob_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &blob_type, NULL, &pub));
    for (uint64_t sequence = 1; sequence <= 23; sequence++) {
        void *loan;
        CHECK_OK(zl_publisher_loan_sized(pub, count_of(sequence), &loan));
        fill(loan, sequence, count_of(sequence));
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
        const void *msg;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(sub, &msg, &info));
        check_taken(msg, &info);
        CHECK_OK(zl_subscription_return_loan(sub, msg));
    }
    expect_live(pub, needle); /* registry, pool, queue and the segments */
    /* Orphans: segments of a publisher that never registered (killed
     * between creating them and its record), and a pool without segments. */
    char registry[300], orphans[3][400];
    snprintf(registry, sizeof registry, "zl.%u.0.%s", (unsigned)geteuid(), needle + 1);
    snprintf(orphans[0], sizeof orphans[0], "%s:p00000000deadbeef.00000001", registry);
    snprintf(orphans[1], sizeof orphans[1], "%s:p00000000deadbeef.00000002", registry);
    snprintf(orphans[2], sizeof orphans[2], "%s:p00000000deadbeef", registry);
    for (int i = 0; i < 3; i++)
        make_object(orphans[i]);
    /* A start sweeps: the orphans go, every live segment stays. */
    zl_context *other;
    CHECK_OK(zl_context_create(NULL, &other));
    for (int i = 0; i < 3; i++)
        CHECK(!exists(orphans[i]));
    expect_live(pub, needle);
    CHECK_OK(zl_context_destroy(other));
    zl_publisher_stats stats;
    for (uint64_t sequence = 1; sequence <= 23; sequence++) {
        void *loan;
        CHECK_OK(zl_publisher_loan_sized(pub, count_of(sequence), &loan));
        fill(loan, sequence, count_of(sequence));
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
        const void *msg;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(sub, &msg, &info));
        check_taken(msg, &info);
        CHECK_OK(zl_subscription_return_loan(sub, msg));
    }
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.peer_errors, 0);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(crash_shm_usage(needle, NULL), 0);
}

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? atoi(argv[1]) : 20;
    srand((unsigned)getpid());
    case_sweep();
    case_publisher_killed(cycles);
    case_subscription_killed(cycles);
    return 0;
}
