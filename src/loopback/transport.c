/* The loopback transport: endpoints of one process, payloads copied once
 * (see topic.h).
 *
 * A publisher never lends (capabilities.lends false: the client library
 * lends the allocator's memory and publishes through
 * publisher_publish_copy). Publishing copies the payload into a free
 * buffer of each subscription and queues it; a full queue drops its oldest
 * message (keep-last, counted as lost and as dropped). A subscription has
 * depth + max_loans buffers, so a free one always exists: at most depth
 * are queued and at most max_loans held. A buffer grows (through the
 * context's allocator) when a larger message comes and is reused after,
 * so publishing messages of one size allocates nothing after the first
 * depth + max_loans. A publisher keeps copies of its last `history`
 * messages for subscriptions that join later.
 *
 * Waking: each subscription has an eventfd and a sleepers count (the wait
 * set's, mw.h). A publisher reads the count under the topic's mutex after
 * queueing, and writes the eventfd only when it is not zero. The waiter
 * raises the count before it checks readiness (subscription_ready, under
 * the same mutex): either its check comes after the publish and sees the
 * message, or its raise comes before the publisher's read, which sees it.
 * The mutex orders both, so relaxed accesses suffice.
 *
 * Lossless subscriptions are refused (ZL_ENOTSUP): the context tries its
 * next transport.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "zloan/error.h"

#include "../error_detail.h"
#include "topic.h"

typedef enum { BUFFER_FREE = 0, BUFFER_QUEUED, BUFFER_HELD } buffer_state;

/* One message's memory, grown on demand and reused. */
typedef struct buffer {
    void *bytes;
    size_t capacity;
    size_t size;
    buffer_state state;
    zl_message_info info;
} buffer;

struct zl__mw_subscription {
    zl__loopback_topic *topic;
    struct zl__mw_subscription *next; /* the topic's list */
    const zl_allocator *allocator;
    uint32_t depth;
    uint32_t max_loans;
    uint32_t buffer_count; /* depth + max_loans */
    buffer *buffers;
    uint32_t *queue; /* depth buffer indices, oldest at head */
    uint32_t head;
    uint32_t queued;
    uint32_t held;
    uint64_t lost;
    int wake_fd;
    /* Raised by a waiting wait set; read by publishers under the mutex. */
    zl__atomic_u32 sleepers;
};

struct zl__mw_publisher {
    zl__loopback_topic *topic;
    struct zl__mw_publisher *next; /* the topic's list */
    const zl_allocator *allocator;
    uint64_t id;
    uint64_t sequence;
    uint64_t dropped;
    size_t payload_size;
    uint32_t history; /* kept copies, a ring of that many buffers */
    uint32_t kept;
    uint32_t kept_next;
    buffer *kept_buffers;
};

static void *allocate(const zl_allocator *a, size_t size)
{
    return a->allocate(size, 16, a->state);
}

static void deallocate(const zl_allocator *a, void *p, size_t size)
{
    if (p != NULL)
        a->deallocate(p, size, 16, a->state);
}

/* Copies size bytes into b, growing it first; false when the allocator
 * failed (b unchanged). */
static bool fill(const zl_allocator *a, buffer *b, const void *payload, size_t size)
{
    if (size > b->capacity || b->bytes == NULL) {
        size_t capacity = size > 0 ? size : 1;
        void *bytes = allocate(a, capacity);
        if (bytes == NULL)
            return false;
        deallocate(a, b->bytes, b->capacity);
        b->bytes = bytes;
        b->capacity = capacity;
    }
    memcpy(b->bytes, payload, size);
    b->size = size;
    return true;
}

static void free_buffers(const zl_allocator *a, buffer *buffers, uint32_t count)
{
    if (buffers == NULL)
        return;
    for (uint32_t i = 0; i < count; i++)
        deallocate(a, buffers[i].bytes, buffers[i].capacity);
    a->deallocate(buffers, sizeof(buffer) * count, _Alignof(buffer), a->state);
}

