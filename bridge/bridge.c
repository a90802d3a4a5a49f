/* zloan-bridge: carries a host's zloan topics to DDS participants on other
 * hosts (other bridges, ROS 2 nodes) and back, through Eclipse Cyclone DDS
 * with ROS 2's wire conventions (ros_wire.h). docs/bridge.md argues the
 * shape; in short:
 *
 *   - One bridge process per host, built on the public API and
 *     introspection alone. Local use never needs it.
 *   - A local topic with publishers (other than the bridge's) gets a DDS
 *     writer. Only while that writer has a matched remote reader does the
 *     bridge subscribe locally: until then no zloan publisher delivers
 *     anything to the bridge and nothing is serialized.
 *   - A local topic with subscriptions (other than the bridge's) gets a DDS
 *     reader and a local publisher; Cyclone deserializes each remote sample
 *     straight into a loan of that publisher.
 *   - Exactly once: the bridge's writer and reader of a topic never match
 *     (ignore-local QoS), and its local subscription drops what its own
 *     publisher injected (zl_message_info.publisher_id), so a message
 *     crosses to each other host once and never comes back.
 *
 * One thread: a zloan wait set (the local subscriptions and a guard
 * condition that Cyclone's listeners and signals raise) drives forwarding
 * both ways; a rescan of the domain's topics runs every --scan-ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <dds/dds.h>

#include "zloan/introspection.h"
#include "zloan/zloan.h"

#include "config.h"
#include "describe.h"
#include "ros_wire.h"

#define TOPICS_MAX 256
#define LOCAL_DEPTH 64        /* the bridge's local subscriptions keep this many */
/* DDS history of a writer whose publishers keep none: what a reliable
 * writer can still resend to a reader that fell behind (keep-last). */
#define VOLATILE_DEPTH 64
#define VOLATILE_DEPTH_LARGE 8 /* for messages of LARGE_MESSAGE bytes or more */
#define LARGE_MESSAGE (1u << 20)

typedef struct bridged_topic {
    bool used;
    char name[ZL_TOPIC_NAME_MAX + 1];
    zl_type type;
    char type_name[ZL_TYPE_NAME_MAX];
    zl_field *fields;
    size_t field_count;
    ros_wire_type wire;
    bool wire_ready;
    bool unmappable;   /* reported once, then left alone */
    dds_entity_t topic;
    void *scratch;     /* wire.sample_size bytes */
    /* Local → DDS. */
    dds_entity_t writer;
    uint32_t writer_history;
    zl_subscription *subscription;
    uint64_t forwarded_out;
    /* DDS → local. */
    dds_entity_t reader;
    zl_publisher *publisher;
    uint64_t publisher_id;
    uint64_t forwarded_in;
} bridged_topic;

typedef struct bridge {
    bridge_config config;
    zl_context *context;
    zl_guard_condition *guard;
    zl_waitset *waitset;
    bool waitset_stale;
    dds_entity_t participant;
    dds_listener_t *listener;
    bridged_topic topics[TOPICS_MAX];
    zl_topic_info *info; /* scratch for introspection (large) */
} bridge;

static volatile sig_atomic_t stop_requested;
static zl_guard_condition *signal_guard;

static void on_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
    if (signal_guard != NULL)
        zl_guard_condition_trigger(signal_guard); /* async-signal-safe */
}

/* Cyclone's listener threads only raise the guard: forwarding stays on the
 * bridge's thread, which owns every zloan endpoint. */
static void on_dds_event(dds_entity_t entity, void *arg)
{
    (void)entity;
    zl_guard_condition_trigger(arg);
}

