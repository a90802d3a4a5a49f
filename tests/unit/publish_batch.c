/* zl_publisher_publish_loans: a batch published in order, in parts when a
 * queue is shorter than the batch; every misuse refused before anything is
 * published (nothing changes); a lossless timeout publishes a prefix and
 * leaves the rest with the caller; sized loans go whole; the loopback
 * transport (no batch of its own) gives the same results. Each case is a
 * function named for what it shows. */
#include "harness.h"
#include "peer.h"

#define LOANS 8

typedef struct bench {
    zl_context *context;
    zl_publisher *pub;
    zl_subscription *sub;
} bench;

static void open_bench(bench *b, const char *transports, const char *name, uint32_t depth,
                       bool lossless, int64_t max_blocking_ns)
{
    zl_context_options copts;
    zl_context_options_init(&copts);
    copts.transports = transports;
    CHECK_OK(zl_context_create(&copts, &b->context));
    const char *topic = test_topic(name);
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = depth;
    sopts.max_loans = LOANS;
    sopts.reliability = lossless ? ZL_LOSSLESS : ZL_KEEP_LAST;
    CHECK_OK(zl_subscription_create(b->context, topic, &test_msg_type, &sopts, &b->sub));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_loans = LOANS;
    popts.chunks_per_subscription = 64;
    popts.max_blocking_time_ns = max_blocking_ns;
    CHECK_OK(zl_publisher_create(b->context, topic, &test_msg_type, &popts, &b->pub));
}

static void close_bench(bench *b)
{
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(b->pub, &stats));
    CHECK_EQ(stats.loans_held, 0);
    CHECK_EQ(stats.chunks_free, stats.chunks_total); /* every chunk came back */
    CHECK_OK(zl_publisher_destroy(b->pub));
    CHECK_OK(zl_subscription_destroy(b->sub));
    CHECK_OK(zl_context_destroy(b->context));
}

/* Loans n messages, filled with sequences first, first + 1, ... */
static void loan_filled(zl_publisher *pub, void **loans, size_t n, uint64_t first)
{
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(zl_publisher_loan(pub, &loans[i]));
        test_msg_fill(loans[i], 7, first + i);
    }
}

/* Takes n messages, which must be sequences first, first + 1, ..., intact. */
static void take_expect(zl_subscription *sub, size_t n, uint64_t first)
{
    for (size_t i = 0; i < n; i++) {
        const void *m;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(sub, &m, &info));
        CHECK_EQ(((const test_msg *)m)->sequence, first + i);
        CHECK(test_msg_valid(m));
        CHECK_OK(zl_subscription_return_loan(sub, m));
    }
    const void *m;
    CHECK_RC(zl_subscription_take_loan(sub, &m, NULL), ZL_ENODATA);
}

/* In order, each message with its own publication sequence, all taken over. */
static void case_in_order(const char *transports)
{
    bench b;
    open_bench(&b, transports, "batch_order", 32, false, 0);
    void *loans[LOANS];
    for (uint64_t round = 0; round < 3; round++) {
        loan_filled(b.pub, loans, LOANS, 1 + round * LOANS);
        size_t published = 99;
        CHECK_OK(zl_publisher_publish_loans(b.pub, loans, LOANS, &published));
        CHECK_EQ(published, LOANS);
        for (size_t i = 0; i < LOANS; i++) /* no longer the caller's */
            CHECK_RC(zl_publisher_return_loan(b.pub, loans[i]), ZL_ENOTLOAN);
    }
    for (uint64_t i = 1; i <= 3 * LOANS; i++) {
        const void *m;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(b.sub, &m, &info));
        CHECK_EQ(((const test_msg *)m)->sequence, i);
        CHECK_EQ(info.publication_sequence, i);
        CHECK(test_msg_valid(m));
        CHECK_OK(zl_subscription_return_loan(b.sub, m));
    }
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(b.pub, &stats));
    CHECK_EQ(stats.published, 3 * LOANS);
    CHECK_EQ(stats.dropped, 0);
    close_bench(&b);
}

/* Publishes nothing and leaves every loan with the caller: the batch is
 * refused with code. */
static void refused(bench *b, void *const *messages, size_t count, int code)
{
    size_t published = 99;
    CHECK_RC(zl_publisher_publish_loans(b->pub, messages, count, &published), code);
    CHECK_EQ(published, 0);
    CHECK(strstr(zl_last_error_detail(), "nothing") != NULL ||
          strstr(zl_last_error_detail(), "NULL") != NULL);
}

