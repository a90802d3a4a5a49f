/* Publishing and taking in one process: every call's success and error
 * paths, message info, and zero copy (the subscription's loan lies in a
 * mapping of the publisher's pool object). */
#include "harness.h"
#include "peer.h"

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("roundtrip");
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_loans = 3;
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.max_loans = 2;
    sopts.depth = 16;
    zl_publisher *pub;
    zl_subscription *sub;

    /* Argument checks. */
    CHECK_RC(zl_publisher_create(NULL, topic, &test_msg_type, NULL, &pub), ZL_EINVAL);
    CHECK_RC(zl_publisher_create(context, NULL, &test_msg_type, NULL, &pub), ZL_EINVAL);
    CHECK_RC(zl_publisher_create(context, topic, NULL, NULL, &pub), ZL_EINVAL);
    CHECK_RC(zl_publisher_create(context, topic, &test_msg_type, NULL, NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_create(context, "/bad//name", &test_msg_type, NULL, &pub), ZL_ENAME);
    zl_publisher_options bad = popts;
    bad.max_loans = 0;
    CHECK_RC(zl_publisher_create(context, topic, &test_msg_type, &bad, &pub), ZL_EINVAL);
    bad = popts;
    bad.history = 65;
    CHECK_RC(zl_publisher_create(context, topic, &test_msg_type, &bad, &pub), ZL_EINVAL);
    zl_subscription_options sbad = sopts;
    sbad.depth = 0;
    CHECK_RC(zl_subscription_create(context, topic, &test_msg_type, &sbad, &sub), ZL_EINVAL);
    CHECK_RC(zl_subscription_create(context, "1abc", &test_msg_type, NULL, &sub), ZL_ENAME);
    CHECK_RC(zl_subscription_create(context, topic, &test_msg_type, NULL, NULL), ZL_EINVAL);
    /* Failed creations left nothing behind. */
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);

    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    CHECK(zl_publisher_can_loan(pub));
    CHECK(zl_subscription_can_loan(sub));
    CHECK(!zl_publisher_can_loan(NULL));
    CHECK(zl_publisher_id(pub) != 0);

    /* Nothing yet. */
    const void *taken;
    test_msg copy;
    CHECK_RC(zl_subscription_take_loan(sub, &taken, NULL), ZL_ENODATA);
    CHECK_RC(zl_subscription_take(sub, &copy, NULL), ZL_ENODATA);
    CHECK_RC(zl_subscription_take_loan(NULL, &taken, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_take_loan(sub, NULL, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_take(sub, NULL, NULL), ZL_EINVAL);

    /* Loans are bounded; an unpublished loan can be returned. */
    void *loans[3];
    void *extra;
    CHECK_RC(zl_publisher_loan(pub, NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_loan(NULL, &extra), ZL_EINVAL);
    for (int i = 0; i < 3; i++)
        CHECK_OK(zl_publisher_loan(pub, &loans[i]));
    CHECK((uintptr_t)loans[0] % _Alignof(test_msg) == 0);
    CHECK_RC(zl_publisher_loan(pub, &extra), ZL_ETOOMANYLOANS);
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.loans_held, 3);
    CHECK_EQ(pstats.subscriptions, 1);
    CHECK_OK(zl_publisher_return_loan(pub, loans[2]));
    CHECK_RC(zl_publisher_return_loan(pub, loans[2]), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_publish_loan(pub, loans[2]), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_return_loan(pub, &copy), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_publish_loan(pub, (char *)loans[0] + 8), ZL_ENOTLOAN);
    CHECK_RC(zl_publisher_publish_loan(pub, NULL), ZL_EINVAL);

    /* Publish two loans and a copy. */
    test_msg_fill(loans[0], 1, 1);
    test_msg_fill(loans[1], 1, 2);
    CHECK_OK(zl_publisher_publish_loan(pub, loans[0]));
    CHECK_OK(zl_publisher_publish_loan(pub, loans[1]));
    test_msg_fill(&copy, 1, 3);
    CHECK_OK(zl_publisher_publish(pub, &copy));
    memset(&copy, 0, sizeof copy); /* the caller keeps its message */
    CHECK_RC(zl_publisher_publish(pub, NULL), ZL_EINVAL);

    /* Take: a loan, with its info, from the publisher's pool (zero copy). */
    zl_message_info info;
    int64_t before = 0;
    CHECK_OK(zl_subscription_take_loan(sub, &taken, &info));
    const test_msg *m = taken;
    CHECK_EQ(m->sequence, 1);
    CHECK(test_msg_valid(m));
    CHECK_EQ(info.publication_sequence, 1);
    CHECK_EQ(info.reception_sequence, 1);
    CHECK_EQ(info.publisher_id, zl_publisher_id(pub));
    CHECK(info.from_this_process);
    CHECK(info.source_timestamp_ns > before);
    char pool_name[300];
    snprintf(pool_name, sizeof pool_name, "%s:p%016llx", test_shm_fragment(topic),
             (unsigned long long)zl_publisher_id(pub));
    CHECK(test_mapped_from(taken, pool_name));
    bool consistent = false;
    CHECK_OK(zl_subscription_is_consistent(sub, taken, &consistent));
    CHECK(consistent);
    CHECK_RC(zl_subscription_is_consistent(sub, &copy, &consistent), ZL_ENOTLOAN);

    /* A second loan, then the limit. */
    const void *second;
    CHECK_OK(zl_subscription_take_loan(sub, &second, &info));
    CHECK_EQ(((const test_msg *)second)->sequence, 2);
    CHECK_RC(zl_subscription_take_loan(sub, &second, &info), ZL_ETOOMANYLOANS);
    /* Copies still work while every loan is held. */
    CHECK_OK(zl_subscription_take(sub, &copy, &info));
    CHECK_EQ(copy.sequence, 3);
    CHECK(test_msg_valid(&copy));
    CHECK_EQ(info.reception_sequence, 3);
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.loans_held, 2);
    CHECK_EQ(sstats.received, 3);
    CHECK_EQ(sstats.publishers, 1);
    CHECK_EQ(sstats.lost, 0);

    CHECK_OK(zl_subscription_return_loan(sub, taken));
    CHECK_RC(zl_subscription_return_loan(sub, taken), ZL_ENOTLOAN);
    CHECK_RC(zl_subscription_return_loan(sub, &copy), ZL_ENOTLOAN);
    CHECK_RC(zl_subscription_return_loan(sub, NULL), ZL_EINVAL);
    CHECK_OK(zl_subscription_return_loan(sub, second));

    /* Every chunk is back in the pool. */
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.chunks_free, pstats.chunks_total);
    CHECK_EQ(pstats.published, 3);
    CHECK_EQ(pstats.loans_held, 0);

    /* Stats argument checks. */
    CHECK_RC(zl_publisher_get_stats(pub, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_get_stats(NULL, &sstats), ZL_EINVAL);
    CHECK_RC(zl_publisher_update_connections(NULL), ZL_EINVAL);
    CHECK_RC(zl_publisher_destroy(NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_destroy(NULL), ZL_EINVAL);

    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