static void on_publication_matched(dds_entity_t writer, const dds_publication_matched_status_t status,
                                   void *arg)
{
    (void)writer;
    (void)status;
    zl_guard_condition_trigger(arg);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define LOG(b, ...)                                \
    do {                                           \
        if ((b)->config.verbose) {                 \
            fprintf(stderr, "zloan-bridge: " __VA_ARGS__); \
            fputc('\n', stderr);                   \
        }                                          \
    } while (0)

static bridged_topic *topic_find(bridge *b, const char *name, bool create)
{
    bridged_topic *free_slot = NULL;
    for (size_t i = 0; i < TOPICS_MAX; i++) {
        if (b->topics[i].used && strcmp(b->topics[i].name, name) == 0)
            return &b->topics[i];
        if (!b->topics[i].used && free_slot == NULL)
            free_slot = &b->topics[i];
    }
    if (!create || free_slot == NULL)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    snprintf(free_slot->name, sizeof free_slot->name, "%.*s", (int)sizeof free_slot->name - 1, name);
    return free_slot;
}

/* Builds the topic's zloan type (as the introspection shows it) and its DDS
 * topic, once. false when the type cannot travel (no field description, not
 * plain, or a field DDS cannot express). */
static bool topic_prepare(bridge *b, bridged_topic *t, const zl_topic_info *info)
{
    if (t->wire_ready)
        return strcmp(t->type_name, info->type_name) == 0 && t->type.layout_hash == info->layout_hash;
    if (t->unmappable)
        return false;
    t->unmappable = true;
    if (!info->plain || info->description[0] == '\0' ||
        !describe_parse(info->description, &t->fields, &t->field_count)) {
        fprintf(stderr, "zloan-bridge: topic %s (type '%s') has no field description: not "
                "bridged\n", info->name, info->type_name);
        return false;
    }
    if (ros_wire_type_init(&t->wire, info->type_name, (size_t)info->type_size, t->fields,
                           t->field_count) != 0)
        return false;
    snprintf(t->type_name, sizeof t->type_name, "%s", info->type_name);
    size_t alignment = 1;
    for (size_t i = 0; i < t->field_count; i++) {
        /* The strictest scalar of the struct; zloan checks it against size. */
        size_t a = t->fields[i].kind == ZL_FIELD_STRUCT ? 8 : t->fields[i].size;
        while (a > 1 && (a > 8 || t->fields[i].offset % a != 0 || (a & (a - 1)) != 0))
            a >>= 1;
        if (a > alignment)
            alignment = a;
    }
    t->type = (zl_type){.name = t->type_name, .size = (size_t)info->type_size,
                        .alignment = alignment, .plain = true, .fields = t->fields,
                        .field_count = t->field_count, .layout_hash = info->layout_hash};
    char dds_name[ROS_WIRE_DDS_NAME_MAX];
    if (!ros_wire_topic_name(info->name, dds_name, sizeof dds_name))
        return false;
    t->topic = dds_create_topic(b->participant, &t->wire.descriptor, dds_name, NULL, NULL);
    if (t->topic < 0) {
        fprintf(stderr, "zloan-bridge: DDS topic %s: %s\n", dds_name, dds_strretcode(t->topic));
        return false;
    }
    t->scratch = calloc(1, t->wire.sample_size);
    if (t->scratch == NULL)
        return false;
    t->wire_ready = true;
    t->unmappable = false;
    LOG(b, "topic %s: DDS %s of type %s", info->name, dds_name, t->wire.dds_type_name);
    return true;
}

static void subscription_close(bridge *b, bridged_topic *t)
{
    if (t->subscription != NULL) {
        zl_subscription_destroy(t->subscription);
        t->subscription = NULL;
        b->waitset_stale = true;
        LOG(b, "topic %s: no remote reader, local subscription closed", t->name);
    }
}

static void forward_out(bridged_topic *t);

/* The publishers are gone: what the bridge still holds is sent, and what is
 * in flight gets a moment to be acknowledged (deleting a writer drops its
 * unacknowledged samples). */
static void writer_close(bridge *b, bridged_topic *t)
{
    if (t->subscription != NULL && t->writer > 0)
        forward_out(t);
    subscription_close(b, t);
    if (t->writer > 0) {
        dds_wait_for_acks(t->writer, DDS_SECS(2));
        dds_delete(t->writer);
        t->writer = 0;
        LOG(b, "topic %s: no local publisher, DDS writer deleted", t->name);
    }
}

static void reader_close(bridge *b, bridged_topic *t)
{
    if (t->reader > 0) {
        dds_delete(t->reader);
        t->reader = 0;
    }
    if (t->publisher != NULL) {
        zl_publisher_destroy(t->publisher);
        t->publisher = NULL;
        t->publisher_id = 0;
        LOG(b, "topic %s: no local subscription, DDS reader deleted", t->name);
    }
}

static void writer_open(bridge *b, bridged_topic *t, uint32_t history)
{
    uint32_t depth = t->type.size >= LARGE_MESSAGE ? VOLATILE_DEPTH_LARGE : VOLATILE_DEPTH;
    dds_qos_t *qos = ros_wire_qos(history > 0 ? history : depth, history > 0);
    if (qos == NULL)
        return;
    dds_entity_t w = dds_create_writer(b->participant, t->topic, qos, b->listener);
    dds_delete_qos(qos);
    if (w < 0) {
        fprintf(stderr, "zloan-bridge: DDS writer for %s: %s\n", t->name, dds_strretcode(w));
        return;
    }
    t->writer = w;
    t->writer_history = history;
    LOG(b, "topic %s: DDS writer created (history %u)", t->name, history);
}

static void reader_open(bridge *b, bridged_topic *t, uint32_t depth, bool transient_local)
{
    zl_publisher_options po;
    zl_publisher_options_init(&po);
    po.max_loans = 2;
    po.history = transient_local ? (depth > 64 ? 64 : depth) : 0;
    if (t->type.size >= LARGE_MESSAGE) {
        /* Large messages: a pool for a few subscriptions, a few deep. */
        po.max_subscriptions = 4;
        po.chunks_per_subscription = 8;
    }
    int rc = zl_publisher_create(b->context, t->name, &t->type, &po, &t->publisher);
    if (rc != 0) {
        fprintf(stderr, "zloan-bridge: local publisher for %s: %s (%s)\n", t->name,
                zl_strerror(rc), zl_last_error_detail());
        return;
    }
    t->publisher_id = zl_publisher_id(t->publisher);
    dds_qos_t *qos = ros_wire_qos(depth, transient_local);
    dds_entity_t r = qos != NULL ? dds_create_reader(b->participant, t->topic, qos, b->listener)
                                 : DDS_RETCODE_OUT_OF_RESOURCES;
    dds_delete_qos(qos);
    if (r < 0) {
        fprintf(stderr, "zloan-bridge: DDS reader for %s: %s\n", t->name, dds_strretcode(r));
        zl_publisher_destroy(t->publisher);
        t->publisher = NULL;
        return;
    }
    t->reader = r;
    LOG(b, "topic %s: DDS reader created (depth %u%s)", t->name, depth,
        transient_local ? ", transient-local" : "");
}

/* One topic as introspection sees it now: endpoints other than the
 * bridge's own decide what exists on the DDS side. */
static void scan_topic(bridge *b, const char *name)
{
    if (zl_introspection_topic_info(b->config.domain_id, name, b->info) != 0)
        return;
    const zl_topic_info *info = b->info;
    uint32_t publishers = 0, subscriptions = 0, history = 0, depth = 1;
    bool wants_history = false;
    uint32_t self = (uint32_t)getpid();
    for (uint32_t i = 0; i < info->endpoint_count; i++) {
        const zl_endpoint_info *e = &info->endpoints[i];
        if (!e->alive || e->pid == self)
            continue;
        if (e->kind == ZL_ENDPOINT_PUBLISHER) {
            publishers++;
            if (e->history > history)
                history = e->history;
        } else {
            subscriptions++;
            if (e->depth > depth)
                depth = e->depth;
            wants_history |= e->wants_history;
        }
    }
    bridged_topic *t = topic_find(b, name, publishers + subscriptions > 0);
    if (t == NULL)
        return;
    if (publishers + subscriptions > 0 && !topic_prepare(b, t, info))
        return;
    if (publishers > 0 && t->writer > 0 && history > t->writer_history)
        writer_close(b, t); /* reopened with the deeper history below */
    if (publishers > 0 && t->writer <= 0)
        writer_open(b, t, history);
    else if (publishers == 0)
        writer_close(b, t);
    if (subscriptions > 0 && t->reader <= 0)
        reader_open(b, t, depth, wants_history);
    else if (subscriptions == 0)
        reader_close(b, t);
}

static void scan(bridge *b)
{
    static zl_topic_summary list[TOPICS_MAX];
    size_t count = 0;
    if (zl_introspection_list_topics(b->config.domain_id, list, TOPICS_MAX, &count) != 0)
        return;
    if (count > TOPICS_MAX)
        count = TOPICS_MAX;
    for (size_t i = 0; i < count; i++)
        if (!list[i].corrupt)
            scan_topic(b, list[i].name);
    /* Topics that vanished from the domain. */
    for (size_t i = 0; i < TOPICS_MAX; i++) {
        bridged_topic *t = &b->topics[i];
        if (!t->used)
            continue;
        bool present = false;
        for (size_t j = 0; j < count && !present; j++)
            present = strcmp(list[j].name, t->name) == 0;
        if (!present) {
            writer_close(b, t);
            reader_close(b, t);
        }
    }
}

/* Subscribes locally only while a remote reader is matched. */
static void update_matches(bridge *b)
{
    for (size_t i = 0; i < TOPICS_MAX; i++) {
        bridged_topic *t = &b->topics[i];
        if (!t->used || t->writer <= 0)
            continue;
        dds_publication_matched_status_t status;
        if (dds_get_publication_matched_status(t->writer, &status) != 0)
            continue;
        if (status.current_count > 0 && t->subscription == NULL) {
            zl_subscription_options so;
            zl_subscription_options_init(&so);
            so.depth = LOCAL_DEPTH;
            so.max_loans = 2;
            so.history = t->writer_history > 0;
            int rc = zl_subscription_create(b->context, t->name, &t->type, &so, &t->subscription);
            if (rc != 0) {
                fprintf(stderr, "zloan-bridge: local subscription for %s: %s (%s)\n", t->name,
                        zl_strerror(rc), zl_last_error_detail());
                t->subscription = NULL;
                continue;
            }
            b->waitset_stale = true;
            LOG(b, "topic %s: %u remote reader(s), subscribed locally", t->name,
                (unsigned)status.current_count);
        } else if (status.current_count == 0) {
            subscription_close(b, t);
        }
    }
}

static int waitset_rebuild(bridge *b)
{
    if (b->waitset != NULL)
        zl_waitset_destroy(b->waitset);
    b->waitset = NULL;
    size_t n = 1;
    for (size_t i = 0; i < TOPICS_MAX; i++)
        n += b->topics[i].subscription != NULL;
    int rc = zl_waitset_create(b->context, n, &b->waitset);
    if (rc == 0)
        rc = zl_waitset_attach_guard_condition(b->waitset, b->guard, NULL);
    for (size_t i = 0; rc == 0 && i < TOPICS_MAX; i++)
        if (b->topics[i].subscription != NULL)
            rc = zl_waitset_attach_subscription(b->waitset, b->topics[i].subscription, NULL);
    b->waitset_stale = rc != 0;
    return rc;
}

static void forward_out(bridged_topic *t)
{
    const void *message;
    zl_message_info info;
    while (zl_subscription_take_loan(t->subscription, &message, &info) == 0) {
        /* What this bridge injected goes no further (no echo, no loop). */
        if (t->publisher_id == 0 || info.publisher_id != t->publisher_id) {
            dds_return_t rc = ros_wire_write(&t->wire, t->writer, message, t->scratch);
            if (rc == 0)
                t->forwarded_out++;
            else
                fprintf(stderr, "zloan-bridge: write on %s: %s\n", t->name, dds_strretcode(rc));
        }
        zl_subscription_return_loan(t->subscription, message);
    }
}

static void forward_in(bridged_topic *t)
{
    for (;;) {
        void *loan;
        if (zl_publisher_loan(t->publisher, &loan) != 0)
            return;
        int n = ros_wire_take(&t->wire, t->reader, loan, t->scratch);
        if (n != 1) {
            zl_publisher_return_loan(t->publisher, loan);
            return;
        }
        if (zl_publisher_publish_loan(t->publisher, loan) == 0)
            t->forwarded_in++;
    }
}

static int run(bridge *b)
{
    int64_t next_scan = 0;
    while (!stop_requested) {
        if (now_ms() >= next_scan) {
            scan(b);
            next_scan = now_ms() + b->config.scan_ms;
        }
        update_matches(b);
        if (b->waitset_stale && waitset_rebuild(b) != 0) {
            fprintf(stderr, "zloan-bridge: wait set: %s\n", zl_last_error_detail());
            return 1;
        }
        for (size_t i = 0; i < TOPICS_MAX; i++) {
            bridged_topic *t = &b->topics[i];
            if (t->used && t->subscription != NULL)
                forward_out(t);
            if (t->used && t->reader > 0 && t->publisher != NULL)
                forward_in(t);
        }
        int64_t wait_ms = next_scan - now_ms();
        if (wait_ms > 0) {
            size_t ready;
            zl_waitset_wait(b->waitset, wait_ms * 1000000, &ready);
            zl_guard_condition_take(b->guard);
        }
    }
    return 0;
}

/* One bridge per domain among the processes that share /dev/shm (a
 * "host"): a second one would forward what the first injected and the two
 * would loop. The kernel drops the lock when its holder dies, even by
 * kill -9, so a restarted bridge takes over at once. Returns the lock's
 * descriptor, or -1 with a message. */
static int host_lock_take(uint32_t domain_id, char *path, size_t path_size)
{
    snprintf(path, path_size, "/dev/shm/zloan-bridge.%u.%u.lock", (unsigned)getuid(),
             (unsigned)domain_id);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fprintf(stderr, "zloan-bridge: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "zloan-bridge: another zloan-bridge serves domain %u on this host "
                "(%s is locked)\n", (unsigned)domain_id, path);
        close(fd);
        return -1;
    }
    return fd;
}

