/* rmw_zloan test — an rclc talker and an rclc listener in two processes
 * exchange std_msgs/String (a CDR-serialized type) through rmw_zloan: the
 * listener, driven by rclc's executor, must receive "hello 1".."hello 20"
 * in order and nothing else. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <string.h>
#include <unistd.h>

#include <rclc/executor.h>
#include <rclc/rclc.h>
#include <rosidl_runtime_c/string_functions.h>
#include <std_msgs/msg/string.h>

#define MESSAGES 20

static int received;
static bool bad;

static void on_message(const void *msgin)
{
    const std_msgs__msg__String *m = msgin;
    char want[32];
    snprintf(want, sizeof want, "hello %d", received + 1);
    if (strcmp(m->data.data, want) != 0) {
        fprintf(stderr, "listener: got '%s', expected '%s'\n", m->data.data, want);
        bad = true;
    }
    received++;
}

static int listener(void *arg)
{
    int ready_fd = *(int *)arg;
    rcl_allocator_t a = rcl_get_default_allocator();
    rclc_support_t support;
    CHECK_RET(rclc_support_init(&support, 0, NULL, &a));
    rcl_node_t node = rcl_get_zero_initialized_node();
    CHECK_RET(rclc_node_init_default(&node, "listener", "", &support));
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    CHECK_RET(rclc_subscription_init_default(
        &sub, &node, ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, String), "chatter"));
    rclc_executor_t exec = rclc_executor_get_zero_initialized_executor();
    CHECK_RET(rclc_executor_init(&exec, &support.context, 1, &a));
    std_msgs__msg__String msg;
    CHECK(std_msgs__msg__String__init(&msg));
    CHECK_RET(rclc_executor_add_subscription(&exec, &sub, &msg, on_message, ON_NEW_DATA));
    say(ready_fd, 'R');
    double end = now_s() + 20;
    while (received < MESSAGES && now_s() < end)
        rclc_executor_spin_some(&exec, RCL_MS_TO_NS(100));
    std_msgs__msg__String__fini(&msg);
    CHECK_RET(rclc_executor_fini(&exec));
    CHECK_RET(rcl_subscription_fini(&sub, &node));
    CHECK_RET(rcl_node_fini(&node));
    CHECK_RET(rclc_support_fini(&support));
    printf("listener: received %d of %d messages\n", received, MESSAGES);
    return received == MESSAGES && !bad ? 0 : 1;
}

static int talker(void *arg)
{
    int ready_fd = *(int *)arg;
    CHECK(hear(ready_fd, 20) == 'R');
    rcl_allocator_t a = rcl_get_default_allocator();
    rclc_support_t support;
    CHECK_RET(rclc_support_init(&support, 0, NULL, &a));
    rcl_node_t node = rcl_get_zero_initialized_node();
    CHECK_RET(rclc_node_init_default(&node, "talker", "", &support));
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    CHECK_RET(rclc_publisher_init_default(
        &pub, &node, ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, String), "chatter"));
    size_t subs = 0;
    double end = now_s() + 20;
    while (subs == 0 && now_s() < end) {
        CHECK_RET(rcl_publisher_get_subscription_count(&pub, &subs));
        usleep(20000);
    }
    CHECK_EQ(subs, 1);
    std_msgs__msg__String msg;
    CHECK(std_msgs__msg__String__init(&msg));
    for (int i = 1; i <= MESSAGES; i++) {
        char text[32];
        snprintf(text, sizeof text, "hello %d", i);
        CHECK(rosidl_runtime_c__String__assign(&msg.data, text));
        CHECK_RET(rcl_publish(&pub, &msg, NULL));
        usleep(20000);
    }
    std_msgs__msg__String__fini(&msg);
    CHECK_RET(rcl_publisher_fini(&pub, &node));
    CHECK_RET(rcl_node_fini(&node));
    CHECK_RET(rclc_support_fini(&support));
    printf("talker: published %d messages\n", MESSAGES);
    return 0;
}

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int w = p[1], r = p[0];
    pid_t l = spawn(listener, &w);
    pid_t t = spawn(talker, &r);
    int tl = reap(t), ll = reap(l);
    CHECK_EQ(tl, 0);
    CHECK_EQ(ll, 0);
    printf("rclc talker and listener: ok\n");
    return 0;
}
