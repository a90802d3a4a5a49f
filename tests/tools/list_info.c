/* `zloan topic list` and `zloan topic info -v` see the endpoints of three
 * processes (a publisher and two subscriptions), with their pids; a
 * subscription killed with -9 is shown DEAD while nobody has reclaimed it
 * (the survivors are stopped), and is gone once they run again.
 *   tool_list_info PEER TOOL */
#include <signal.h>

#include "process/spawn.h"
#include "tools/tool.h"

static char out[65536];

/* "pid <n> " as the tool prints it. */
static const char *pid_text(pid_t pid)
{
    static char text[4][32];
    static int next;
    char *t = text[next++ % 4];
    snprintf(t, 32, "pid %-7d", (int)pid);
    return t;
}

/* The line of the info output that names pid, or NULL. */
static const char *line_of(const char *text, pid_t pid)
{
    return strstr(text, pid_text(pid));
}

int main(int argc, char **argv)
{
    CHECK(argc == 3);
    const char *peer = argv[1], *tool = argv[2];
    const char *topic = test_topic("tool_list_info");
    peer_process pub, sub1, sub2;
    peer_start(&sub1, peer, "sub", topic, "1000000", "--timeout-ms", "60000", NULL);
    peer_start(&sub2, peer, "sub", topic, "1000000", "--timeout-ms", "60000", NULL);
    tool_track_child(sub1.pid);
    tool_track_child(sub2.pid);
    CHECK(peer_wait_for(&sub1, "ready"));
    CHECK(peer_wait_for(&sub2, "ready"));
    peer_start(&pub, peer, "pub", topic, "1", "1000000", "--interval-us", "20000", "--wait-subs",
               "2", NULL);
    tool_track_child(pub.pid);
    /* Until info sees all three. */
    int rc = 0;
    for (int i = 0; i < 500; i++) {
        rc = tool_run(tool, out, sizeof out, "topic info -v %s", topic);
        if (rc == 0 && count_of(out, " alive\n") == 3)
            break;
        sleep_ms(10);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(count_of(out, " alive\n"), 3);
    CHECK(line_of(out, pub.pid) != NULL && line_of(out, sub1.pid) != NULL &&
          line_of(out, sub2.pid) != NULL);
    CHECK(strstr(out, "Publishers: 1\nSubscriptions: 2\n") != NULL);
    CHECK(strstr(out, "zloan_test_peer") != NULL);

    /* 3 when another test's registry fails validation meanwhile (tests
     * share /dev/shm); ours must be listed all the same. */
    rc = tool_run(tool, out, sizeof out, "topic list -t -c");
    CHECK(rc == 0 || rc == 3);
    char expected[300];
    snprintf(expected, sizeof expected, "%s [test_msg] 1 publisher, 2 subscriptions\n", topic);
    if (strstr(out, expected) == NULL) {
        fprintf(stderr, "topic list printed:\n%s\nexpected a line: %s", out, expected);
        return 1;
    }
    CHECK_EQ(tool_run(tool, out, sizeof out, "--json topic info %s", topic), 0);
    CHECK_EQ(count_of(out, "\"alive\": true"), 3);

    /* Kill one subscription while the others cannot reclaim it. */
    kill(pub.pid, SIGSTOP);
    kill(sub1.pid, SIGSTOP);
    kill(sub2.pid, SIGKILL);
    CHECK_EQ(peer_finish(&sub2), 128 + SIGKILL);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v %s", topic), 0);
    const char *dead = line_of(out, sub2.pid);
    CHECK(dead != NULL);
    CHECK(strncmp(strchr(dead, '\n') - 4, "DEAD", 4) == 0);
    CHECK_EQ(count_of(out, " alive\n"), 2);

    /* The survivors run again and reclaim it: it is gone. */
    kill(pub.pid, SIGCONT);
    kill(sub1.pid, SIGCONT);
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(tool_run(tool, out, sizeof out, "topic info -v %s", topic), 0);
        if (line_of(out, sub2.pid) == NULL)
            break;
        sleep_ms(10);
    }
    CHECK(line_of(out, sub2.pid) == NULL);
    CHECK_EQ(count_of(out, " alive\n"), 2);
    CHECK(strstr(out, "Subscriptions: 1\n") != NULL);

    kill(pub.pid, SIGKILL);
    kill(sub1.pid, SIGKILL);
    peer_finish(&pub);
    peer_finish(&sub1);
    zl_context *ctx; /* its sweep removes what the killed peers left */
    CHECK_OK(zl_context_create(NULL, &ctx));
    CHECK_OK(zl_context_destroy(ctx));
    printf("tool_list_info: ok\n");
    return 0;
}
