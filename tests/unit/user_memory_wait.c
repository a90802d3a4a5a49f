/* User memory's completion notice (issue 13): a wait set and an executor
 * wake when a subscription on another thread returns the last reference to
 * a message published from user memory, and report the address it was
 * published from, oldest first; plain memory's notices come at publish;
 * misuse gets codes. Threads: run it under ThreadSanitizer too. The waits
 * have long timeouts: without the subscription's wake-up
 * (subscription/returns.c S8) they would sleep to the end, which the checks refuse. */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "user_memory_common.h"

#define WAIT_NS (10LL * 1000000000)

/* A subscription on its own thread: takes `count` messages, holds each
 * for pause_ms (the waiter is asleep by then), returns it. */
typedef struct reader {
    zl_subscription *sub;
    int count;
    long pause_ms;
    uint32_t numbers[16];
} reader;

static void *read_and_return(void *arg)
{
    reader *r = arg;
    for (int i = 0; i < r->count; i++) {
        const void *got;
        int64_t deadline = test_now_ns() + WAIT_NS;
        int rc;
        while ((rc = zl_subscription_take_loan(r->sub, &got, NULL)) == ZL_ENODATA &&
               test_now_ns() < deadline)
            test_sleep_ms(1);
        CHECK_OK(rc);
        r->numbers[i] = ((const frame *)got)->number;
        test_sleep_ms(r->pause_ms);
        CHECK_OK(zl_subscription_return_loan(r->sub, got));
    }
    return NULL;
}

typedef struct fixture {
    zl_subscription *sub;
    zl_publisher *pub;
    frame *frames;
    int fd;
    zl_user_memory *memory;
} fixture;

static void fixture_open(zl_context *context, const char *name, bool shared, fixture *f)
{
    const char *topic = test_topic(name);
    CHECK_OK(zl_subscription_create(context, topic, &frame_type, NULL, &f->sub));
    CHECK_OK(zl_publisher_create(context, topic, &frame_type, NULL, &f->pub));
    f->fd = frames_memfd(4, true, &f->frames);
    f->memory = frames_register(f->pub, shared ? f->fd : -1, f->frames, 4);
    CHECK_EQ(zl_user_memory_is_shared(f->memory), shared);
}

static void fixture_close(fixture *f)
{
    CHECK_OK(zl_user_memory_destroy(f->memory));
    CHECK_OK(zl_publisher_destroy(f->pub));
    CHECK_OK(zl_subscription_destroy(f->sub));
    munmap(f->frames, sizeof(frame) * 4);
    close(f->fd);
}

/* Waits on ws until the memory has a notice: its address. */
static const void *wait_completed(zl_waitset *ws, zl_user_memory *memory)
{
    const void *done = NULL;
    int64_t deadline = test_now_ns() + WAIT_NS;
    while (zl_user_memory_take_completed(memory, &done) == ZL_ENODATA) {
        int64_t left = deadline - test_now_ns();
        CHECK(left > 0);
        CHECK_OK(zl_waitset_wait(ws, left, NULL));
        /* Woken by the return, not by the end of the wait (which looks a
         * last time and would find the completion too). */
        CHECK(test_now_ns() < deadline);
    }
    return done;
}

static void case_waitset_wakes_on_return(zl_context *context)
{
    fprintf(stderr, "case: a wait set wakes when the last holder returns\n");
    fixture f;
    fixture_open(context, "um_wait", true, &f);
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 2, &ws));
    size_t index;
    CHECK_OK(zl_waitset_attach_user_memory(ws, f.memory, &index));
    /* Nothing published: nothing completes, the wait times out. */
    CHECK_RC(zl_waitset_wait(ws, 0, NULL), ZL_ETIMEOUT);
    CHECK(!zl_waitset_ready(ws, index));
    const void *done;
    CHECK_RC(zl_user_memory_take_completed(f.memory, &done), ZL_ENODATA);

    for (uint32_t i = 0; i < 3; i++) {
        f.frames[i].number = 10 + i;
        CHECK_OK(zl_user_memory_publish(f.memory, &f.frames[i], 0));
    }
    /* In flight, not complete: a wait that only looks finds nothing. */
    CHECK_RC(zl_waitset_wait(ws, 0, NULL), ZL_ETIMEOUT);
    reader r = {.sub = f.sub, .count = 3, .pause_ms = 30};
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, read_and_return, &r), 0);
    /* Each completes as it is returned, and is reported in that order. */
    for (uint32_t i = 0; i < 3; i++) {
        done = wait_completed(ws, f.memory);
        CHECK(done == &f.frames[i]);
        CHECK_EQ(r.numbers[i], 10 + i);
    }
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_EQ(zl_user_memory_in_flight_count(f.memory), 0);
    CHECK_RC(zl_user_memory_take_completed(f.memory, &done), ZL_ENODATA);

    /* Attached: neither the memory nor its publisher can be destroyed. */
    CHECK_RC(zl_user_memory_destroy(f.memory), ZL_EBUSY);
    CHECK_RC(zl_publisher_destroy(f.pub), ZL_EBUSY);
    CHECK_OK(zl_waitset_detach(ws, index));
    CHECK_OK(zl_waitset_destroy(ws));
    fixture_close(&f);
}