/* Every misuse: a documented code, nothing published, nothing changed. */
static void case_misuse(const char *transports)
{
    bench b;
    open_bench(&b, transports, "batch_misuse", 32, false, 0);
    void *loans[LOANS];
    loan_filled(b.pub, loans, 4, 1);
    size_t published = 99;
    CHECK_RC(zl_publisher_publish_loans(NULL, loans, 4, &published), ZL_EINVAL);
    CHECK_EQ(published, 0);
    CHECK_RC(zl_publisher_publish_loans(b.pub, NULL, 4, &published), ZL_EINVAL);
    CHECK_RC(zl_publisher_publish_loans(b.pub, loans, 4, NULL), ZL_EINVAL);
    refused(&b, loans, 0, ZL_EINVAL); /* count 0 */
    void *with_null[4] = {loans[0], loans[1], NULL, loans[3]};
    refused(&b, with_null, 4, ZL_EINVAL);
    test_msg on_stack;
    void *not_a_loan[3] = {loans[0], &on_stack, loans[1]};
    refused(&b, not_a_loan, 3, ZL_ENOTLOAN);
    CHECK(strstr(zl_last_error_detail(), "messages[1]") != NULL);
    void *twice[4] = {loans[0], loans[1], loans[2], loans[1]};
    refused(&b, twice, 4, ZL_EINVAL);
    CHECK(strstr(zl_last_error_detail(), "messages[3]") != NULL);
    /* Another publisher's loan, last in the batch. */
    zl_publisher *other;
    CHECK_OK(zl_publisher_create(b.context, test_topic("batch_misuse_other"), &test_msg_type,
                                 NULL, &other));
    void *theirs;
    CHECK_OK(zl_publisher_loan(other, &theirs));
    void *foreign[3] = {loans[0], loans[1], theirs};
    refused(&b, foreign, 3, ZL_ENOTLOAN);
    CHECK_OK(zl_publisher_return_loan(other, theirs));
    CHECK_OK(zl_publisher_destroy(other));
    /* Nothing reached the subscription; the caller holds all four. */
    const void *m;
    CHECK_RC(zl_subscription_take_loan(b.sub, &m, NULL), ZL_ENODATA);
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(b.pub, &stats));
    CHECK_EQ(stats.published, 0);
    CHECK_EQ(stats.loans_held, 4);
    /* A loan published already is no longer one. */
    size_t done;
    CHECK_OK(zl_publisher_publish_loans(b.pub, loans, 2, &done));
    CHECK_EQ(done, 2);
    refused(&b, loans + 1, 2, ZL_ENOTLOAN);
    CHECK_OK(zl_publisher_publish_loans(b.pub, loans + 2, 2, &done));
    CHECK_EQ(done, 2);
    take_expect(b.sub, 4, 1);
    close_bench(&b);
}

/* Keep-last, a batch twice the queue: published in parts, the subscription
 * keeps the newest `depth` and counts the others lost. */
static void case_parts_keep_last(const char *transports)
{
    bench b;
    open_bench(&b, transports, "batch_parts", 3, false, 0);
    void *loans[LOANS];
    loan_filled(b.pub, loans, LOANS, 1);
    size_t published;
    CHECK_OK(zl_publisher_publish_loans(b.pub, loans, LOANS, &published));
    CHECK_EQ(published, LOANS);
    take_expect(b.sub, 3, LOANS - 2);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(b.sub, &stats));
    CHECK_EQ(stats.lost, LOANS - 3);
    close_bench(&b);
}

/* Lossless, no waiting (max_blocking_time 0): a batch larger than the
 * queue publishes what fits, says how many, and leaves the rest with the
 * caller, who publishes them once the subscription took. */
