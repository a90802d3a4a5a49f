/* A context's transports: chosen by option or ZLOAN_TRANSPORT (invalid
 * lists refused, naming what is accepted), tried in order so that a
 * transport's refusal (loopback refuses lossless subscriptions) passes the
 * endpoint to the next; endpoints meet only on one transport, and those of
 * one topic in one context go to one where they can; one wait set
 * wakes for fd sources (loopback), futex words (shm) and guard conditions
 * together. */
#include <pthread.h>

#include "harness.h"
#include "peer.h"

static zl_context *context_with(const char *transports)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.transports = transports;
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));
    return context;
}

static void refused(const char *transports)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.transports = transports;
    zl_context *context;
    CHECK_RC(zl_context_create(&options, &context), ZL_EINVAL);
    CHECK(strstr(zl_last_error_detail(), "shm, loopback") != NULL);
}

static void publish(zl_publisher *pub, uint64_t tag, uint64_t sequence)
{
    test_msg m;
    test_msg_fill(&m, tag, sequence);
    CHECK_OK(zl_publisher_publish(pub, &m));
}

static uint64_t take_tag(zl_subscription *sub)
{
    test_msg m;
    CHECK_OK(zl_subscription_take(sub, &m, NULL));
    CHECK(test_msg_valid(&m));
    return m.tag;
}

static void case_lists(void)
{
    refused("tcp");
    refused("");
    refused("shm,");
    refused("shm,shm");
    refused("shm loopback");
    /* The environment chooses when the option does not. */
    CHECK_EQ(setenv("ZLOAN_TRANSPORT", "bogus", 1), 0);
    zl_context *context;
    CHECK_RC(zl_context_create(NULL, &context), ZL_EINVAL);
    CHECK(strstr(zl_last_error_detail(), "ZLOAN_TRANSPORT") != NULL);
    CHECK_EQ(setenv("ZLOAN_TRANSPORT", "loopback", 1), 0);
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, test_topic("lists"), &test_msg_type, NULL, &pub));
    CHECK(!zl_publisher_can_loan(pub)); /* loopback does not lend */
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    /* An option wins over the environment. */
    context = context_with("shm");
    CHECK_OK(zl_publisher_create(context, test_topic("lists"), &test_msg_type, NULL, &pub));
    CHECK(zl_publisher_can_loan(pub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(unsetenv("ZLOAN_TRANSPORT"), 0);
}

/* The warnings a context logs (the last one). */
static char last_warning[512];

static void keep_warning(zl_log_level level, const char *message, void *state)
{
    (void)state;
    if (level == ZL_LOG_WARN)
        snprintf(last_warning, sizeof last_warning, "%s", message);
}

static zl_context *logging_context_with(const char *transports)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.transports = transports;
    options.log_callback = keep_warning;
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));
    return context;
}

static uint32_t sub_apart(zl_subscription *sub)
{
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    return stats.other_transport;
}

static uint32_t pub_apart(zl_publisher *pub)
{
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    return stats.other_transport;
}

/* Loopback refuses a lossless subscription, saying why; with shm after it
 * in the list, the subscription is made on shm. Endpoints of one topic in
 * one context meet where they can: those made after it follow it to shm
 * (issue 22). */
