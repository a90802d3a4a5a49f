/* The zloan tool with a sized type (issue 22 item 8): `topic echo` adopts
 * it and prints the fixed part's fields, then the tail's elements (the
 * message's count of them); `topic pub` fills the fixed part and the tail
 * (`points=[...]` gives the count) and a C subscription receives exactly
 * that; `topic info` (text and --json) and zl_introspection_topic_info()
 * give the element size, the maximum count and that the type is sized.
 *   tool_sized_echo_pub TOOL */
#include <signal.h>

#include "tools/tool.h"

typedef struct {
    uint64_t stamp;
    uint32_t frame;
    uint16_t data[];
} trace;

static const zl_field trace_fields[] = {
    ZL_FIELD(trace, U64, stamp),
    ZL_FIELD(trace, U32, frame),
    ZL_FIELD_TAIL(trace, U16, data),
};

static zl_type trace_type(void)
{
    zl_type t = ZL_TYPE_SIZED(trace, data, 20);
    t.fields = trace_fields;
    t.field_count = sizeof trace_fields / sizeof trace_fields[0];
    return t;
}

static char out[65536];

/* Waits up to 10 s for one message; exit 0 when it is the one `pub` sends
 * (stamp=9 frame=3 data=[1,2,65535]). */
static void receive(const char *topic, int ready)
{
    zl_type type = trace_type();
    zl_context *ctx;
    zl_subscription *sub;
    if (zl_context_create(NULL, &ctx) != 0 ||
        zl_subscription_create(ctx, topic, &type, NULL, &sub) != 0)
        _exit(2);
    if (write(ready, "x", 1) != 1)
        _exit(2);
    for (int i = 0; i < 10000; i++) {
        const void *m;
        zl_message_info mi;
        if (zl_subscription_take_loan(sub, &m, &mi) == 0) {
            const trace *t = m;
            bool ok = mi.count == 3 && t->stamp == 9 && t->frame == 3 && t->data[0] == 1 &&
                      t->data[1] == 2 && t->data[2] == 65535;
            if (!ok)
                fprintf(stderr, "received count %zu stamp %llu frame %u\n", mi.count,
                        (unsigned long long)t->stamp, t->frame);
            zl_subscription_return_loan(sub, m);
            zl_subscription_destroy(sub);
            zl_context_destroy(ctx);
            _exit(ok ? 0 : 1);
        }
        sleep_ms(1);
    }
    _exit(3);
}

/* Publishes a message of 5 elements every millisecond until killed. */
static void publish(const char *topic)
{
    zl_type type = trace_type();
    zl_context *ctx;
    zl_publisher *pub;
    if (zl_context_create(NULL, &ctx) != 0 ||
        zl_publisher_create(ctx, topic, &type, NULL, &pub) != 0)
        _exit(2);
    for (;;) {
        void *m;
        if (zl_publisher_loan_sized(pub, 5, &m) == 0) {
            trace *t = m;
            t->stamp = 77;
            t->frame = 4;
            for (uint16_t i = 0; i < 5; i++)
                t->data[i] = (uint16_t)(100 + i);
            if (zl_publisher_publish_loan_sized(pub, m, 5) != 0)
                _exit(2);
        }
        sleep_ms(1);
    }
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];
    char topic[128], topic2[128];
    snprintf(topic, sizeof topic, "%s", test_topic("tool_sized_echo"));
    snprintf(topic2, sizeof topic2, "%s", test_topic("tool_sized_pub"));
    zl_type type = trace_type();

    /* echo: the fixed part's fields, then the tail's elements. */
    pid_t talker = fork();
    CHECK(talker >= 0);
    if (talker == 0)
        publish(topic);
    tool_track_child(talker);
    sleep_ms(300);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic echo --once --timeout 10 %s", topic), 0);
    printf("%s", out);
    CHECK_EQ(count_of(out, "stamp: 77\n"), 1);
    CHECK_EQ(count_of(out, "frame: 4\n"), 1);
    CHECK_EQ(count_of(out, "data: [100, 101, 102, 103, 104]\n"), 1);
    CHECK_EQ(count_of(out, "mismatch"), 0);
    CHECK_EQ(tool_run(tool, out, sizeof out, "--json topic echo --once --timeout 10 %s", topic),
             0);
    printf("%s", out);
    CHECK_EQ(count_of(out, "{\"stamp\": 77, \"frame\": 4, \"data\": [100, 101, 102, 103, 104]}"),
             1);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic echo --once --timeout 10 --field data %s",
                      topic), 0);
    CHECK_EQ(count_of(out, "[100, 101, 102, 103, 104]\n"), 1);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic echo --once --timeout 10 --field data[4] %s",
                      topic), 0);
    CHECK_EQ(count_of(out, "104\n"), 1);

    /* info: element size, maximum count, sized, from the API and the tool. */
    zl_topic_info *info = malloc(sizeof *info);
    CHECK(info != NULL);
    CHECK_OK(zl_introspection_topic_info(0, topic, info));
    CHECK(info->sized);
    CHECK_EQ(info->element_size, 2);
    CHECK_EQ(info->max_count, 20);
    CHECK_EQ(info->type_size, type.size);
    CHECK_EQ(info->alignment, _Alignof(trace));
    free(info);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic info %s", topic), 0);
    printf("%s", out);
    CHECK_EQ(count_of(out, "Tail: data, u16 elements of 2 bytes, at most 20\n"), 1);
    CHECK_EQ(tool_run(tool, out, sizeof out, "--json topic info %s", topic), 0);
    printf("%s", out);
    CHECK_EQ(count_of(out, "\"sized\": true, \"element_size\": 2, \"max_count\": 20"), 1);
    kill(talker, SIGKILL);
    waitpid(talker, NULL, 0);

    /* pub: fixed part and tail from FIELD=VALUE; a C subscription gets it. */
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t listener = fork();
    CHECK(listener >= 0);
    if (listener == 0)
        receive(topic2, ready[1]);
    tool_track_child(listener);
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic pub %s stamp=9 frame=3 data=[1,2,65535]",
                      topic2), 0);
    printf("%s", out);
    int status;
    CHECK(waitpid(listener, &status, 0) == listener);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* pub refuses a tail longer than max_count, and a bad element, naming it. */
    zl_context *ctx;
    zl_subscription *keep_topic;
    CHECK_OK(zl_context_create(NULL, &ctx));
    CHECK_OK(zl_subscription_create(ctx, topic2, &type, NULL, &keep_topic));
    CHECK_EQ(tool_run(tool, out, sizeof out,
                      "topic pub %s data=[0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0]", topic2),
             2);
    printf("%s", out);
    CHECK_EQ(count_of(out, "data: 21 elements, more than the type's maximum of 20"), 1);
    CHECK_EQ(tool_run(tool, out, sizeof out, "topic pub %s data=[1,70000]", topic2), 2);
    printf("%s", out);
    CHECK_EQ(count_of(out, "data: '70000' is not a u16"), 1);
    CHECK_OK(zl_subscription_destroy(keep_topic));
    CHECK_OK(zl_context_destroy(ctx));
    printf("ok\n");
    return 0;
}
