/* Sized loans: a type with a fixed part and a tail of elements, lent with
 * the count asked for, published with the count filled (possibly fewer),
 * received with its count in zl_message_info; the copy path, the refusal
 * path and misuse. Every byte received is checked. */
#include <stddef.h>

#include "harness.h"

typedef struct cloud {
    uint32_t frame;
    uint32_t reserved;
    uint32_t points[];
} cloud;

static const zl_type cloud_type = ZL_TYPE_SIZED(cloud, points, 0);
static const zl_type bounded_type = ZL_TYPE_SIZED(cloud, points, 1000);

static void fill(cloud *c, uint32_t frame, size_t count)
{
    c->frame = frame;
    for (size_t i = 0; i < count; i++)
        c->points[i] = frame * 2654435761u + (uint32_t)i;
}

static void check_cloud(const cloud *c, uint32_t frame, size_t count)
{
    CHECK_EQ(c->frame, frame);
    for (size_t i = 0; i < count; i++)
        if (c->points[i] != frame * 2654435761u + (uint32_t)i)
            CHECK_EQ(c->points[i], frame * 2654435761u + (uint32_t)i);
}

/* Loans of many sizes, each published shrunk or whole; the subscription
 * sees each with its own count and every byte, zero copy. */
static void case_loans(zl_context *context)
{
    const char *topic = test_topic("sized_loans");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &cloud_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &cloud_type, NULL, &pub));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.segments, 0); /* a sized type waits for its first loan */
    static const size_t counts[] = {0, 1, 15, 16, 17, 1000, 100000, 3, 1 << 20, 250000};
    for (uint32_t frame = 0; frame < 40; frame++) {
        size_t asked = counts[frame % (sizeof counts / sizeof counts[0])];
        size_t filled = frame % 3 == 0 ? asked / 2 : asked;
        void *loan;
        CHECK_OK(zl_publisher_loan_sized(pub, asked, &loan));
        CHECK((uintptr_t)loan % _Alignof(cloud) == 0);
        fill(loan, frame, filled);
        if (filled == asked)
            CHECK_OK(zl_publisher_publish_loan(pub, loan));
        else
            CHECK_OK(zl_publisher_publish_loan_sized(pub, loan, filled));
        const void *msg;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(sub, &msg, &info));
        CHECK_EQ(info.count, filled);
        CHECK_EQ(info.size, offsetof(cloud, points) + filled * sizeof(uint32_t));
        check_cloud(msg, frame, filled);
        CHECK_OK(zl_subscription_return_loan(sub, msg));
    }
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    /* One class per size: a 4-byte message never took a 4 MiB chunk. */
    CHECK(stats.segments >= 5);
    CHECK(stats.shm_bytes < 64u << 20);
    CHECK_EQ(stats.chunks_free, stats.chunks_total);

    /* Misuse: more than the loan, the wrong kind of count. */
    void *loan;
    CHECK_OK(zl_publisher_loan_sized(pub, 10, &loan));
    CHECK_RC(zl_publisher_publish_loan_sized(pub, loan, 11), ZL_EINVAL);
    CHECK_OK(zl_publisher_return_loan(pub, loan));
    CHECK_RC(zl_publisher_publish_loan_sized(pub, loan, 1), ZL_ENOTLOAN);

    /* The copy path: the caller's message of count elements. */
    cloud *mine = malloc(sizeof(cloud) + 5000 * sizeof(uint32_t));
    CHECK(mine != NULL);
    fill(mine, 77, 5000);
    /* zl_publisher_publish() has no count: refused, nothing sent (issue 22). */
    CHECK_RC(zl_publisher_publish(pub, mine), ZL_EINVAL);
    CHECK(strstr(zl_last_error_detail(), "zl_publisher_publish_sized") != NULL);
    CHECK_OK(zl_publisher_publish_sized(pub, mine, 5000));
    cloud *into = malloc(sizeof(cloud) + 4999 * sizeof(uint32_t));
    CHECK(into != NULL);
    zl_message_info info;
    /* Too small a buffer drops the message (a whole one or nothing). */
    CHECK_RC(zl_subscription_take_sized(sub, into, 4999, &info), ZL_ESERIALIZE);
    CHECK_OK(zl_publisher_publish_sized(pub, mine, 4999));
    CHECK_OK(zl_subscription_take_sized(sub, into, 4999, &info));
    CHECK_EQ(info.count, 4999);
    check_cloud(into, 77, 4999);
    /* Without a maximum count, take without one is misuse. */
    CHECK_RC(zl_subscription_take(sub, into, &info), ZL_EINVAL);
    free(mine);
    free(into);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
}

/* A maximum count bounds loans and lets take copy without a size. */
static void case_bounded(zl_context *context)
{
    const char *topic = test_topic("sized_bounded");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &bounded_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &bounded_type, NULL, &pub));
    void *loan;
    CHECK_RC(zl_publisher_loan_sized(pub, 1001, &loan), ZL_EINVAL);
    CHECK_OK(zl_publisher_loan_sized(pub, 1000, &loan));
    fill(loan, 5, 1000);
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    cloud *into = malloc(zl_type_message_size(&bounded_type, 1000));
    CHECK(into != NULL);
    zl_message_info info;
    CHECK_OK(zl_subscription_take(sub, into, &info));
    CHECK_EQ(info.count, 1000);
    check_cloud(into, 5, 1000);
    free(into);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));

    /* A fixed-size type takes no count. */
    typedef struct fixed {
        uint64_t x;
    } fixed;
    static const zl_type fixed_type = ZL_TYPE_PLAIN(fixed);
    CHECK_OK(zl_publisher_create(context, topic, &fixed_type, NULL, &pub));
    CHECK_RC(zl_publisher_loan_sized(pub, 1, &loan), ZL_EINVAL);
    CHECK_OK(zl_publisher_loan_sized(pub, 0, &loan));
    CHECK_OK(zl_publisher_return_loan(pub, loan));
    CHECK_OK(zl_publisher_destroy(pub));
}

/* The refusal path carries sizes too: loans from the allocator, copies. */
static void case_refusal(void)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.disable_loans = true;
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));
    const char *topic = test_topic("sized_refusal");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &cloud_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &cloud_type, NULL, &pub));
    CHECK(!zl_publisher_can_loan(pub));
    for (uint32_t frame = 1; frame <= 4; frame++) {
        size_t count = (size_t)frame * 3000;
        void *loan;
        CHECK_OK(zl_publisher_loan_sized(pub, count, &loan));
        fill(loan, frame, count - 1);
        CHECK_OK(zl_publisher_publish_loan_sized(pub, loan, count - 1));
        const void *msg;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(sub, &msg, &info));
        CHECK_EQ(info.count, count - 1);
        check_cloud(msg, frame, count - 1);
        CHECK_OK(zl_subscription_return_loan(sub, msg));
    }
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    case_loans(context);
    case_bounded(context);
    CHECK_OK(zl_context_destroy(context));
    case_refusal();
    CHECK_EQ(test_count_shm(test_shm_fragment(test_topic("sized_loans"))), 0);
    return 0;
}
