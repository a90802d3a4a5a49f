/* Taking a sequence of loans, each with its info. */
#include "harness.h"
#include "peer.h"

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("sequence");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 32;
    sopts.max_loans = 8;
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.chunks_per_subscription = 48;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    const void *msgs[16];
    zl_message_info infos[16];
    size_t count = 99;
    CHECK_RC(zl_subscription_take_loan_sequence(sub, msgs, infos, 16, &count), ZL_ENODATA);
    CHECK_EQ(count, 0);
    CHECK_RC(zl_subscription_take_loan_sequence(sub, msgs, infos, 0, &count), ZL_EINVAL);
    CHECK_RC(zl_subscription_take_loan_sequence(sub, NULL, infos, 4, &count), ZL_EINVAL);
    for (uint64_t i = 1; i <= 12; i++) {
        test_msg m;
        test_msg_fill(&m, 3, i);
        CHECK_OK(zl_publisher_publish(pub, &m));
    }
    /* Five at once. */
    CHECK_OK(zl_subscription_take_loan_sequence(sub, msgs, infos, 5, &count));
    CHECK_EQ(count, 5);
    for (size_t i = 0; i < count; i++) {
        const test_msg *m = msgs[i];
        CHECK_EQ(m->sequence, i + 1);
        CHECK(test_msg_valid(m));
        CHECK_EQ(infos[i].publication_sequence, i + 1);
        CHECK_EQ(infos[i].reception_sequence, i + 1);
    }
    /* Only three loans are left: the sequence stops there. */
    const void *more[16];
    CHECK_OK(zl_subscription_take_loan_sequence(sub, more, NULL, 16, &count));
    CHECK_EQ(count, 3);
    CHECK_EQ(((const test_msg *)more[2])->sequence, 8);
    CHECK_RC(zl_subscription_take_loan_sequence(sub, more + 3, NULL, 16, &count),
             ZL_ETOOMANYLOANS);
    CHECK_EQ(count, 0);
    for (size_t i = 0; i < 5; i++)
        CHECK_OK(zl_subscription_return_loan(sub, msgs[i]));
    for (size_t i = 0; i < 3; i++)
        CHECK_OK(zl_subscription_return_loan(sub, more[i]));
    CHECK_OK(zl_subscription_take_loan_sequence(sub, msgs, infos, 16, &count));
    CHECK_EQ(count, 4);
    CHECK_EQ(((const test_msg *)msgs[3])->sequence, 12);
    for (size_t i = 0; i < count; i++)
        CHECK_OK(zl_subscription_return_loan(sub, msgs[i]));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_free, stats.chunks_total);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
