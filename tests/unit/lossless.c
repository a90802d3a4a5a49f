/* Lossless delivery (ZL_LOSSLESS), in one process: a full lossless queue
 * makes a publish fail with ZL_ETIMEOUT after max_blocking_time_ns with
 * nothing published to anyone and the loan still the caller's; a
 * keep-last subscription beside it keeps losing its oldest; a take from
 * another thread releases a waiting publisher; the copy path, the refusal
 * path, history for a late joiner, stats and a wait set waiting for a
 * publisher that may publish all keep their meaning. */
#include <pthread.h>

#include "harness.h"
#include "peer.h"

typedef struct fixture {
    zl_context *context;
    zl_publisher *pub;
    zl_subscription *lossless;
    zl_subscription *keep_last;
} fixture;

static void setup(fixture *f, const char *name, int64_t max_blocking_ns, bool disable_loans)
{
    CHECK_OK(zl_context_create(NULL, &f->context));
    const char *topic = test_topic(name);
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 2;
    sopts.reliability = ZL_LOSSLESS;
    sopts.disable_loans = disable_loans;
    CHECK_OK(zl_subscription_create(f->context, topic, &test_msg_type, &sopts, &f->lossless));
    sopts.reliability = ZL_KEEP_LAST;
    CHECK_OK(zl_subscription_create(f->context, topic, &test_msg_type, &sopts, &f->keep_last));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_blocking_time_ns = max_blocking_ns;
    popts.disable_loans = disable_loans;
    CHECK_OK(zl_publisher_create(f->context, topic, &test_msg_type, &popts, &f->pub));
}

static void teardown(fixture *f)
{
    CHECK_OK(zl_publisher_destroy(f->pub));
    CHECK_OK(zl_subscription_destroy(f->lossless));
    CHECK_OK(zl_subscription_destroy(f->keep_last));
    CHECK_OK(zl_context_destroy(f->context));
}

static void publish(zl_publisher *pub, uint64_t sequence, int expected)
{
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    test_msg_fill(loan, 1, sequence);
    CHECK_RC(zl_publisher_publish_loan(pub, loan), expected);
    if (expected != 0)
        CHECK_OK(zl_publisher_return_loan(pub, loan)); /* still ours */
}

static uint64_t take_sequence(zl_subscription *sub)
{
    test_msg m;
    CHECK_OK(zl_subscription_take(sub, &m, NULL));
    CHECK(test_msg_valid(&m));
    return m.sequence;
}

static void options_are_checked(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    CHECK_EQ(sopts.reliability, ZL_KEEP_LAST);
    sopts.reliability = (zl_reliability)7;
    zl_subscription *sub;
    CHECK_RC(zl_subscription_create(context, test_topic("opts"), &test_msg_type, &sopts, &sub),
             ZL_EINVAL);
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    CHECK_EQ(popts.max_blocking_time_ns, ZL_MAX_BLOCKING_TIME_DEFAULT_NS);
    popts.max_blocking_time_ns = -1;
    zl_publisher *pub;
    CHECK_RC(zl_publisher_create(context, test_topic("opts"), &test_msg_type, &popts, &pub),
             ZL_EINVAL);
    CHECK_OK(zl_context_destroy(context));
}

/* max_blocking_time 0: the third publish fails at once and reaches nobody,
 * the keep-last subscription included; the same loan goes through once the
 * lossless subscription took. */
static void full_queue_publishes_nothing(bool disable_loans)
{
    fixture f;
    setup(&f, disable_loans ? "full_copy" : "full", 0, disable_loans);
    publish(f.pub, 1, 0);
    publish(f.pub, 2, 0);
    void *loan;
    CHECK_OK(zl_publisher_loan(f.pub, &loan));
    test_msg_fill(loan, 1, 3);
    CHECK_RC(zl_publisher_publish_loan(f.pub, loan), ZL_ETIMEOUT);
    CHECK(strstr(zl_last_error_detail(), "lossless subscription") != NULL);
    test_msg stack;
    test_msg_fill(&stack, 1, 3);
    CHECK_RC(zl_publisher_publish(f.pub, &stack), ZL_ETIMEOUT);
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(f.pub, &pstats));
    CHECK_EQ(pstats.published, 2);
    CHECK_EQ(pstats.timeouts, 2);
    CHECK_EQ(pstats.blocked, 2);
    CHECK_EQ(pstats.loans_held, 1);
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(f.lossless, &sstats));
    CHECK_EQ(sstats.held_back, 2);
    CHECK_EQ(sstats.lost, 0);
    /* Nothing of message 3 reached the keep-last subscription either. */
    CHECK_OK(zl_subscription_get_stats(f.keep_last, &sstats));
    CHECK_EQ(sstats.lost, 0);

    CHECK_EQ(take_sequence(f.lossless), 1);
    CHECK_OK(zl_publisher_publish_loan(f.pub, loan)); /* the loan kept its contents */
    /* Mixed topic: the keep-last one lost its oldest (1) to message 3. */
    CHECK_OK(zl_subscription_get_stats(f.keep_last, &sstats));
    CHECK_EQ(sstats.lost, 1);
    CHECK_EQ(take_sequence(f.keep_last), 2);
    CHECK_EQ(take_sequence(f.keep_last), 3);
    CHECK_EQ(take_sequence(f.lossless), 2);
    CHECK_EQ(take_sequence(f.lossless), 3);
    test_msg m;
    CHECK_RC(zl_subscription_take(f.lossless, &m, NULL), ZL_ENODATA);
    CHECK_OK(zl_subscription_get_stats(f.lossless, &sstats));
    CHECK_EQ(sstats.lost, 0);
    CHECK_EQ(sstats.received, 3);
    teardown(&f);
}