typedef struct completions {
    zl_user_memory *memory;
    int count;
    const void *messages[16];
    bool republish; /* the callback publishes the frame again */
} completions;

static void on_completed(zl_user_memory *memory, const void *message, void *arg)
{
    completions *c = arg;
    CHECK(memory == c->memory);
    if (c->count < 16)
        c->messages[c->count] = message;
    c->count++;
    if (c->republish && c->count < 4)
        CHECK_OK(zl_user_memory_publish(memory, message, 0));
}

static void case_executor_callback(zl_context *context)
{
    fprintf(stderr, "case: the executor calls back on its thread for each completion\n");
    fixture f;
    fixture_open(context, "um_exec", true, &f);
    zl_executor *exec;
    CHECK_OK(zl_executor_create(context, 2, &exec));
    completions c = {.memory = f.memory};
    CHECK_RC(zl_executor_add_user_memory(exec, f.memory, NULL, &c), ZL_EINVAL);
    CHECK_RC(zl_executor_add_user_memory(exec, NULL, on_completed, &c), ZL_EINVAL);
    CHECK_OK(zl_executor_add_user_memory(exec, f.memory, on_completed, &c));
    CHECK_RC(zl_executor_spin_once(exec, 0), ZL_ETIMEOUT);
    f.frames[1].number = 21;
    f.frames[3].number = 23;
    CHECK_OK(zl_user_memory_publish(f.memory, &f.frames[1], 0));
    CHECK_OK(zl_user_memory_publish(f.memory, &f.frames[3], 0));
    reader r = {.sub = f.sub, .count = 2, .pause_ms = 30};
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, read_and_return, &r), 0);
    int64_t deadline = test_now_ns() + WAIT_NS;
    while (c.count < 2 && test_now_ns() < deadline) {
        int rc = zl_executor_spin_once(exec, deadline - test_now_ns());
        CHECK(rc == 0 || rc == ZL_ETIMEOUT);
    }
    CHECK(test_now_ns() < deadline); /* woken by the returns */
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_EQ(c.count, 2);
    CHECK(c.messages[0] == &f.frames[1]);
    CHECK(c.messages[1] == &f.frames[3]);
    /* Added to an executor: the memory cannot be destroyed before it, and
     * the detail says so (not only "wait set"). */
    CHECK_RC(zl_user_memory_destroy(f.memory), ZL_EBUSY);
    CHECK(strstr(zl_last_error_detail(), "executor") != NULL);
    CHECK_OK(zl_executor_destroy(exec));
    fixture_close(&f);
}

static void case_plain_memory(zl_context *context)
{
    fprintf(stderr, "case: plain memory completes at publish, same calls\n");
    fixture f;
    fixture_open(context, "um_plain", false, &f);
    zl_executor *exec;
    CHECK_OK(zl_executor_create(context, 1, &exec));
    completions c = {.memory = f.memory, .republish = true};
    CHECK_OK(zl_executor_add_user_memory(exec, f.memory, on_completed, &c));
    f.frames[0].number = 30;
    CHECK_OK(zl_user_memory_publish(f.memory, &f.frames[0], 0));
    /* The callback publishes again; its notice waits for the next round
     * (a round ends). */
    CHECK_OK(zl_executor_spin_once(exec, 0));
    CHECK_EQ(c.count, 1);
    CHECK(c.messages[0] == &f.frames[0]);
    CHECK_OK(zl_executor_spin_some(exec));
    CHECK_EQ(c.count, 2);
    const void *got;
    int taken = 0;
    while (zl_subscription_take_loan(f.sub, &got, NULL) == 0) {
        CHECK_EQ(((const frame *)got)->number, 30);
        CHECK(got != (const void *)&f.frames[0]); /* a copy */
        CHECK_OK(zl_subscription_return_loan(f.sub, got));
        taken++;
    }
    CHECK(taken >= 1);
    CHECK_OK(zl_executor_destroy(exec));
    fixture_close(&f);
}

