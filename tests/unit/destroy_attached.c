/* A subscription still attached to a wait set, or added to an executor,
 * and a publisher still attached to a wait set (issue 15), cannot be
 * destroyed (ZL_EBUSY, as guard conditions and timers): the wait
 * set and the executor keep working with it, and once detached (or the
 * executor destroyed) it is destroyed normally. */
#include "harness.h"
#include "peer.h"

static void publish(zl_publisher *pub, uint64_t seq)
{
    test_msg m;
    test_msg_fill(&m, 1, seq);
    CHECK_OK(zl_publisher_publish(pub, &m));
}

static int delivered;

static void on_message(const void *message, const zl_message_info *info, void *arg)
{
    (void)info;
    (void)arg;
    CHECK(test_msg_valid(message));
    delivered++;
}

static void check_wait_set(zl_context *context, zl_publisher *pub, const char *topic)
{
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    zl_waitset *one, *two;
    CHECK_OK(zl_waitset_create(context, 2, &one));
    CHECK_OK(zl_waitset_create(context, 2, &two));
    size_t index_one, index_two;
    CHECK_OK(zl_waitset_attach_subscription(one, sub, &index_one));
    CHECK_OK(zl_waitset_attach_subscription(two, sub, &index_two));

    CHECK_RC(zl_subscription_destroy(sub), ZL_EBUSY);
    CHECK(strstr(zl_last_error_detail(), "attached") != NULL);
    /* Refused means untouched: the wait set still wakes for it. */
    publish(pub, 1);
    CHECK_OK(zl_waitset_wait(one, 1000000000LL, NULL));
    CHECK(zl_waitset_ready(one, index_one));
    test_msg m;
    CHECK_OK(zl_subscription_take(sub, &m, NULL));
    CHECK_EQ(m.sequence, 1);

    /* Still attached to the second wait set. */
    CHECK_OK(zl_waitset_detach(one, index_one));
    CHECK_RC(zl_subscription_destroy(sub), ZL_EBUSY);
    /* Destroying the wait set detaches what it holds. */
    CHECK_OK(zl_waitset_destroy(two));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_waitset_destroy(one));
}

static void check_publisher(zl_context *context, const char *topic)
{
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    zl_waitset *one, *two;
    CHECK_OK(zl_waitset_create(context, 1, &one));
    CHECK_OK(zl_waitset_create(context, 1, &two));
    size_t index_one;
    CHECK_OK(zl_waitset_attach_publisher(one, pub, &index_one));
    CHECK_OK(zl_waitset_attach_publisher(two, pub, NULL));

    CHECK_RC(zl_publisher_destroy(pub), ZL_EBUSY);
    CHECK(strstr(zl_last_error_detail(), "attached") != NULL);
    /* Refused means untouched: still writable (no lossless subscription). */
    CHECK_OK(zl_waitset_wait(one, 1000000000LL, NULL));
    CHECK(zl_waitset_ready(one, index_one));
    publish(pub, 1);

    CHECK_OK(zl_waitset_detach(one, index_one));
    CHECK_RC(zl_publisher_destroy(pub), ZL_EBUSY);
    CHECK_OK(zl_waitset_destroy(two));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_waitset_destroy(one));
}

static void check_executor(zl_context *context, zl_publisher *pub, const char *topic)
{
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    zl_executor *executor;
    CHECK_OK(zl_executor_create(context, 2, &executor));
    CHECK_OK(zl_executor_add_subscription(executor, sub, ZL_DELIVERY_LOAN, on_message, NULL));

    CHECK_RC(zl_subscription_destroy(sub), ZL_EBUSY);
    publish(pub, 2);
    delivered = 0;
    CHECK_OK(zl_executor_spin_some(executor));
    CHECK_EQ(delivered, 1);

    CHECK_OK(zl_executor_destroy(executor));
    CHECK_OK(zl_subscription_destroy(sub));
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("destroy_attached");
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    check_wait_set(context, pub, topic);
    check_executor(context, pub, topic);
    check_publisher(context, topic);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
