/* A process with a subscription forks a child that does not exec (a worker)
 * and is then killed; the child lives on. The publisher must still reclaim
 * what the dead subscription held: the child must not keep the parent's
 * liveness locks (they belong to open file descriptions, which fork shares;
 * see src/shm/discovery.c). */
#include <sys/prctl.h>

#include "crash.h"
#include "peer.h"

int main(void)
{
    const char *topic = test_topic("crash_fork_child");
    int ready[2], alive[2];
    CHECK(pipe(ready) == 0 && pipe(alive) == 0);
    pid_t parent = fork();
    CHECK(parent >= 0);
    if (parent == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        zl_context *context;
        zl_subscription *subscription;
        zl_subscription_options options;
        zl_subscription_options_init(&options);
        options.depth = 8;
        CHECK_OK(zl_context_create(NULL, &context));
        CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, &options, &subscription));
        int held = 0;
        while (held < 2) {
            const void *loan;
            int rc = zl_subscription_take_loan(subscription, &loan, NULL);
            if (rc == 0)
                held++;
            else
                test_sleep_ms(1);
        }
        /* A worker that outlives us: it sleeps until the test ends. */
        pid_t worker = fork();
        CHECK(worker >= 0);
        if (worker == 0) {
            /* Lives until the test process ends (its end of `alive` closes). */
            close(alive[1]);
            crash_write_line(ready[1], "w\n");
            char c;
            while (read(alive[0], &c, 1) != 0) {
            }
            _exit(0);
        }
        crash_write_line(ready[1], "s\n");
        for (;;)
            pause();
    }
    close(ready[1]);
    close(alive[0]);
    zl_context *context;
    zl_publisher *publisher;
    CHECK_OK(zl_context_create(NULL, &context));
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &publisher));
    char line[8];
    int lines = 0;
    uint64_t sequence = 0;
    while (lines < 2) {
        void *loan;
        CHECK_OK(zl_publisher_loan(publisher, &loan));
        test_msg_fill(loan, 1, ++sequence);
        CHECK_OK(zl_publisher_publish_loan(publisher, loan));
        struct pollfd p = {ready[0], POLLIN, 0};
        if (poll(&p, 1, 1) == 1) {
            CHECK(crash_read_line(ready[0], line, sizeof line, 1000) >= 0);
            lines++;
        }
    }
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(publisher, &stats));
    CHECK(stats.chunks_free < stats.chunks_total); /* the subscription holds chunks */
    crash_kill_wait(parent); /* the worker lives on */
    int64_t deadline = test_now_ns() + 5000000000LL;
    do {
        test_sleep_ms(5);
        CHECK_OK(zl_publisher_get_stats(publisher, &stats));
    } while (stats.chunks_free != stats.chunks_total && test_now_ns() < deadline);
    CHECK_EQ(stats.chunks_free, stats.chunks_total);
    CHECK_EQ(stats.subscriptions, 0);
    CHECK_OK(zl_publisher_destroy(publisher));
    CHECK_OK(zl_context_destroy(context));
    char needle[160];
    crash_shm_needle(topic, needle, sizeof needle);
    CHECK_EQ(crash_shm_usage(needle, NULL), 0);
    printf("the dead subscription's chunks came back while its forked worker lives\n");
    return 0;
}
