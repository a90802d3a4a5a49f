/* A departed publisher's pool lingers for a subscription that still has its
 * messages queued; when that subscription is killed (-9) and reaped by a
 * survivor, the pool goes at once, not when the topic's last user leaves. */
#include "crash.h"
#include "peer.h"

/* Pools (control objects; each has segments beside it). */
static int pools(const char *needle)
{
    return crash_shm_pools(needle);
}

/* Pool objects: control objects and their segments. */
static int pool_objects(const char *needle)
{
    char pool_needle[300];
    snprintf(pool_needle, sizeof pool_needle, "%s:p", needle);
    return crash_shm_usage(pool_needle, NULL);
}

static int queues(const char *needle)
{
    char queue_needle[300];
    snprintf(queue_needle, sizeof queue_needle, "%s:s", needle);
    return crash_shm_usage(queue_needle, NULL);
}

int main(void)
{
    const char *topic = test_topic("linger_reap");
    char needle[256];
    crash_shm_needle(topic, needle, sizeof needle);

    /* The subscription, in a child forked before this process uses zloan. */
    int report[2];
    CHECK(pipe(report) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(report[0]);
        zl_context *context;
        zl_subscription *sub;
        CHECK_OK(zl_context_create(NULL, &context));
        CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
        crash_write_line(report[1], "ready\n");
        for (;;)
            pause(); /* takes nothing: its queue keeps the messages */
    }
    close(report[1]);
    char line[64];
    CHECK(crash_read_line(report[0], line, sizeof line, 10000) >= 0);
    CHECK(strcmp(line, "ready") == 0);

    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    /* The survivor: a second publisher that stays on the topic. */
    zl_publisher *survivor;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &survivor));
    int survivor_objects = pool_objects(needle); /* it lends nothing: no growth */
    zl_publisher *leaving;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &leaving));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(leaving, &stats));
    CHECK_EQ(stats.subscriptions, 1);
    for (uint64_t i = 1; i <= 5; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(leaving, &loan));
        test_msg_fill(loan, 1, i);
        CHECK_OK(zl_publisher_publish_loan(leaving, loan));
    }
    CHECK_OK(zl_publisher_destroy(leaving));
    /* Its pool stays for the subscription, beside the survivor's. */
    CHECK_EQ(pools(needle), 2);

    crash_kill_wait(child);
    /* The survivor reaps the dead subscription (its queue goes); the
     * deadline bounds the wait for the liveness check, nothing is timed. */
    int64_t deadline = test_now_ns() + 10000000000LL;
    while (queues(needle) != 0 && test_now_ns() < deadline) {
        CHECK_OK(zl_publisher_update_connections(survivor));
        test_sleep_ms(5);
    }
    CHECK_EQ(queues(needle), 0);
    printf("pools of the topic after the reap: %d (the survivor's)\n", pools(needle));
    CHECK_EQ(pools(needle), 1);
    CHECK_EQ(pool_objects(needle), survivor_objects); /* segments gone too */

    /* A new context (which sweeps) changes nothing for the survivor. */
    zl_context *again;
    CHECK_OK(zl_context_create(NULL, &again));
    CHECK_EQ(pools(needle), 1);
    CHECK_OK(zl_context_destroy(again));
    CHECK_OK(zl_publisher_destroy(survivor));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(crash_shm_usage(needle, NULL), 0);
    return 0;
}
