/* Wait sets: readiness reporting, timeouts, polling, limits, and wake-ups by
 * a publisher, a guard condition and a timer. Timing checks are orders of
 * magnitude only. */
#include <pthread.h>

#include "harness.h"
#include "peer.h"

static zl_publisher *late_publisher;

static void *publish_later(void *arg)
{
    (void)arg;
    test_sleep_ms(50);
    test_msg m;
    test_msg_fill(&m, 1, 1);
    CHECK_OK(zl_publisher_publish(late_publisher, &m));
    return NULL;
}

static void *trigger_later(void *arg)
{
    test_sleep_ms(50);
    CHECK_OK(zl_guard_condition_trigger(arg));
    return NULL;
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic_a = test_topic("ws_a");
    const char *topic_b = test_topic("ws_b");
    zl_subscription *sa, *sb;
    zl_publisher *pa, *pb;
    CHECK_OK(zl_subscription_create(context, topic_a, &test_msg_type, NULL, &sa));
    CHECK_OK(zl_subscription_create(context, topic_b, &test_msg_type, NULL, &sb));
    CHECK_OK(zl_publisher_create(context, topic_a, &test_msg_type, NULL, &pa));
    CHECK_OK(zl_publisher_create(context, topic_b, &test_msg_type, NULL, &pb));
    zl_guard_condition *guard;
    zl_timer *timer;
    CHECK_OK(zl_guard_condition_create(context, &guard));
    CHECK_OK(zl_timer_create(context, 30 * 1000000LL, &timer));

    zl_waitset *ws;
    CHECK_RC(zl_waitset_create(context, 0, &ws), ZL_EINVAL);
    CHECK_RC(zl_waitset_create(context, ZL_WAITSET_CAPACITY_MAX + 1, &ws), ZL_EINVAL);
    CHECK_RC(zl_waitset_create(NULL, 4, &ws), ZL_EINVAL);
    CHECK_OK(zl_waitset_create(context, 4, &ws));
    CHECK_RC(zl_waitset_wait(ws, 0, NULL), ZL_EINVAL); /* empty */
    size_t ia, ib, ig, it;
    CHECK_OK(zl_waitset_attach_subscription(ws, sa, &ia));
    CHECK_OK(zl_waitset_attach_subscription(ws, sb, &ib));
    CHECK_OK(zl_waitset_attach_guard_condition(ws, guard, &ig));
    CHECK_RC(zl_waitset_attach_subscription(ws, NULL, NULL), ZL_EINVAL);

    /* Nothing ready: polling says so at once, a timeout waits about that long. */
    size_t ready = 99;
    CHECK_RC(zl_waitset_wait(ws, 0, &ready), ZL_ETIMEOUT);
    CHECK_EQ(ready, 0);
    int64_t start = test_now_ns();
    CHECK_RC(zl_waitset_wait(ws, 50 * 1000000LL, NULL), ZL_ETIMEOUT);
    int64_t waited = test_now_ns() - start;
    CHECK(waited >= 40 * 1000000LL && waited < 5000 * 1000000LL);

    /* One publication: exactly that subscription is ready. */
    test_msg m;
    test_msg_fill(&m, 1, 1);
    CHECK_OK(zl_publisher_publish(pb, &m));
    CHECK_OK(zl_waitset_wait(ws, -1, &ready));
    CHECK_EQ(ready, 1);
    CHECK(!zl_waitset_ready(ws, ia));
    CHECK(zl_waitset_ready(ws, ib));
    CHECK(!zl_waitset_ready(ws, ig));
    CHECK_OK(zl_subscription_take(sb, &m, NULL));
    CHECK_RC(zl_waitset_wait(ws, 0, NULL), ZL_ETIMEOUT);

    /* A sleeping wait is woken by a publisher on another thread. */
    late_publisher = pa;
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, publish_later, NULL), 0);
    start = test_now_ns();
    CHECK_OK(zl_waitset_wait(ws, 10000 * 1000000LL, &ready));
    CHECK(test_now_ns() - start < 5000 * 1000000LL);
    CHECK(zl_waitset_ready(ws, ia));
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_OK(zl_subscription_take(sa, &m, NULL));

    /* ... and by a guard condition, which the wait lowers. */
    CHECK_EQ(pthread_create(&thread, NULL, trigger_later, guard), 0);
    CHECK_OK(zl_waitset_wait(ws, 10000 * 1000000LL, &ready));
    CHECK(zl_waitset_ready(ws, ig));
    CHECK_EQ(ready, 1);
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK(!zl_guard_condition_take(guard));
    CHECK_RC(zl_waitset_wait(ws, 0, NULL), ZL_ETIMEOUT);

    /* A timer bounds the sleep and is reported when due. */
    CHECK_OK(zl_waitset_attach_timer(ws, timer, &it));
    CHECK_OK(zl_timer_reset(timer));
    start = test_now_ns();
    CHECK_OK(zl_waitset_wait(ws, -1, &ready));
    CHECK(zl_waitset_ready(ws, it));
    CHECK(test_now_ns() - start >= 20 * 1000000LL);
    uint64_t expirations = 0;
    CHECK_OK(zl_timer_take(timer, &expirations));
    CHECK_EQ(expirations, 1);
    CHECK_RC(zl_timer_take(timer, &expirations), ZL_ENODATA);

    /* Full; attached guard and timer cannot be destroyed or attached twice. */
    zl_guard_condition *other_guard;
    CHECK_OK(zl_guard_condition_create(context, &other_guard));
    CHECK_RC(zl_waitset_attach_guard_condition(ws, other_guard, NULL), ZL_ELIMIT);
    CHECK_RC(zl_guard_condition_destroy(guard), ZL_EBUSY);
    CHECK_RC(zl_timer_destroy(timer), ZL_EBUSY);
    zl_waitset *ws2;
    CHECK_OK(zl_waitset_create(context, 2, &ws2));
    CHECK_RC(zl_waitset_attach_guard_condition(ws2, guard, NULL), ZL_EBUSY);
    CHECK_OK(zl_waitset_attach_subscription(ws2, sa, NULL)); /* several wait sets: fine */
    CHECK_OK(zl_waitset_destroy(ws2));

    /* Detach frees the entry. */
    CHECK_OK(zl_waitset_detach(ws, it));
    CHECK_RC(zl_waitset_detach(ws, it), ZL_EINVAL);
    CHECK_OK(zl_timer_destroy(timer));
    CHECK_OK(zl_waitset_attach_guard_condition(ws, other_guard, NULL));

    CHECK_OK(zl_waitset_destroy(ws));
    CHECK_OK(zl_guard_condition_destroy(guard));
    CHECK_OK(zl_guard_condition_destroy(other_guard));
    CHECK_OK(zl_publisher_destroy(pa));
    CHECK_OK(zl_publisher_destroy(pb));
    CHECK_OK(zl_subscription_destroy(sa));
    CHECK_OK(zl_subscription_destroy(sb));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
