/* A hostile peer writes into a topic's shared memory between the victim's
 * calls; the victim must keep working or fail with a code, never crash
 * (docs/design.md I3). Each case runs in a forked child so that a crash shows as
 * the signal that killed it, and the parent checks /dev/shm is clean after.
 *
 * The values written are wild on purpose (offsets of a terabyte): a victim
 * that trusts them faults at once, even without a sanitizer. */
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "hostile.h"
#include "peer.h"
#include "shm/layout.h"
#include "shm/queue.h"

typedef struct fixture {
    const char *topic;
    zl_context *context;
    zl_publisher *publisher;
    zl_subscription *subscription;
} fixture;

static void setup(fixture *f, const char *name)
{
    f->topic = test_topic(name);
    CHECK_OK(zl_context_create(NULL, &f->context));
    CHECK_OK(zl_publisher_create(f->context, f->topic, &test_msg_type, NULL, &f->publisher));
    CHECK_OK(zl_subscription_create(f->context, f->topic, &test_msg_type, NULL,
                                    &f->subscription));
    CHECK_OK(zl_publisher_update_connections(f->publisher));
}

static void teardown(fixture *f)
{
    CHECK_OK(zl_subscription_destroy(f->subscription));
    CHECK_OK(zl_publisher_destroy(f->publisher));
    CHECK_OK(zl_context_destroy(f->context));
}

static void publish(fixture *f, uint64_t sequence)
{
    void *loan;
    CHECK_OK(zl_publisher_loan(f->publisher, &loan));
    test_msg_fill(loan, 1, sequence);
    CHECK_OK(zl_publisher_publish_loan(f->publisher, loan));
}

static void take_and_return(fixture *f, uint64_t sequence)
{
    const void *loan;
    CHECK_OK(zl_subscription_take_loan(f->subscription, &loan, NULL));
    const test_msg *m = loan;
    CHECK(test_msg_valid(m));
    CHECK_EQ(m->sequence, sequence);
    CHECK_OK(zl_subscription_return_loan(f->subscription, loan));
}

/* The pool header is the publisher's, but any process of the user can write
 * it. Neither the publisher nor a connected subscription may act on a
 * rewritten geometry; a subscription that joins later refuses the pool. */
static void case_pool_header(void)
{
    fixture f;
    setup(&f, "hostile_pool");
    publish(&f, 1);
    take_and_return(&f, 1);
    hostile_map pool, segment;
    CHECK(hostile_map_object(0, f.topic, 'p', 0, &pool));
    CHECK(hostile_map_object(0, f.topic, 'g', 0, &segment));
    zl__pool_shm *p = (zl__pool_shm *)pool.base;
    p->payload_offset = (uint64_t)1 << 40;
    p->payload_max = (uint64_t)1 << 40;
    zl__segment_shm *g = (zl__segment_shm *)segment.base;
    g->chunk_offset = (uint64_t)1 << 40;
    g->chunk_stride = (uint64_t)1 << 40;
    g->payload_offset = (uint64_t)1 << 40;
    g->payload_capacity = (uint64_t)1 << 40;
    g->chunk_count = UINT32_MAX;
    publish(&f, 2);
    take_and_return(&f, 2);

    zl_subscription *late;
    CHECK_OK(zl_subscription_create(f.context, f.topic, &test_msg_type, NULL, &late));
    CHECK_OK(zl_publisher_update_connections(f.publisher));
    publish(&f, 3);
    const void *loan;
    CHECK_RC(zl_subscription_take_loan(late, &loan, NULL), ZL_ENODATA);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(late, &stats));
    CHECK_EQ(stats.peer_errors, 1);
    CHECK_OK(zl_subscription_destroy(late));
    take_and_return(&f, 3);
    hostile_unmap(&pool);
    hostile_unmap(&segment);
    teardown(&f);
}

/* A pool whose payload offset is in range but misaligned for the type, in
 * the control object and in its segment alike (the segment's stride grown
 * and its count cut to one chunk so that every other check holds; the first
 * chunk's header stays where it is, so it still reads true) would lend
 * misaligned messages: a subscription that joins refuses the pool. */
