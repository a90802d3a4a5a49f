/* White-box (reads the transport's declared capabilities from src/mw.h to
 * gate its cases): the conformance suite. The same cases run against every
 * transport behind the seam: `conformance <transport> <case>`, one CTest
 * case per pair (conformance_<transport>_<case>). A context made with
 * transports = <transport> carries every endpoint of a case. What a case
 * expects depends only on the capabilities the transport declares:
 *   lends:   zl_publisher_can_loan, and where a loan's memory comes from;
 *   history: whether a late joiner receives what was published before.
 */
#include <pthread.h>
#include <stddef.h>

#include "harness.h"
#include "mw.h"
#include "peer.h"

static const zl__mw_ops *transport;
static const char *transport_name;

/* An allocator that counts what the context allocates and gives back. */
static size_t allocations, deallocations;

static void *counting_allocate(size_t size, size_t alignment, void *state)
{
    (void)state;
    __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
    return zl_allocator_default()->allocate(size, alignment, zl_allocator_default()->state);
}

static void counting_deallocate(void *p, size_t size, size_t alignment, void *state)
{
    (void)state;
    __atomic_fetch_add(&deallocations, 1, __ATOMIC_RELAXED);
    zl_allocator_default()->deallocate(p, size, alignment, zl_allocator_default()->state);
}

static zl_context *make_context(void)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.transports = transport_name;
    options.allocator.allocate = counting_allocate;
    options.allocator.deallocate = counting_deallocate;
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));
    return context;
}

/* Whether m is the message (tag, sequence), every word intact. */
static bool msg_is(const void *m, uint64_t tag, uint64_t sequence)
{
    const test_msg *t = m;
    return t->tag == tag && t->sequence == sequence && test_msg_valid(t);
}

static void publish_loaned(zl_publisher *pub, uint64_t tag, uint64_t sequence)
{
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    test_msg_fill(loan, tag, sequence);
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
}

static void publish_copied(zl_publisher *pub, uint64_t tag, uint64_t sequence)
{
    test_msg m;
    test_msg_fill(&m, tag, sequence);
    CHECK_OK(zl_publisher_publish(pub, &m));
}

/* Takes one message as a loan, checks it is (tag, sequence), returns it. */
static void take_expect(zl_subscription *sub, uint64_t tag, uint64_t sequence)
{
    const void *loan;
    zl_message_info info;
    CHECK_OK(zl_subscription_take_loan(sub, &loan, &info));
    CHECK(msg_is(loan, tag, sequence));
    CHECK_EQ(info.size, sizeof(test_msg));
    CHECK_OK(zl_subscription_return_loan(sub, loan));
}

/* Publish and take counts, sequences and contents, loaned and copied, and
 * the statistics on both sides. */
static void case_counts(void)
{
    zl_context *context = make_context();
    const char *topic = test_topic("counts");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 32;
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    /* Two rounds of ten (within the shm publisher's default budget of
     * chunks per subscription): loaned, then copied. */
    for (uint64_t round = 0; round < 2; round++) {
        for (uint64_t i = round * 10 + 1; i <= round * 10 + 10; i++)
            if (round == 0)
                publish_loaned(pub, 7, i);
            else
                publish_copied(pub, 7, i);
        for (uint64_t i = round * 10 + 1; i <= round * 10 + 10; i++) {
            const void *loan;
            zl_message_info info;
            CHECK_OK(zl_subscription_take_loan(sub, &loan, &info));
            CHECK_EQ(((const test_msg *)loan)->sequence, i);
            CHECK(msg_is(loan, 7, i));
            CHECK_EQ(info.publication_sequence, i);
            CHECK_EQ(info.reception_sequence, i);
            CHECK_EQ(info.publisher_id, zl_publisher_id(pub));
            CHECK(info.from_this_process);
            CHECK_OK(zl_subscription_return_loan(sub, loan));
        }
    }
    const void *none;
    CHECK_RC(zl_subscription_take_loan(sub, &none, NULL), ZL_ENODATA);
    /* A copy into the user's memory takes the same way. */
    publish_loaned(pub, 7, 21);
    test_msg copy;
    CHECK_OK(zl_subscription_take(sub, &copy, NULL));
    CHECK(msg_is(&copy, 7, 21));
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.published, 21);
    CHECK_EQ(pstats.dropped, 0);
    CHECK_EQ(pstats.subscriptions, 1);
    CHECK_EQ(pstats.loans_held, 0);
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.received, 21);
    CHECK_EQ(sstats.lost, 0);
    CHECK_EQ(sstats.publishers, 1);
    CHECK_EQ(sstats.loans_held, 0);
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.subscriptions, 0);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
}

