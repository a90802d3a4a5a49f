/* White-box test (maps shared objects through tests/hostile.h and the
 * layout in src/shm/): the events a user would otherwise not notice reach
 * the context's log callback, at their level and not above the context's:
 * a peer error, a topic of the same name owned by another user, a dead peer
 * reclaimed, a subscription's queue shortened to fit the publisher's budget;
 * ZLOAN_LOG chooses the default level and a bad value is refused. */
#include <signal.h>
#include <stdlib.h>

#include "harness.h"
#include "hostile.h"
#include "shm/layout.h"
#include "shm/queue.h"

typedef struct captured {
    char lines[32][512];
    zl_log_level levels[32];
    int count;
} captured;

static void capture(zl_log_level level, const char *message, void *state)
{
    captured *c = state;
    if (c->count < 32) {
        snprintf(c->lines[c->count], sizeof c->lines[0], "%s", message);
        c->levels[c->count] = level;
    }
    c->count++;
}

/* The first captured line containing text, or NULL. */
static const char *find(const captured *c, const char *text, zl_log_level *level)
{
    for (int i = 0; i < c->count && i < 32; i++)
        if (strstr(c->lines[i], text) != NULL) {
            if (level != NULL)
                *level = c->levels[i];
            return c->lines[i];
        }
    return NULL;
}

static zl_context *make_context(captured *c, zl_log_level level)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.log_level = level;
    options.log_callback = capture;
    options.log_state = c;
    options.name = "log_events";
    zl_context *ctx;
    CHECK_OK(zl_context_create(&options, &ctx));
    return ctx;
}

typedef struct sample {
    uint64_t value;
} sample;
static const zl_type sample_type = ZL_TYPE_PLAIN(sample);

static void case_environment(void)
{
    setenv("ZLOAN_LOG", "loud", 1);
    zl_context *ctx;
    CHECK_RC(zl_context_create(NULL, &ctx), ZL_EINVAL);
    CHECK(strstr(zl_last_error_detail(), "ZLOAN_LOG") != NULL);
    setenv("ZLOAN_LOG", "debug", 1);
    zl_context_options options;
    zl_context_options_init(&options);
    CHECK_EQ(options.log_level, ZL_LOG_DEBUG);
    unsetenv("ZLOAN_LOG");
    zl_context_options_init(&options);
    CHECK_EQ(options.log_level, ZL_LOG_WARN);
    options.name = "";
    CHECK_RC(zl_context_create(&options, &ctx), ZL_EINVAL);
}

/* Another user's registry of the same topic and domain: a warning names it. */
static void case_other_user(void)
{
    captured c = {0};
    zl_context *ctx = make_context(&c, ZL_LOG_WARN);
    const char *topic = test_topic("log_other_user");
    char mine[300], theirs[320];
    hostile_registry_name(mine, sizeof mine, 0, topic);
    unsigned other = (unsigned)geteuid() + 4242;
    snprintf(theirs, sizeof theirs, "/dev/shm/zl.%u.%s", other, strchr(mine + 3, '.') + 1);
    int fd = open(theirs, O_CREAT | O_RDWR, 0600);
    CHECK(fd >= 0);
    close(fd);
    zl_publisher *pub;
    int rc = zl_publisher_create(ctx, topic, &sample_type, NULL, &pub);
    unlink(theirs); /* before any check can end the test */
    CHECK_OK(rc);
    zl_log_level level;
    const char *line = find(&c, "also exists under 1 other owner", &level);
    CHECK(line != NULL);
    CHECK_EQ(level, ZL_LOG_WARN);
    char owner_text[48];
    snprintf(owner_text, sizeof owner_text, "/dev/shm/zl.%u.", other);
    CHECK(strstr(line, owner_text) != NULL);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(ctx));
}

/* A subscription's deliver tail moved out of range: a peer error, logged. */
static void case_peer_error(void)
{
    captured c = {0};
    zl_context *ctx = make_context(&c, ZL_LOG_WARN);
    const char *topic = test_topic("log_peer_error");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_publisher_create(ctx, topic, &sample_type, NULL, &pub));
    CHECK_OK(zl_subscription_create(ctx, topic, &sample_type, NULL, &sub));
    sample s = {1};
    CHECK_OK(zl_publisher_publish(pub, &s));
    CHECK(find(&c, "peer error", NULL) == NULL);
    hostile_map queue;
    CHECK(hostile_map_object(0, topic, 's', 0, &queue));
    zl__queue_shm *q = (zl__queue_shm *)queue.base;
    zl__queue_geometry g;
    CHECK(zl__queue_geometry_read(q, queue.size, q->subscription_id, &g));
    zl__connection_shm *conn = zl__queue_connection(q, &g, 0);
    zl__store_relaxed(&conn->deliver.tail, zl__load_relaxed(&conn->deliver.head) + 1000);
    const void *loan;
    CHECK_RC(zl_subscription_take_loan(sub, &loan, NULL), ZL_ENODATA);
    zl_log_level level;
    const char *line = find(&c, "peer error #1", &level);
    CHECK(line != NULL);
    CHECK_EQ(level, ZL_LOG_WARN);
    CHECK(strstr(line, topic) != NULL);
    hostile_unmap(&queue);
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(ctx));
}

