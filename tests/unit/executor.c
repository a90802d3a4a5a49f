/* The executor: delivery modes (loan, kept loans returned later from
 * another thread, copy into storage allocated once), handle order, trigger
 * conditions, spin_some, spin with stop from another thread, spin_period. */
#include <pthread.h>

#include "harness.h"
#include "peer.h"

typedef struct seen {
    int calls;
    uint64_t last_sequence;
    const void *last_pointer;
    bool keep;
    zl_executor *executor;
    const void *kept[8];
    int kept_count;
    int **order_at; /* shared cursor into an order log */
    int tag;
} seen;

static void on_message(const void *message, const zl_message_info *info, void *arg)
{
    seen *s = arg;
    const test_msg *m = message;
    CHECK(test_msg_valid(m));
    CHECK(info->publication_sequence >= 1);
    s->calls++;
    s->last_sequence = m->sequence;
    s->last_pointer = message;
    if (s->order_at != NULL)
        *(*s->order_at)++ = s->tag;
    if (s->keep) {
        CHECK_OK(zl_executor_keep_loan(s->executor, message));
        s->kept[s->kept_count++] = message;
    }
}

static void on_timer(zl_timer *timer, uint64_t expirations, void *arg)
{
    (void)timer;
    *(uint64_t *)arg += expirations;
}

static void on_guard(zl_guard_condition *guard, void *arg)
{
    (void)guard;
    (void)arg;
}

static zl_subscription *returner_subscription;

static void *return_kept(void *arg)
{
    seen *s = arg;
    for (int i = 0; i < s->kept_count; i++)
        CHECK_OK(zl_subscription_return_loan(returner_subscription, s->kept[i]));
    return NULL;
}

static void *stop_later(void *arg)
{
    test_sleep_ms(50);
    CHECK_OK(zl_executor_stop(arg));
    return NULL;
}

static bool even_handles_ready(const bool *ready, size_t count, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < count; i += 2)
        if (!ready[i])
            return false;
    return true;
}

static void publish(zl_publisher *pub, uint64_t sequence)
{
    test_msg m;
    test_msg_fill(&m, 1, sequence);
    CHECK_OK(zl_publisher_publish(pub, &m));
}