typedef struct cloud {
    uint32_t frame;
    uint32_t reserved;
    uint32_t points[];
} cloud;

/* Sized loans: each message arrives with the count it was published with
 * and every byte of it, whether lent, copied or taken into user memory. */
static void case_sized(void)
{
    static const zl_type cloud_type = ZL_TYPE_SIZED(cloud, points, 4096);
    zl_context *context = make_context();
    const char *topic = test_topic("sized");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 16;
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &cloud_type, &sopts, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &cloud_type, NULL, &pub));
    static const size_t counts[] = {0, 1, 100, 4096, 3, 2000};
    const size_t n = sizeof counts / sizeof counts[0];
    for (size_t k = 0; k < n; k++) {
        void *loan;
        /* Asked for more than filled: published with what was filled. */
        size_t asked = counts[k] + (counts[k] < 4096);
        CHECK_OK(zl_publisher_loan_sized(pub, asked, &loan));
        cloud *c = loan;
        c->frame = (uint32_t)k;
        for (size_t i = 0; i < counts[k]; i++)
            c->points[i] = (uint32_t)(k * 100003 + i);
        CHECK_OK(zl_publisher_publish_loan_sized(pub, loan, counts[k]));
    }
    for (size_t k = 0; k < n; k++) {
        const void *loan;
        zl_message_info info;
        CHECK_OK(zl_subscription_take_loan(sub, &loan, &info));
        const cloud *c = loan;
        CHECK_EQ(info.count, counts[k]);
        CHECK_EQ(info.size, offsetof(cloud, points) + counts[k] * sizeof(uint32_t));
        CHECK_EQ(c->frame, k);
        for (size_t i = 0; i < counts[k]; i++)
            if (c->points[i] != (uint32_t)(k * 100003 + i))
                CHECK_EQ(c->points[i], k * 100003 + i);
        CHECK_OK(zl_subscription_return_loan(sub, loan));
    }
    /* The copy path both ways. */
    size_t bytes = zl_type_message_size(&cloud_type, 50);
    cloud *mine = malloc(zl_type_message_size(&cloud_type, 4096));
    CHECK(mine != NULL);
    memset(mine, 0, bytes);
    mine->frame = 99;
    for (size_t i = 0; i < 50; i++)
        mine->points[i] = (uint32_t)(7 * i);
    CHECK_OK(zl_publisher_publish_sized(pub, mine, 50));
    memset(mine, 0, bytes);
    zl_message_info info;
    CHECK_OK(zl_subscription_take_sized(sub, mine, 4096, &info));
    CHECK_EQ(info.count, 50);
    CHECK_EQ(mine->frame, 99);
    CHECK_EQ(mine->points[49], 7 * 49);
    free(mine);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

/* Keep-last: a full queue loses its oldest messages, counted on both
 * sides; a loan held meanwhile does not change. */
static void case_keep_last(void)
{
    zl_context *context = make_context();
    const char *topic = test_topic("keep_last");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 4;
    sopts.max_loans = 2;
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    for (uint64_t i = 1; i <= 10; i++)
        publish_loaned(pub, 3, i);
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.lost, 6);
    zl_publisher_stats pstats;
    CHECK_OK(zl_publisher_get_stats(pub, &pstats));
    CHECK_EQ(pstats.dropped, 6);
    const void *held;
    CHECK_OK(zl_subscription_take_loan(sub, &held, NULL));
    CHECK(msg_is(held, 3, 7));
    for (uint64_t i = 11; i <= 100; i++)
        publish_copied(pub, 3, i);
    CHECK(msg_is(held, 3, 7));
    bool consistent = false;
    CHECK_OK(zl_subscription_is_consistent(sub, held, &consistent));
    CHECK(consistent);
    CHECK_OK(zl_subscription_return_loan(sub, held));
    for (uint64_t i = 97; i <= 100; i++)
        take_expect(sub, 3, i);
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.lost, 100 - 5);
    CHECK_EQ(sstats.received, 5);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

