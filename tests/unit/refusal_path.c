/* The refusal path (seed P3): a non-plain type, and a plain type with loans
 * disabled by option and by ZLOAN_DISABLE_LOANS. Loans then come from the
 * user's allocator; the calls are the same; nothing leaks. */
#include <stdlib.h>

#include "harness.h"
#include "peer.h"

/* A message with a pointer: a string of any length up to 1000 bytes. */
typedef struct text {
    uint32_t id;
    char *chars; /* allocated through the context's allocator */
} text;

static int text_serialize(const void *msg, void *buf, size_t cap, size_t *used)
{
    const text *t = msg;
    size_t n = t->chars ? strlen(t->chars) : 0;
    if (4 + n > cap)
        return ZL_ESERIALIZE;
    memcpy(buf, &t->id, 4);
    memcpy((char *)buf + 4, t->chars, n);
    *used = 4 + n;
    return 0;
}

static int text_deserialize(const void *buf, size_t len, void *msg, const zl_allocator *a)
{
    text *t = msg;
    if (len < 4)
        return ZL_ESERIALIZE;
    memcpy(&t->id, buf, 4);
    t->chars = a->allocate(len - 4 + 1, 1, a->state);
    if (t->chars == NULL)
        return ZL_ENOMEM;
    memcpy(t->chars, (const char *)buf + 4, len - 4);
    t->chars[len - 4] = '\0';
    return 0;
}

static void text_fini(void *msg, const zl_allocator *a)
{
    text *t = msg;
    if (t->chars != NULL)
        a->deallocate(t->chars, strlen(t->chars) + 1, 1, a->state);
    t->chars = NULL;
}

static const zl_type text_type = {
    .name = "text", .size = sizeof(text), .alignment = _Alignof(text), .plain = false,
    .serialized_size_max = 1004, .serialize = text_serialize, .deserialize = text_deserialize,
    .fini = text_fini,
};

static char *dup_with(const zl_allocator *a, const char *s)
{
    char *p = a->allocate(strlen(s) + 1, 1, a->state);
    strcpy(p, s);
    return p;
}

static void non_plain(void)
{
    test_counting_allocator counts = {0};
    zl_context_options options;
    zl_context_options_init(&options);
    options.allocator = test_counting(&counts);
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));
    const char *topic = test_topic("refusal_text");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &text_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &text_type, NULL, &pub));
    CHECK(!zl_publisher_can_loan(pub));
    CHECK(!zl_subscription_can_loan(sub));

    /* Loan from the allocator, fill, publish (serialized; the loan is freed). */
    void *loan;
    long before = counts.allocations;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    CHECK_EQ(counts.allocations, before + 1);
    text *t = loan;
    t->id = 42;
    t->chars = dup_with(&options.allocator, "hello, refusal path");
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    /* A loan returned unpublished is freed too. */
    CHECK_OK(zl_publisher_loan(pub, &loan));
    CHECK_OK(zl_publisher_return_loan(pub, loan));
    CHECK_RC(zl_publisher_return_loan(pub, loan), ZL_ENOTLOAN);
    /* A message the user owns. */
    text mine = {7, "copied"};
    CHECK_OK(zl_publisher_publish(pub, &mine));
    /* Too long to serialize: refused, nothing published, the loan stays. */
    char *huge = malloc(2000);
    memset(huge, 'x', 1999);
    huge[1999] = '\0';
    text big = {9, huge};
    CHECK_RC(zl_publisher_publish(pub, &big), ZL_ESERIALIZE);
    free(huge);

    /* Take a loan: deserialized into the allocator's memory. */
    const void *got;
    zl_message_info info;
    CHECK_OK(zl_subscription_take_loan(sub, &got, &info));
    CHECK_EQ(((const text *)got)->id, 42);
    CHECK(strcmp(((const text *)got)->chars, "hello, refusal path") == 0);
    CHECK_EQ(info.publication_sequence, 1);
    bool consistent = false;
    CHECK_OK(zl_subscription_is_consistent(sub, got, &consistent));
    CHECK(consistent);
    CHECK_OK(zl_subscription_return_loan(sub, got));
    CHECK_RC(zl_subscription_return_loan(sub, got), ZL_ENOTLOAN);
    /* Take into our memory. */
    text into = {0, NULL};
    CHECK_OK(zl_subscription_take(sub, &into, &info));
    CHECK_EQ(into.id, 7);
    CHECK(strcmp(into.chars, "copied") == 0);
    text_fini(&into, &options.allocator);
    CHECK_RC(zl_subscription_take(sub, &into, NULL), ZL_ENODATA);

    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(counts.allocations, counts.deallocations);
    CHECK_EQ(counts.bytes_live, 0);
}

static void plain_disabled(bool by_environment)
{
    if (by_environment)
        setenv(ZL_ENV_DISABLE_LOANS, "1", 1);
    test_counting_allocator counts = {0};
    zl_context_options options;
    zl_context_options_init(&options);
    options.allocator = test_counting(&counts);
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));
    const char *topic = test_topic("refusal_plain");
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.disable_loans = !by_environment;
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.disable_loans = !by_environment;
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    CHECK(!zl_publisher_can_loan(pub));
    CHECK(!zl_subscription_can_loan(sub));
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    test_msg_fill(loan, 2, 1);
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    const void *got;
    CHECK_OK(zl_subscription_take_loan(sub, &got, NULL));
    CHECK(test_msg_valid(got));
    CHECK_EQ(((const test_msg *)got)->sequence, 1);
    /* Not a pointer into shared memory: the allocator's. */
    char pool_name[300];
    snprintf(pool_name, sizeof pool_name, "%s:p", test_shm_fragment(topic));
    CHECK(!test_mapped_from(got, pool_name));
    CHECK_OK(zl_subscription_return_loan(sub, got));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(counts.allocations, counts.deallocations);
    unsetenv(ZL_ENV_DISABLE_LOANS);
}

int main(void)
{
    non_plain();
    plain_disabled(false);
    plain_disabled(true);
    return 0;
}