static void shutdown_bridge(bridge *b)
{
    for (size_t i = 0; i < TOPICS_MAX; i++) {
        bridged_topic *t = &b->topics[i];
        if (!t->used)
            continue;
        LOG(b, "topic %s: %llu out, %llu in", t->name, (unsigned long long)t->forwarded_out,
            (unsigned long long)t->forwarded_in);
        writer_close(b, t);
        reader_close(b, t);
        if (t->wire_ready)
            ros_wire_type_fini(&t->wire);
        free(t->scratch);
        free(t->fields);
    }
    if (b->waitset != NULL)
        zl_waitset_destroy(b->waitset);
    if (b->participant > 0)
        dds_delete(b->participant);
    if (b->listener != NULL)
        dds_delete_listener(b->listener);
    signal_guard = NULL;
    if (b->guard != NULL)
        zl_guard_condition_destroy(b->guard);
    if (b->context != NULL)
        zl_context_destroy(b->context);
    free(b->info);
}

int main(int argc, char **argv)
{
    static bridge b;
    int rc = bridge_config_parse(argc, argv, &b.config);
    if (rc >= 0)
        return rc;
    if (bridge_config_apply(&b.config) != 0)
        return 2;
    char lock_path[128];
    int lock_fd = host_lock_take(b.config.domain_id, lock_path, sizeof lock_path);
    if (lock_fd < 0)
        return 3;
    b.info = calloc(1, sizeof *b.info);
    zl_context_options co;
    zl_context_options_init(&co);
    co.domain_id = b.config.domain_id;
    co.name = "zloan_bridge";
    if (b.info == NULL || zl_context_create(&co, &b.context) != 0 ||
        zl_guard_condition_create(b.context, &b.guard) != 0) {
        fprintf(stderr, "zloan-bridge: zloan context: %s\n", zl_last_error_detail());
        shutdown_bridge(&b);
        unlink(lock_path);
        close(lock_fd);
        return 2;
    }
    signal_guard = b.guard;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    b.listener = dds_create_listener(b.guard);
    dds_lset_data_available(b.listener, on_dds_event);
    dds_lset_publication_matched(b.listener, on_publication_matched);
    b.participant = dds_create_participant((dds_domainid_t)b.config.domain_id, NULL, NULL);
    if (b.participant < 0) {
        fprintf(stderr, "zloan-bridge: DDS participant: %s\n", dds_strretcode(b.participant));
        shutdown_bridge(&b);
        unlink(lock_path);
        close(lock_fd);
        return 2;
    }
    b.waitset_stale = true;
    if (b.config.verbose)
        fprintf(stderr, "zloan-bridge: domain %u, running\n", b.config.domain_id);
    rc = run(&b);
    shutdown_bridge(&b);
    unlink(lock_path);
    close(lock_fd);
    return rc;
}