static void case_pool_alignment(void)
{
    fixture f;
    setup(&f, "hostile_align");
    publish(&f, 1);
    take_and_return(&f, 1);
    hostile_map pool, segment;
    CHECK(hostile_map_object(0, f.topic, 'p', 0, &pool));
    CHECK(hostile_map_object(0, f.topic, 'g', 0, &segment));
    zl__pool_shm *p = (zl__pool_shm *)pool.base;
    zl__segment_shm *g = (zl__segment_shm *)segment.base;
    p->payload_offset += 4; /* in range, and no longer a multiple of 8 */
    g->payload_offset += 4;
    g->chunk_stride += ZL__CACHE_LINE;
    g->chunk_count = 1;

    zl_subscription *late;
    CHECK_OK(zl_subscription_create(f.context, f.topic, &test_msg_type, NULL, &late));
    CHECK_OK(zl_publisher_update_connections(f.publisher));
    publish(&f, 2);
    const void *loan = NULL;
    int rc = zl_subscription_take_loan(late, &loan, NULL);
    if (rc == 0) {
        printf("lent %p, %zu bytes past the type's alignment\n", loan,
               (size_t)((uintptr_t)loan % _Alignof(test_msg)));
        CHECK_EQ((uintptr_t)loan % _Alignof(test_msg), 0);
    }
    CHECK_RC(rc, ZL_ENODATA);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(late, &stats));
    CHECK_EQ(stats.peer_errors, 1);
    CHECK_OK(zl_subscription_destroy(late));
    take_and_return(&f, 2);
    hostile_unmap(&pool);
    hostile_unmap(&segment);
    teardown(&f);
}

/* The subscription's queue header (capacities, offsets) is read by both
 * sides; rewritten after creation, it must change nothing for either. */
static void case_queue_header(void)
{
    fixture f;
    setup(&f, "hostile_queue");
    publish(&f, 1);
    hostile_map queue;
    CHECK(hostile_map_object(0, f.topic, 's', 0, &queue));
    zl__queue_shm *q = (zl__queue_shm *)queue.base;
    q->connection_offset = (uint64_t)1 << 40;
    q->connection_stride = (uint64_t)1 << 40;
    q->deliver_capacity = 1u << 16;
    q->return_capacity = 1u << 16;
    /* Makes the subscription look for new publishers (refresh). */
    zl__fetch_add_release(&q->attach_seq, 1);
    take_and_return(&f, 1);
    publish(&f, 2);
    take_and_return(&f, 2);
    CHECK_OK(zl_publisher_update_connections(f.publisher));
    hostile_unmap(&queue);
    teardown(&f);
}

/* Ring positions that break R1 cost the subscription its connection. The
 * publisher must notice, take back the chunks it had queued there (or the
 * pool drains away) and connect anew, so messages flow again. */
static void case_ring_positions(void)
{
    fixture f;
    setup(&f, "hostile_ring");
    zl_publisher_stats before;
    CHECK_OK(zl_publisher_get_stats(f.publisher, &before));
    for (uint64_t i = 1; i <= 3; i++)
        publish(&f, i);
    hostile_map queue;
    CHECK(hostile_map_object(0, f.topic, 's', 0, &queue));
    zl__queue_shm *q = (zl__queue_shm *)queue.base;
    zl__queue_geometry g;
    CHECK(zl__queue_geometry_read(q, queue.size, q->subscription_id, &g));
    zl__connection_shm *c = zl__queue_connection(q, &g, 0); /* the only publisher: slot 0 */
    zl__store_relaxed(&c->deliver.tail, zl__load_relaxed(&c->deliver.head) + 1000);
    const void *loan;
    CHECK_RC(zl_subscription_take_loan(f.subscription, &loan, NULL), ZL_ENODATA);
    zl_subscription_stats sub_stats;
    CHECK_OK(zl_subscription_get_stats(f.subscription, &sub_stats));
    CHECK_EQ(sub_stats.peer_errors, 1);
    zl_publisher_stats after;
    CHECK_OK(zl_publisher_get_stats(f.publisher, &after));
    CHECK_EQ(after.chunks_free, before.chunks_free);
    CHECK_EQ(after.subscriptions, 1);
    publish(&f, 4);
    take_and_return(&f, 4);
    hostile_unmap(&queue);
    teardown(&f);
}

/* Rewrites the payload size in every chunk header of the topic's first
 * segment (the publisher writes it again at its next publish). */
static void poke_sizes(const char *topic, uint64_t size)
{
    hostile_map segment;
    CHECK(hostile_map_object(0, topic, 'g', 0, &segment));
    const zl__segment_shm *g = (const zl__segment_shm *)segment.base;
    for (uint32_t c = 0; c < g->chunk_count; c++) {
        zl__chunk_header *h = (zl__chunk_header *)(void *)((char *)segment.base +
                                                           g->chunk_offset + g->chunk_stride * c);
        h->payload_size = size;
    }
    hostile_unmap(&segment);
}

/* A size field larger than the chunk, or not the type's, costs that message
 * (a peer error), never a read past the chunk. */
