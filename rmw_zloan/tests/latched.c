/* rmw_zloan test — a latched topic: a transient-local publisher publishes
 * three messages and then makes no call at all (it waits for its child);
 * a transient-local subscription created later in another process gets
 * those three within a second. zloan sends history at a publisher's next
 * call, so rmw_zloan's graph thread gives idle transient-local publishers
 * that call (a late joiner got nothing until the next publish). */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <std_msgs/msg/int64.h>

static rmw_qos_profile_t latched_qos(void)
{
    rmw_qos_profile_t q = rmw_qos_profile_default;
    q.durability = RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL;
    q.depth = 5;
    return q;
}

static int late_joiner(void *arg)
{
    (void)arg;
    const rosidl_message_type_support_t *ts = ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, Int64);
    ros2 r;
    ros2_open(&r, "late_joiner");
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    so.qos = latched_qos();
    CHECK_RET(rcl_subscription_init(&sub, &r.node, ts, "/latched", &so));
    rcl_wait_set_t ws = rcl_get_zero_initialized_wait_set();
    CHECK_RET(rcl_wait_set_init(&ws, 1, 0, 0, 0, 0, 0, &r.context, rcl_get_default_allocator()));
    int64_t expect = 1;
    double start = now_s();
    while (expect <= 3 && now_s() - start < 5.0) {
        CHECK_RET(rcl_wait_set_clear(&ws));
        CHECK_RET(rcl_wait_set_add_subscription(&ws, &sub, NULL));
        rcl_ret_t ret = rcl_wait(&ws, RCL_MS_TO_NS(100));
        CHECK(ret == RCL_RET_OK || ret == RCL_RET_TIMEOUT);
        std_msgs__msg__Int64 m;
        while (rcl_take(&sub, &m, NULL, NULL) == RCL_RET_OK) {
            CHECK_EQ(m.data, expect);
            expect++;
        }
        rcl_reset_error();
    }
    double took = now_s() - start;
    printf("late joiner: %lld of 3 messages of the idle publisher's history in %.3f s\n",
           (long long)(expect - 1), took);
    CHECK_EQ(expect, 4);
    CHECK(took < 1.0);
    CHECK_RET(rcl_wait_set_fini(&ws));
    CHECK_RET(rcl_subscription_fini(&sub, &r.node));
    ros2_close(&r);
    return 0;
}

int main(void)
{
    const rosidl_message_type_support_t *ts = ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, Int64);
    ros2 r;
    ros2_open(&r, "latcher");
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    po.qos = latched_qos();
    CHECK_RET(rcl_publisher_init(&pub, &r.node, ts, "/latched", &po));
    for (int64_t i = 1; i <= 3; i++) {
        std_msgs__msg__Int64 m = {.data = i};
        CHECK_RET(rcl_publish(&pub, &m, NULL));
    }
    /* From here, no call of the publisher until the child is done. */
    pid_t child = spawn(late_joiner, NULL);
    CHECK_EQ(reap(child), 0);
    CHECK_RET(rcl_publisher_fini(&pub, &r.node));
    ros2_close(&r);
    printf("an idle transient-local publisher serves a late joiner: ok\n");
    return 0;
}