static void case_lossless_partial(void)
{
    bench b;
    open_bench(&b, "shm", "batch_lossless", 3, true, 0);
    void *loans[LOANS];
    loan_filled(b.pub, loans, LOANS, 1);
    size_t published = 99;
    CHECK_RC(zl_publisher_publish_loans(b.pub, loans, LOANS, &published), ZL_ETIMEOUT);
    CHECK_EQ(published, 3);
    CHECK(strstr(zl_last_error_detail(), "the first 3 of 8 were published") != NULL);
    /* The cause whole, before what went (not cut at a pointer's size). */
    CHECK(strstr(zl_last_error_detail(), "had no room for 0 ns") != NULL);
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(b.pub, &stats));
    CHECK_EQ(stats.published, 3);
    CHECK_EQ(stats.loans_held, LOANS - 3);
    CHECK_EQ(stats.timeouts, 1);
    /* The first three are gone, the others still the caller's. */
    refused(&b, loans, 1, ZL_ENOTLOAN);
    take_expect(b.sub, 3, 1);
    CHECK_RC(zl_publisher_publish_loans(b.pub, loans + 3, LOANS - 3, &published), ZL_ETIMEOUT);
    CHECK_EQ(published, 3);
    take_expect(b.sub, 3, 4);
    CHECK_OK(zl_publisher_publish_loans(b.pub, loans + 6, 2, &published));
    CHECK_EQ(published, 2);
    take_expect(b.sub, 2, 7);
    /* A batch the queue holds whole waits for nothing. */
    loan_filled(b.pub, loans, 3, 9);
    CHECK_OK(zl_publisher_publish_loans(b.pub, loans, 3, &published));
    take_expect(b.sub, 3, 9);
    /* The rest returned instead: a timeout's leftovers are loans like any. */
    loan_filled(b.pub, loans, 5, 12);
    CHECK_RC(zl_publisher_publish_loans(b.pub, loans, 5, &published), ZL_ETIMEOUT);
    CHECK_EQ(published, 3);
    CHECK_OK(zl_publisher_return_loan(b.pub, loans[3]));
    CHECK_OK(zl_publisher_return_loan(b.pub, loans[4]));
    take_expect(b.sub, 3, 12);
    close_bench(&b);
}

typedef struct cloud {
    uint32_t frame;
    uint32_t points[];
} cloud;
static const zl_type cloud_type = ZL_TYPE_SIZED(cloud, points, 0);

/* Sized loans go whole: each with the count it was lent for. */
static void case_sized_whole(const char *transports)
{
    zl_context_options copts;
    zl_context_options_init(&copts);
    copts.transports = transports;
    zl_context *context;
    CHECK_OK(zl_context_create(&copts, &context));
    const char *topic = test_topic("batch_sized");
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &cloud_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &cloud_type, NULL, &pub));
    static const size_t counts[] = {5, 0, 1000, 17};
    void *loans[4];
    for (size_t i = 0; i < 4; i++) {
        CHECK_OK(zl_publisher_loan_sized(pub, counts[i], &loans[i]));
        cloud *c = loans[i];
        c->frame = (uint32_t)i;
        for (size_t k = 0; k < counts[i]; k++)
            c->points[k] = (uint32_t)(i * 100000 + k);
    }
    size_t published;
    CHECK_OK(zl_publisher_publish_loans(pub, loans, 4, &published));
    CHECK_EQ(published, 4);
    for (size_t i = 0; i < 4; i++) {
        const void *m;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(sub, &m, &info));
        const cloud *c = m;
        CHECK_EQ(c->frame, i);
        CHECK_EQ(info.count, counts[i]);
        for (size_t k = 0; k < counts[i]; k++)
            if (c->points[k] != (uint32_t)(i * 100000 + k))
                CHECK_EQ(c->points[k], i * 100000 + k);
        CHECK_OK(zl_subscription_return_loan(sub, m));
    }
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

/* History: a batch's messages are kept in order, the newest last. */
static void case_history(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("batch_history");
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_loans = LOANS;
    popts.history = 3;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    void *loans[LOANS];
    loan_filled(pub, loans, 6, 1);
    size_t published;
    CHECK_OK(zl_publisher_publish_loans(pub, loans, 6, &published));
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.history = true;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_update_connections(pub));
    take_expect(sub, 3, 4);
    CHECK_OK(zl_subscription_destroy(sub));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_total - stats.chunks_free, 3); /* the history's */
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
}

int main(void)
{
    case_in_order("shm");
    case_in_order("loopback");
    case_misuse("shm");
    case_misuse("loopback");
    case_parts_keep_last("shm");
    case_parts_keep_last("loopback");
    case_lossless_partial();
    case_sized_whole("shm");
    case_sized_whole("loopback");
    case_history();
    return 0;
}
