/* Contexts: options, domains, the allocator, destroy while busy. */
#include "harness.h"
#include "peer.h"

int main(void)
{
    zl_context *context;
    CHECK_RC(zl_context_create(NULL, NULL), ZL_EINVAL);
    zl_context_options options;
    zl_context_options_init(&options);
    options.domain_id = ZL_DOMAIN_ID_MAX + 1;
    CHECK_RC(zl_context_create(&options, &context), ZL_EINVAL);
    zl_context_options_init(&options);
    options.allocator.allocate = NULL;
    CHECK_RC(zl_context_create(&options, &context), ZL_EINVAL);
    CHECK_RC(zl_context_destroy(NULL), ZL_EINVAL);

    test_counting_allocator counts = {0};
    zl_context_options_init(&options);
    options.allocator = test_counting(&counts);
    options.domain_id = 7;
    CHECK_OK(zl_context_create(&options, &context));
    CHECK_EQ(zl_context_domain_id(context), 7);
    CHECK(counts.allocations >= 1);

    const char *topic = test_topic("context");
    zl_publisher *publisher;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &publisher));
    CHECK_RC(zl_context_destroy(context), ZL_EBUSY);
    CHECK_OK(zl_publisher_destroy(publisher));

    /* Domains isolate: a subscription in another domain hears nothing. */
    zl_context *other;
    zl_context_options_init(&options);
    options.domain_id = 8;
    CHECK_OK(zl_context_create(&options, &other));
    zl_subscription *subscription;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &publisher));
    CHECK_OK(zl_subscription_create(other, topic, &test_msg_type, NULL, &subscription));
    test_msg m;
    test_msg_fill(&m, 1, 1);
    CHECK_OK(zl_publisher_publish(publisher, &m));
    CHECK_RC(zl_subscription_take(subscription, &m, NULL), ZL_ENODATA);
    CHECK_OK(zl_subscription_destroy(subscription));
    CHECK_OK(zl_publisher_destroy(publisher));
    CHECK_OK(zl_context_destroy(other));

    CHECK_OK(zl_context_destroy(context));
    /* Everything zloan allocated through the hooks went back. */
    CHECK_EQ(counts.allocations, counts.deallocations);
    CHECK_EQ(counts.bytes_live, 0);
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
