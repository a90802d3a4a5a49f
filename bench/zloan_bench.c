/* zloan in the benchmark harness (see harness.h): loans from the publisher,
 * loans from the subscriptions, nothing copied.
 *
 *   zloan_bench latency SIZE busy SECONDS
 *   zloan_bench throughput SIZE SUBSCRIPTIONS SECONDS
 *
 * Every message is a plain type of exactly SIZE bytes, or with SIZE "mix"
 * a sized type of bytes whose loans ask for each message's size. The
 * chunk limits suit the benchmark (one or a few subscriptions, short
 * queues). At the end each process prints the most shared memory its
 * publisher's pool held ("memory" lines).
 *
 * The blocking variant sleeps in a wait set holding the side's
 * subscriptions (zloan_wait below).
 *
 * With ZLOAN_BENCH_TAKE_BATCH=N (2..16) in the environment, a take borrows
 * up to N messages at once (zl_subscription_take_loan_sequence) and hands
 * them to the harness one by one; those it released go back in one call
 * (zl_subscription_return_loans) before the next batched take; the system is
 * then named "zloan-batchN" in the result lines, and each subscription may
 * hold N loans (its publisher N more chunks per subscription).
 *
 * With ZLOAN_BENCH_PUBLISH_BATCH=N (2..64; throughput and lossless only),
 * publish keeps each message the harness hands it until N are loaned and
 * filled, then publishes the N in one call (zl_publisher_publish_loans);
 * the publisher may hold N loans. The system is then named
 * "zloan-pubN" (with a batched take as well, "zloan-pubN-takeM"). Loans
 * still held when the source stops are returned unpublished (the sink
 * has closed its window by then).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zloan/zloan.h"

#include "harness.h"

#define SUBSCRIPTIONS_MAX 16
#define BATCH_MAX 16
#define PUBLISH_BATCH_MAX 64

/* Messages one batched take borrowed: handed out to the harness one by
 * one, and given back in one zl_subscription_return_loans once all are
 * released (before the next batched take). */
typedef struct take_batch {
    const void *messages[BATCH_MAX];
    size_t count;    /* borrowed by the last take */
    size_t next;     /* the next to hand out */
    size_t released; /* released by the harness, waiting to be given back */
} take_batch;

static void check_rc(int rc, const char *what);

/* Gives back the loans of the batch the harness released. */
static void return_released(zl_subscription *subscription, take_batch *batch)
{
    if (batch->released == 0)
        return;
    size_t returned = 0;
    check_rc(zl_subscription_return_loans(subscription, batch->messages, batch->released,
                                          &returned),
             "zl_subscription_return_loans");
    batch->released = 0;
}

/* ZLOAN_BENCH_TAKE_BATCH, or 1 (a take borrows one message). */
static unsigned take_batch_size = 1;
/* ZLOAN_BENCH_PUBLISH_BATCH, or 1 (each message published on its own). */
static unsigned publish_batch_size = 1;

typedef struct zloan_side {
    zl_context *context;
    zl_type type;
    char type_name[32];
    zl_publisher *publisher;
    zl_subscription *subscriptions[SUBSCRIPTIONS_MAX];
    unsigned subscription_count;
    zl_waitset *waitset; /* the blocking variant's */
    bool mix;
    take_batch batches[SUBSCRIPTIONS_MAX]; /* take_batch_size > 1 */
    void *pending[PUBLISH_BATCH_MAX];      /* publish_batch_size > 1: filled, not published */
    size_t pending_count;
} zloan_side;

static void check_rc(int rc, const char *what)
{
    if (rc != 0)
        bench_die("zloan: %s: %s (%s)", what, zl_strerror(rc), zl_last_error_detail());
}

static void topic_name(char *out, size_t size, const bench_config *config, const char *which)
{
    snprintf(out, size, "/zloan_bench/%s/%s", config->tag, which);
}

