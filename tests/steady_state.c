/* The hot path without system calls (I4): after setup and a warm-up,
 * 100,000 rounds of loan -> publish -> take -> return between a publisher
 * and two subscriptions (one keep-last, one lossless whose queue never
 * fills: nobody sleeps, so nobody is woken), between two marker writes to
 * stderr. The test
 * script (steady_state.sh) runs this under strace and fails if the main
 * thread made any system call between the markers.
 *
 * Before the rounds, two other processes subscribe to the topic and fall
 * asleep in wait sets: one on one subscription, one on three subscriptions
 * and two guard conditions. Both are killed (-9) while asleep and reaped: a
 * dead sleeper must not leave the publisher paying a FUTEX_WAKE per publish
 * (I4: a wake-up system call only when someone is actually asleep).
 *
 * Then the same with a sized type whose size varies in a fixed set, from
 * 64 B to 1 MiB: once the warm-up has grown the pool for each size, varying
 * sizes make no system call either (no growth, no shrinking).
 *
 * Then user memory (issue 13): publish a frame of a sealed memfd, take and
 * return it on two subscriptions, look at the wait set the memory is
 * attached to and take the completion notice: no system call either (the
 * returns find nobody asleep on the completion flag, publisher/user_memory.c M1). */
#include "harness.h"
#include "peer.h"
#include "user_memory_common.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

static void round_trip(zl_publisher *pub, zl_subscription **subs, uint64_t sequence)
{
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    ((test_msg *)loan)->sequence = sequence;
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    for (int i = 0; i < 2; i++) {
        const void *msg;
        CHECK_OK(zl_subscription_take_loan(subs[i], &msg, NULL));
        CHECK_EQ(((const test_msg *)msg)->sequence, sequence);
        CHECK_OK(zl_subscription_return_loan(subs[i], msg));
    }
}

typedef struct blob {
    uint64_t sequence;
    uint8_t data[];
} blob;
static const zl_type blob_type = ZL_TYPE_SIZED(blob, data, 0);

static size_t count_of(uint64_t sequence)
{
    static const size_t counts[] = {64, 1000, 1 << 20, 70000, 4096, 300000};
    return counts[sequence % (sizeof counts / sizeof counts[0])];
}

static void round_trip_sized(zl_publisher *pub, zl_subscription **subs, uint64_t sequence)
{
    void *loan;
    size_t count = count_of(sequence);
    CHECK_OK(zl_publisher_loan_sized(pub, count, &loan));
    blob *b = loan;
    b->sequence = sequence;
    b->data[count - 1] = (uint8_t)sequence;
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    for (int i = 0; i < 2; i++) {
        const void *msg;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(subs[i], &msg, &info));
        CHECK_EQ(((const blob *)msg)->sequence, sequence);
        CHECK_EQ(info.count, count);
        CHECK_EQ(((const blob *)msg)->data[count - 1], (uint8_t)sequence);
        CHECK_OK(zl_subscription_return_loan(subs[i], msg));
    }
}

static void mark(const char *text)
{
    CHECK(write(2, text, strlen(text)) == (ssize_t)strlen(text));
}


/* The sleeper process: `steady_state sleep TOPIC S G` subscribes S times to
 * TOPIC, makes G guard conditions, attaches them all to one wait set, says
 * "ready" on stdout and sleeps in zl_waitset_wait until it is killed. */
static int sleeper(const char *topic, int subscriptions, int guards)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_waitset *waitset;
    CHECK_OK(zl_waitset_create(context, (size_t)(subscriptions + guards), &waitset));
    for (int i = 0; i < subscriptions; i++) {
        zl_subscription *sub;
        CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
        CHECK_OK(zl_waitset_attach_subscription(waitset, sub, NULL));
    }
    for (int i = 0; i < guards; i++) {
        zl_guard_condition *guard;
        CHECK_OK(zl_guard_condition_create(context, &guard));
        CHECK_OK(zl_waitset_attach_guard_condition(waitset, guard, NULL));
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        size_t ready;
        int rc = zl_waitset_wait(waitset, -1, &ready);
        CHECK(rc == 0 || rc == ZL_ETIMEOUT);
    }
}

/* Whether the process's main thread is blocked in a futex wait (the wait
 * set's sleep: futex_waitv, or futex), from /proc/<pid>/syscall. */
static bool asleep_in_futex(pid_t pid)
{
    char path[64], text[256];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    bool in_futex = fgets(text, sizeof text, f) != NULL &&
                    (atol(text) == SYS_futex_waitv || atol(text) == SYS_futex);
    fclose(f);
    return in_futex;
}

/* Waits (10 s at most) until the process's main thread sleeps in a futex. */
static void wait_asleep(pid_t pid)
{
    int64_t deadline = test_now_ns() + 10000000000LL;
    while (!asleep_in_futex(pid)) {
        CHECK(test_now_ns() < deadline);
        test_sleep_ms(1);
    }
}

