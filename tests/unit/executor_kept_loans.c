/* An executor whose loan-delivered subscription has every loan kept by its
 * callback sleeps (it used to spin at 100 % CPU, the subscription reported
 * ready but unable to lend): the process's CPU time over a second of wall
 * time stays far below it, a guard condition is still served, and a
 * loan returned from another thread wakes it to deliver the next message. */
#include <pthread.h>
#include <sys/resource.h>

#include "harness.h"
#include "peer.h"

enum { MAX_LOANS = 2, MESSAGES = 4 };

typedef struct state {
    zl_executor *executor;
    pthread_mutex_t lock;
    const void *kept[MESSAGES];
    int kept_count;
    uint64_t last_sequence;
    int guards;
} state;

static void keep_every_loan(const void *message, const zl_message_info *info, void *arg)
{
    (void)info;
    state *s = arg;
    CHECK(test_msg_valid(message));
    CHECK_OK(zl_executor_keep_loan(s->executor, message));
    pthread_mutex_lock(&s->lock);
    s->kept[s->kept_count++] = message;
    s->last_sequence = ((const test_msg *)message)->sequence;
    pthread_mutex_unlock(&s->lock);
}

static void on_guard(zl_guard_condition *guard, void *arg)
{
    (void)guard;
    state *s = arg;
    pthread_mutex_lock(&s->lock);
    s->guards++;
    pthread_mutex_unlock(&s->lock);
}

static void *spin(void *arg)
{
    CHECK_OK(zl_executor_spin(arg));
    return NULL;
}

static int64_t cpu_ns(void)
{
    struct rusage usage;
    CHECK_EQ(getrusage(RUSAGE_SELF, &usage), 0);
    return ((int64_t)usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
           ((int64_t)usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
}

/* Waits (up to 5 s) until *field, read under the lock, reaches at least value. */
static void await(state *s, const int *field, int value, const char *what)
{
    int64_t until = test_now_ns() + 5000000000LL;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int now = *field;
        pthread_mutex_unlock(&s->lock);
        if (now >= value)
            return;
        if (test_now_ns() > until) {
            fprintf(stderr, "%s: %d, expected %d within 5 s\n", what, now, value);
            exit(1);
        }
        test_sleep_ms(1);
    }
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("executor_kept_loans");
    zl_publisher *pub;
    zl_subscription *sub;
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.max_loans = MAX_LOANS;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &options, &sub));
    zl_guard_condition *guard;
    CHECK_OK(zl_guard_condition_create(context, &guard));
    state s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    CHECK_OK(zl_executor_create(context, 2, &s.executor));
    CHECK_OK(zl_executor_add_subscription(s.executor, sub, ZL_DELIVERY_LOAN, keep_every_loan, &s));
    CHECK_OK(zl_executor_add_guard_condition(s.executor, guard, on_guard, &s));
    for (uint64_t seq = 1; seq <= MESSAGES; seq++) {
        test_msg m;
        test_msg_fill(&m, 1, seq);
        CHECK_OK(zl_publisher_publish(pub, &m));
    }

    pthread_t spinner;
    CHECK_EQ(pthread_create(&spinner, NULL, spin, s.executor), 0);
    await(&s, &s.kept_count, MAX_LOANS, "loans kept");

    /* Every loan kept, two messages queued: the executor must sleep. A
     * spinning thread uses the whole interval on an idle machine (and
     * about a third on a loaded 2-core one); sleeping, a few milliseconds.
     * The bound is generous on both sides. */
    int64_t wall_start = test_now_ns(), cpu_start = cpu_ns();
    test_sleep_ms(1000);
    int64_t wall = test_now_ns() - wall_start, cpu = cpu_ns() - cpu_start;
    fprintf(stderr, "cpu %lld ns over %lld ns of wall time\n", (long long)cpu, (long long)wall);
    CHECK(cpu < wall / 10);
    pthread_mutex_lock(&s.lock);
    CHECK_EQ(s.kept_count, MAX_LOANS);
    pthread_mutex_unlock(&s.lock);

    /* Another handle is still served while the subscription starves. */
    CHECK_OK(zl_guard_condition_trigger(guard));
    await(&s, &s.guards, 1, "guard callbacks");

    /* A loan returned (from this thread, not the executor's) wakes it. */
    CHECK_OK(zl_subscription_return_loan(sub, s.kept[0]));
    await(&s, &s.kept_count, MAX_LOANS + 1, "loans kept after one return");
    pthread_mutex_lock(&s.lock);
    CHECK_EQ(s.last_sequence, MAX_LOANS + 1);
    pthread_mutex_unlock(&s.lock);

    CHECK_OK(zl_executor_stop(s.executor));
    CHECK_EQ(pthread_join(spinner, NULL), 0);
    CHECK_OK(zl_executor_destroy(s.executor));
    for (int i = 1; i < s.kept_count; i++)
        CHECK_OK(zl_subscription_return_loan(sub, s.kept[i]));
    CHECK_OK(zl_guard_condition_destroy(guard));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