static void *zloan_open(const bench_config *config, enum bench_role role)
{
    zloan_side *side = calloc(1, sizeof *side);
    if (side == NULL)
        bench_die("out of memory");
    check_rc(zl_context_create(NULL, &side->context), "zl_context_create");
    snprintf(side->type_name, sizeof side->type_name, "bench_payload_%zu", config->size);
    side->type = (zl_type){.name = side->type_name,
                           .size = config->size,
                           .alignment = 64,
                           .plain = true};
    side->mix = config->mix;
    if (config->mix)
        side->type = (zl_type){.name = "bench_payload_mix",
                               .size = 0,
                               .alignment = 64,
                               .plain = true,
                               .element_size = 1,
                               .max_count = config->size};
    const char *out_topic = role == BENCH_PING ? "ping" : role == BENCH_PONG ? "pong" : "stream";
    const char *in_topic = role == BENCH_PING ? "pong" : role == BENCH_PONG ? "ping" : "stream";
    char name[128];
    bool latency = role == BENCH_PING || role == BENCH_PONG;
    if (latency && publish_batch_size > 1)
        bench_die("ZLOAN_BENCH_PUBLISH_BATCH is for throughput and lossless only");
    if (role != BENCH_SINK) {
        zl_publisher_options options;
        zl_publisher_options_init(&options);
        /* Latency: one subscription holding one loan with a queue of 4.
         * Throughput: up to three, queue 16, a few loans each. */
        options.max_loans = publish_batch_size > 1 ? publish_batch_size : 2;
        options.max_subscriptions = latency ? 1 : 4;
        options.chunks_per_subscription =
            latency ? 8 : take_batch_size > 1 ? 24 + take_batch_size : 24;
        /* Lossless: a publish waits for the slowest subscription. */
        options.max_blocking_time_ns = ZL_MAX_BLOCKING_TIME_DEFAULT_NS;
        topic_name(name, sizeof name, config, out_topic);
        check_rc(zl_publisher_create(side->context, name, &side->type, &options, &side->publisher),
                 "zl_publisher_create");
        if (!zl_publisher_can_loan(side->publisher))
            bench_die("zloan: the publisher cannot lend (ZLOAN_DISABLE_LOANS set?)");
    }
    if (role != BENCH_SOURCE) {
        zl_subscription_options options;
        zl_subscription_options_init(&options);
        options.depth = latency ? 4 : 16;
        options.max_loans = latency ? 2 : take_batch_size > 4 ? take_batch_size : 4;
        options.reliability = config->lossless ? ZL_LOSSLESS : ZL_KEEP_LAST;
        topic_name(name, sizeof name, config, in_topic);
        side->subscription_count = config->subscriptions;
        for (unsigned i = 0; i < side->subscription_count; i++)
            check_rc(zl_subscription_create(side->context, name, &side->type, &options,
                                            &side->subscriptions[i]),
                     "zl_subscription_create");
        check_rc(zl_waitset_create(side->context, side->subscription_count, &side->waitset),
                 "zl_waitset_create");
        for (unsigned i = 0; i < side->subscription_count; i++)
            check_rc(zl_waitset_attach_subscription(side->waitset, side->subscriptions[i], NULL),
                     "zl_waitset_attach_subscription");
    }
    return side;
}

/* Sleeps until a subscription may have data (the futex word in its queue,
 * woken by the publisher only when it sees a sleeper). */
static void zloan_wait(void *context)
{
    zloan_side *side = context;
    int rc = zl_waitset_wait(side->waitset, -1, NULL);
    check_rc(rc, "zl_waitset_wait");
}

static void *zloan_loan(void *context, size_t size)
{
    zloan_side *side = context;
    void *message;
    if (side->mix)
        check_rc(zl_publisher_loan_sized(side->publisher, size, &message),
                 "zl_publisher_loan_sized");
    else
        check_rc(zl_publisher_loan(side->publisher, &message), "zl_publisher_loan");
    return message;
}

/* Publishes the batch of pending loans, retrying what a lossless
 * timeout left (as zloan_publish below). */
static void publish_pending(zloan_side *side)
{
    size_t done = 0;
    while (done < side->pending_count) {
        size_t published = 0;
        int rc = zl_publisher_publish_loans(side->publisher, side->pending + done,
                                            side->pending_count - done, &published);
        done += published;
        if (rc != ZL_ETIMEOUT)
            check_rc(rc, "zl_publisher_publish_loans");
    }
    side->pending_count = 0;
}

static void zloan_publish(void *context, void *message)
{
    zloan_side *side = context;
    if (publish_batch_size > 1) {
        side->pending[side->pending_count++] = message;
        if (side->pending_count == publish_batch_size)
            publish_pending(side);
        return;
    }
    int rc;
    /* Lossless: a subscription that took nothing for max_blocking_time (the
     * sink between its window and its close) costs a retry, never a loss. */
    while ((rc = zl_publisher_publish_loan(side->publisher, message)) == ZL_ETIMEOUT) {
    }
    check_rc(rc, "zl_publisher_publish_loan");
}

