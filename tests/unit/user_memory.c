/* User memory (issue 13): messages published from a sealed memfd the user
 * owns reach a subscription without a copy (its pointer lies in a read-only
 * mapping of the memfd), stay in flight until returned or dropped, and a
 * message still in flight cannot be published again; plain memory takes the
 * copy path; memory that could fault a subscription is refused. One
 * process: the subscription maps the memory through /proc/self/fd. */
#include "harness.h"
#include "user_memory_common.h"

static bool in_flight(zl_user_memory *memory, const frame *f)
{
    bool busy = true;
    CHECK_OK(zl_user_memory_in_flight(memory, f, &busy));
    return busy;
}

/* max_in_flight reached: refused with a detail that says so in full. */
static void case_max_in_flight(zl_context *context)
{
    fprintf(stderr, "case: max_in_flight\n");
    const char *topic = test_topic("user_memory_max");
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &frame_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &frame_type, NULL, &pub));
    frame *frames;
    int fd = frames_memfd(2, true, &frames);
    zl_user_memory_options o;
    zl_user_memory_options_init(&o);
    o.fd = fd;
    o.base = frames;
    o.length = sizeof(frame) * 2;
    o.max_in_flight = 1;
    zl_user_memory *memory;
    CHECK_OK(zl_user_memory_create(pub, &o, &memory));
    CHECK_OK(zl_user_memory_publish(memory, &frames[0], 0));
    CHECK_RC(zl_user_memory_publish(memory, &frames[1], 0), ZL_EBUSY);
    CHECK(strstr(zl_last_error_detail(), "max_in_flight) are in flight") != NULL);
    const void *got;
    CHECK_OK(zl_subscription_take_loan(sub, &got, NULL));
    CHECK_OK(zl_subscription_return_loan(sub, got));
    CHECK_OK(zl_user_memory_publish(memory, &frames[1], 0));
    CHECK_OK(zl_subscription_take_loan(sub, &got, NULL));
    CHECK_OK(zl_subscription_return_loan(sub, got));
    CHECK_EQ(zl_user_memory_in_flight_count(memory), 0);
    CHECK_OK(zl_user_memory_destroy(memory));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    munmap(frames, sizeof(frame) * 2);
    close(fd);
}

static void case_zero_copy_and_completion(zl_context *context)
{
    fprintf(stderr, "case: zero copy and completion\n");
    const char *topic = test_topic("user_memory");
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &frame_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &frame_type, NULL, &pub));
    frame *frames;
    int fd = frames_memfd(4, true, &frames);
    zl_user_memory *memory = frames_register(pub, fd, frames, 4);
    CHECK(zl_user_memory_is_shared(memory));

    frames[0].number = 100;
    memset(frames[0].pixels, 0xa5, sizeof frames[0].pixels);
    CHECK_OK(zl_user_memory_publish(memory, &frames[0], 0));
    CHECK(in_flight(memory, &frames[0]));
    /* Refused while in flight: the same frame, and a range overlapping it. */
    CHECK_RC(zl_user_memory_publish(memory, &frames[0], 0), ZL_EBUSY);
    CHECK_RC(zl_user_memory_publish(memory, (uint8_t *)&frames[0] + 64, 0), ZL_EBUSY);
    frames[1].number = 101;
    CHECK_OK(zl_user_memory_publish(memory, &frames[1], 0));
    CHECK_EQ(zl_user_memory_in_flight_count(memory), 2);

    const void *got;
    zl_message_info info;
    CHECK_OK(zl_subscription_take_loan(sub, &got, &info));
    const frame *f = got;
    CHECK_EQ(f->number, 100);
    CHECK_EQ(f->pixels[4091], 0xa5);
    CHECK(got != (const void *)&frames[0]); /* its own mapping... */
    CHECK(in_memfd_read_only(got));         /* ...of the very memory */
    /* Written by us after publishing (a user who broke the rule): the
     * subscription sees it, proof that nothing was copied. */
    frames[0].pixels[7] = 0x3c;
    CHECK_EQ(f->pixels[7], 0x3c);
    frames[0].pixels[7] = 0xa5;
    CHECK(in_flight(memory, &frames[0]));
    CHECK_OK(zl_subscription_return_loan(sub, got));
    CHECK(!in_flight(memory, &frames[0]));
    CHECK(in_flight(memory, &frames[1]));
    CHECK_RC(zl_user_memory_destroy(memory), ZL_EBUSY);

    /* Completed: the frame may be published again. */
    frames[0].number = 102;
    CHECK_OK(zl_user_memory_publish(memory, &frames[0], 0));
    for (uint32_t want = 101; want <= 102; want++) {
        CHECK_OK(zl_subscription_take_loan(sub, &got, NULL));
        CHECK_EQ(((const frame *)got)->number, want);
        CHECK(in_memfd_read_only(got));
        CHECK_OK(zl_subscription_return_loan(sub, got));
    }
    CHECK_EQ(zl_user_memory_in_flight_count(memory), 0);
    CHECK_OK(zl_user_memory_destroy(memory));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    munmap(frames, sizeof(frame) * 4);
    close(fd);
}

