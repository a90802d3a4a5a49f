/* Loans given back one at a time, in any order: a subscription's loans
 * returned last taken first, shuffled, and interleaved with takes, and a
 * publisher's loans published and returned in the same orders, singly and
 * in batches, on the shared-memory transport (keep-last and lossless), the
 * loopback transport and the refusal path's allocator loans. Every loan
 * is found from its pointer (design.md C4 and S9: a record or slot placed
 * by a hash of the address), so each call returns 0, the loans still held
 * stay readable and consistent, and a pointer that is no loan (a stranger,
 * one returned or published already) is ZL_ENOTLOAN with nothing changed.
 * Messages arrive in the order they were published, whatever order they
 * were lent in. */
#include "harness.h"
#include "loan_cases.h"
#include "peer.h"

#define LOANS 64

/* The permutation `step` makes of 0 .. n - 1 (step prime to n): i -> i * step
 * mod n. step n - 1 is the reverse order, shifted by one. */
static size_t permuted(size_t i, size_t step, size_t n) { return (i * step) % n; }

/* Publishes count messages first, first + 1, ... by copy. */
static void publish_copies(zl_publisher *pub, uint64_t first, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        test_msg m;
        test_msg_fill(&m, 3, first + i);
        CHECK_OK(zl_publisher_publish(pub, &m));
    }
}

/* Takes count loans singly into loans[at ..], checking the sequence. */
static void take_singly(zl_subscription *sub, const void **loans, size_t at, size_t count,
                        uint64_t first)
{
    for (size_t i = 0; i < count; i++) {
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(sub, &loans[at + i], &info));
        CHECK(test_msg_valid(loans[at + i]));
        CHECK_EQ(((const test_msg *)loans[at + i])->sequence, first + i);
        CHECK_EQ(info.publication_sequence, first + i);
    }
}

/* Every loan of held[] not yet returned (returned[i] false) is intact. */
static void check_held(zl_subscription *sub, const void **held, const bool *returned, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (returned[i])
            continue;
        CHECK(test_msg_valid(held[i]));
        bool consistent = false;
        CHECK_OK(zl_subscription_is_consistent(sub, held[i], &consistent));
        CHECK(consistent);
    }
}

/* Returns the LOANS loans of held[] singly in the permutation step makes,
 * checking at each step what is left; a loan given twice and a stranger are
 * refused on the way. */
static void return_permuted(zl_subscription *sub, const void **held, size_t step)
{
    bool returned[LOANS] = {false};
    test_msg stranger;
    for (size_t i = 0; i < LOANS; i++) {
        size_t k = permuted(i, step, LOANS);
        CHECK_OK(zl_subscription_return_loan(sub, held[k]));
        returned[k] = true;
        CHECK_EQ(sub_loans_held(sub), LOANS - 1 - i);
        CHECK_RC(zl_subscription_return_loan(sub, held[k]), ZL_ENOTLOAN);
        CHECK_RC(zl_subscription_return_loan(sub, &stranger), ZL_ENOTLOAN);
        CHECK_EQ(sub_loans_held(sub), LOANS - 1 - i);
        if (i % 8 == 0)
            check_held(sub, held, returned, LOANS);
    }
}

static void check_subscription(zl_publisher *pub, zl_subscription *sub, uint64_t *next)
{
    const void *held[LOANS];
    /* Last taken first, then two shuffles (7 and 37 are prime to 64). */
    const size_t steps[] = {LOANS - 1, 7, 37};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        publish_copies(pub, *next, LOANS);
        take_singly(sub, held, 0, LOANS, *next);
        *next += LOANS;
        CHECK_EQ(sub_loans_held(sub), LOANS);
        return_permuted(sub, held, steps[s]);
    }
    /* Interleaved: take half, return every other one, take the rest, and
     * give everything back in a shuffled batch of what is left. */
    publish_copies(pub, *next, LOANS + LOANS / 4);
    take_singly(sub, held, 0, LOANS / 2, *next);
    for (size_t i = 0; i < LOANS / 2; i += 2)
        CHECK_OK(zl_subscription_return_loan(sub, held[i]));
    const void *more[LOANS];
    take_singly(sub, more, 0, LOANS - LOANS / 4, *next + LOANS / 2);
    *next += LOANS + LOANS / 4;
    CHECK_EQ(sub_loans_held(sub), LOANS);
    const void *batch[LOANS];
    size_t n = 0;
    for (size_t i = 1; i < LOANS / 2; i += 2)
        batch[n++] = held[i];
    for (size_t i = 0; i < LOANS - LOANS / 4; i++)
        batch[n++] = more[i];
    CHECK_EQ(n, LOANS);
    const void *shuffled[LOANS];
    for (size_t i = 0; i < LOANS; i++)
        shuffled[i] = batch[permuted(i, 37, LOANS)];
    size_t returned = 0;
    CHECK_OK(zl_subscription_return_loans(sub, shuffled, LOANS, &returned));
    CHECK_EQ(returned, LOANS);
    CHECK_EQ(sub_loans_held(sub), 0);
}

