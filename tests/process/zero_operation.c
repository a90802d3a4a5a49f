/* G1, the zero-operation configuration: after setup, 10,000 inter-process
 * iterations of publish -> wake -> executor callback -> return perform no
 * heap allocation and no copy of the payload, on either side.
 *
 * A child process publishes "ping" loans and waits (wait set) for a "pong";
 * the parent's executor delivers each ping as a loan (ZL_DELIVERY_LOAN) and
 * its callback answers with a pong loan. Heap calls are counted through the
 * allocator hooks and, in builds without sanitizers (which own malloc), by
 * interposing malloc & co; payload copies by interposing memcpy and counting
 * calls that move a whole payload or more.
 *
 * Messages are of a sized type whose size varies in a fixed set (64 B to
 * 300 KB): after the warm-up has grown the pool for each size, varying
 * sizes cost nothing either. */
#include "harness.h"

#define PAYLOAD 4096
#define WARMUP 20
#define ITERATIONS 10000

typedef struct ping {
    uint64_t sequence;
    uint8_t bytes[];
} ping;

static const zl_type ping_type = ZL_TYPE_SIZED(ping, bytes, 0);

/* The payload bytes of message `sequence`. */
static size_t count_of(uint64_t sequence)
{
    static const size_t counts[] = {PAYLOAD, 64, 300000, 20000, PAYLOAD + 1};
    return counts[sequence % (sizeof counts / sizeof counts[0])];
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define INTERPOSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
#define INTERPOSE 0
#endif
#endif
#ifndef INTERPOSE
#define INTERPOSE 1
#endif

static _Atomic int counting;
static _Atomic long heap_calls, payload_copies;

#if INTERPOSE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static void count_heap(void)
{
    if (counting)
        heap_calls++;
}
void *malloc(size_t n)
{
    count_heap();
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
    count_heap();
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
    count_heap();
    return __libc_realloc(p, n);
}
void free(void *p)
{
    if (p != NULL)
        count_heap();
    __libc_free(p);
}
void *aligned_alloc(size_t alignment, size_t n)
{
    count_heap();
    return __libc_memalign(alignment, n);
}
int posix_memalign(void **out, size_t alignment, size_t n)
{
    count_heap();
    *out = __libc_memalign(alignment, n);
    return *out ? 0 : ENOMEM;
}
/* Through a volatile pointer: the compiler would turn a direct memmove
 * call with restrict arguments back into memcpy (and recurse). */
static void *(*volatile forward_memmove)(void *, const void *, size_t) = memmove;
void *memcpy(void *restrict to, const void *restrict from, size_t n)
{
    if (counting && n >= PAYLOAD)
        payload_copies++;
    return forward_memmove(to, from, n);
}
#endif

typedef struct side {
    test_counting_allocator hooks;
    zl_context *context;
    zl_publisher *publisher;
    zl_subscription *subscription;
} side;

static void open_side(side *s, const char *publish_on, const char *subscribe_to)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.allocator = test_counting(&s->hooks);
    CHECK_OK(zl_context_create(&options, &s->context));
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 2;
    CHECK_OK(zl_subscription_create(s->context, subscribe_to, &ping_type, &sopts, &s->subscription));
    CHECK_OK(zl_publisher_create(s->context, publish_on, &ping_type, NULL, &s->publisher));
    zl_publisher_stats stats;
    int64_t deadline = test_now_ns() + 10000000000LL;
    do { /* until the peer's subscription is connected */
        CHECK_OK(zl_publisher_get_stats(s->publisher, &stats));
        CHECK(test_now_ns() < deadline);
    } while (stats.subscriptions == 0);
}

static void close_side(side *s)
{
    CHECK_OK(zl_publisher_destroy(s->publisher));
    CHECK_OK(zl_subscription_destroy(s->subscription));
    CHECK_OK(zl_context_destroy(s->context));
}

static void send(zl_publisher *publisher, uint64_t sequence)
{
    void *loan;
    size_t count = count_of(sequence);
    CHECK_OK(zl_publisher_loan_sized(publisher, count, &loan));
    ping *p = loan;
    p->sequence = sequence;
    p->bytes[0] = (uint8_t)sequence; /* written in place, in shared memory */
    p->bytes[count - 1] = (uint8_t)(sequence >> 8);
    CHECK_OK(zl_publisher_publish_loan(publisher, loan));
}