static void case_fall_through(void)
{
    const char *topic = test_topic("fall_through");
    zl_context *loopback_only = context_with("loopback");
    zl_subscription_options lossless;
    zl_subscription_options_init(&lossless);
    lossless.reliability = ZL_LOSSLESS;
    zl_subscription *sub;
    CHECK_RC(zl_subscription_create(loopback_only, topic, &test_msg_type, &lossless, &sub),
             ZL_ENOTSUP);
    CHECK(strstr(zl_last_error_detail(), "loopback") != NULL);
    CHECK(strstr(zl_last_error_detail(), "lossless") != NULL);
    CHECK_OK(zl_context_destroy(loopback_only));

    zl_context *both = context_with("loopback,shm");
    zl_context *shm = context_with("shm");
    zl_subscription *on_shm, *keep_last;
    CHECK_OK(zl_subscription_create(both, topic, &test_msg_type, &lossless, &on_shm));
    /* loopback refused it on the way: success leaves no detail behind. */
    CHECK_EQ(strcmp(zl_last_error_detail(), ""), 0);
    CHECK_OK(zl_subscription_create(both, topic, &test_msg_type, NULL, &keep_last));
    zl_publisher *shm_pub, *both_pub;
    CHECK_OK(zl_publisher_create(shm, topic, &test_msg_type, NULL, &shm_pub));
    CHECK_OK(zl_publisher_create(both, topic, &test_msg_type, NULL, &both_pub));
    CHECK(zl_publisher_can_loan(shm_pub));
    CHECK(zl_publisher_can_loan(both_pub)); /* on shm, with the topic's others */
    CHECK(zl_subscription_can_loan(keep_last));
    CHECK_EQ(sub_apart(on_shm) + sub_apart(keep_last) + pub_apart(both_pub), 0);
    publish(shm_pub, 1, 1);
    publish(both_pub, 2, 1);
    /* Every subscription receives from both publishers. */
    uint64_t tags = 0;
    for (int i = 0; i < 2; i++)
        tags += take_tag(on_shm) * 10 + take_tag(keep_last);
    CHECK_EQ(tags, 33);
    test_msg m;
    CHECK_RC(zl_subscription_take(on_shm, &m, NULL), ZL_ENODATA);
    CHECK_RC(zl_subscription_take(keep_last, &m, NULL), ZL_ENODATA);
    CHECK_OK(zl_publisher_destroy(shm_pub));
    CHECK_OK(zl_publisher_destroy(both_pub));
    CHECK_OK(zl_subscription_destroy(on_shm));
    CHECK_OK(zl_subscription_destroy(keep_last));
    CHECK_OK(zl_context_destroy(shm));
    CHECK_OK(zl_context_destroy(both));
}

/* The other order: a publisher and a keep-last subscription on loopback,
 * then a lossless one, which loopback refuses. It cannot meet them: it is
 * made on shm, and the user is told, in the detail, in the log and in
 * every endpoint's stats.other_transport, never silently (issue 22). */
static void case_apart(void)
{
    const char *topic = test_topic("apart");
    zl_context *both = logging_context_with("loopback,shm");
    zl_publisher *pub;
    zl_subscription *keep_last, *lossless_sub;
    CHECK_OK(zl_publisher_create(both, topic, &test_msg_type, NULL, &pub));
    CHECK_OK(zl_subscription_create(both, topic, &test_msg_type, NULL, &keep_last));
    CHECK(!zl_publisher_can_loan(pub)); /* loopback */
    CHECK_EQ(pub_apart(pub) + sub_apart(keep_last), 0);
    zl_subscription_options lossless;
    zl_subscription_options_init(&lossless);
    lossless.reliability = ZL_LOSSLESS;
    last_warning[0] = '\0';
    CHECK_OK(zl_subscription_create(both, topic, &test_msg_type, &lossless, &lossless_sub));
    CHECK(strstr(zl_last_error_detail(), "never meet") != NULL);
    CHECK(strstr(zl_last_error_detail(), "lossless") != NULL);
    CHECK(strstr(last_warning, "never meet") != NULL);
    CHECK_EQ(sub_apart(lossless_sub), 2);
    CHECK_EQ(pub_apart(pub), 1);
    CHECK_EQ(sub_apart(keep_last), 1);
    /* A publisher made after them goes where most are (loopback), and is
     * told that it never meets the lossless one on shm. */
    zl_publisher *late;
    last_warning[0] = '\0';
    CHECK_OK(zl_publisher_create(both, topic, &test_msg_type, NULL, &late));
    CHECK(strstr(zl_last_error_detail(), "never meet") != NULL);
    CHECK(strstr(zl_last_error_detail(), "on shm") != NULL);
    CHECK(strstr(last_warning, "never meet") != NULL);
    CHECK(strncmp(last_warning, "warning:", 8) != 0); /* the level says so */
    CHECK_EQ(pub_apart(late), 1);
    CHECK_OK(zl_publisher_destroy(late));
    publish(pub, 3, 1);
    CHECK_EQ(take_tag(keep_last), 3);
    CHECK_OK(zl_subscription_destroy(lossless_sub));
    CHECK_EQ(pub_apart(pub), 0); /* gone: nothing apart any more */
    CHECK_OK(zl_subscription_destroy(keep_last));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(both));
}

