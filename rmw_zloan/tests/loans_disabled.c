/* rmw_zloan test — ROS_DISABLE_LOANED_MESSAGES=1 (set by CTest) turns the
 * loans of rcl off: rcl_*_can_loan_messages are false, borrowing is refused
 * with RCL_RET_UNSUPPORTED, and publish and take still work by copy; a
 * non-plain type's subscription lends no views (rmw's own can_loan_messages,
 * which rcl's check would hide) and a sized borrow is refused. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <string.h>
#include <unistd.h>

#include <geometry_msgs/msg/pose_with_covariance.h>
#include <rmw_zloan/rmw_zloan.h>
#include <sensor_msgs/msg/image.h>

int main(void)
{
    const char *env = getenv("ROS_DISABLE_LOANED_MESSAGES");
    CHECK(env != NULL && strcmp(env, "1") == 0);
    const rosidl_message_type_support_t *ts =
        ROSIDL_GET_MSG_TYPE_SUPPORT(geometry_msgs, msg, PoseWithCovariance);
    ros2 r;
    ros2_open(&r, "no_loans");
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    CHECK_RET(rcl_publisher_init(&pub, &r.node, ts, "/no_loans", &po));
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    CHECK_RET(rcl_subscription_init(&sub, &r.node, ts, "/no_loans", &so));
    CHECK(!rcl_publisher_can_loan_messages(&pub));
    CHECK(!rcl_subscription_can_loan_messages(&sub));
    void *loan = NULL;
    CHECK_EQ(rcl_borrow_loaned_message(&pub, ts, &loan), RCL_RET_UNSUPPORTED);
    rcl_reset_error();
    geometry_msgs__msg__PoseWithCovariance m;
    CHECK(geometry_msgs__msg__PoseWithCovariance__init(&m));
    m.covariance[35] = 42.0;
    CHECK_RET(rcl_publish(&pub, &m, NULL));
    geometry_msgs__msg__PoseWithCovariance in;
    CHECK(geometry_msgs__msg__PoseWithCovariance__init(&in));
    CHECK_RET(rcl_take(&sub, &in, NULL, NULL));
    CHECK(in.covariance[35] == 42.0);

    const rosidl_message_type_support_t *its = ROSIDL_GET_MSG_TYPE_SUPPORT(sensor_msgs, msg, Image);
    rcl_publisher_t ipub = rcl_get_zero_initialized_publisher();
    rcl_subscription_t isub = rcl_get_zero_initialized_subscription();
    CHECK_RET(rcl_publisher_init(&ipub, &r.node, its, "/no_loans_image", &po));
    CHECK_RET(rcl_subscription_init(&isub, &r.node, its, "/no_loans_image", &so));
    CHECK(!rcl_subscription_get_rmw_handle(&isub)->can_loan_messages);
    CHECK_EQ(rmw_zloan_borrow_loaned_message_sized(rcl_publisher_get_rmw_handle(&ipub), 16, &loan),
             RMW_RET_UNSUPPORTED);
    rcl_reset_error();
    CHECK_RET(rcl_subscription_fini(&isub, &r.node));
    CHECK_RET(rcl_publisher_fini(&ipub, &r.node));
    CHECK_RET(rcl_subscription_fini(&sub, &r.node));
    CHECK_RET(rcl_publisher_fini(&pub, &r.node));
    ros2_close(&r);
    printf("ROS_DISABLE_LOANED_MESSAGES=1: no loans, copies work: ok\n");
    return 0;
}
