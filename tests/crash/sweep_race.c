/* The sweep runs while endpoints are being created: it must never take a
 * segment whose endpoint is alive (or about to register it) for an orphan.
 * A child sweeps in a tight loop; meanwhile this process creates publishers
 * and subscriptions over and over, and every pair must connect and exchange
 * a message, with the topic's objects all present. A sweep that removed a
 * queue or a pool between its creation and its registration would leave a
 * subscription no publisher can reach (sweep.c rule C, docs/design.md G6). */
#include <sys/prctl.h>

#include "crash.h"
#include "mw.h"
#include "peer.h"

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? atoi(argv[1]) : 500;
    const char *topic = test_topic("crash_sweep_race");
    char needle[160];
    crash_shm_needle(topic, needle, sizeof needle);
    pid_t sweeper = fork();
    CHECK(sweeper >= 0);
    if (sweeper == 0) {
        /* Never outlive the test, even when a CHECK ends it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(0);
        for (;;)
            zl__shm_ops.sweep();
    }
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    for (int cycle = 0; cycle < cycles; cycle++) {
        zl_publisher *publisher;
        zl_subscription *subscription;
        /* Alternate who comes first, so both kinds are created while the
         * registry is in use. */
        if (cycle % 2 == 0) {
            CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &publisher));
            CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &subscription));
        } else {
            CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &subscription));
            CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &publisher));
        }
        zl_publisher_stats stats;
        int64_t deadline = test_now_ns() + 5000000000LL;
        do {
            CHECK_OK(zl_publisher_get_stats(publisher, &stats));
            if (stats.subscriptions == 1)
                break;
            test_sleep_ms(1);
        } while (test_now_ns() < deadline);
        if (stats.subscriptions != 1) {
            fprintf(stderr, "cycle %d: the publisher never reached the subscription (%d objects "
                            "of the topic in /dev/shm)\n",
                    cycle, crash_shm_usage(needle, NULL));
            crash_kill_wait(sweeper);
            return 1;
        }
        CHECK_EQ(crash_shm_usage(needle, NULL), 4); /* registry, pool and its first segment, queue */
        test_msg m;
        test_msg_fill(&m, 1, (uint64_t)cycle + 1);
        CHECK_OK(zl_publisher_publish(publisher, &m));
        const void *loan;
        CHECK_OK(zl_subscription_take_loan(subscription, &loan, NULL));
        CHECK(test_msg_valid(loan));
        CHECK_OK(zl_subscription_return_loan(subscription, loan));
        CHECK_OK(zl_subscription_destroy(subscription));
        CHECK_OK(zl_publisher_destroy(publisher));
    }
    crash_kill_wait(sweeper);
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(crash_shm_usage(needle, NULL), 0);
    printf("%d cycles with a sweep running all along\n", cycles);
    return 0;
}