/* The child: ping, wait for the pong, take it, return it. */
static int child(const char *ping_topic, const char *pong_topic)
{
    side s = {0};
    open_side(&s, ping_topic, pong_topic);
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(s.context, 1, &ws));
    CHECK_OK(zl_waitset_attach_subscription(ws, s.subscription, NULL));
    long allocations_before = 0;
    for (uint64_t i = 1; i <= WARMUP + ITERATIONS; i++) {
        if (i == WARMUP + 1) {
            allocations_before = s.hooks.allocations;
            counting = 1;
        }
        send(s.publisher, i);
        for (;;) {
            const void *loan;
            int rc = zl_subscription_take_loan(s.subscription, &loan, NULL);
            if (rc == 0) {
                CHECK_EQ(((const ping *)loan)->sequence, i);
                CHECK_OK(zl_subscription_return_loan(s.subscription, loan));
                break;
            }
            CHECK_RC(rc, ZL_ENODATA);
            rc = zl_waitset_wait(ws, 10000000000LL, NULL);
            CHECK(rc == 0);
        }
    }
    counting = 0;
    long allocations = s.hooks.allocations - allocations_before;
    printf("child: allocator calls %ld, heap calls %ld, payload copies %ld\n", allocations,
           (long)heap_calls, (long)payload_copies);
    fflush(stdout);
    CHECK_EQ(allocations, 0);
    CHECK_EQ(heap_calls, 0);
    CHECK_EQ(payload_copies, 0);
    CHECK_OK(zl_waitset_destroy(ws));
    close_side(&s);
    return 0;
}

static side parent_side;
static uint64_t delivered;
static const void *first_loan;

static void on_ping(const void *message, const zl_message_info *info, void *arg)
{
    (void)arg;
    const ping *p = message;
    CHECK_EQ(p->sequence, delivered + 1);
    size_t count = count_of(p->sequence);
    CHECK_EQ(info->count, count);
    CHECK_EQ(info->size, sizeof(ping) + count);
    CHECK_EQ(p->bytes[0], (uint8_t)p->sequence);
    CHECK_EQ(p->bytes[count - 1], (uint8_t)(p->sequence >> 8));
    if (first_loan == NULL)
        first_loan = message;
    delivered++;
    send(parent_side.publisher, p->sequence);
}

int main(void)
{
    const char *ping_topic = test_topic("zero_ping");
    const char *pong_topic = test_topic("zero_pong");
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(child(ping_topic, pong_topic));
    open_side(&parent_side, pong_topic, ping_topic);
    zl_executor *executor;
    CHECK_OK(zl_executor_create(parent_side.context, 1, &executor));
    CHECK_OK(zl_executor_add_subscription(executor, parent_side.subscription, ZL_DELIVERY_LOAN,
                                          on_ping, NULL));
    long allocations_before = 0;
    while (delivered < WARMUP + ITERATIONS) {
        if (delivered == WARMUP && !counting) {
            allocations_before = parent_side.hooks.allocations;
            counting = 1;
        }
        int rc = zl_executor_spin_once(executor, 10000000000LL);
        CHECK(rc == 0);
    }
    counting = 0;
    long allocations = parent_side.hooks.allocations - allocations_before;
    /* The callback read the child's memory in place: its pool's mapping. */
    char pool_name[300];
    snprintf(pool_name, sizeof pool_name, "%s:p", test_shm_fragment(ping_topic));
    CHECK(test_mapped_from(first_loan, pool_name));
    printf("parent: %d iterations, allocator calls %ld, heap calls %ld, payload copies %ld "
           "(malloc/memcpy interposed: %s)\n",
           ITERATIONS, allocations, (long)heap_calls, (long)payload_copies, INTERPOSE ? "yes" : "no");
    CHECK_EQ(allocations, 0);
    CHECK_EQ(heap_calls, 0);
    CHECK_EQ(payload_copies, 0);
    test_wait_child_ok(pid, "ping publisher");
    CHECK_OK(zl_executor_destroy(executor));
    close_side(&parent_side);
    return 0;
}