/* Loans LOANS messages, tagged by the order they were lent in. */
static void loan_all(zl_publisher *pub, void **loans)
{
    for (size_t i = 0; i < LOANS; i++) {
        CHECK_OK(zl_publisher_loan(pub, &loans[i]));
        test_msg_fill(loans[i], 5, 1000 + i);
    }
    void *extra;
    CHECK_RC(zl_publisher_loan(pub, &extra), ZL_ETOOMANYLOANS);
    CHECK_EQ(pub_loans_held(pub), LOANS);
}

/* Takes `count` messages, which must carry the lending order's tags of
 * loans permuted by step, from `from` on, and returns them. */
static void receive_permuted(zl_subscription *sub, size_t from, size_t count, size_t step)
{
    for (size_t i = from; i < from + count; i++) {
        const void *message;
        CHECK_OK(zl_subscription_take_loan(sub, &message, NULL));
        CHECK(test_msg_valid(message));
        CHECK_EQ(((const test_msg *)message)->sequence, 1000 + permuted(i, step, LOANS));
        CHECK_OK(zl_subscription_return_loan(sub, message));
    }
    const void *none;
    CHECK_RC(zl_subscription_take_loan(sub, &none, NULL), ZL_ENODATA);
}

static void check_publisher(zl_publisher *pub, zl_subscription *sub)
{
    void *loans[LOANS];
    test_msg stranger;
    const size_t steps[] = {LOANS - 1, 7, 37};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        size_t step = steps[s];
        /* Published singly in the permuted order. */
        loan_all(pub, loans);
        for (size_t i = 0; i < LOANS; i++) {
            void *loan = loans[permuted(i, step, LOANS)];
            CHECK_OK(zl_publisher_publish_loan(pub, loan));
            CHECK_RC(zl_publisher_publish_loan(pub, loan), ZL_ENOTLOAN);
            CHECK_RC(zl_publisher_return_loan(pub, loan), ZL_ENOTLOAN);
            CHECK_RC(zl_publisher_publish_loan(pub, &stranger), ZL_ENOTLOAN);
            CHECK_EQ(pub_loans_held(pub), LOANS - 1 - i);
            /* Taken as they go: the queue and the pool need not hold all. */
            receive_permuted(sub, i, 1, step);
        }
        /* Returned singly in the permuted order, every other one published
         * instead: the records left are still found. */
        loan_all(pub, loans);
        for (size_t i = 0; i < LOANS; i++) {
            void *loan = loans[permuted(i, step, LOANS)];
            if (i % 2 == 0)
                CHECK_OK(zl_publisher_return_loan(pub, loan));
            else {
                CHECK_OK(zl_publisher_publish_loan(pub, loan));
                receive_permuted(sub, i, 1, step);
            }
            CHECK_RC(zl_publisher_return_loan(pub, loan), ZL_ENOTLOAN);
            CHECK_EQ(pub_loans_held(pub), LOANS - 1 - i);
        }
        /* Published in batches of 16 in the permuted order. */
        loan_all(pub, loans);
        for (size_t i = 0; i < LOANS; i += 16) {
            void *batch[16];
            for (size_t j = 0; j < 16; j++)
                batch[j] = loans[permuted(i + j, step, LOANS)];
            size_t published = 0;
            CHECK_OK(zl_publisher_publish_loans(pub, batch, 16, &published));
            CHECK_EQ(published, 16);
            receive_permuted(sub, i, 16, step);
        }
        CHECK_EQ(pub_loans_held(pub), 0);
    }
}

static void check_case(const setup *c)
{
    zl_subscription_options sopts;
    zl_context *context = begin_loan_case(c, &sopts, LOANS);
    const char *topic = test_topic("loan_order");
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_loans = LOANS;
    popts.chunks_per_subscription = 4 * LOANS;
    popts.disable_loans = c->disable_loans;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    uint64_t next = 1;
    check_subscription(pub, sub, &next);
    check_publisher(pub, sub);
    end_loan_case(context, pub, sub); /* everything came back */
}

int main(void)
{
    run_loan_cases(check_case);
    return 0;
}