static void case_size_field(void)
{
    fixture f;
    setup(&f, "hostile_size");
    publish(&f, 1);
    poke_sizes(f.topic, (uint64_t)1 << 40);
    const void *loan;
    CHECK_RC(zl_subscription_take_loan(f.subscription, &loan, NULL), ZL_ENODATA);
    publish(&f, 2);
    poke_sizes(f.topic, sizeof(test_msg) - 1);
    CHECK_RC(zl_subscription_take_loan(f.subscription, &loan, NULL), ZL_ESERIALIZE);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(f.subscription, &stats));
    CHECK_EQ(stats.peer_errors, 1);
    publish(&f, 3);
    take_and_return(&f, 3);
    teardown(&f);
}

typedef struct blob {
    uint64_t sequence;
    uint32_t values[];
} blob;
static const zl_type blob_type = ZL_TYPE_SIZED(blob, values, 64);

/* A sized type's size must be a fixed part and whole elements, at most
 * max_count of them. */
static void case_sized_field(void)
{
    const char *topic = test_topic("hostile_sized");
    zl_context *context;
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_context_create(NULL, &context));
    CHECK_OK(zl_subscription_create(context, topic, &blob_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &blob_type, NULL, &pub));
    uint64_t bad[] = {sizeof(blob) + 3, sizeof(blob) - 1, sizeof(blob) + 65 * sizeof(uint32_t)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan_sized(pub, 64, &loan));
        ((blob *)loan)->sequence = i;
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
        poke_sizes(topic, bad[i]);
        const void *msg;
        zl_message_info info;
        int rc = zl_subscription_take_loan(sub, &msg, &info);
        CHECK(rc == ZL_ESERIALIZE || rc == ZL_ENODATA);
    }
    void *loan;
    CHECK_OK(zl_publisher_loan_sized(pub, 7, &loan));
    ((blob *)loan)->sequence = 99;
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    const void *msg;
    zl_message_info info;
    CHECK_OK(zl_subscription_take_loan(sub, &msg, &info));
    CHECK_EQ(info.count, 7);
    CHECK_EQ(((const blob *)msg)->sequence, 99);
    CHECK_OK(zl_subscription_return_loan(sub, msg));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

/* The segment table names segments; rewritten, it makes the subscription
 * look for segments that do not exist: messages are lost and counted, and
 * flow again once the table is right. */
static void case_segment_table(void)
{
    fixture f;
    setup(&f, "hostile_table");
    publish(&f, 1);
    take_and_return(&f, 1);
    hostile_map pool;
    CHECK(hostile_map_object(0, f.topic, 'p', 0, &pool));
    zl__pool_shm *p = (zl__pool_shm *)pool.base;
    uint32_t honest = zl__load_relaxed(&p->serials[0]);
    zl__store_relaxed(&p->serials[0], 0xdeadbeefu);
    zl__store_relaxed(&p->serials[1], 7u);
    zl__fetch_add_release(&p->segments_seq, 1);
    publish(&f, 2);
    const void *loan;
    CHECK_RC(zl_subscription_take_loan(f.subscription, &loan, NULL), ZL_ENODATA);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(f.subscription, &stats));
    CHECK(stats.peer_errors >= 1);
    CHECK(stats.lost >= 1);
    zl__store_relaxed(&p->serials[0], honest);
    zl__store_relaxed(&p->serials[1], 0u);
    zl__fetch_add_release(&p->segments_seq, 1);
    publish(&f, 3);
    take_and_return(&f, 3);
    hostile_unmap(&pool);
    teardown(&f);
}

int main(void)
{
    struct {
        const char *name;
        void (*run)(void);
    } cases[] = {
        {"pool_header", case_pool_header},
        {"pool_alignment", case_pool_alignment},
        {"queue_header", case_queue_header},
        {"ring_positions", case_ring_positions},
        {"size_field", case_size_field},
        {"sized_field", case_sized_field},
        {"segment_table", case_segment_table},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            cases[i].run();
            _exit(0);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        /* The child's topics end in its pid: nothing of them may be left,
         * unless it crashed (then remove what it left). */
        char needle[32];
        snprintf(needle, sizeof needle, "_%d", (int)pid);
        int left = test_count_shm(needle);
        if (ok && left != 0) {
            printf("%s left %d objects in /dev/shm\n", cases[i].name, left);
            ok = false;
        }
        if (left != 0) {
            char command[128];
            snprintf(command, sizeof command, "rm -f /dev/shm/zl.%u.*%s*", (unsigned)geteuid(),
                     needle);
            CHECK(system(command) == 0);
        }
        printf("%s %s", ok ? "ok  " : "FAIL", cases[i].name);
        if (WIFSIGNALED(status))
            printf(" (killed by signal %d)", WTERMSIG(status));
        printf("\n");
        failed += !ok;
    }
    return failed == 0 ? 0 : 1;
}