/* History for late joiners, where the transport declares it: a
 * subscription that asks for history receives the publisher's last
 * `history` messages; one that does not receives nothing old. */
static void case_history(void)
{
    zl_context *context = make_context();
    const char *topic = test_topic("history");
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.history = 3;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    for (uint64_t i = 1; i <= 5; i++)
        publish_loaned(pub, 4, i);
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.history = true;
    zl_subscription *late, *fresh;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &late));
    sopts.history = false;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &fresh));
    /* A publisher meets subscriptions that joined when it looks (shm: at
     * its next publish, or now when asked). */
    CHECK_OK(zl_publisher_update_connections(pub));
    const void *loan;
    if (transport->capabilities.history) {
        for (uint64_t i = 3; i <= 5; i++)
            take_expect(late, 4, i);
    }
    CHECK_RC(zl_subscription_take_loan(late, &loan, NULL), ZL_ENODATA);
    CHECK_RC(zl_subscription_take_loan(fresh, &loan, NULL), ZL_ENODATA);
    publish_loaned(pub, 4, 6);
    take_expect(late, 4, 6);
    take_expect(fresh, 4, 6);
    CHECK_OK(zl_subscription_destroy(late));
    CHECK_OK(zl_subscription_destroy(fresh));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
}

/* What another thread publishes, 20 ms apart: tag, sequences first..last. */
typedef struct delayed_publish {
    zl_publisher *pub;
    uint64_t tag;
    uint64_t first;
    uint64_t last;
} delayed_publish;

static void *publish_later(void *arg)
{
    delayed_publish *d = arg;
    for (uint64_t i = d->first; i <= d->last; i++) {
        test_sleep_ms(20);
        publish_copied(d->pub, d->tag, i);
    }
    return NULL;
}

/* A wait that must be woken: it returns before its 20 s timeout (a
 * missed wake-up makes it sleep the whole timeout: this is not a timing
 * threshold, the message comes within 20 ms). */
#define WOKEN_TIMEOUT_NS (20 * 1000000000LL)

static void check_woken(int64_t started)
{
    CHECK(test_now_ns() - started < WOKEN_TIMEOUT_NS);
}

/* A wait set wakes when another thread publishes (the transport's wake
 * source: futex words or an fd), and times out when nothing comes. */
static void case_waitset(void)
{
    zl_context *context = make_context();
    const char *topic = test_topic("waitset");
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 2, &ws));
    size_t index;
    CHECK_OK(zl_waitset_attach_subscription(ws, sub, &index));
    size_t ready = 99;
    CHECK_RC(zl_waitset_wait(ws, 10 * 1000000, &ready), ZL_ETIMEOUT);
    CHECK_EQ(ready, 0);
    delayed_publish d = {pub, 5, 1, 5};
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, publish_later, &d), 0);
    uint64_t taken = 0;
    while (taken < 5) {
        int64_t started = test_now_ns();
        CHECK_OK(zl_waitset_wait(ws, WOKEN_TIMEOUT_NS, &ready));
        check_woken(started);
        CHECK(zl_waitset_ready(ws, index));
        const void *loan;
        while (zl_subscription_take_loan(sub, &loan, NULL) == 0) {
            CHECK(msg_is(loan, 5, ++taken));
            CHECK_OK(zl_subscription_return_loan(sub, loan));
        }
    }
    CHECK_EQ(pthread_join(thread, NULL), 0);
    /* A wake-up is consumed: with nothing new the wait times out again. */
    CHECK_RC(zl_waitset_wait(ws, 10 * 1000000, &ready), ZL_ETIMEOUT);
    CHECK_OK(zl_waitset_destroy(ws));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

static void count_message(const void *message, const zl_message_info *info, void *arg)
{
    uint64_t *received = arg;
    CHECK(msg_is(message, 6, info->publication_sequence));
    CHECK_EQ(info->publication_sequence, *received + 1);
    (*received)++;
}