static const void *zloan_try_take(void *context, unsigned index)
{
    zloan_side *side = context;
    if (take_batch_size > 1) {
        take_batch *batch = &side->batches[index];
        if (batch->next == batch->count) {
            return_released(side->subscriptions[index], batch);
            batch->next = batch->count = 0;
            int rc = zl_subscription_take_loan_sequence(side->subscriptions[index],
                                                        batch->messages, NULL, take_batch_size,
                                                        &batch->count);
            if (rc == ZL_ENODATA)
                return NULL;
            check_rc(rc, "zl_subscription_take_loan_sequence");
        }
        return batch->messages[batch->next++];
    }
    const void *message;
    int rc = zl_subscription_take_loan(side->subscriptions[index], &message, NULL);
    if (rc == ZL_ENODATA)
        return NULL;
    check_rc(rc, "zl_subscription_take_loan");
    return message;
}

static void zloan_release(void *context, unsigned index, const void *message)
{
    zloan_side *side = context;
    if (take_batch_size > 1) {
        /* The harness releases each message before it takes the next:
         * the batch's messages come back in the order handed out. */
        take_batch *batch = &side->batches[index];
        if (batch->released < batch->next && batch->messages[batch->released] == message) {
            batch->released++;
            return;
        }
    }
    check_rc(zl_subscription_return_loan(side->subscriptions[index], message),
             "zl_subscription_return_loan");
}

static void zloan_close(void *context)
{
    zloan_side *side = context;
    if (side->waitset != NULL)
        check_rc(zl_waitset_destroy(side->waitset), "zl_waitset_destroy");
    for (unsigned i = 0; i < side->subscription_count; i++) {
        take_batch *b = &side->batches[i];
        return_released(side->subscriptions[i], b);
        for (; b->next < b->count; b->next++)
            check_rc(zl_subscription_return_loan(side->subscriptions[i], b->messages[b->next]),
                     "zl_subscription_return_loan");
    }
    for (unsigned i = 0; i < side->subscription_count; i++)
        check_rc(zl_subscription_destroy(side->subscriptions[i]), "zl_subscription_destroy");
    for (size_t i = 0; i < side->pending_count; i++)
        check_rc(zl_publisher_return_loan(side->publisher, side->pending[i]),
                 "zl_publisher_return_loan");
    if (side->publisher != NULL) {
        zl_publisher_stats stats;
        check_rc(zl_publisher_get_stats(side->publisher, &stats), "zl_publisher_get_stats");
        printf("memory\tzloan\t%s\t%llu\t%u\n", side->mix ? "mix" : "fixed",
               (unsigned long long)stats.shm_bytes_high, stats.segments);
        fflush(stdout);
        check_rc(zl_publisher_destroy(side->publisher), "zl_publisher_destroy");
    }
    check_rc(zl_context_destroy(side->context), "zl_context_destroy");
    free(side);
}

static bench_ops zloan_ops = {
    .system = "zloan",
    .open = zloan_open,
    .loan = zloan_loan,
    .publish = zloan_publish,
    .try_take = zloan_try_take,
    .release = zloan_release,
    .wait = zloan_wait,
    .close = zloan_close,
};

int main(int argc, char **argv)
{
    const char *batch = getenv("ZLOAN_BENCH_TAKE_BATCH");
    static char system[32];
    if (batch != NULL && *batch != '\0') {
        take_batch_size = (unsigned)strtoul(batch, NULL, 10);
        if (take_batch_size < 2 || take_batch_size > BATCH_MAX)
            bench_die("ZLOAN_BENCH_TAKE_BATCH=%s: 2..%d", batch, BATCH_MAX);
        snprintf(system, sizeof system, "zloan-batch%u", take_batch_size);
        zloan_ops.system = system;
    }
    const char *publish_batch = getenv("ZLOAN_BENCH_PUBLISH_BATCH");
    if (publish_batch != NULL && *publish_batch != '\0') {
        publish_batch_size = (unsigned)strtoul(publish_batch, NULL, 10);
        if (publish_batch_size < 2 || publish_batch_size > PUBLISH_BATCH_MAX)
            bench_die("ZLOAN_BENCH_PUBLISH_BATCH=%s: 2..%d", publish_batch, PUBLISH_BATCH_MAX);
        if (take_batch_size > 1)
            snprintf(system, sizeof system, "zloan-pub%u-take%u", publish_batch_size,
                     take_batch_size);
        else
            snprintf(system, sizeof system, "zloan-pub%u", publish_batch_size);
        zloan_ops.system = system;
    }
    return bench_main(argc, argv, &zloan_ops);
}