/* Under the topic's mutex: queues a copy in s, dropping the oldest queued
 * message when the queue is full. Returns whether one was dropped. */
static bool deliver(struct zl__mw_subscription *s, const void *payload, size_t size,
                    const zl_message_info *info)
{
    bool dropped = false;
    if (s->queued == s->depth) {
        s->buffers[s->queue[s->head]].state = BUFFER_FREE;
        s->head = (s->head + 1) % s->depth;
        s->queued--;
        s->lost++;
        dropped = true;
    }
    uint32_t i = 0;
    while (s->buffers[i].state != BUFFER_FREE)
        i++; /* one is free: at most depth - 1 queued and max_loans held */
    if (!fill(s->allocator, &s->buffers[i], payload, size)) {
        s->lost++; /* owed and never delivered */
        return true;
    }
    s->buffers[i].state = BUFFER_QUEUED;
    s->buffers[i].info = *info;
    s->queue[(s->head + s->queued) % s->depth] = i;
    s->queued++;
    /* Relaxed: the mutex orders it with the waiter's raise (see the top). */
    if (zl__load_relaxed(&s->sleepers) != 0) {
        uint64_t one = 1;
        ssize_t written = write(s->wake_fd, &one, sizeof one);
        (void)written; /* a full counter (never: 2^64 - 2) still wakes */
    }
    return dropped;
}