static void case_notices_kept(zl_context *context)
{
    fprintf(stderr, "case: notices nobody takes are bounded; polling still works\n");
    fixture f;
    fixture_open(context, "um_notices", true, &f);
    /* No subscription takes: drop it, so publications complete at once. */
    CHECK_OK(zl_subscription_destroy(f.sub));
    f.sub = NULL;
    CHECK_OK(zl_publisher_update_connections(f.pub));
    for (int round = 0; round < 10; round++) {
        CHECK_OK(zl_user_memory_publish(f.memory, &f.frames[round % 4], 0));
        bool busy = true;
        CHECK_OK(zl_user_memory_in_flight(f.memory, &f.frames[round % 4], &busy));
        CHECK(!busy);
    }
    /* max_in_flight (8 by default) notices are kept, the newest. */
    const void *done;
    for (int i = 2; i < 10; i++) {
        CHECK_OK(zl_user_memory_take_completed(f.memory, &done));
        CHECK(done == &f.frames[i % 4]);
    }
    CHECK_RC(zl_user_memory_take_completed(f.memory, &done), ZL_ENODATA);
    CHECK_RC(zl_user_memory_take_completed(NULL, &done), ZL_EINVAL);
    CHECK_RC(zl_user_memory_take_completed(f.memory, NULL), ZL_EINVAL);
    CHECK_OK(zl_user_memory_destroy(f.memory));
    CHECK_OK(zl_publisher_destroy(f.pub));
    munmap(f.frames, sizeof(frame) * 4);
    close(f.fd);
}

static void case_misuse(zl_context *context)
{
    fprintf(stderr, "case: misuse gets codes\n");
    fixture f;
    fixture_open(context, "um_misuse", true, &f);
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 1, &ws));
    CHECK_RC(zl_waitset_attach_user_memory(ws, NULL, NULL), ZL_EINVAL);
    CHECK_RC(zl_waitset_attach_user_memory(NULL, f.memory, NULL), ZL_EINVAL);
    CHECK_OK(zl_waitset_attach_user_memory(ws, f.memory, NULL));
    CHECK_RC(zl_waitset_attach_user_memory(ws, f.memory, NULL), ZL_ELIMIT);
    CHECK_OK(zl_waitset_destroy(ws)); /* detaches */
    /* The publisher refuses destruction while memory is registered. */
    CHECK_RC(zl_publisher_destroy(f.pub), ZL_EBUSY);
    fixture_close(&f);
}

/* A user-memory entry is a futex source: a wait never polls or reads
 * another descriptor (it once polled fd 0, left from the entry's memset,
 * and read what stdin held; with stdin at EOF it spun). */
static void case_no_descriptor(zl_context *context)
{
    fprintf(stderr, "case: a user-memory entry polls no descriptor (stdin untouched)\n");
    fixture f;
    fixture_open(context, "um_nofd", true, &f);
    int saved = dup(0), pipe_fds[2];
    CHECK(saved >= 0);
    CHECK_EQ(pipe(pipe_fds), 0);
    CHECK_EQ(write(pipe_fds[1], "ABCDEFGH", 8), 8);
    /* Non-blocking: if the wait consumed them, the check below fails
     * instead of blocking. */
    CHECK_EQ(fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK), 0);
    CHECK_EQ(dup2(pipe_fds[0], 0), 0);
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 1, &ws));
    CHECK_OK(zl_waitset_attach_user_memory(ws, f.memory, NULL));
    f.frames[0].number = 40;
    CHECK_OK(zl_user_memory_publish(f.memory, &f.frames[0], 0));
    /* In flight, nobody returns it: the waits time out. */
    for (int i = 0; i < 3; i++)
        CHECK_RC(zl_waitset_wait(ws, 20 * 1000000LL, NULL), ZL_ETIMEOUT);
    char left[8];
    CHECK_EQ(read(0, left, sizeof left), 8); /* stdin still holds its 8 bytes */
    CHECK_EQ(memcmp(left, "ABCDEFGH", 8), 0);
    CHECK_EQ(dup2(saved, 0), 0);
    close(saved);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    const void *got;
    CHECK_OK(zl_subscription_take_loan(f.sub, &got, NULL));
    CHECK_OK(zl_subscription_return_loan(f.sub, got));
    CHECK(wait_completed(ws, f.memory) == &f.frames[0]);
    CHECK_OK(zl_waitset_destroy(ws));
    fixture_close(&f);
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    case_waitset_wakes_on_return(context);
    case_executor_callback(context);
    case_plain_memory(context);
    case_notices_kept(context);
    case_misuse(context);
    case_no_descriptor(context);
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