typedef struct mixed_peer {
    zl_publisher *shm_pub;
    zl_publisher *loopback_pub;
    zl_guard_condition *guard;
} mixed_peer;

/* Wakes the wait set three times, 50 ms apart: shm, loopback, guard. */
static void *mixed_wakes(void *arg)
{
    mixed_peer *p = arg;
    test_sleep_ms(50);
    publish(p->shm_pub, 1, 1);
    test_sleep_ms(50);
    publish(p->loopback_pub, 2, 1);
    test_sleep_ms(50);
    CHECK_OK(zl_guard_condition_trigger(p->guard));
    return NULL;
}

/* Waits until entry is ready (others not). Each wait must be woken before
 * its 20 s timeout: a missed wake-up sleeps it whole (not a timing
 * threshold: the wake-up comes within 50 ms). */
static void wait_for(zl_waitset *ws, size_t entry, size_t entries)
{
    size_t ready = 0;
    while (!zl_waitset_ready(ws, entry)) {
        int64_t started = test_now_ns();
        CHECK_OK(zl_waitset_wait(ws, 20 * 1000000000LL, &ready));
        CHECK(test_now_ns() - started < 20 * 1000000000LL);
    }
    for (size_t i = 0; i < entries; i++)
        CHECK_EQ(zl_waitset_ready(ws, i), i == entry);
}

/* One wait set over a loopback subscription (an eventfd), a shm one (futex
 * words) and a guard condition (a private futex word): each wakes it. */
static void case_mixed_waitset(void)
{
    const char *topic = test_topic("mixed");
    zl_context *shm = context_with("shm");
    zl_context *loopback = context_with("loopback");
    zl_subscription *shm_sub, *loopback_sub;
    CHECK_OK(zl_subscription_create(shm, topic, &test_msg_type, NULL, &shm_sub));
    CHECK_OK(zl_subscription_create(loopback, topic, &test_msg_type, NULL, &loopback_sub));
    mixed_peer peer;
    CHECK_OK(zl_publisher_create(shm, topic, &test_msg_type, NULL, &peer.shm_pub));
    CHECK_OK(zl_publisher_create(loopback, topic, &test_msg_type, NULL, &peer.loopback_pub));
    CHECK_OK(zl_guard_condition_create(shm, &peer.guard));
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(shm, 3, &ws));
    size_t shm_index, loopback_index, guard_index;
    CHECK_OK(zl_waitset_attach_subscription(ws, shm_sub, &shm_index));
    CHECK_OK(zl_waitset_attach_subscription(ws, loopback_sub, &loopback_index));
    CHECK_OK(zl_waitset_attach_guard_condition(ws, peer.guard, &guard_index));
    size_t ready;
    CHECK_RC(zl_waitset_wait(ws, 5 * 1000000, &ready), ZL_ETIMEOUT);
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, mixed_wakes, &peer), 0);
    wait_for(ws, shm_index, 3);
    CHECK_EQ(take_tag(shm_sub), 1);
    wait_for(ws, loopback_index, 3);
    CHECK_EQ(take_tag(loopback_sub), 2);
    wait_for(ws, guard_index, 3);
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_RC(zl_waitset_wait(ws, 5 * 1000000, &ready), ZL_ETIMEOUT);
    CHECK_OK(zl_waitset_destroy(ws));
    CHECK_OK(zl_guard_condition_destroy(peer.guard));
    CHECK_OK(zl_publisher_destroy(peer.shm_pub));
    CHECK_OK(zl_publisher_destroy(peer.loopback_pub));
    CHECK_OK(zl_subscription_destroy(shm_sub));
    CHECK_OK(zl_subscription_destroy(loopback_sub));
    CHECK_OK(zl_context_destroy(loopback));
    CHECK_OK(zl_context_destroy(shm));
}

int main(void)
{
    case_lists();
    case_fall_through();
    case_apart();
    case_mixed_waitset();
    return 0;
}
