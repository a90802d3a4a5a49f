/* Messages a subscription cannot deserialize are dropped and counted as
 * lost: after every take, received + lost equals what was published, by
 * zl_subscription_take, zl_subscription_take_loan and in the middle of
 * zl_subscription_take_loan_sequence (which skips the bad message). */
#include "harness.h"

/* A type with a pointer-free body but a serializer, so that it takes the
 * refusal path; ids that are multiples of 4 fail to deserialize. */
typedef struct counted {
    uint32_t id;
} counted;

static int counted_serialize(const void *msg, void *buf, size_t cap, size_t *used)
{
    if (cap < sizeof(counted))
        return ZL_ESERIALIZE;
    memcpy(buf, msg, sizeof(counted));
    *used = sizeof(counted);
    return 0;
}

static int counted_deserialize(const void *buf, size_t len, void *msg, const zl_allocator *a)
{
    (void)a;
    counted c;
    if (len != sizeof c)
        return ZL_ESERIALIZE;
    memcpy(&c, buf, sizeof c);
    if (c.id % 4 == 0)
        return ZL_ESERIALIZE;
    memcpy(msg, &c, sizeof c);
    return 0;
}

static const zl_type counted_type = {
    .name = "counted", .size = sizeof(counted), .alignment = _Alignof(counted), .plain = false,
    .serialized_size_max = sizeof(counted), .serialize = counted_serialize,
    .deserialize = counted_deserialize,
};

static void publish_range(zl_publisher *pub, uint32_t first, uint32_t last)
{
    for (uint32_t id = first; id <= last; id++) {
        counted c = {id};
        CHECK_OK(zl_publisher_publish(pub, &c));
    }
}

static void check_counts(zl_subscription *sub, uint64_t published, uint64_t received)
{
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    printf("published %llu: received %llu lost %llu\n", (unsigned long long)published,
           (unsigned long long)stats.received, (unsigned long long)stats.lost);
    CHECK_EQ(stats.received, received);
    CHECK_EQ(stats.received + stats.lost, published);
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("rejected");
    zl_subscription_options sub_options;
    zl_subscription_options_init(&sub_options);
    /* Depth 12 and 8 loans fit the publisher's default budget of 24 chunks
     * per subscription, so keep-last drops nothing here. */
    sub_options.depth = 12;
    sub_options.max_loans = 8;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &counted_type, &sub_options, &sub));
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &counted_type, NULL, &pub));

    /* Copies: 12 published, 3 of them (4, 8, 12) rejected. */
    publish_range(pub, 1, 12);
    uint64_t received = 0;
    for (;;) {
        counted c;
        int rc = zl_subscription_take(sub, &c, NULL);
        if (rc == ZL_ENODATA)
            break;
        if (rc == ZL_ESERIALIZE)
            continue;
        CHECK_OK(rc);
        CHECK(c.id % 4 != 0);
        received++;
    }
    CHECK_EQ(received, 9);
    check_counts(sub, 12, 9);

    /* Loans one by one: 13..24, rejected 16, 20, 24. */
    publish_range(pub, 13, 24);
    for (;;) {
        const void *loan;
        int rc = zl_subscription_take_loan(sub, &loan, NULL);
        if (rc == ZL_ENODATA)
            break;
        if (rc == ZL_ESERIALIZE)
            continue;
        CHECK_OK(rc);
        received++;
        CHECK_OK(zl_subscription_return_loan(sub, loan));
    }
    check_counts(sub, 24, 18);

    /* A sequence: 25..32, rejected 28 and 32 in the middle and at the end;
     * the sequence goes past them. */
    publish_range(pub, 25, 32);
    const void *loans[16];
    size_t count = 0;
    CHECK_OK(zl_subscription_take_loan_sequence(sub, loans, NULL, 16, &count));
    CHECK_EQ(count, 6);
    for (size_t i = 0; i < count; i++) {
        CHECK(((const counted *)loans[i])->id % 4 != 0);
        CHECK_OK(zl_subscription_return_loan(sub, loans[i]));
    }
    check_counts(sub, 32, 24);

    /* Only bad messages left: nothing taken, both counted. */
    publish_range(pub, 36, 36);
    publish_range(pub, 40, 40);
    CHECK_RC(zl_subscription_take_loan_sequence(sub, loans, NULL, 16, &count), ZL_ENODATA);
    CHECK_EQ(count, 0);
    check_counts(sub, 34, 24);

    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
