/* Loans given back in batches (zl_subscription_return_loans) after
 * batched takes (zl_subscription_take_loan_sequence), on the shared-memory
 * transport (keep-last and lossless), the loopback transport and the
 * refusal path's allocator loans: a batch is checked whole, so a NULL, a
 * loan twice, one never taken, one returned already or another
 * subscription's returns nothing and leaves every loan held and readable;
 * a valid batch, in any order, returns them all, and the publisher has its
 * whole pool back. Sequences larger than the transport's batch (64) and
 * than the loans left stop where they should. */
#include "harness.h"
#include "loan_cases.h"
#include "peer.h"

#define LOANS 80

static void publish(zl_publisher *pub, uint64_t first, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        test_msg m;
        test_msg_fill(&m, 7, first + i);
        CHECK_OK(zl_publisher_publish(pub, &m));
    }
}

/* Takes count messages in one sequence, checking they are first, first +
 * 1, ... in order. */
static void take_in_order(zl_subscription *sub, const void **loans, size_t count, uint64_t first)
{
    zl_message_info infos[LOANS];
    size_t taken = 0;
    CHECK_OK(zl_subscription_take_loan_sequence(sub, loans, infos, count, &taken));
    CHECK_EQ(taken, count);
    for (size_t i = 0; i < count; i++) {
        const test_msg *m = loans[i];
        CHECK(test_msg_valid(m));
        CHECK_EQ(m->sequence, first + i);
        CHECK_EQ(infos[i].publication_sequence, first + i);
        CHECK_EQ(infos[i].size, sizeof(test_msg));
    }
}

/* A batch that must be refused whole: rc, *returned 0, the detail names
 * the element, and every loan of `held` is still held and unchanged. */
static void refused(zl_subscription *sub, const void *const *batch, size_t count, int rc,
                    const char *element, const void **held, size_t held_count, uint64_t first)
{
    uint32_t before = sub_loans_held(sub);
    size_t returned = 99;
    CHECK_RC(zl_subscription_return_loans(sub, batch, count, &returned), rc);
    CHECK_EQ(returned, 0);
    CHECK(strstr(zl_last_error_detail(), element) != NULL);
    CHECK(strstr(zl_last_error_detail(), ": nothing was returned") != NULL);
    CHECK_EQ(sub_loans_held(sub), before);
    for (size_t i = 0; i < held_count; i++) {
        CHECK(test_msg_valid(held[i]));
        CHECK_EQ(((const test_msg *)held[i])->sequence, first + i);
        bool consistent = false;
        CHECK_OK(zl_subscription_is_consistent(sub, held[i], &consistent));
        CHECK(consistent);
    }
}