/* A message nobody received completes at once; one pushed out of a full
 * keep-last queue completes when it is dropped. */
static void case_completion_without_return(zl_context *context)
{
    fprintf(stderr, "case: completion without a return\n");
    const char *topic = test_topic("user_memory_drop");
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &frame_type, NULL, &pub));
    frame *frames;
    int fd = frames_memfd(4, true, &frames);
    zl_user_memory *memory = frames_register(pub, fd, frames, 4);
    CHECK_OK(zl_user_memory_publish(memory, &frames[0], 0));
    CHECK(!in_flight(memory, &frames[0]));

    zl_subscription_options so;
    zl_subscription_options_init(&so);
    so.depth = 1;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &frame_type, &so, &sub));
    CHECK_OK(zl_publisher_update_connections(pub));
    CHECK_OK(zl_user_memory_publish(memory, &frames[1], 0));
    CHECK(in_flight(memory, &frames[1]));
    CHECK_OK(zl_user_memory_publish(memory, &frames[2], 0)); /* pushes frame 1 out */
    CHECK(!in_flight(memory, &frames[1]));
    CHECK(in_flight(memory, &frames[2]));
    const void *got;
    CHECK_OK(zl_subscription_take_loan(sub, &got, NULL));
    CHECK(in_flight(memory, &frames[2]));
    CHECK_OK(zl_subscription_return_loan(sub, got));
    CHECK(!in_flight(memory, &frames[2]));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_user_memory_destroy(memory));
    CHECK_OK(zl_publisher_destroy(pub));
    munmap(frames, sizeof(frame) * 4);
    close(fd);
}

