/* `zloan topic pub` fills a described type from FIELD=VALUE arguments and
 * reaches a C subscription; `zloan topic echo` adopts a topic's described
 * type and decodes its messages (all fields, or one with --field).
 *   tool_echo_pub TOOL */
#include <signal.h>

#include "tools/tool.h"

struct pose {
    uint32_t width;
    double pose[3];
    char label[8];
};

static const zl_field pose_fields[] = {
    ZL_FIELD(struct pose, U32, width),
    ZL_FIELD(struct pose, F64, pose),
    ZL_FIELD(struct pose, CHAR, label),
};
static const zl_type pose_type = ZL_TYPE_DESCRIBED(struct pose, pose_fields);

static char out[65536];

/* Waits up to 10 s for one message; exit 0 when it is the one `pub` sends. */
static void receive(const char *topic, int ready)
{
    zl_context *ctx;
    zl_subscription *sub;
    if (zl_context_create(NULL, &ctx) != 0 ||
        zl_subscription_create(ctx, topic, &pose_type, NULL, &sub) != 0)
        _exit(2);
    if (write(ready, "x", 1) != 1)
        _exit(2);
    for (int i = 0; i < 10000; i++) {
        struct pose p;
        if (zl_subscription_take(sub, &p, NULL) == 0) {
            bool ok = p.width == 7 && p.pose[0] == 1.0 && p.pose[1] == 2.5 && p.pose[2] == -3.0 &&
                      strcmp(p.label, "hi") == 0;
            if (!ok)
                fprintf(stderr, "received width %u pose %g %g %g label '%.8s'\n", p.width,
                        p.pose[0], p.pose[1], p.pose[2], p.label);
            zl_subscription_destroy(sub);
            zl_context_destroy(ctx);
            _exit(ok ? 0 : 1);
        }
        sleep_ms(1);
    }
    _exit(3);
}

static void publish(const char *topic)
{
    zl_context *ctx;
    zl_publisher *pub;
    if (zl_context_create(NULL, &ctx) != 0 ||
        zl_publisher_create(ctx, topic, &pose_type, NULL, &pub) != 0)
        _exit(2);
    struct pose p = {.width = 42, .pose = {0.5, 1, 1.5}, .label = "echo"};
    for (;;) {
        if (zl_publisher_publish(pub, &p) != 0)
            _exit(3);
        sleep_ms(10);
    }
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];

    /* pub -> a C subscription in another process. */
    const char *topic = test_topic("tool_pub");
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0)
        receive(topic, fds[1]);
    tool_track_child(child);
    char byte;
    CHECK_EQ(read(fds[0], &byte, 1), 1);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic pub %s width=7 'pose=[1,2.5,-3]' label=hi",
                      topic),
             0);
    int status;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);

    /* echo: decoded fields from a C publisher. */
    topic = test_topic("tool_echo");
    child = fork();
    CHECK(child >= 0);
    if (child == 0)
        publish(topic);
    tool_track_child(child);
    int rc = 3;
    for (int i = 0; i < 200 && rc == 3; i++) { /* until the topic exists */
        rc = tool_run(tool, out, sizeof out, "topic echo %s --once --timeout 5", topic);
        if (rc == 3)
            sleep_ms(10);
    }
    CHECK_EQ(rc, 0);
    if (strstr(out, "width: 42\npose: [0.5, 1, 1.5]\nlabel: \"echo\"\n") == NULL) {
        fprintf(stderr, "echo printed:\n%s", out);
        return 1;
    }
    /* A field the type does not have: a usage error, nothing published. */
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic pub %s height=1", topic), 2);
    CHECK(strstr(out, "no field height") != NULL);
    /* A value the field cannot hold: a usage error naming the field (issue 22 item 7). */
    static const char *const bad[][2] = {
        {"width=-1", "width"}, {"width=4294967296", "width"}, {"label=12345678", "label"},
        {"'pose=[1,2,3,4]'", "pose"}, {"'pose=[1,2'", "unmatched bracket"},
        {"pose=1,2]", "unmatched bracket"}, {"pose[0]=1e400", "pose[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int bad_rc = tool_run(tool, out, sizeof out, "topic pub %s %s", topic, bad[i][0]);
        if (bad_rc != 2 || strstr(out, bad[i][1]) == NULL) {
            fprintf(stderr, "pub %s exited with %d and printed:\n%s", bad[i][0], bad_rc, out);
            return 1;
        }
    }
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic echo %s --once --field width --timeout 5",
                      topic),
             0);
    CHECK(strcmp(out, "42\n") == 0);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic echo %s --once --field pose[2] --timeout 5",
                      topic),
             0);
    CHECK(strcmp(out, "1.5\n") == 0);
    CHECK_EQ(tool_run(tool, out, sizeof out, "--json topic echo %s --once --timeout 5", topic),
             0);
    CHECK(strstr(out, "{\"width\": 42, \"pose\": [0.5, 1, 1.5], \"label\": \"echo\"}") != NULL);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    zl_context *ctx; /* its sweep removes what the killed publisher left */
    CHECK_OK(zl_context_create(NULL, &ctx));
    CHECK_OK(zl_context_destroy(ctx));
    printf("tool_echo_pub: ok\n");
    return 0;
}