/* Executor callbacks, in both memory strategies, for messages published
 * before the spin and from another thread during it. */
static void case_executor(void)
{
    zl_context *context = make_context();
    const char *topic = test_topic("executor");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 16;
    zl_subscription *loaned, *copied;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &loaned));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &copied));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    zl_executor *executor;
    CHECK_OK(zl_executor_create(context, 4, &executor));
    uint64_t by_loan = 0, by_copy = 0;
    CHECK_OK(zl_executor_add_subscription(executor, loaned, ZL_DELIVERY_DEFAULT, count_message,
                                          &by_loan));
    CHECK_OK(zl_executor_add_subscription(executor, copied, ZL_DELIVERY_COPY, count_message,
                                          &by_copy));
    for (uint64_t i = 1; i <= 3; i++)
        publish_loaned(pub, 6, i);
    CHECK_OK(zl_executor_spin_some(executor));
    CHECK_EQ(by_loan, 3);
    CHECK_EQ(by_copy, 3);
    /* Another thread publishes 4..8 while the executor sleeps. */
    pthread_t thread;
    delayed_publish more = {pub, 6, 4, 8};
    CHECK_EQ(pthread_create(&thread, NULL, publish_later, &more), 0);
    while (by_loan < 8 || by_copy < 8) {
        int64_t started = test_now_ns();
        CHECK_OK(zl_executor_spin_once(executor, WOKEN_TIMEOUT_NS));
        check_woken(started);
    }
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_EQ(by_loan, 8);
    CHECK_EQ(by_copy, 8);
    CHECK_OK(zl_executor_destroy(executor));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(loaned));
    CHECK_OK(zl_subscription_destroy(copied));
    CHECK_OK(zl_context_destroy(context));
}

typedef struct burst {
    zl_publisher *pub;
    zl_guard_condition *done;
    uint64_t count;
} burst;

static void *publish_burst(void *arg)
{
    burst *b = arg;
    for (uint64_t i = 1; i <= b->count; i++)
        if (i % 2)
            publish_loaned(b->pub, 10, i);
        else
            publish_copied(b->pub, 10, i);
    CHECK_OK(zl_guard_condition_trigger(b->done));
    return NULL;
}

/* A publisher thread against a subscription taking through a wait set (a
 * ThreadSanitizer case): messages arrive in order, intact, and every one
 * is received or counted lost. */
