/* Across processes (issue 13): a frame published from the publisher's
 * sealed memfd reaches two subscription processes without a copy (each
 * checks that its pointer lies in a read-only mapping of the memfd and
 * reads the bytes); it stays in flight while either holds it: after one
 * returns it, and until the other is killed with SIGKILL while holding it,
 * after which the publisher's reclaim completes it and a wait set waiting
 * for that completion wakes. */
#include <sys/prctl.h>
#include <sys/wait.h>

#include "harness.h"
#include "user_memory_common.h"

enum { HOLD_RETURN, HOLD_FOREVER };

static void child(const char *topic, int behaviour, int ready_fd, int go_fd)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &frame_type, NULL, &sub));
    CHECK_EQ(write(ready_fd, "R", 1), 1);
    const void *got = NULL;
    int64_t deadline = test_now_ns() + 20LL * 1000000000;
    int rc;
    while ((rc = zl_subscription_take_loan(sub, &got, NULL)) == ZL_ENODATA &&
           test_now_ns() < deadline)
        test_sleep_ms(1);
    CHECK_OK(rc);
    const frame *f = got;
    bool good = f->number == 42 && f->pixels[0] == 0x5a && f->pixels[4091] == 0x5a &&
                in_memfd_read_only(got);
    CHECK_EQ(write(ready_fd, good ? "T" : "F", 1), 1);
    if (behaviour == HOLD_FOREVER)
        for (;;)
            pause();
    char go;
    CHECK_EQ(read(go_fd, &go, 1), 1);
    CHECK_OK(zl_subscription_return_loan(sub, got));
    CHECK_EQ(write(ready_fd, "D", 1), 1);
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    _exit(0);
}

static pid_t start(const char *topic, int behaviour, int *from_child, int *to_child)
{
    int up[2], down[2];
    CHECK_EQ(pipe(up), 0);
    CHECK_EQ(pipe(down), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        close(up[0]);
        close(down[1]);
        child(topic, behaviour, up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    *from_child = up[0];
    *to_child = down[1];
    return pid;
}

static char expect(int fd)
{
    char c = 0;
    CHECK_EQ(read(fd, &c, 1), 1);
    return c;
}

static bool in_flight(zl_user_memory *memory, const frame *f)
{
    bool busy = true;
    CHECK_OK(zl_user_memory_in_flight(memory, f, &busy));
    return busy;
}

int main(void)
{
    char topic[128];
    snprintf(topic, sizeof topic, "%s", test_topic("user_memory_kill"));
    /* The children start before this process makes any zloan object. */
    int from_returner, to_returner, from_holder, to_holder;
    pid_t returner = start(topic, HOLD_RETURN, &from_returner, &to_returner);
    pid_t holder = start(topic, HOLD_FOREVER, &from_holder, &to_holder);
    CHECK_EQ(expect(from_returner), 'R');
    CHECK_EQ(expect(from_holder), 'R');

    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &frame_type, NULL, &pub));
    zl_publisher_stats stats;
    for (int i = 0; i < 20000; i++) {
        CHECK_OK(zl_publisher_get_stats(pub, &stats));
        if (stats.subscriptions == 2)
            break;
        test_sleep_ms(1);
    }
    CHECK_EQ(stats.subscriptions, 2);
    frame *frames;
    int fd = frames_memfd(4, true, &frames);
    zl_user_memory *memory = frames_register(pub, fd, frames, 4);
    frames[2].number = 42;
    memset(frames[2].pixels, 0x5a, sizeof frames[2].pixels);
    CHECK_OK(zl_user_memory_publish(memory, &frames[2], 0));
    CHECK_EQ(expect(from_returner), 'T');
    CHECK_EQ(expect(from_holder), 'T');
    CHECK(in_flight(memory, &frames[2]));

    /* One of the two returns it: still in flight. */
    CHECK_EQ(write(to_returner, "G", 1), 1);
    CHECK_EQ(expect(from_returner), 'D');
    test_wait_child_ok(returner, "returner");
    CHECK(in_flight(memory, &frames[2]));
    CHECK_RC(zl_user_memory_publish(memory, &frames[2], 0), ZL_EBUSY);

    /* The other dies holding it: the reclaim completes it, and a wait set
     * waiting for the completion wakes (the liveness monitor's generation
     * bump), long before its timeout. */
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 1, &ws));
    CHECK_OK(zl_waitset_attach_user_memory(ws, memory, NULL));
    const void *done = NULL;
    CHECK_RC(zl_user_memory_take_completed(memory, &done), ZL_ENODATA);
    CHECK_EQ(kill(holder, SIGKILL), 0);
    CHECK_EQ(waitpid(holder, NULL, 0), holder);
    int64_t killed = test_now_ns();
    int64_t deadline = killed + 20LL * 1000000000;
    while (zl_user_memory_take_completed(memory, &done) == ZL_ENODATA) {
        CHECK(test_now_ns() < deadline);
        CHECK_OK(zl_waitset_wait(ws, deadline - test_now_ns(), NULL));
        CHECK(test_now_ns() < deadline); /* woken, not timed out */
    }
    CHECK(done == &frames[2]);
    CHECK(!in_flight(memory, &frames[2]));
    printf("completion seen by a wait set %.1f ms after SIGKILL of the last holder\n",
           (double)(test_now_ns() - killed) / 1e6);
    CHECK_OK(zl_user_memory_publish(memory, &frames[2], 0)); /* reusable */
    CHECK_OK(zl_waitset_destroy(ws));

    CHECK_OK(zl_user_memory_destroy(memory));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
