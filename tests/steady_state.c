/* The hot path without system calls (I4): after setup and a warm-up,
 * 100,000 rounds of loan -> publish -> take -> return between a publisher
 * and two subscriptions, between two marker writes to stderr. The test
 * script (steady_state.sh) runs this under strace and fails if the main
 * thread made any system call between the markers.
 *
 * Then the same with a sized type whose size varies in a fixed set, from
 * 64 B to 1 MiB: once the warm-up has grown the pool for each size, varying
 * sizes make no system call either (no growth, no shrinking). */
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

typedef struct blob {
    uint64_t sequence;
    uint8_t data[];
} blob;
static const zl_type blob_type = ZL_TYPE_SIZED(blob, data, 0);

static size_t count_of(uint64_t sequence)
{
    static const size_t counts[] = {64, 1000, 1 << 20, 70000, 4096, 300000};
    return counts[sequence % (sizeof counts / sizeof counts[0])];
}

static void round_trip_sized(zl_publisher *pub, zl_subscription **subs, uint64_t sequence)
{
    void *loan;
    size_t count = count_of(sequence);
    CHECK_OK(zl_publisher_loan_sized(pub, count, &loan));
    blob *b = loan;
    b->sequence = sequence;
    b->data[count - 1] = (uint8_t)sequence;
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    for (int i = 0; i < 2; i++) {
        const void *msg;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(subs[i], &msg, &info));
        CHECK_EQ(((const blob *)msg)->sequence, sequence);
        CHECK_EQ(info.count, count);
        CHECK_EQ(((const blob *)msg)->data[count - 1], (uint8_t)sequence);
        CHECK_OK(zl_subscription_return_loan(subs[i], msg));
    }
}

static void mark(const char *text)
{
    CHECK(write(2, text, strlen(text)) == (ssize_t)strlen(text));
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("steady");
    zl_subscription *subs[2];
    zl_publisher *pub;
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &subs[i]));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    for (uint64_t i = 1; i <= 1000; i++)
        round_trip(pub, subs, i);
    mark("steady state: begin\n");
    for (uint64_t i = 1001; i <= 101000; i++)
        round_trip(pub, subs, i);
    mark("steady state: end\n");
    CHECK_OK(zl_publisher_destroy(pub));
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_destroy(subs[i]));

    const char *sized_topic = test_topic("steady_sized");
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_create(context, sized_topic, &blob_type, NULL, &subs[i]));
    CHECK_OK(zl_publisher_create(context, sized_topic, &blob_type, NULL, &pub));
    for (uint64_t i = 1; i <= 1000; i++)
        round_trip_sized(pub, subs, i);
    zl_publisher_stats before, after;
    CHECK_OK(zl_publisher_get_stats(pub, &before));
    mark("steady state: begin\n");
    for (uint64_t i = 1001; i <= 101000; i++)
        round_trip_sized(pub, subs, i);
    mark("steady state: end\n");
    CHECK_OK(zl_publisher_get_stats(pub, &after));
    CHECK_EQ(after.growths, before.growths);
    CHECK_EQ(after.segments, before.segments);
    CHECK_OK(zl_publisher_destroy(pub));
    for (int i = 0; i < 2; i++)
        CHECK_OK(zl_subscription_destroy(subs[i]));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