static void case_threads(void)
{
    zl_context *context = make_context();
    const char *topic = test_topic("threads");
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 16;
    zl_subscription *sub;
    burst b = {.count = 5000};
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &b.pub));
    CHECK_OK(zl_guard_condition_create(context, &b.done));
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 2, &ws));
    size_t done_index;
    CHECK_OK(zl_waitset_attach_subscription(ws, sub, NULL));
    CHECK_OK(zl_waitset_attach_guard_condition(ws, b.done, &done_index));
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, publish_burst, &b), 0);
    uint64_t received = 0, last = 0;
    bool done = false;
    for (;;) {
        const void *loan;
        while (zl_subscription_take_loan(sub, &loan, NULL) == 0) {
            const test_msg *m = loan;
            CHECK(m->sequence > last);
            CHECK(msg_is(loan, 10, m->sequence));
            last = m->sequence;
            received++;
            CHECK_OK(zl_subscription_return_loan(sub, loan));
        }
        if (done)
            break;
        size_t ready;
        CHECK_OK(zl_waitset_wait(ws, WOKEN_TIMEOUT_NS, &ready));
        done = zl_waitset_ready(ws, done_index); /* then one last drain */
    }
    CHECK_EQ(pthread_join(thread, NULL), 0);
    zl_subscription_stats sstats;
    CHECK_OK(zl_subscription_get_stats(sub, &sstats));
    CHECK_EQ(sstats.received, received);
    CHECK_EQ(sstats.received + sstats.lost, b.count);
    CHECK_EQ(last, b.count); /* the newest is never dropped */
    CHECK_OK(zl_waitset_destroy(ws));
    CHECK_OK(zl_guard_condition_destroy(b.done));
    CHECK_OK(zl_publisher_destroy(b.pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

/* A type with a pointer (never lent by any transport): a tag and a string. */
typedef struct text {
    uint32_t tag;
    char *chars; /* through the context's allocator */
} text;

static int text_serialize(const void *msg, void *buf, size_t cap, size_t *used)
{
    const text *t = msg;
    size_t n = t->chars != NULL ? strlen(t->chars) : 0;
    if (4 + n > cap)
        return ZL_ESERIALIZE;
    memcpy(buf, &t->tag, 4);
    if (n > 0)
        memcpy((char *)buf + 4, t->chars, n);
    *used = 4 + n;
    return 0;
}

static int text_deserialize(const void *buf, size_t len, void *msg, const zl_allocator *a)
{
    text *t = msg;
    if (len < 4)
        return ZL_ESERIALIZE;
    memcpy(&t->tag, buf, 4);
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
    .serialized_size_max = 260, .serialize = text_serialize, .deserialize = text_deserialize,
    .fini = text_fini,
};

/* Loans refused: a transport that does not lend gets the user's loans from
 * the allocator (one allocation per loan, given back at publish) and
 * copies at publish; one that lends does neither. The user's calls are the
 * same, and every message arrives. Then a type with pointers, which no
 * transport lends, through loans and copies. */
static void case_refused_loans(void)
{
    zl_context *context = make_context();
    const char *topic = test_topic("refused");
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    bool lends = transport->capabilities.lends;
    CHECK_EQ(zl_publisher_can_loan(pub), lends);
    /* Both sides agree: a subscription's loan is the publisher's memory
     * only on a transport that lends (issue 22). */
    CHECK_EQ(zl_subscription_can_loan(sub), lends);
    publish_loaned(pub, 8, 1); /* a first loan may make the pool */
    size_t allocated = __atomic_load_n(&allocations, __ATOMIC_RELAXED);
    size_t freed = __atomic_load_n(&deallocations, __ATOMIC_RELAXED);
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    CHECK_EQ(__atomic_load_n(&allocations, __ATOMIC_RELAXED) - allocated, lends ? 0 : 1);
    test_msg_fill(loan, 8, 2);
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    CHECK_EQ(__atomic_load_n(&deallocations, __ATOMIC_RELAXED) - freed, lends ? 0 : 1);
    /* A loan given back unpublished is freed as well. */
    allocated = __atomic_load_n(&allocations, __ATOMIC_RELAXED);
    freed = __atomic_load_n(&deallocations, __ATOMIC_RELAXED);
    CHECK_OK(zl_publisher_loan(pub, &loan));
    CHECK_OK(zl_publisher_return_loan(pub, loan));
    CHECK_EQ(__atomic_load_n(&allocations, __ATOMIC_RELAXED) - allocated, lends ? 0 : 1);
    CHECK_EQ(__atomic_load_n(&deallocations, __ATOMIC_RELAXED) - freed, lends ? 0 : 1);
    take_expect(sub, 8, 1);
    take_expect(sub, 8, 2);
    /* Loans disabled by option: the allocator lends on every transport. */
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.disable_loans = true;
    zl_publisher *unlent;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &unlent));
    CHECK(!zl_publisher_can_loan(unlent));
    publish_loaned(unlent, 9, 1);
    take_expect(sub, 9, 1);
    CHECK_OK(zl_publisher_destroy(unlent));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));

    const char *text_topic = test_topic("refused_text");
    zl_subscription *tsub;
    zl_publisher *tpub;
    CHECK_OK(zl_subscription_create(context, text_topic, &text_type, NULL, &tsub));
    CHECK_OK(zl_publisher_create(context, text_topic, &text_type, NULL, &tpub));
    CHECK(!zl_publisher_can_loan(tpub));
    CHECK(!zl_subscription_can_loan(tsub));
    CHECK_OK(zl_publisher_loan(tpub, &loan));
    text *t = loan;
    t->tag = 1;
    t->chars = malloc(6);
    CHECK(t->chars != NULL);
    strcpy(t->chars, "hello");
    /* The message's own pointer is the user's: serialized, then left alone. */
    char *chars = t->chars;
    t->chars = NULL;
    text on_stack = {2, chars};
    CHECK_OK(zl_publisher_publish(tpub, &on_stack));
    CHECK_OK(zl_publisher_publish_loan(tpub, loan)); /* tag 1, no string */
    free(chars);
    const void *got;
    CHECK_OK(zl_subscription_take_loan(tsub, &got, NULL));
    CHECK_EQ(((const text *)got)->tag, 2);
    CHECK(strcmp(((const text *)got)->chars, "hello") == 0);
    CHECK_OK(zl_subscription_return_loan(tsub, got));
    CHECK_OK(zl_subscription_take_loan(tsub, &got, NULL));
    CHECK_EQ(((const text *)got)->tag, 1);
    CHECK(strcmp(((const text *)got)->chars, "") == 0);
    CHECK_OK(zl_subscription_return_loan(tsub, got));
    CHECK_OK(zl_publisher_destroy(tpub));
    CHECK_OK(zl_subscription_destroy(tsub));
    CHECK_OK(zl_context_destroy(context));
    /* Everything zloan allocated for the user came back. */
    CHECK_EQ(__atomic_load_n(&allocations, __ATOMIC_RELAXED),
             __atomic_load_n(&deallocations, __ATOMIC_RELAXED));
}

