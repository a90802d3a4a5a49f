/* A subscription whose user still holds loans cannot be destroyed
 * (ZL_EBUSY): loans taken directly, loans kept from an executor callback and
 * held by another thread, and allocator loans of the refusal path. The loans
 * stay valid and unchanged meanwhile; once returned, destroy succeeds and
 * every chunk is back in the publisher's pool. */
#include <pthread.h>

#include "harness.h"
#include "peer.h"

static void publish(zl_publisher *pub, uint64_t seq)
{
    test_msg m;
    test_msg_fill(&m, 1, seq);
    CHECK_OK(zl_publisher_publish(pub, &m));
}

static void check_pool_full(zl_publisher *pub)
{
    CHECK_OK(zl_publisher_update_connections(pub));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_free, stats.chunks_total);
}

/* Loans taken with take_loan (shared memory, or allocator on the refusal path). */
static void check_taken(zl_context *context, zl_publisher *pub, const char *topic,
                        bool disable_loans)
{
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.disable_loans = disable_loans;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &options, &sub));
    CHECK_EQ(zl_subscription_can_loan(sub), !disable_loans);
    publish(pub, 1);
    publish(pub, 2);
    const void *first, *second;
    CHECK_OK(zl_subscription_take_loan(sub, &first, NULL));
    CHECK_OK(zl_subscription_take_loan(sub, &second, NULL));

    CHECK_RC(zl_subscription_destroy(sub), ZL_EBUSY);
    CHECK(strstr(zl_last_error_detail(), "holds 2 loans") != NULL);
    CHECK(test_msg_valid(first) && ((const test_msg *)first)->sequence == 1);
    CHECK_OK(zl_subscription_return_loan(sub, first));
    CHECK_RC(zl_subscription_destroy(sub), ZL_EBUSY);
    CHECK(test_msg_valid(second) && ((const test_msg *)second)->sequence == 2);
    CHECK_OK(zl_subscription_return_loan(sub, second));
    CHECK_OK(zl_subscription_destroy(sub));
    check_pool_full(pub);
}

typedef struct keeper {
    zl_executor *executor;
    zl_subscription *subscription;
    const void *kept;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool give_back; /* told by the main thread */
    bool given_back;
} keeper;

static void keep_it(const void *message, const zl_message_info *info, void *arg)
{
    (void)info;
    keeper *k = arg;
    CHECK_OK(zl_executor_keep_loan(k->executor, message));
    k->kept = message;
}

/* Another thread holds the kept loan until told, then returns it. */
static void *hold_and_return(void *arg)
{
    keeper *k = arg;
    pthread_mutex_lock(&k->lock);
    while (!k->give_back)
        pthread_cond_wait(&k->changed, &k->lock);
    CHECK(test_msg_valid(k->kept));
    CHECK_OK(zl_subscription_return_loan(k->subscription, k->kept));
    k->given_back = true;
    pthread_cond_broadcast(&k->changed);
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

static void check_kept_by_executor(zl_context *context, zl_publisher *pub, const char *topic)
{
    keeper k = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &k.subscription));
    CHECK_OK(zl_executor_create(context, 1, &k.executor));
    CHECK_OK(zl_executor_add_subscription(k.executor, k.subscription, ZL_DELIVERY_LOAN, keep_it,
                                          &k));
    publish(pub, 3);
    CHECK_OK(zl_executor_spin_some(k.executor));
    CHECK(k.kept != NULL);
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, hold_and_return, &k), 0);
    CHECK_OK(zl_executor_destroy(k.executor));

    CHECK_RC(zl_subscription_destroy(k.subscription), ZL_EBUSY);
    CHECK(strstr(zl_last_error_detail(), "holds 1 loan ") != NULL);
    pthread_mutex_lock(&k.lock);
    k.give_back = true;
    pthread_cond_broadcast(&k.changed);
    while (!k.given_back)
        pthread_cond_wait(&k.changed, &k.lock);
    pthread_mutex_unlock(&k.lock);
    CHECK_OK(zl_subscription_destroy(k.subscription));
    CHECK_EQ(pthread_join(thread, NULL), 0);
    check_pool_full(pub);
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("destroy_with_loans");
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    check_taken(context, pub, topic, false);
    check_taken(context, pub, topic, true);
    check_kept_by_executor(context, pub, topic);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