static void case_refused(zl_context *context)
{
    fprintf(stderr, "case: refused registrations and publications\n");
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, test_topic("user_memory_refused"), &frame_type, NULL,
                                 &pub));
    frame *frames;
    zl_user_memory_options o;
    zl_user_memory_options_init(&o);
    zl_user_memory *memory;
    /* An unsealed memfd could be truncated under a reader. */
    int unsealed = frames_memfd(2, false, &frames);
    o.fd = unsealed;
    o.base = frames;
    o.length = sizeof(frame) * 2;
    CHECK_RC(zl_user_memory_create(pub, &o, &memory), ZL_EINVAL);
    CHECK(strstr(zl_last_error_detail(), "F_SEAL_SHRINK") != NULL);
    /* A descriptor that is no file at all, and a file that cannot be sealed. */
    int pipe_fds[2];
    CHECK_EQ(pipe(pipe_fds), 0);
    o.fd = pipe_fds[0];
    CHECK_RC(zl_user_memory_create(pub, &o, &memory), ZL_ENOTSUP);
    char path[] = "/tmp/zl-user-memory-XXXXXX";
    int file = mkstemp(path);
    CHECK(file >= 0);
    unlink(path);
    CHECK_EQ(ftruncate(file, (off_t)o.length), 0);
    o.fd = file;
    CHECK_RC(zl_user_memory_create(pub, &o, &memory), ZL_ENOTSUP);
    close(file);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    munmap(frames, sizeof(frame) * 2);
    close(unsealed);

    int fd = frames_memfd(2, true, &frames);
    o.fd = fd;
    o.base = frames;
    o.offset = 100; /* not page-aligned */
    CHECK_RC(zl_user_memory_create(pub, &o, &memory), ZL_EINVAL);
    o.offset = 0;
    o.length = sizeof(frame) * 3; /* past the end of the file */
    CHECK_RC(zl_user_memory_create(pub, &o, &memory), ZL_EINVAL);
    o.length = 0;
    CHECK_RC(zl_user_memory_create(pub, &o, &memory), ZL_EINVAL);
    o.length = sizeof(frame) * 2;
    o.base = NULL;
    CHECK_RC(zl_user_memory_create(pub, &o, &memory), ZL_EINVAL);
    o.base = frames;
    CHECK_OK(zl_user_memory_create(pub, &o, &memory));
    /* Messages outside the memory, across its end, or misaligned. */
    frame outside;
    CHECK_RC(zl_user_memory_publish(memory, &outside, 0), ZL_EINVAL);
    CHECK_RC(zl_user_memory_publish(memory, &frames[1].pixels[8], 0), ZL_EINVAL);
    CHECK_RC(zl_user_memory_publish(memory, (uint8_t *)&frames[0] + 1, 0), ZL_EINVAL);
    CHECK_RC(zl_user_memory_publish(memory, &frames[0], 1), ZL_EINVAL); /* fixed size */
    CHECK_RC(zl_user_memory_publish(NULL, &frames[0], 0), ZL_EINVAL);
    CHECK_RC(zl_user_memory_destroy(NULL), ZL_EINVAL);
    CHECK_OK(zl_user_memory_destroy(memory));
    CHECK_OK(zl_publisher_destroy(pub));
    munmap(frames, sizeof(frame) * 2);
    close(fd);
}

/* Plain memory (no descriptor): the same calls, one copy, never in flight. */
static void case_plain_memory(zl_context *context)
{
    fprintf(stderr, "case: plain memory takes the copy path\n");
    const char *topic = test_topic("user_memory_plain");
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &frame_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &frame_type, NULL, &pub));
    static frame frames[2];
    zl_user_memory_options o;
    zl_user_memory_options_init(&o);
    o.base = frames;
    o.length = sizeof frames;
    zl_user_memory *memory;
    CHECK_OK(zl_user_memory_create(pub, &o, &memory));
    CHECK(!zl_user_memory_is_shared(memory));
    frames[1].number = 7;
    CHECK_OK(zl_user_memory_publish(memory, &frames[1], 0));
    CHECK(!in_flight(memory, &frames[1]));
    frames[1].number = 8; /* reused at once: the subscription got a copy */
    CHECK_OK(zl_user_memory_publish(memory, &frames[1], 0));
    for (uint32_t want = 7; want <= 8; want++) {
        const void *got;
        CHECK_OK(zl_subscription_take_loan(sub, &got, NULL));
        CHECK_EQ(((const frame *)got)->number, want);
        CHECK(!in_memfd_read_only(got));
        CHECK_OK(zl_subscription_return_loan(sub, got));
    }
    CHECK_OK(zl_user_memory_destroy(memory));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    case_zero_copy_and_completion(context);
    case_max_in_flight(context);
    case_completion_without_return(context);
    case_refused(context);
    case_plain_memory(context);
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(test_topic("user_memory"))), 0);
    return 0;
}