static void check_case(const setup *c)
{
    zl_subscription_options sopts;
    zl_context *context = begin_loan_case(c, &sopts, LOANS);
    const char *topic = test_topic("return_loans");
    zl_subscription *sub, *other;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    sopts.max_loans = 1;
    sopts.reliability = ZL_KEEP_LAST; /* it takes one: it must not hold the publisher back */
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &other));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.chunks_per_subscription = 4 * LOANS;
    popts.disable_loans = c->disable_loans;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));

    /* More than one transport batch (64), then as many as loans are left. */
    publish(pub, 1, LOANS + 10);
    const void *loans[LOANS + 1];
    take_in_order(sub, loans, 70, 1);
    size_t taken = 0;
    CHECK_OK(zl_subscription_take_loan_sequence(sub, loans + 70, NULL, 20, &taken));
    CHECK_EQ(taken, LOANS - 70);
    /* It stopped at max_loans, and succeeded: no failure detail is left. */
    CHECK_EQ(strcmp(zl_last_error_detail(), ""), 0);
    CHECK_EQ(((const test_msg *)loans[LOANS - 1])->sequence, LOANS);
    CHECK_RC(zl_subscription_take_loan_sequence(sub, loans + LOANS, NULL, 1, &taken),
             ZL_ETOOMANYLOANS);
    CHECK_EQ(sub_loans_held(sub), LOANS);
    const void *foreign;
    CHECK_OK(zl_subscription_take_loan(other, &foreign, NULL));

    /* Refused whole. */
    size_t returned = 99;
    CHECK_RC(zl_subscription_return_loans(NULL, loans, 2, &returned), ZL_EINVAL);
    CHECK_RC(zl_subscription_return_loans(sub, NULL, 2, &returned), ZL_EINVAL);
    CHECK_RC(zl_subscription_return_loans(sub, loans, 2, NULL), ZL_EINVAL);
    CHECK_RC(zl_subscription_return_loans(sub, loans, 0, &returned), ZL_EINVAL);
    CHECK_EQ(returned, 0);
    const void *batch[4] = {loans[0], loans[1], NULL, loans[3]};
    refused(sub, batch, 4, ZL_EINVAL, "messages[2]", loans, LOANS, 1);
    /* A NULL does not jump the queue: what fails before it is named, as a
     * batched publish names it. */
    test_msg outsider;
    const void *stranger_then_null[4] = {loans[0], &outsider, loans[2], NULL};
    refused(sub, stranger_then_null, 4, ZL_ENOTLOAN, "messages[1]", loans, LOANS, 1);
    const void *twice_then_null[4] = {loans[4], loans[4], NULL, loans[5]};
    refused(sub, twice_then_null, 4, ZL_EINVAL, "messages[1]", loans, LOANS, 1);
    const void *twice[4] = {loans[0], loans[1], loans[2], loans[1]};
    refused(sub, twice, 4, ZL_EINVAL, "messages[3]", loans, LOANS, 1);
    test_msg local;
    const void *stranger[3] = {loans[5], loans[6], &local};
    refused(sub, stranger, 3, ZL_ENOTLOAN, "messages[2]", loans, LOANS, 1);
    const void *others[3] = {loans[5], foreign, loans[7]};
    refused(sub, others, 3, ZL_ENOTLOAN, "messages[1]", loans, LOANS, 1);
    /* Out of order, the first element that fails in the batch's order is
     * named: a stranger before a loan twice, and the other way round. */
    const void *stranger_first[4] = {loans[9], loans[3], &local, loans[3]};
    refused(sub, stranger_first, 4, ZL_ENOTLOAN, "messages[2]", loans, LOANS, 1);
    const void *twice_first[4] = {loans[9], loans[3], loans[3], &local};
    refused(sub, twice_first, 4, ZL_EINVAL, "messages[2]", loans, LOANS, 1);
    const void *twice_reversed[3] = {loans[70], loans[2], loans[70]};
    refused(sub, twice_reversed, 3, ZL_EINVAL, "messages[2]", loans, LOANS, 1);
    /* Longer than any transport's table of loans: every loan (in reverse
     * order), then every one again. */
    const void *longer[3 * LOANS];
    for (size_t i = 0; i < 3 * LOANS; i++)
        longer[i] = loans[LOANS - 1 - i % LOANS];
    refused(sub, longer, 3 * LOANS, ZL_EINVAL, "messages[80]", loans, LOANS, 1);
    /* Longer than the table, every element another: the last one looked
     * at (held_capacity + 1 of them) is not a duplicate either. */
    static test_msg strangers[3 * LOANS];
    for (size_t i = LOANS; i < 3 * LOANS; i++)
        longer[i] = &strangers[i];
    for (size_t i = 0; i < LOANS; i++)
        longer[i] = loans[i];
    refused(sub, longer, 3 * LOANS, ZL_ENOTLOAN, "messages[80]", loans, LOANS, 1);

    /* The first ten in order, then one of them again with held ones. */
    CHECK_OK(zl_subscription_return_loans(sub, loans, 10, &returned));
    CHECK_EQ(returned, 10);
    CHECK_EQ(sub_loans_held(sub), LOANS - 10);
    const void *again[3] = {loans[10], loans[11], loans[4]};
    refused(sub, again, 3, ZL_ENOTLOAN, "messages[2]", loans + 10, LOANS - 10, 11);
    /* The rest in reverse order, in one batch. */
    const void *reversed[LOANS];
    for (size_t i = 0; i < LOANS - 10; i++)
        reversed[i] = loans[LOANS - 1 - i];
    CHECK_OK(zl_subscription_return_loans(sub, reversed, LOANS - 10, &returned));
    CHECK_EQ(returned, LOANS - 10);
    CHECK_EQ(sub_loans_held(sub), 0);
    CHECK_OK(zl_subscription_return_loans(other, &foreign, 1, &returned));
    CHECK_EQ(returned, 1);

    /* The queue goes on where it was; loans are lent again. */
    take_in_order(sub, loans, 10, LOANS + 1);
    CHECK_OK(zl_subscription_return_loans(sub, loans, 10, &returned));
    for (uint64_t first = LOANS + 11; first < 4 * LOANS + 11; first += LOANS / 2) {
        publish(pub, first, LOANS / 2);
        take_in_order(sub, loans, LOANS / 2, first);
        /* Every other batch in a shuffled order (7 is prime to 40). */
        const void *order[LOANS / 2];
        for (size_t i = 0; i < LOANS / 2; i++)
            order[i] = loans[(first / (LOANS / 2)) % 2 != 0 ? i * 7 % (LOANS / 2) : i];
        CHECK_OK(zl_subscription_return_loans(sub, order, LOANS / 2, &returned));
        CHECK_EQ(returned, LOANS / 2);
    }
    CHECK_RC(zl_subscription_take_loan_sequence(sub, loans, NULL, 4, &taken), ZL_ENODATA);
    CHECK_EQ(sub_loans_held(sub), 0);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK_EQ(stats.received, 4 * LOANS + 10);
    CHECK_EQ(stats.lost, 0);
    CHECK_EQ(stats.peer_errors, 0);
    CHECK_OK(zl_subscription_destroy(other));
    end_loan_case(context, pub, sub);
}

int main(void)
{
    run_loan_cases(check_case);
    return 0;
}