static int publisher_create(const zl__mw_publisher_config *config, zl__mw_publisher **out)
{
    static zl__atomic_u64 next_id = 1;
    const zl_allocator *a = config->endpoint.allocator;
    struct zl__mw_publisher *p = a->allocate(sizeof *p, _Alignof(struct zl__mw_publisher), a->state);
    if (p == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the loopback publisher failed");
    memset(p, 0, sizeof *p);
    p->allocator = a;
    p->history = config->history;
    p->payload_size = config->endpoint.payload_size;
    /* Relaxed: only uniqueness matters. The top byte keeps it apart from
     * the shm transport's ids (pid and slot in the low bits). */
    p->id = (0x4cull << 56) | ((uint64_t)getpid() << 24) | (zl__fetch_add_relaxed(&next_id, 1) & 0xffffff);
    if (p->history > 0) {
        p->kept_buffers = a->allocate(sizeof(buffer) * p->history, _Alignof(buffer), a->state);
        if (p->kept_buffers == NULL) {
            a->deallocate(p, sizeof *p, _Alignof(struct zl__mw_publisher), a->state);
            return zl__fail(ZL_ENOMEM, "allocating the loopback publisher failed");
        }
        memset(p->kept_buffers, 0, sizeof(buffer) * p->history);
    }
    int rc = zl__loopback_topic_join(&config->endpoint, &p->topic);
    if (rc != 0) {
        free_buffers(a, p->kept_buffers, p->history);
        a->deallocate(p, sizeof *p, _Alignof(struct zl__mw_publisher), a->state);
        return rc;
    }
    pthread_mutex_lock(&p->topic->lock);
    p->next = p->topic->publishers;
    p->topic->publishers = p;
    pthread_mutex_unlock(&p->topic->lock);
    *out = p;
    return 0;
}

static void publisher_destroy(zl__mw_publisher *p)
{
    zl__loopback_topic *t = p->topic;
    pthread_mutex_lock(&t->lock);
    struct zl__mw_publisher **at = &t->publishers;
    while (*at != p)
        at = &(*at)->next;
    *at = p->next;
    pthread_mutex_unlock(&t->lock);
    zl__loopback_topic_leave(t);
    const zl_allocator *a = p->allocator;
    free_buffers(a, p->kept_buffers, p->history);
    a->deallocate(p, sizeof *p, _Alignof(struct zl__mw_publisher), a->state);
}

static int publisher_loan(zl__mw_publisher *p, size_t size, void **payload,
                          zl__mw_loan_handle *handle)
{
    (void)p, (void)size, (void)payload, (void)handle;
    return ZL_ENOTSUP; /* no memory of its own to lend: the refusal path */
}

static int publisher_publish_loan(zl__mw_publisher *p, zl__mw_loan_handle handle, size_t size)
{
    (void)p, (void)size;
    return zl__fail(ZL_ENOTLOAN, "loan %u: the loopback transport lends nothing", handle);
}

static int publisher_return_loan(zl__mw_publisher *p, zl__mw_loan_handle handle)
{
    (void)p;
    return zl__fail(ZL_ENOTLOAN, "loan %u: the loopback transport lends nothing", handle);
}

/* Under the topic's mutex: keeps a copy for late joiners (the oldest kept
 * copy makes room). A copy the allocator cannot make is not kept. */
static void keep(struct zl__mw_publisher *p, const void *payload, size_t size,
                 const zl_message_info *info)
{
    buffer *b = &p->kept_buffers[p->kept_next];
    if (!fill(p->allocator, b, payload, size))
        return;
    b->info = *info;
    p->kept_next = (p->kept_next + 1) % p->history;
    if (p->kept < p->history)
        p->kept++;
}

static int publisher_publish_copy(zl__mw_publisher *p, const void *payload, size_t size)
{
    if (size > p->payload_size)
        return zl__fail(ZL_EINVAL, "a message of %zu bytes exceeds the type's %zu", size,
                        p->payload_size);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    zl_message_info info = {
        .source_timestamp_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec,
        .publication_sequence = p->sequence + 1,
        .publisher_id = p->id,
        .from_this_process = true,
        .size = size,
    };
    pthread_mutex_lock(&p->topic->lock);
    p->sequence++;
    for (struct zl__mw_subscription *s = p->topic->subscriptions; s != NULL; s = s->next)
        p->dropped += deliver(s, payload, size, &info);
    if (p->history > 0)
        keep(p, payload, size, &info);
    pthread_mutex_unlock(&p->topic->lock);
    return 0;
}

static int publisher_update_connections(zl__mw_publisher *p)
{
    (void)p;
    return 0; /* endpoints meet when they are made */
}

static void publisher_stats(const zl__mw_publisher *p, zl_publisher_stats *stats)
{
    zl__loopback_topic *t = p->topic;
    pthread_mutex_lock(&t->lock);
    stats->published = p->sequence;
    stats->dropped = p->dropped;
    for (struct zl__mw_subscription *s = t->subscriptions; s != NULL; s = s->next)
        stats->subscriptions++;
    pthread_mutex_unlock(&t->lock);
}

static uint64_t publisher_id(const zl__mw_publisher *p) { return p->id; }

static void publisher_waitable(zl__mw_publisher *p, zl__mw_waitable *waitable)
{
    (void)p;
    waitable->count = 0; /* never full: nothing to wait for */
    waitable->sleepers = NULL;
    waitable->sleepers_is_flag = false;
}

static bool publisher_ready(zl__mw_publisher *p)
{
    (void)p;
    return true;
}

static void subscription_free(struct zl__mw_subscription *s)
{
    const zl_allocator *a = s->allocator;
    free_buffers(a, s->buffers, s->buffer_count);
    if (s->queue != NULL)
        a->deallocate(s->queue, sizeof(uint32_t) * s->depth, _Alignof(uint32_t), a->state);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    a->deallocate(s, sizeof *s, _Alignof(struct zl__mw_subscription), a->state);
}

/* Under the topic's mutex: queues the history of every publisher, oldest
 * first, for a subscription that asked for it. */
static void deliver_history(struct zl__mw_subscription *s)
{
    for (struct zl__mw_publisher *p = s->topic->publishers; p != NULL; p = p->next)
        for (uint32_t k = 0; k < p->kept; k++) {
            const buffer *b = &p->kept_buffers[(p->kept_next + p->history - p->kept + k) % p->history];
            p->dropped += deliver(s, b->bytes, b->size, &b->info);
        }
}

static int subscription_create(const zl__mw_subscription_config *config,
                               zl__mw_subscription **out)
{
    if (config->lossless)
        return zl__fail(ZL_ENOTSUP, "the loopback transport has no lossless subscriptions");
    const zl_allocator *a = config->endpoint.allocator;
    struct zl__mw_subscription *s =
        a->allocate(sizeof *s, _Alignof(struct zl__mw_subscription), a->state);
    if (s == NULL)
        return zl__fail(ZL_ENOMEM, "allocating the loopback subscription failed");
    memset(s, 0, sizeof *s);
    s->allocator = a;
    s->depth = config->depth;
    s->max_loans = config->endpoint.max_loans;
    s->buffer_count = s->depth + s->max_loans;
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->buffers = a->allocate(sizeof(buffer) * s->buffer_count, _Alignof(buffer), a->state);
    s->queue = a->allocate(sizeof(uint32_t) * s->depth, _Alignof(uint32_t), a->state);
    if (s->buffers != NULL)
        memset(s->buffers, 0, sizeof(buffer) * s->buffer_count);
    if (s->wake_fd < 0 || s->buffers == NULL || s->queue == NULL) {
        int rc = s->wake_fd < 0 ? zl__fail(ZL_ESYSTEM, "eventfd failed")
                                : zl__fail(ZL_ENOMEM, "allocating the loopback subscription failed");
        subscription_free(s);
        return rc;
    }
    int rc = zl__loopback_topic_join(&config->endpoint, &s->topic);
    if (rc != 0) {
        subscription_free(s);
        return rc;
    }
    pthread_mutex_lock(&s->topic->lock);
    if (config->history)
        deliver_history(s);
    s->next = s->topic->subscriptions;
    s->topic->subscriptions = s;
    pthread_mutex_unlock(&s->topic->lock);
    *out = s;
    return 0;
}

static void subscription_destroy(zl__mw_subscription *s)
{
    zl__loopback_topic *t = s->topic;
    pthread_mutex_lock(&t->lock);
    struct zl__mw_subscription **at = &t->subscriptions;
    while (*at != s)
        at = &(*at)->next;
    *at = s->next;
    pthread_mutex_unlock(&t->lock);
    zl__loopback_topic_leave(t);
    subscription_free(s);
}

static int subscription_take_loan(zl__mw_subscription *s, const void **payload, size_t *size,
                                  zl_message_info *info)
{
    int rc = 0;
    pthread_mutex_lock(&s->topic->lock);
    if (s->queued == 0) {
        rc = ZL_ENODATA;
    } else if (s->held >= s->max_loans) {
        rc = zl__fail(ZL_ETOOMANYLOANS, "the subscription's %u loans are all held", s->max_loans);
    } else {
        buffer *b = &s->buffers[s->queue[s->head]];
        s->head = (s->head + 1) % s->depth;
        s->queued--;
        s->held++;
        b->state = BUFFER_HELD;
        *payload = b->bytes;
        *size = b->size;
        if (info != NULL)
            *info = b->info;
    }
    pthread_mutex_unlock(&s->topic->lock);
    return rc;
}

/* Under the topic's mutex: the held buffer at payload, or NULL. */
static buffer *held_buffer(struct zl__mw_subscription *s, const void *payload)
{
    for (uint32_t i = 0; i < s->buffer_count; i++)
        if (s->buffers[i].state == BUFFER_HELD && s->buffers[i].bytes == payload)
            return &s->buffers[i];
    return NULL;
}

static int subscription_return_loan(zl__mw_subscription *s, const void *payload)
{
    pthread_mutex_lock(&s->topic->lock);
    buffer *b = held_buffer(s, payload);
    if (b != NULL) {
        b->state = BUFFER_FREE;
        s->held--;
    }
    pthread_mutex_unlock(&s->topic->lock);
    if (b == NULL)
        return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", payload);
    return 0;
}

/* Under the topic's lock, so the batch is checked whole, then freed. */
static int subscription_return_loans(zl__mw_subscription *s, const void *const *payloads,
                                     size_t count)
{
    int rc = 0;
    pthread_mutex_lock(&s->topic->lock);
    for (size_t i = 0; i < count && rc == 0; i++) {
        for (size_t j = 0; j < i && rc == 0; j++)
            if (payloads[j] == payloads[i])
                rc = zl__fail(ZL_EINVAL, "messages[%zu] (%p) appears earlier in the batch too", i,
                              payloads[i]);
        if (rc == 0 && held_buffer(s, payloads[i]) == NULL)
            rc = zl__fail(ZL_ENOTLOAN,
                          "messages[%zu] (%p) is not a loan held from this subscription", i,
                          payloads[i]);
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        held_buffer(s, payloads[i])->state = BUFFER_FREE;
        s->held--;
    }
    pthread_mutex_unlock(&s->topic->lock);
    return rc;
}

static int subscription_is_consistent(zl__mw_subscription *s, const void *payload,
                                      bool *consistent)
{
    pthread_mutex_lock(&s->topic->lock);
    bool held = held_buffer(s, payload) != NULL;
    pthread_mutex_unlock(&s->topic->lock);
    if (!held)
        return zl__fail(ZL_ENOTLOAN, "%p is not a loan held from this subscription", payload);
    *consistent = true; /* a held buffer is never written */
    return 0;
}

static void subscription_stats(zl__mw_subscription *s, zl_subscription_stats *stats)
{
    pthread_mutex_lock(&s->topic->lock);
    stats->lost = s->lost;
    for (struct zl__mw_publisher *p = s->topic->publishers; p != NULL; p = p->next)
        stats->publishers++;
    pthread_mutex_unlock(&s->topic->lock);
}

static void subscription_waitable(zl__mw_subscription *s, zl__mw_waitable *waitable)
{
    waitable->count = 0;
    waitable->sleepers = &s->sleepers;
    waitable->sleepers_is_flag = false;
    waitable->fd = s->wake_fd;
}

static bool subscription_ready(zl__mw_subscription *s)
{
    pthread_mutex_lock(&s->topic->lock);
    bool ready = s->queued > 0;
    pthread_mutex_unlock(&s->topic->lock);
    return ready;
}

const zl__mw_ops zl__loopback_ops = {
    .name = "loopback",
    /* Heap memory of this process, copied once at publish; any size; a
     * publisher's history reaches late joiners; wakes through an eventfd. */
    .capabilities = {.lends = false, .shared_memory = false, .variable_size = true,
                     .history = true, .lossless = false, .wake = ZL__MW_WAKE_FD},
    .sweep = NULL, /* nothing outlives the process */
    .publisher_create = publisher_create,
    .publisher_destroy = publisher_destroy,
    .publisher_loan = publisher_loan,
    .publisher_publish_loan = publisher_publish_loan,
    .publisher_publish_loans = NULL, /* the client library publishes each in turn */
    .publisher_return_loan = publisher_return_loan,
    .publisher_publish_copy = publisher_publish_copy,
    .publisher_update_connections = publisher_update_connections,
    .publisher_stats = publisher_stats,
    .publisher_id = publisher_id,
    .publisher_waitable = publisher_waitable,
    .publisher_ready = publisher_ready,
    .subscription_create = subscription_create,
    .subscription_destroy = subscription_destroy,
    .subscription_take_loan = subscription_take_loan,
    .subscription_return_loan = subscription_return_loan,
    .subscription_return_loans = subscription_return_loans,
    .subscription_is_consistent = subscription_is_consistent,
    .subscription_stats = subscription_stats,
    .subscription_waitable = subscription_waitable,
    .subscription_ready = subscription_ready,
    /* No public view: its topics are this process's alone. */
    .list_topics = NULL,
    .topic_view_open = NULL,
    .topic_view_read = NULL,
    .topic_view_close = NULL,
};
