/* A lossless subscription killed with -9 while its full queue holds a
 * publisher back releases that publisher: the blocked publish returns 0
 * once the death is noticed (the liveness monitor's generation bump, or
 * the publisher's own lock test without it), long before its
 * max_blocking_time of 60 s, and the dead subscription's chunks come back.
 * Prints the time from the kill to the publish's return (not asserted:
 * bench/zloan_bench_lossless measures it). */
#include <pthread.h>

#include "harness.h"
#include "peer.h"

typedef struct killer {
    pid_t pid;
    int64_t killed_at;
} killer;

static void *kill_later(void *arg)
{
    killer *k = arg;
    test_sleep_ms(100);
    k->killed_at = test_now_ns();
    CHECK(kill(k->pid, SIGKILL) == 0);
    return NULL;
}

static void subscriber(const char *topic, int ready_fd)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_subscription_options sopts;
    zl_subscription_options_init(&sopts);
    sopts.depth = 2;
    sopts.reliability = ZL_LOSSLESS;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &sopts, &sub));
    CHECK(write(ready_fd, "r", 1) == 1);
    for (;;)
        pause(); /* never takes: the queue fills */
}

int main(void)
{
    const char *topic = test_topic("lossless_kill");
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(fds[0]);
        subscriber(topic, fds[1]);
    }
    close(fds[1]);
    char byte;
    CHECK(read(fds[0], &byte, 1) == 1);

    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher_options popts;
    zl_publisher_options_init(&popts);
    popts.max_blocking_time_ns = 60 * 1000000000LL;
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, &popts, &pub));
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.subscriptions, 1);
    uint32_t chunks = stats.chunks_total;
    for (uint64_t i = 1; i <= 2; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(pub, &loan));
        test_msg_fill(loan, 1, i);
        CHECK_OK(zl_publisher_publish_loan(pub, loan));
    }
    killer k = {child, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, kill_later, &k) == 0);
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    test_msg_fill(loan, 1, 3);
    /* Blocks on the full queue until the death is noticed. */
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    int64_t returned_at = test_now_ns();
    CHECK(pthread_join(thread, NULL) == 0);
    int status;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.subscriptions, 0);
    CHECK_EQ(stats.blocked, 1);
    CHECK_EQ(stats.timeouts, 0);
    CHECK_EQ(stats.chunks_free, chunks); /* what the dead one had queued came back */
    printf("publisher released %.1f ms after the kill\n", (double)(returned_at - k.killed_at) / 1e6);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
