/* The registry keeps at most ZL_TOPIC_PUBLISHERS_MAX lingering pools. With
 * that table full, a publisher that leaves while a subscription still has
 * its messages queued cannot keep its pool: those messages must still end
 * up received or counted lost, and nothing may stay behind. */
#include "harness.h"
#include "peer.h"

static void publish(zl_publisher *pub, uint64_t tag, uint64_t count)
{
    for (uint64_t i = 1; i <= count; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(pub, &loan));
        test_msg_fill(loan, tag, i);
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
    }
}

/* Takes everything; returns received + lost (checking every message). */
static uint64_t drain(zl_subscription *sub, uint64_t *received_out)
{
    uint64_t received = 0;
    const void *loan;
    int rc;
    while ((rc = zl_subscription_take_loan(sub, &loan, NULL)) == 0) {
        CHECK(test_msg_valid(loan));
        received++;
        CHECK_OK(zl_subscription_return_loan(sub, loan));
    }
    CHECK_RC(rc, ZL_ENODATA);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    *received_out = received;
    return received + stats.lost;
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("linger_full");
    zl_subscription *first;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &first));
    /* Every slot's publisher leaves a message queued for `first`, which
     * takes nothing yet: the lingering table fills up. */
    for (uint64_t k = 1; k <= ZL_TOPIC_PUBLISHERS_MAX; k++) {
        zl_publisher *pub;
        CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
        publish(pub, k, 1);
        CHECK_OK(zl_publisher_destroy(pub));
    }
    /* One more publisher, for a second subscription that has not looked at
     * its queue since the publisher connected: no room left to linger. */
    zl_subscription *second;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &second));
    zl_publisher *last;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &last));
    publish(last, 1, 3);
    CHECK_OK(zl_publisher_destroy(last));

    uint64_t received;
    uint64_t owed = drain(second, &received);
    printf("second: received %llu of 3, received + lost %llu\n", (unsigned long long)received,
           (unsigned long long)owed);
    CHECK_EQ(owed, 3);
    owed = drain(first, &received);
    printf("first: received %llu of %d, received + lost %llu\n", (unsigned long long)received,
           ZL_TOPIC_PUBLISHERS_MAX, (unsigned long long)owed);
    CHECK_EQ(owed, ZL_TOPIC_PUBLISHERS_MAX);
    CHECK_EQ(received, ZL_TOPIC_PUBLISHERS_MAX);
    char needle[256 + 2]; /* the fragment (at most 255) and ":p" */
    snprintf(needle, sizeof needle, "%s:p", test_shm_fragment(topic));
    CHECK_EQ(test_count_shm(needle), 0);
    CHECK_OK(zl_subscription_destroy(second));
    CHECK_OK(zl_subscription_destroy(first));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
