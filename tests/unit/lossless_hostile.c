/* White-box (maps the queue object, as any process of the user could):
 * values a hostile peer writes into a lossless connection never make a
 * publisher wait past its max_blocking_time, nor forever. A peer that keeps
 * bumping the publisher's wake word (waking it again and again) while the
 * queue stays full costs a timeout, not more; a deliver head that breaks
 * the ring's bounds gets the connection dropped (a peer error) and the
 * publish goes through at once. */
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "harness.h"
#include "hostile.h"
#include "peer.h"
#include "shm/layout.h"
#include "shm/queue.h"

typedef struct fixture {
    const char *topic;
    zl_context *context;
    zl_publisher *pub;
    zl_subscription *sub;
    hostile_map queue;
    zl__connection_shm *connection;
} fixture;

static void setup(fixture *f, const char *name, int64_t max_blocking_ns)
{
    f->topic = test_topic(name);
    CHECK_OK(zl_context_create(NULL, &f->context));
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 2;
    sopts.reliability = ZL_LOSSLESS;
    CHECK_OK(zl_subscription_create(f->context, f->topic, &test_msg_type, &sopts, &f->sub));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_blocking_time_ns = max_blocking_ns;
    CHECK_OK(zl_publisher_create(f->context, f->topic, &test_msg_type, &popts, &f->pub));
    CHECK(hostile_map_object(0, f->topic, 's', 0, &f->queue));
    zl__queue_shm *q = f->queue.base;
    zl__queue_geometry g;
    CHECK(zl__queue_geometry_read(q, f->queue.size, q->subscription_id, &g));
    f->connection = zl__queue_connection(q, &g, 0); /* the only publisher: slot 0 */
    for (uint64_t i = 1; i <= 2; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(f->pub, &loan));
        test_msg_fill(loan, 1, i);
        CHECK_OK(zl_publisher_publish_loan(f->pub, loan));
    }
}

static void teardown(fixture *f)
{
    hostile_unmap(&f->queue);
    CHECK_OK(zl_publisher_destroy(f->pub));
    CHECK_OK(zl_subscription_destroy(f->sub));
    CHECK_OK(zl_context_destroy(f->context));
}

typedef struct hammer {
    zl__connection_shm *connection;
    _Atomic bool stop;
    long wakes;
} hammer;

static void *hammer_wake_word(void *arg)
{
    hammer *h = arg;
    while (!atomic_load(&h->stop)) {
        atomic_fetch_add(&h->connection->publisher_wake, 1);
        syscall(SYS_futex, (uint32_t *)&h->connection->publisher_wake, FUTEX_WAKE, 1, NULL, NULL,
                0);
        h->wakes++;
    }
    return NULL;
}

static void case_wake_storm(void)
{
    fixture f;
    setup(&f, "hostile_wake", 50 * 1000000LL);
    hammer h = {f.connection, false, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, hammer_wake_word, &h) == 0);
    void *loan;
    CHECK_OK(zl_publisher_loan(f.pub, &loan));
    test_msg_fill(loan, 1, 3);
    int64_t start = test_now_ns();
    CHECK_RC(zl_publisher_publish_loan(f.pub, loan), ZL_ETIMEOUT);
    int64_t waited = test_now_ns() - start;
    atomic_store(&h.stop, true);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(waited >= 50 * 1000000LL);
    /* Not a timing measurement: "it ended", with a margin no scheduler
     * needs (the bound is 50 ms). */
    CHECK(waited < 20 * 1000000000LL);
    CHECK_OK(zl_publisher_return_loan(f.pub, loan));
    teardown(&f);
}

static void case_head_out_of_bounds(void)
{
    fixture f;
    setup(&f, "hostile_head", 60 * 1000000000LL);
    /* A head past the tail: the fill reads as a huge number (R1 broken). */
    atomic_store(&f.connection->deliver.head, (uint64_t)1 << 40);
    void *loan;
    CHECK_OK(zl_publisher_loan(f.pub, &loan));
    test_msg_fill(loan, 1, 3);
    CHECK_OK(zl_publisher_publish_loan(f.pub, loan));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(f.pub, &stats));
    CHECK(stats.peer_errors >= 1);
    CHECK_EQ(stats.timeouts, 0);
    teardown(&f);
}

int main(void)
{
    case_wake_storm();
    case_head_out_of_bounds();
    return 0;
}