/* A bounded wait: nobody takes, the publish waits its bound, then fails. */
static void bounded_wait(void)
{
    fixture f;
    setup(&f, "bounded", 30 * 1000000LL, false);
    publish(f.pub, 1, 0);
    publish(f.pub, 2, 0);
    int64_t start = test_now_ns();
    publish(f.pub, 3, ZL_ETIMEOUT);
    CHECK(test_now_ns() - start >= 30 * 1000000LL); /* it did wait (a lower bound) */
    teardown(&f);
}

typedef struct taker {
    zl_subscription *sub;
    uint64_t first;
} taker;

static void *take_later(void *arg)
{
    taker *t = arg;
    test_sleep_ms(50);
    t->first = take_sequence(t->sub);
    return NULL;
}

/* A publisher asleep on a full queue is woken by a take on another thread. */
static void take_wakes_publisher(void)
{
    fixture f;
    setup(&f, "wake", 60 * 1000000000LL, false);
    publish(f.pub, 1, 0);
    publish(f.pub, 2, 0);
    taker t = {f.lossless, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, take_later, &t) == 0);
    publish(f.pub, 3, 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK_EQ(t.first, 1);
    CHECK_EQ(take_sequence(f.lossless), 2);
    CHECK_EQ(take_sequence(f.lossless), 3);
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(f.pub, &pstats));
    CHECK_EQ(pstats.blocked, 1);
    CHECK_EQ(pstats.timeouts, 0);
    teardown(&f);
}

/* A wait set reports the publisher writable only when a publish would not
 * wait. */
static void waitset_writable(void)
{
    fixture f;
    setup(&f, "writable", 0, false);
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(f.context, 2, &ws));
    size_t index;
    CHECK_OK(zl_waitset_attach_publisher(ws, f.pub, &index));
    size_t ready = 0;
    CHECK_OK(zl_waitset_wait(ws, 0, &ready));
    CHECK(zl_waitset_ready(ws, index));
    publish(f.pub, 1, 0);
    publish(f.pub, 2, 0);
    CHECK_RC(zl_waitset_wait(ws, 20 * 1000000LL, &ready), ZL_ETIMEOUT);
    CHECK(!zl_waitset_ready(ws, index));
    taker t = {f.lossless, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, take_later, &t) == 0);
    CHECK_OK(zl_waitset_wait(ws, -1, &ready));
    CHECK(zl_waitset_ready(ws, index));
    CHECK(pthread_join(thread, NULL) == 0);
    publish(f.pub, 3, 0);
    CHECK_OK(zl_waitset_destroy(ws));
    teardown(&f);
}

/* History for a late lossless joiner, then every later message. */
static void history_then_lossless(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("history");
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.history = 3;
    popts.max_blocking_time_ns = 0;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    for (uint64_t i = 1; i <= 5; i++)
        publish(pub, i, 0);
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 4;
    sopts.history = true;
    sopts.reliability = ZL_LOSSLESS;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_update_connections(pub));
    publish(pub, 6, 0);
    publish(pub, 7, ZL_ETIMEOUT); /* 3, 4, 5, 6 fill the queue of 4 */
    for (uint64_t i = 3; i <= 6; i++)
        CHECK_EQ(take_sequence(sub), i);
    publish(pub, 7, 0);
    CHECK_EQ(take_sequence(sub), 7);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

int main(void)
{
    options_are_checked();
    full_queue_publishes_nothing(false);
    full_queue_publishes_nothing(true);
    bounded_wait();
    take_wakes_publisher();
    waitset_writable();
    history_then_lossless();
    return 0;
}
