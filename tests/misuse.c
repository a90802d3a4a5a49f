/* API misuse: NULL arguments, loans returned twice, pointers that are not
 * loans (on the stack, inside a chunk, at a chunk's header), loans returned
 * to the wrong endpoint or the wrong kind of endpoint, and mismatched types.
 * Each gets its documented code and changes nothing: afterwards the
 * endpoints still work and no chunk is lost. */
#include "harness.h"
#include "peer.h"

typedef struct other_msg {
    uint64_t a;
} other_msg;
static const zl_type other_type = ZL_TYPE_PLAIN(other_msg);

static void null_arguments(zl_context *context, zl_publisher *pub, zl_subscription *sub)
{
    const char *topic = test_topic("misuse_null");
    zl_publisher *p;
    zl_subscription *s;
    void *loan;
    const void *taken;
    test_msg m;
    bool consistent;
    size_t count;
    zl_publisher_stats ps;
    zl_subscription_stats ss;
    char out[ZL_TOPIC_NAME_MAX + 1];

    CHECK_RC(zl_context_create(NULL, NULL), ZL_EINVAL);
    CHECK_RC(zl_context_destroy(NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_create(NULL, topic, &test_msg_type, NULL, &p), ZL_EINVAL);
    CHECK_RC(zl_publisher_create(context, NULL, &test_msg_type, NULL, &p), ZL_EINVAL);
    CHECK_RC(zl_publisher_create(context, topic, NULL, NULL, &p), ZL_EINVAL);
    CHECK_RC(zl_publisher_create(context, topic, &test_msg_type, NULL, NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_destroy(NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_loan(NULL, &loan), ZL_EINVAL);
    CHECK_RC(zl_publisher_loan(pub, NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_publish_loan(NULL, &m), ZL_EINVAL);
    CHECK_RC(zl_publisher_publish_loan(pub, NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_return_loan(NULL, &m), ZL_EINVAL);
    CHECK_RC(zl_publisher_return_loan(pub, NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_publish(NULL, &m), ZL_EINVAL);
    CHECK_RC(zl_publisher_publish(pub, NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_update_connections(NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_get_stats(NULL, &ps), ZL_EINVAL);
    CHECK_RC(zl_publisher_get_stats(pub, NULL), ZL_EINVAL);
    CHECK(!zl_publisher_can_loan(NULL));
    CHECK_EQ(zl_publisher_id(NULL), 0);

    CHECK_RC(zl_subscription_create(NULL, topic, &test_msg_type, NULL, &s), ZL_EINVAL);
    CHECK_RC(zl_subscription_create(context, NULL, &test_msg_type, NULL, &s), ZL_EINVAL);
    CHECK_RC(zl_subscription_create(context, topic, NULL, NULL, &s), ZL_EINVAL);
    CHECK_RC(zl_subscription_create(context, topic, &test_msg_type, NULL, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_destroy(NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_take(NULL, &m, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_take(sub, NULL, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_take_loan(NULL, &taken, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_take_loan(sub, NULL, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_take_loan_sequence(NULL, &taken, NULL, 1, &count), ZL_EINVAL);
    CHECK_RC(zl_subscription_take_loan_sequence(sub, NULL, NULL, 1, &count), ZL_EINVAL);
    CHECK_RC(zl_subscription_take_loan_sequence(sub, &taken, NULL, 1, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_take_loan_sequence(sub, &taken, NULL, 0, &count), ZL_EINVAL);
    CHECK_RC(zl_subscription_return_loan(NULL, &m), ZL_EINVAL);
    CHECK_RC(zl_subscription_return_loan(sub, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_is_consistent(NULL, &m, &consistent), ZL_EINVAL);
    CHECK_RC(zl_subscription_is_consistent(sub, NULL, &consistent), ZL_EINVAL);
    CHECK_RC(zl_subscription_is_consistent(sub, &m, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_get_stats(NULL, &ss), ZL_EINVAL);
    CHECK_RC(zl_subscription_get_stats(sub, NULL), ZL_EINVAL);
    CHECK(!zl_subscription_can_loan(NULL));
    /* The getters and initializers that return no code: a NULL gives the
     * documented value, and nothing is written. */
    CHECK_EQ(zl_context_domain_id(NULL), UINT32_MAX);
    CHECK_EQ(strcmp(zl_context_name(NULL), ""), 0);
    zl_context_options_init(NULL);
    zl_publisher_options_init(NULL);
    zl_subscription_options_init(NULL);
    zl_user_memory_options_init(NULL);
    CHECK_EQ(zl_timer_remaining(NULL), INT64_MAX);
    CHECK_EQ(zl_type_message_size(NULL, 0), SIZE_MAX);
    CHECK_EQ(zl_type_layout_hash(NULL), 0);

    CHECK_RC(zl_topic_name_qualify(NULL, out, sizeof out), ZL_EINVAL);
    CHECK_RC(zl_topic_name_qualify("/a", NULL, sizeof out), ZL_EINVAL);
    CHECK_RC(zl_topic_name_qualify("/a", out, 4), ZL_EINVAL);
    CHECK_RC(zl_type_validate(NULL), ZL_EINVAL);
    CHECK(zl_strerror(12345) != NULL);
    CHECK(zl_last_error_detail() != NULL);
    char needle[64];
    snprintf(needle, sizeof needle, "misuse_null_%d", (int)getpid());
    CHECK_EQ(test_count_shm(needle), 0); /* nothing was created */
}

static void publisher_loans(zl_publisher *pub, zl_publisher *other_pub, zl_subscription *sub)
{
    void *loan;
    test_msg on_stack;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    char *bytes = loan;
    /* Not loans: the stack, inside the chunk, the chunk's header. */
    CHECK_RC(zl_publisher_return_loan(pub, &on_stack), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_publish_loan(pub, &on_stack), ZL_ENOTLOAN);
    for (size_t at = 1; at < sizeof(test_msg); at += 7) {
        CHECK_RC(zl_publisher_return_loan(pub, bytes + at), ZL_ENOTLOAN);
        CHECK_RC(zl_publisher_publish_loan(pub, bytes + at), ZL_ENOTLOAN);
    }
    CHECK_RC(zl_publisher_return_loan(pub, bytes - 64), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_return_loan(pub, bytes - 1), ZL_ENOTLOAN);
    /* The wrong endpoint: another publisher of the topic, a subscription. */
    CHECK_RC(zl_publisher_return_loan(other_pub, loan), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_publish_loan(other_pub, loan), ZL_ENOTLOAN);
    CHECK_RC(zl_subscription_return_loan(sub, loan), ZL_ENOTLOAN);
    /* Twice: the second return, or a publish after it, is refused. */
    CHECK_OK(zl_publisher_return_loan(pub, loan));
    CHECK_RC(zl_publisher_return_loan(pub, loan), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_publish_loan(pub, loan), ZL_ENOTLOAN);
    /* Published, then returned or published again. */
    CHECK_OK(zl_publisher_loan(pub, &loan));
    test_msg_fill(loan, 1, 1);
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    CHECK_RC(zl_publisher_return_loan(pub, loan), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_publish_loan(pub, loan), ZL_ENOTLOAN);
}

static void subscription_loans(zl_publisher *pub, zl_subscription *sub,
                               zl_subscription *other_sub)
{
    const void *taken;
    const void *other_taken;
    test_msg on_stack;
    bool consistent;
    CHECK_OK(zl_subscription_take_loan(sub, &taken, NULL));
    CHECK_OK(zl_subscription_take_loan(other_sub, &other_taken, NULL));
    /* Each subscription maps the pool at its own address: the same message
     * is a different pointer in each, and only its own is a loan of it. */
    CHECK(memcmp(taken, other_taken, sizeof(test_msg)) == 0);
    CHECK_RC(zl_subscription_return_loan(sub, other_taken), ZL_ENOTLOAN);
    const char *bytes = taken;
    CHECK_RC(zl_subscription_return_loan(sub, &on_stack), ZL_ENOTLOAN);
    CHECK_RC(zl_subscription_is_consistent(sub, &on_stack, &consistent), ZL_ENOTLOAN);
    for (size_t at = 1; at < sizeof(test_msg); at += 7) {
        CHECK_RC(zl_subscription_return_loan(sub, bytes + at), ZL_ENOTLOAN);
        CHECK_RC(zl_subscription_is_consistent(sub, bytes + at, &consistent), ZL_ENOTLOAN);
    }
    CHECK_RC(zl_subscription_return_loan(sub, bytes - 64), ZL_ENOTLOAN);
    /* The wrong kind of endpoint. */
    CHECK_RC(zl_publisher_return_loan(pub, (void *)(uintptr_t)taken), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_publish_loan(pub, (void *)(uintptr_t)taken), ZL_ENOTLOAN);
    /* Each subscription returns its own loan once. */
    CHECK_OK(zl_subscription_return_loan(sub, taken));
    CHECK_RC(zl_subscription_return_loan(sub, taken), ZL_ENOTLOAN);
    CHECK_RC(zl_subscription_is_consistent(sub, taken, &consistent), ZL_ENOTLOAN);
    CHECK_OK(zl_subscription_is_consistent(other_sub, other_taken, &consistent));
    CHECK(consistent);
    CHECK_OK(zl_subscription_return_loan(other_sub, other_taken));
    CHECK_RC(zl_subscription_return_loan(other_sub, other_taken), ZL_ENOTLOAN);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK_EQ(stats.loans_held, 0);
    CHECK_EQ(stats.peer_errors, 0);
}

static void mismatched_types(zl_context *context, const char *topic)
{
    zl_subscription *s;
    zl_publisher *p;
    CHECK_RC(zl_subscription_create(context, topic, &other_type, NULL, &s), ZL_ETYPE);
    CHECK_RC(zl_publisher_create(context, topic, &other_type, NULL, &p), ZL_ETYPE);
    /* Same name and size, another layout. */
    zl_type relabelled = test_msg_type;
    relabelled.layout = "u64 tag;u64 seq;u32 w[60]";
    CHECK_RC(zl_subscription_create(context, topic, &relabelled, NULL, &s), ZL_ETYPE);
    /* Invalid descriptors. */
    zl_type broken = test_msg_type;
    broken.alignment = 3;
    CHECK_RC(zl_publisher_create(context, topic, &broken, NULL, &p), ZL_EINVAL);
    broken = test_msg_type;
    broken.size = 0;
    CHECK_RC(zl_subscription_create(context, topic, &broken, NULL, &s), ZL_EINVAL);
}

int main(void)
{
    const char *topic = test_topic("misuse");
    zl_context *context;
    zl_publisher *pub, *other_pub;
    zl_subscription *sub, *other_sub;
    CHECK_OK(zl_context_create(NULL, &context));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &other_pub));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &other_sub));
    CHECK_OK(zl_publisher_update_connections(pub));
    zl_publisher_stats before;
    CHECK_OK(zl_publisher_get_stats(pub, &before));

    null_arguments(context, pub, sub);
    publisher_loans(pub, other_pub, sub);
    subscription_loans(pub, sub, other_sub);
    mismatched_types(context, topic);

    /* Nothing changed: the pool is whole, messages still flow. */
    zl_publisher_stats after;
    CHECK_OK(zl_publisher_get_stats(pub, &after));
    CHECK_EQ(after.chunks_free, before.chunks_free);
    CHECK_EQ(after.loans_held, 0);
    CHECK_EQ(after.peer_errors, 0);
    CHECK_EQ(after.subscriptions, 2);
    test_msg m;
    test_msg_fill(&m, 1, 2);
    CHECK_OK(zl_publisher_publish(pub, &m));
    test_msg got;
    CHECK_OK(zl_subscription_take(sub, &got, NULL));
    CHECK(test_msg_valid(&got) && got.sequence == 2);

    CHECK_RC(zl_context_destroy(context), ZL_EBUSY); /* endpoints remain */
    CHECK_OK(zl_subscription_destroy(other_sub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(other_pub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    char needle[64];
    snprintf(needle, sizeof needle, "misuse_%d", (int)getpid());
    CHECK_EQ(test_count_shm(needle), 0);
    return 0;
}