/* Destroy order: what is still in use refuses destruction (nothing
 * changes), and the same objects go once released, in any transport. */
static void case_destroy_order(void)
{
    zl_context *context = make_context();
    const char *topic = test_topic("destroy_order");
    zl_subscription *sub;
    zl_publisher *pub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 2, &ws));
    size_t sub_index, pub_index;
    CHECK_OK(zl_waitset_attach_subscription(ws, sub, &sub_index));
    CHECK_OK(zl_waitset_attach_publisher(ws, pub, &pub_index));
    CHECK_RC(zl_context_destroy(context), ZL_EBUSY);
    CHECK_RC(zl_subscription_destroy(sub), ZL_EBUSY);
    CHECK_RC(zl_publisher_destroy(pub), ZL_EBUSY);
    CHECK_OK(zl_waitset_detach(ws, sub_index));
    CHECK_OK(zl_waitset_detach(ws, pub_index));
    publish_loaned(pub, 1, 1);
    const void *held;
    CHECK_OK(zl_subscription_take_loan(sub, &held, NULL));
    CHECK_RC(zl_subscription_destroy(sub), ZL_EBUSY);
    /* Still usable after the refusal. */
    CHECK(msg_is(held, 1, 1));
    CHECK_OK(zl_subscription_return_loan(sub, held));
    CHECK_RC(zl_subscription_return_loan(sub, held), ZL_ENOTLOAN);
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    /* A publisher goes with its loans (they are freed with it). */
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_RC(zl_context_destroy(context), ZL_EBUSY);
    CHECK_OK(zl_waitset_destroy(ws));
    CHECK_OK(zl_context_destroy(context));
}

/* Type checks (I7): a subscription of another type is refused, naming both. */
static void case_type_mismatch(void)
{
    typedef struct other_msg {
        uint64_t a[32];
    } other_msg;
    zl_type other = ZL_TYPE_PLAIN(other_msg);
    zl_context *context = make_context();
    const char *topic = test_topic("mismatch");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    CHECK_RC(zl_subscription_create(context, topic, &other, NULL, &sub), ZL_ETYPE);
    CHECK(strstr(zl_last_error_detail(), "test_msg") != NULL);
    CHECK(strstr(zl_last_error_detail(), "other_msg") != NULL);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_create(context, topic, &other, NULL, &sub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

static const struct {
    const char *name;
    void (*run)(void);
} cases[] = {
    {"counts", case_counts},
    {"sized", case_sized},
    {"keep_last", case_keep_last},
    {"history", case_history},
    {"waitset", case_waitset},
    {"executor", case_executor},
    {"threads", case_threads},
    {"refused_loans", case_refused_loans},
    {"destroy_order", case_destroy_order},
    {"type_mismatch", case_type_mismatch},
};

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: conformance <transport> <case>\n");
        return 2;
    }
    transport_name = argv[1];
    transport = zl__mw_transport_find(argv[1], strlen(argv[1]));
    CHECK(transport != NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(cases[i].name, argv[2]) == 0) {
            cases[i].run();
            return 0;
        }
    fprintf(stderr, "conformance: no case '%s'\n", argv[2]);
    return 2;
}
