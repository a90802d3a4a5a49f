/* The hot path without system calls (I4): after setup and a warm-up,
 * 100,000 rounds of loan -> publish -> take -> return between a publisher
 * and two subscriptions (one keep-last, one lossless whose queue never
 * fills: nobody sleeps, so nobody is woken), between two marker writes to
 * stderr. The test
 * script (steady_state.sh) runs this under strace and fails if the main
 * thread made any system call between the markers. */
#include "harness.h"
#include "peer.h"

static void round_trip(zl_publisher *pub, zl_subscription **subs, uint64_t sequence)
{
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    ((test_msg *)loan)->sequence = sequence;
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    for (int i = 0; i < 2; i++) {
        const void *msg;
        CHECK_OK(zl_subscription_take_loan(subs[i], &msg, NULL));
        CHECK_EQ(((const test_msg *)msg)->sequence, sequence);
        CHECK_OK(zl_subscription_return_loan(subs[i], msg));
    }
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("steady");
    zl_subscription *subs[2];
    zl_publisher *pub;
    zl_subscription_options lossless;
    zl_subscription_options_init(&lossless);
    lossless.reliability = ZL_LOSSLESS;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &subs[0]));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &lossless, &subs[1]));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    for (uint64_t i = 1; i <= 1000; i++)
        round_trip(pub, subs, i);
    static const char begin[] = "steady state: begin\n", end[] = "steady state: end\n";
    CHECK(write(2, begin, sizeof begin - 1) == (ssize_t)(sizeof begin - 1));
    for (uint64_t i = 1001; i <= 101000; i++)
        round_trip(pub, subs, i);
    CHECK(write(2, end, sizeof end - 1) == (ssize_t)(sizeof end - 1));
    CHECK_OK(zl_publisher_destroy(pub));
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_destroy(subs[i]));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
