/* `zloan topic hz` reads the rate from the shared counters (it never
 * subscribes) and agrees, within 10 %, with the rate the publisher measured
 * itself over the same messages; `topic bw` reports the message size.
 *   tool_hz TOOL */
#include <fcntl.h>
#include <signal.h>

#include "peer.h"
#include "tools/tool.h"

static char out[65536];

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Publishes at about 100 Hz until killed; writes its own measured rate
 * (messages - 1 over the time from the first to the last) to fd after each
 * message. */
static void publish(const char *topic, int fd)
{
    zl_context *ctx;
    zl_publisher *pub;
    if (zl_context_create(NULL, &ctx) != 0 ||
        zl_publisher_create(ctx, topic, &test_msg_type, NULL, &pub) != 0)
        _exit(2);
    int64_t first = 0;
    for (uint64_t n = 1;; n++) {
        test_msg m;
        test_msg_fill(&m, 1, n);
        if (zl_publisher_publish(pub, &m) != 0)
            _exit(3);
        int64_t t = now_ns();
        if (n == 1)
            first = t;
        else {
            double rate = (double)(n - 1) / ((double)(t - first) * 1e-9);
            if (write(fd, &rate, sizeof rate) != sizeof rate)
                _exit(4);
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];
    const char *topic = test_topic("tool_hz");
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(fds[0]);
        publish(topic, fds[1]);
    }
    tool_track_child(child);
    close(fds[1]);
    double rate = 0;
    CHECK_EQ(read(fds[0], &rate, sizeof rate), (long)sizeof rate); /* it runs */
    CHECK_EQ(tool_run(tool, out, sizeof out, "--json topic hz %s --duration 3", topic), 0);
    /* The publisher's own figure, as it stands now (a mean since its start). */
    CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
    while (read(fds[0], &rate, sizeof rate) == sizeof rate) {
    }
    const char *last = NULL;
    for (const char *at = strstr(out, "\"rate_hz\": "); at != NULL; at = strstr(at + 1, "\"rate_hz\": "))
        last = at;
    CHECK(last != NULL);
    double measured = strtod(last + strlen("\"rate_hz\": "), NULL);
    printf("publisher measured %.2f Hz, zloan topic hz %.2f Hz\n", rate, measured);
    if (measured < rate * 0.9 || measured > rate * 1.1) {
        fprintf(stderr, "zloan topic hz said %.2f Hz, the publisher %.2f Hz:\n%s", measured,
                rate, out);
        return 1;
    }
    CHECK_EQ(tool_run(tool, out, sizeof out, "--json topic bw %s --duration 1", topic), 0);
    char size[64];
    snprintf(size, sizeof size, "\"mean_bytes\": %zu.0", sizeof(test_msg));
    CHECK(strstr(out, size) != NULL);
    /* As text: in the unit that keeps the figure from 1 to 1000 (a few
     * KB/s here, not 0.00 MB/s). */
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic bw %s --duration 1", topic), 0);
    const char *figure = strstr(out, ": ");
    CHECK(figure != NULL);
    char unit[8] = "";
    double value = 0;
    CHECK(sscanf(figure + 2, "%lf %7s", &value, unit) == 2);
    printf("zloan topic bw: %.2f %s\n", value, unit);
    CHECK(value >= 1.0 && value < 1000.0);
    CHECK(strcmp(unit, "B/s") == 0 || strcmp(unit, "KB/s") == 0 || strcmp(unit, "MB/s") == 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    zl_context *ctx; /* its sweep removes what the killed publisher left */
    CHECK_OK(zl_context_create(NULL, &ctx));
    CHECK_OK(zl_context_destroy(ctx));
    printf("tool_hz: ok\n");
    return 0;
}
