/* ZLOAN_DISABLE_LOANS=1: an executor program that asks for ZL_DELIVERY_LOAN
 * runs unchanged. Each callback receives a loan of the context's allocator
 * (not shared memory), may keep it and return it later from another
 * thread, and everything allocated goes back. */
#include <pthread.h>

#include "harness.h"
#include "peer.h"

typedef struct seen {
    zl_executor *executor;
    zl_subscription *subscription;
    int calls;
    uint64_t last_sequence;
    const void *kept;
} seen;

static void on_message(const void *message, const zl_message_info *info, void *arg)
{
    seen *s = arg;
    CHECK(test_msg_valid(message));
    CHECK(!test_mapped_from(message, "/dev/shm"));
    CHECK_EQ(info->reception_sequence, (uint64_t)s->calls + 1);
    s->calls++;
    s->last_sequence = ((const test_msg *)message)->sequence;
    if (s->kept == NULL) {
        CHECK_OK(zl_executor_keep_loan(s->executor, message));
        s->kept = message;
    }
}

static void *return_kept(void *arg)
{
    seen *s = arg;
    CHECK_OK(zl_subscription_return_loan(s->subscription, s->kept));
    return NULL;
}

int main(void)
{
    CHECK_EQ(setenv("ZLOAN_DISABLE_LOANS", "1", 1), 0);
    test_counting_allocator counts = {0};
    zl_context_options options;
    zl_context_options_init(&options);
    options.allocator = test_counting(&counts);
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));
    const char *topic = test_topic("executor_loans_disabled");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    CHECK(!zl_subscription_can_loan(sub));

    zl_executor *executor;
    CHECK_OK(zl_executor_create(context, 1, &executor));
    seen s = {.executor = executor, .subscription = sub};
    CHECK_OK(zl_executor_add_subscription(executor, sub, ZL_DELIVERY_LOAN, on_message, &s));
    for (uint64_t seq = 1; seq <= 3; seq++) {
        test_msg m;
        test_msg_fill(&m, 1, seq);
        CHECK_OK(zl_publisher_publish(pub, &m));
    }
    CHECK_OK(zl_executor_spin_some(executor));
    CHECK_EQ(s.calls, 3);
    CHECK_EQ(s.last_sequence, 3);
    CHECK(s.kept != NULL && ((const test_msg *)s.kept)->sequence == 1);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK_EQ(stats.loans_held, 1);

    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, return_kept, &s), 0);
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK_EQ(stats.loans_held, 0);

    CHECK_OK(zl_executor_destroy(executor));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(counts.allocations, counts.deallocations);
    CHECK_EQ(counts.bytes_live, 0);
    return 0;
}