int main(void)
{
    test_counting_allocator counts = {0};
    zl_context_options options;
    zl_context_options_init(&options);
    options.allocator = test_counting(&counts);
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));
    const char *topic_a = test_topic("ex_a");
    const char *topic_b = test_topic("ex_b");
    zl_subscription *sa, *sb;
    zl_publisher *pa, *pb;
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 4;
    CHECK_OK(zl_subscription_create(context, topic_a, &test_msg_type, &sopts, &sa));
    CHECK_OK(zl_subscription_create(context, topic_b, &test_msg_type, &sopts, &sb));
    CHECK_OK(zl_publisher_create(context, topic_a, &test_msg_type, NULL, &pa));
    CHECK_OK(zl_publisher_create(context, topic_b, &test_msg_type, NULL, &pb));

    zl_executor *x;
    CHECK_OK(zl_executor_create(context, 4, &x));
    seen loans = {.executor = x, .tag = 0}, copies = {.executor = x, .tag = 1};
    uint64_t ticks = 0;
    CHECK_RC(zl_executor_add_subscription(x, sa, 99, on_message, &loans), ZL_EINVAL);
    CHECK_OK(zl_executor_add_subscription(x, sa, ZL_DELIVERY_LOAN, on_message, &loans));
    long before_copy = counts.allocations;
    CHECK_OK(zl_executor_add_subscription(x, sb, ZL_DELIVERY_COPY, on_message, &copies));
    CHECK_EQ(counts.allocations, before_copy + 1); /* the copy storage, once */

    /* Nothing: a bounded spin times out. */
    CHECK_RC(zl_executor_spin_once(x, 10 * 1000000LL), ZL_ETIMEOUT);

    /* Loan delivery: the callback reads the publisher's memory in place, and
     * the loan is returned after it. */
    publish(pa, 1);
    long steady = counts.allocations;
    CHECK_OK(zl_executor_spin_once(x, -1));
    CHECK_EQ(loans.calls, 1);
    char pool_name[300];
    snprintf(pool_name, sizeof pool_name, "%s:p%016llx", test_shm_fragment(topic_a),
             (unsigned long long)zl_publisher_id(pa));
    CHECK(test_mapped_from(loans.last_pointer, pool_name));
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sa, &stats));
    CHECK_EQ(stats.loans_held, 0);

    /* Copy delivery: into the storage, allocation-free from now on. */
    publish(pb, 1);
    CHECK_OK(zl_executor_spin_once(x, -1));
    CHECK_EQ(copies.calls, 1);
    CHECK(!test_mapped_from(copies.last_pointer, ":p"));
    CHECK_EQ(counts.allocations, steady);

    /* Kept loans survive the callback (and 50 more publications) and are
     * returned from another thread. */
    loans.keep = true;
    publish(pa, 2);
    publish(pa, 3);
    CHECK_OK(zl_executor_spin_some(x)); /* drains: both delivered */
    CHECK_EQ(loans.calls, 3);
    CHECK_EQ(loans.kept_count, 2);
    loans.keep = false;
    test_msg kept_copy[2];
    memcpy(&kept_copy[0], loans.kept[0], sizeof(test_msg));
    memcpy(&kept_copy[1], loans.kept[1], sizeof(test_msg));
    for (uint64_t i = 4; i < 54; i++) {
        publish(pa, i);
        CHECK_OK(zl_executor_spin_some(x));
    }
    CHECK(memcmp(loans.kept[0], &kept_copy[0], sizeof(test_msg)) == 0);
    CHECK(memcmp(loans.kept[1], &kept_copy[1], sizeof(test_msg)) == 0);
    CHECK_OK(zl_subscription_get_stats(sa, &stats));
    CHECK_EQ(stats.loans_held, 2);
    returner_subscription = sa;
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, return_kept, &loans), 0);
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_OK(zl_subscription_get_stats(sa, &stats));
    CHECK_EQ(stats.loans_held, 0);
    CHECK_RC(zl_executor_keep_loan(x, loans.kept[0]), ZL_ENOTLOAN); /* outside a callback */

    /* Handles run in the order added. */
    int order[64];
    int *cursor = order;
    loans.order_at = copies.order_at = &cursor;
    publish(pb, 100);
    publish(pa, 100);
    CHECK_OK(zl_executor_spin_once(x, -1));
    CHECK_EQ(cursor - order, 2);
    CHECK_EQ(order[0], 0); /* sa was added first, though pb published first */
    CHECK_EQ(order[1], 1);
    loans.order_at = copies.order_at = NULL;

    /* Trigger ALL: one ready handle is not enough. */
    zl_timer *timer;
    CHECK_OK(zl_timer_create(context, 1000 * 1000000LL, &timer));
    CHECK_OK(zl_executor_add_timer(x, timer, on_timer, &ticks));
    CHECK_OK(zl_executor_set_trigger(x, ZL_TRIGGER_ALL, 0, NULL, NULL));
    int calls_before = loans.calls;
    publish(pa, 200);
    CHECK_OK(zl_executor_spin_once(x, 20 * 1000000LL)); /* woken by pa, not triggered */
    CHECK_EQ(loans.calls, calls_before);
    CHECK_RC(zl_executor_spin_once(x, 20 * 1000000LL), ZL_ETIMEOUT); /* no busy loop */
    publish(pb, 200);
    /* Still not all: the timer is not due. ONE on handle 1 (sb) fires. */
    CHECK_OK(zl_executor_set_trigger(x, ZL_TRIGGER_ONE, 1, NULL, NULL));
    CHECK_OK(zl_executor_spin_once(x, -1));
    CHECK_EQ(loans.calls, calls_before + 1);
    CHECK_EQ(loans.last_sequence, 200);
    CHECK_EQ(copies.last_sequence, 200);
    /* CUSTOM: handles 0 and 2 (sa and the timer). */
    CHECK_OK(zl_executor_set_trigger(x, ZL_TRIGGER_CUSTOM, 0, even_handles_ready, NULL));
    CHECK_RC(zl_executor_set_trigger(x, ZL_TRIGGER_CUSTOM, 0, NULL, NULL), ZL_EINVAL);
    publish(pa, 300);
    CHECK_OK(zl_executor_spin_once(x, 20 * 1000000LL));
    CHECK_EQ(loans.last_sequence, 200);
    CHECK_OK(zl_timer_reset(timer));
    CHECK_OK(zl_executor_set_trigger(x, ZL_TRIGGER_CUSTOM, 0, even_handles_ready, NULL));
    while (ticks == 0)
        CHECK(zl_executor_spin_once(x, 2000 * 1000000LL) == 0);
    CHECK_EQ(loans.last_sequence, 300);
    CHECK_OK(zl_executor_set_trigger(x, ZL_TRIGGER_ANY, 0, NULL, NULL));

    /* spin() until another thread stops it; spin_period counts periods. */
    CHECK_EQ(pthread_create(&thread, NULL, stop_later, x), 0);
    CHECK_OK(zl_executor_spin(x));
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_EQ(pthread_create(&thread, NULL, stop_later, x), 0);
    int64_t start = test_now_ns();
    CHECK_OK(zl_executor_spin_period(x, 5 * 1000000LL));
    CHECK(test_now_ns() - start >= 30 * 1000000LL);
    CHECK_EQ(pthread_join(thread, NULL), 0);

    /* Limits and argument checks. */
    zl_guard_condition *guard;
    CHECK_OK(zl_guard_condition_create(context, &guard));
    CHECK_RC(zl_executor_add_guard_condition(x, guard, NULL, NULL), ZL_EINVAL);
    zl_executor *small;
    CHECK_OK(zl_executor_create(context, 1, &small));
    CHECK_OK(zl_executor_add_guard_condition(small, guard, on_guard, NULL));
    zl_timer *t2;
    CHECK_OK(zl_timer_create(context, 1000000, &t2));
    CHECK_RC(zl_executor_add_timer(small, t2, on_timer, &ticks), ZL_ELIMIT);
    CHECK_OK(zl_executor_destroy(small));
    CHECK_OK(zl_timer_destroy(t2));
    CHECK_RC(zl_executor_create(context, 0, &small), ZL_EINVAL);

    CHECK_OK(zl_executor_destroy(x));
    CHECK_OK(zl_timer_destroy(timer));
    CHECK_OK(zl_guard_condition_destroy(guard));
    CHECK_OK(zl_publisher_destroy(pa));
    CHECK_OK(zl_publisher_destroy(pb));
    CHECK_OK(zl_subscription_destroy(sa));
    CHECK_OK(zl_subscription_destroy(sb));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(counts.allocations, counts.deallocations);
    return 0;
}
