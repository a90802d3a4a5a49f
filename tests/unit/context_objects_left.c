/* zl_context_destroy refuses (ZL_EBUSY) while anything made from the
 * context is left: publishers, subscriptions, wait sets, executors, guard
 * conditions and timers, and the detail names what is left. The allocator
 * unmaps freed memory, so an object that outlived its context and read it
 * would crash here. */
#include <sys/mman.h>

#include "harness.h"
#include "peer.h"

/* Every allocation its own mapping, unmapped when freed. */
static void *mapping_allocate(size_t size, size_t alignment, void *state)
{
    (void)alignment;
    (void)state;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void mapping_deallocate(void *ptr, size_t size, size_t alignment, void *state)
{
    (void)alignment;
    (void)state;
    CHECK_EQ(munmap(ptr, size), 0);
}

static void on_tick(zl_timer *timer, uint64_t expirations, void *arg)
{
    (void)timer;
    (void)expirations;
    (void)arg;
}

/* Destroying the context is refused, naming what, and changes nothing. */
static void check_refused(zl_context *context, const char *what)
{
    CHECK_RC(zl_context_destroy(context), ZL_EBUSY);
    if (strstr(zl_last_error_detail(), what) == NULL) {
        fprintf(stderr, "detail '%s' does not name '%s'\n", zl_last_error_detail(), what);
        exit(1);
    }
}

int main(void)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.allocator.allocate = mapping_allocate;
    options.allocator.deallocate = mapping_deallocate;
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));

    zl_waitset *waitset;
    CHECK_OK(zl_waitset_create(context, 2, &waitset));
    check_refused(context, "1 wait set");
    CHECK_OK(zl_waitset_destroy(waitset));

    zl_guard_condition *guard;
    CHECK_OK(zl_guard_condition_create(context, &guard));
    check_refused(context, "1 guard condition");
    CHECK_OK(zl_guard_condition_destroy(guard));

    zl_timer *timer;
    CHECK_OK(zl_timer_create(context, 1000000, &timer));
    check_refused(context, "1 timer");
    CHECK_OK(zl_timer_destroy(timer));

    /* An executor's own wait set and guard condition are not listed apart. */
    zl_executor *executor;
    CHECK_OK(zl_executor_create(context, 2, &executor));
    check_refused(context, "1 executor");
    CHECK(strstr(zl_last_error_detail(), "wait set") == NULL);
    CHECK(strstr(zl_last_error_detail(), "guard") == NULL);
    CHECK_OK(zl_executor_destroy(executor));

    /* Several kinds at once, each named. */
    const char *topic = test_topic("objects_left");
    zl_publisher *publisher;
    zl_subscription *subscription;
    zl_timer *timers[2];
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &publisher));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &subscription));
    CHECK_OK(zl_timer_create(context, 1000000, &timers[0]));
    CHECK_OK(zl_timer_create(context, 1000000, &timers[1]));
    CHECK_OK(zl_executor_create(context, 2, &executor));
    CHECK_OK(zl_executor_add_timer(executor, timers[0], on_tick, NULL));
    check_refused(context, "1 publisher, 1 subscription, 1 executor, 2 timers");
    CHECK_OK(zl_executor_destroy(executor));
    check_refused(context, "2 timers");
    CHECK_OK(zl_timer_destroy(timers[0]));
    CHECK_OK(zl_timer_destroy(timers[1]));
    CHECK_OK(zl_subscription_destroy(subscription));
    check_refused(context, "1 publisher");
    CHECK_OK(zl_publisher_destroy(publisher));

    /* Nothing left: destroyed. */
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
