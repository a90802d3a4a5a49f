/* Leftovers (docs/design.md I5): kill -9 every participant of a topic, then start
 * again; the start (context creation) removes what they left. Over many
 * cycles (default 1000, or argv[1]) neither the number of the topic's objects
 * in /dev/shm nor the memory they use grows: after each start both are zero.
 *
 * Half of the cycles kill at a random moment, often in the middle of creating
 * a registry, a pool or a queue (before the segment is registered), which
 * leaves objects no slot names. The other half wait until the peers are
 * connected and hold loans and queued messages, then either kill them or
 * make them call exit() without destroying anything (one cycle in four). */
#include <sys/prctl.h>

#include "crash.h"
#include "peer.h"

/* Peers that exit() leave their endpoints undestroyed on purpose. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }

static volatile sig_atomic_t exit_now;

static void on_usr1(int signal_number)
{
    (void)signal_number;
    exit_now = 1;
}

static void publisher_child(const char *topic, int report_fd)
{
    zl_context *context;
    zl_publisher *publisher;
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    options.history = 2;
    if (zl_context_create(NULL, &context) != 0 ||
        zl_publisher_create(context, topic, &test_msg_type, &options, &publisher) != 0)
        _exit(2);
    void *held;
    if (zl_publisher_loan(publisher, &held) != 0)
        _exit(2);
    bool reported = false;
    for (uint64_t sequence = 1;; sequence++) {
        void *loan;
        if (zl_publisher_loan(publisher, &loan) == 0) {
            test_msg_fill(loan, 1, sequence);
            zl_publisher_publish_loan(publisher, loan);
        }
        zl_publisher_stats stats;
        zl_publisher_get_stats(publisher, &stats);
        if (!reported && sequence > 4) {
            crash_write_line(report_fd, "ready\n");
            reported = true;
        }
        if (exit_now)
            exit(0); /* mid-flight: a loan held, nothing destroyed */
        test_sleep_ms(1);
    }
}

static void subscription_child(const char *topic, int report_fd)
{
    zl_context *context;
    zl_subscription *subscription;
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.depth = 4;
    options.history = true;
    if (zl_context_create(NULL, &context) != 0 ||
        zl_subscription_create(context, topic, &test_msg_type, &options, &subscription) != 0)
        _exit(2);
    int held = 0;
    for (;;) {
        const void *loan;
        if (held < 2 && zl_subscription_take_loan(subscription, &loan, NULL) == 0 && ++held == 2)
            crash_write_line(report_fd, "ready\n");
        if (exit_now)
            exit(0);
        test_sleep_ms(1);
    }
}

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? atoi(argv[1]) : 1000;
    const char *topic = test_topic("crash_leftovers");
    char needle[160];
    crash_shm_needle(topic, needle, sizeof needle);
    srand((unsigned)getpid());
    int max_left = 0, full_cycles = 0;
    for (int cycle = 0; cycle < cycles; cycle++) {
        int pipe_fds[2];
        CHECK(pipe(pipe_fds) == 0);
        int publishers = 1 + rand() % 2, subscriptions = rand() % 3;
        bool wait_ready = cycle % 2 == 0;
        pid_t pids[4];
        int n = 0;
        for (int i = 0; i < publishers + subscriptions; i++) {
            pid_t pid = fork();
            CHECK(pid >= 0);
            if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
                signal(SIGUSR1, on_usr1);
                close(pipe_fds[0]);
                if (i < publishers)
                    publisher_child(topic, pipe_fds[1]);
                else
                    subscription_child(topic, pipe_fds[1]);
            }
            pids[n++] = pid;
        }
        close(pipe_fds[1]);
        if (wait_ready) {
            char line[32];
            for (int i = 0; i < n; i++)
                if (crash_read_line(pipe_fds[0], line, sizeof line, 10000) < 0) {
                    fprintf(stderr, "cycle %d: a peer did not get ready\n", cycle);
                    return 1;
                }
        } else {
            struct timespec ts = {0, (long)(rand() % 3000) * 1000};
            nanosleep(&ts, NULL);
        }
        /* Signal everybody first, then wait: the last ones alive may still
         * reap the first ones' slots (that is their job), but nobody is
         * left to remove the registry. */
        bool by_exit = cycle % 4 == 2;
        for (int i = 0; i < n; i++)
            kill(pids[i], by_exit ? SIGUSR1 : SIGKILL);
        for (int i = 0; i < n; i++) {
            if (by_exit) {
                test_wait_child_ok(pids[i], "peer told to exit()");
            } else {
                int status;
                while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
                }
            }
        }
        close(pipe_fds[0]);
        int left = crash_shm_usage(needle, NULL);
        int segments = crash_shm_segments(needle);
        /* Usually the registry, a pool per publisher (its control object and
         * at least one segment) and a queue per subscription are left. Not
         * always: a sweep by any other zloan process starting meanwhile
         * (other tests) removes them too. */
        if (wait_ready && left - segments == 1 + publishers + subscriptions &&
            segments >= publishers)
            full_cycles++;
        if (left > max_left)
            max_left = left;

        /* The next start. Another zloan process sweeping at the same moment
         * (other tests running in parallel) holds the registry's locks for a
         * moment and makes our sweep leave it to them: look again briefly. */
        uint64_t bytes = 0;
        int count = 0;
        for (int attempt = 0; attempt < 100; attempt++) {
            zl_context *context;
            CHECK_OK(zl_context_create(NULL, &context));
            count = crash_shm_usage(needle, &bytes);
            CHECK_OK(zl_context_destroy(context));
            if (count == 0 && bytes == 0)
                break;
            test_sleep_ms(10);
        }
        if (count != 0 || bytes != 0) {
            fprintf(stderr, "cycle %d: %d objects (%llu bytes) left after a start\n", cycle,
                    count, (unsigned long long)bytes);
            return 1;
        }
    }
    /* Otherwise the test proved nothing. */
    CHECK(full_cycles > 0);
    printf("%d cycles (%d with exit()): up to %d objects left by dead peers (all of them in %d "
           "cycles), none after each start\n",
           cycles, (cycles + 1) / 4, max_left, full_cycles);
    return 0;
}