/* A subscription killed with -9: the survivor logs the reclaim at info, and
 * a context at warn hears nothing of it. */
static void case_dead_peer(zl_log_level level)
{
    captured c = {0};
    zl_context *ctx = make_context(&c, level);
    const char *topic = test_topic(level == ZL_LOG_INFO ? "log_dead_info" : "log_dead_warn");
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(ctx, topic, &sample_type, NULL, &pub));
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        zl_context *cctx;
        zl_subscription *sub;
        if (zl_context_create(NULL, &cctx) != 0 ||
            zl_subscription_create(cctx, topic, &sample_type, NULL, &sub) != 0)
            _exit(2);
        if (write(ready[1], "x", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    char byte;
    CHECK_EQ(read(ready[0], &byte, 1), 1);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    /* Until the publisher has let the dead subscription go. */
    zl_publisher_stats stats = {0};
    stats.subscriptions = 1;
    for (int i = 0; i < 500 && stats.subscriptions != 0; i++) {
        CHECK_OK(zl_publisher_update_connections(pub));
        CHECK_OK(zl_publisher_get_stats(pub, &stats));
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    zl_log_level seen;
    const char *line = find(&c, "reclaimed", &seen);
    if (level == ZL_LOG_INFO) {
        CHECK(line != NULL);
        CHECK_EQ(seen, ZL_LOG_INFO);
        char pid_text[32];
        snprintf(pid_text, sizeof pid_text, "pid %d", (int)child);
        CHECK(strstr(line, pid_text) != NULL);
        CHECK(strstr(line, "subscription") != NULL);
    } else {
        CHECK(line == NULL);
    }
    for (int i = 0; i < c.count && i < 32; i++)
        CHECK(c.levels[i] <= level);
    close(ready[0]);
    close(ready[1]);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(ctx));
}

/* A subscription whose depth and loans do not fit the publisher's
 * chunks_per_subscription (P5): its queue is shortened, and a warning says
 * by how much and what to change; one that fits gets none. */
static void case_depth_shortened(void)
{
    captured c = {0};
    zl_context *ctx = make_context(&c, ZL_LOG_WARN);
    const char *topic = test_topic("log_depth_shortened");
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(ctx, topic, &sample_type, NULL, &pub)); /* budget 24 */
    zl_subscription *fits;
    CHECK_OK(zl_subscription_create(ctx, topic, &sample_type, NULL, &fits)); /* 8 + 9 + 1 */
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.max_loans = 20; /* 8 + (20 + 1) + 1 > 24: depth 2 */
    zl_subscription *shortened;
    CHECK_OK(zl_subscription_create(ctx, topic, &sample_type, &options, &shortened));
    for (uint64_t i = 1; i <= 8; i++) {
        sample s = {i};
        CHECK_OK(zl_publisher_publish(pub, &s));
    }
    zl_log_level level;
    const char *line = find(&c, "asked for depth 8 and gets 2: with its 21 loans", &level);
    CHECK(line != NULL);
    CHECK_EQ(level, ZL_LOG_WARN);
    CHECK(strstr(line, topic) != NULL);
    CHECK(strstr(line, "chunks_per_subscription (24)") != NULL);
    CHECK(strstr(line, "max_loans") != NULL);
    int warnings = 0;
    for (int i = 0; i < c.count && i < 32; i++)
        warnings += strstr(c.lines[i], "asked for depth") != NULL;
    CHECK_EQ(warnings, 1); /* the one that fits is not named */
    /* What the warning says is what it gets: the newest 2 of 8. */
    sample got;
    for (uint64_t i = 7; i <= 8; i++) {
        CHECK_OK(zl_subscription_take(shortened, &got, NULL));
        CHECK_EQ(got.value, i);
    }
    CHECK_RC(zl_subscription_take(shortened, &got, NULL), ZL_ENODATA);
    CHECK_OK(zl_subscription_take(fits, &got, NULL));
    CHECK_EQ(got.value, 1u);
    CHECK_OK(zl_subscription_destroy(shortened));
    CHECK_OK(zl_subscription_destroy(fits));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(ctx));
}

int main(void)
{
    case_environment();
    case_other_user();
    case_peer_error();
    case_dead_peer(ZL_LOG_INFO);
    case_dead_peer(ZL_LOG_WARN);
    case_depth_shortened();
    printf("log_events: ok\n");
    return 0;
}
