/* The tools do not disturb a topic: a publisher and a subscription in two
 * processes exchange the same messages, and the subscription counts the
 * same received and lost, whether or not every read-only command (list,
 * info -v, hz, bw, pool, doctor) runs against the topic meanwhile.
 *   tool_undisturbed PEER TOOL */
#include <signal.h>

#include "process/spawn.h"
#include "tools/tool.h"

/* With a deep queue and a budget to match, the subscription loses nothing
 * even on a loaded machine (it would have to stall for over a second), so
 * the counts are exact in both runs and any difference is the tools'. */
#define COUNT "300"

static char out[65536];

/* One run; with tools, a child runs them in a loop until told to stop. */
static void run(const char *peer, const char *tool, const char *topic, bool tools,
                long *received, long *lost)
{
    peer_process sub, pub;
    peer_start(&sub, peer, "sub", topic, COUNT, "--exact", "--depth", "256", "--timeout-ms",
               "30000", NULL);
    tool_track_child(sub.pid);
    CHECK(peer_wait_for(&sub, "ready"));
    pid_t watcher = -1;
    if (tools) {
        watcher = fork();
        CHECK(watcher >= 0);
        if (watcher == 0) {
            for (;;) {
                int rc = tool_run(tool, out, sizeof out, "topic info -v %s", topic) |
                         tool_run(tool, out, sizeof out, "topic list -c") |
                         tool_run(tool, out, sizeof out, "topic hz %s --duration 0.2", topic) |
                         tool_run(tool, out, sizeof out, "topic bw %s --duration 0.2", topic) |
                         tool_run(tool, out, sizeof out, "pool");
                tool_run(tool, out, sizeof out, "doctor");
                if (rc != 0 && rc != 3) /* 3: the topic is gone (the run ended) */
                    _exit(1);
            }
        }
        tool_track_child(watcher);
        sleep_ms(100);
    }
    peer_start(&pub, peer, "pub", topic, "1", COUNT, "--interval-us", "5000", "--wait-subs",
               "1", "--budget", "300", NULL);
    tool_track_child(pub.pid);
    CHECK_EQ(peer_finish(&pub), 0);
    CHECK_EQ(peer_finish(&sub), 0);
    long bad;
    peer_counts(&sub, received, lost, &bad);
    CHECK_EQ(bad, 0);
    if (tools) {
        kill(watcher, SIGKILL);
        int status;
        waitpid(watcher, &status, 0);
        CHECK(WIFSIGNALED(status)); /* it never exited on a crash of a tool */
    }
}

int main(int argc, char **argv)
{
    CHECK(argc == 3);
    long received_alone, lost_alone, received_watched, lost_watched;
    run(argv[1], argv[2], test_topic("tool_alone"), false, &received_alone, &lost_alone);
    run(argv[1], argv[2], test_topic("tool_watched"), true, &received_watched, &lost_watched);
    printf("alone: received %ld lost %ld; with the tools: received %ld lost %ld\n",
           received_alone, lost_alone, received_watched, lost_watched);
    CHECK_EQ(received_alone, atol(COUNT));
    CHECK_EQ(received_watched, received_alone);
    CHECK_EQ(lost_watched, lost_alone);
    printf("tool_undisturbed: ok\n");
    return 0;
}