/* Starts a sleeper, waits until it is asleep, and returns its pid. */
static pid_t start_sleeper(const char *self, const char *topic, const char *subscriptions,
                           const char *guards)
{
    int out[2];
    CHECK(pipe(out) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* Dies with this process, should a check fail before the kill. */
        CHECK(prctl(PR_SET_PDEATHSIG, SIGKILL) == 0);
        CHECK(dup2(out[1], 1) == 1);
        execl(self, self, "sleep", topic, subscriptions, guards, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[16] = {0};
    CHECK(read(out[0], line, sizeof line - 1) > 0);
    CHECK(strncmp(line, "ready", 5) == 0);
    close(out[0]);
    wait_asleep(pid);
    return pid;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "sleep") == 0)
        return sleeper(argv[2], atoi(argv[3]), atoi(argv[4]));
    const char *topic = test_topic("steady");
    /* The sleepers start before this process uses zloan (fork). */
    pid_t sleepers[2] = {start_sleeper(argv[0], topic, "1", "0"),
                         start_sleeper(argv[0], topic, "3", "2")};
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_subscription *subs[2];
    zl_publisher *pub;
    zl_subscription_options lossless;
    zl_subscription_options_init(&lossless);
    lossless.reliability = ZL_LOSSLESS;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &subs[0]));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &lossless, &subs[1]));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.subscriptions, 6);
    for (int i = 0; i < 2; i++) {
        /* New endpoints may wake a sleeper for a moment (a spurious wake-up
         * is allowed); kill it once it is back asleep, within a deadline. */
        wait_asleep(sleepers[i]);
        kill(sleepers[i], SIGKILL);
        int status;
        while (waitpid(sleepers[i], &status, 0) < 0 && errno == EINTR) {
        }
    }
    /* Reaped by the liveness check; the deadline bounds the wait. */
    int64_t deadline = test_now_ns() + 10000000000LL;
    do {
        CHECK(test_now_ns() < deadline);
        test_sleep_ms(1);
        CHECK_OK(zl_publisher_update_connections(pub));
        CHECK_OK(zl_publisher_get_stats(pub, &stats));
    } while (stats.subscriptions != 2);
    for (uint64_t i = 1; i <= 1000; i++)
        round_trip(pub, subs, i);
    mark("steady state: begin\n");
    for (uint64_t i = 1001; i <= 101000; i++)
        round_trip(pub, subs, i);
    mark("steady state: end\n");
    CHECK_OK(zl_publisher_destroy(pub));
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_destroy(subs[i]));

    const char *sized_topic = test_topic("steady_sized");
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_create(context, sized_topic, &blob_type, NULL, &subs[i]));
    CHECK_OK(zl_publisher_create(context, sized_topic, &blob_type, NULL, &pub));
    for (uint64_t i = 1; i <= 1000; i++)
        round_trip_sized(pub, subs, i);
    zl_publisher_stats before, after;
    CHECK_OK(zl_publisher_get_stats(pub, &before));
    mark("steady state: begin\n");
    for (uint64_t i = 1001; i <= 101000; i++)
        round_trip_sized(pub, subs, i);
    mark("steady state: end\n");
    CHECK_OK(zl_publisher_get_stats(pub, &after));
    CHECK_EQ(after.growths, before.growths);
    CHECK_EQ(after.segments, before.segments);
    CHECK_OK(zl_publisher_destroy(pub));
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_destroy(subs[i]));

    const char *user_topic = test_topic("steady_user");
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_create(context, user_topic, &frame_type, NULL, &subs[i]));
    CHECK_OK(zl_publisher_create(context, user_topic, &frame_type, NULL, &pub));
    frame *frames;
    int fd = frames_memfd(4, true, &frames);
    zl_user_memory *memory = frames_register(pub, fd, frames, 4);
    zl_waitset *waitset;
    CHECK_OK(zl_waitset_create(context, 1, &waitset));
    CHECK_OK(zl_waitset_attach_user_memory(waitset, memory, NULL));
    CHECK_RC(zl_waitset_wait(waitset, 1000000, NULL), ZL_ETIMEOUT); /* slept once */
    for (uint64_t i = 1; i <= 101000; i++) {
        if (i == 1001)
            mark("steady state: begin\n");
        frame *f = &frames[i % 4];
        f->number = (uint32_t)i;
        CHECK_OK(zl_user_memory_publish(memory, f, 0));
        for (int k = 0; k < 2; k++) {
            const void *msg;
            CHECK_OK(zl_subscription_take_loan(subs[k], &msg, NULL));
            CHECK_EQ(((const frame *)msg)->number, (uint32_t)i);
            CHECK_OK(zl_subscription_return_loan(subs[k], msg));
        }
        CHECK_OK(zl_waitset_wait(waitset, 0, NULL));
        const void *done;
        CHECK_OK(zl_user_memory_take_completed(memory, &done));
        CHECK(done == f);
    }
    mark("steady state: end\n");
    CHECK_OK(zl_waitset_destroy(waitset));
    CHECK_OK(zl_user_memory_destroy(memory));
    CHECK_OK(zl_publisher_destroy(pub));
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_destroy(subs[i]));
    munmap(frames, sizeof(frame) * 4);
    close(fd);
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
