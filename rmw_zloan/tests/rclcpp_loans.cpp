// rmw_zloan test — rclcpp's loans end to end between two processes, on a
// plain type (geometry_msgs/PoseWithCovariance, 344 bytes, no pointers),
// with default rclcpp::Nodes (parameter services, /parameter_events, rosout):
//   - the talker's borrow_loaned_message() lies in zloan's shared memory,
//     writable, and publish(std::move(loan)) sends it;
//   - the listener's callback gets the publisher's bytes in zloan's shared
//     memory, mapped read-only: a loan, no copy (/proc/self/maps);
//   - can_loan_messages() is true on both sides;
//   - an rcl subscription of the C type on the listener's node meets the
//     C++ publisher (one zloan type: a plain type's C and C++ structs are
//     the same bytes) and takes the same messages as loans.
#include "rclcpp_test.hpp"

#include <chrono>
#include <memory>
#include <string>

#include <geometry_msgs/msg/pose_with_covariance.h>
#include <geometry_msgs/msg/pose_with_covariance.hpp>
#include <rclcpp/rclcpp.hpp>

using Pose = geometry_msgs::msg::PoseWithCovariance;
using namespace std::chrono_literals;

static constexpr int COUNT = 50;

static void fill(Pose &m, int seq)
{
    m.pose.position.x = seq;
    for (int k = 0; k < 36; k++)
        m.covariance[static_cast<size_t>(k)] = seq * 1000.0 + k;
}

static bool intact(const Pose &m, int seq)
{
    if (m.pose.position.x != seq)
        return false;
    for (int k = 0; k < 36; k++)
        if (m.covariance[static_cast<size_t>(k)] != seq * 1000.0 + k)
            return false;
    return true;
}

static int listener(void *arg)
{
    int *to_parent = static_cast<int *>(arg);
    rclcpp_open();
    auto node = std::make_shared<rclcpp::Node>("rclcpp_listener");
    int got = 0;
    int loans = 0;
    auto sub = node->create_subscription<Pose>(
        "/rclcpp_poses", rclcpp::QoS(COUNT).reliable(),
        [&](const std::shared_ptr<const Pose> msg) {
            CHECK(intact(*msg, got + 1));
            bool writable = true;
            if (in_zloan_shm(msg.get(), &writable) && !writable)
                loans++;
            got++;
        });
    CHECK(sub->can_loan_messages());
    rcl_node_t *rcl_node = node->get_node_base_interface()->get_rcl_node_handle();
    rcl_subscription_t c_sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    so.qos.depth = COUNT;
    CHECK_RET(rcl_subscription_init(
        &c_sub, rcl_node, ROSIDL_GET_MSG_TYPE_SUPPORT(geometry_msgs, msg, PoseWithCovariance),
        "/rclcpp_poses", &so));
    CHECK(rcl_subscription_can_loan_messages(&c_sub));
    say(to_parent[1], 'S');
    rclcpp::executors::SingleThreadedExecutor exec;
    exec.add_node(node);
    double end = now_s() + 30;
    while (got < COUNT && now_s() < end)
        exec.spin_some(100ms);
    CHECK_EQ(got, COUNT);
    CHECK_EQ(loans, COUNT);
    printf("listener: %d messages, each a read-only loan in zloan's shared memory\n", got);
    for (int seq = 1; seq <= COUNT; seq++) {
        void *m = nullptr;
        CHECK_RET(rcl_take_loaned_message(&c_sub, &m, nullptr, nullptr));
        const auto *c = static_cast<const geometry_msgs__msg__PoseWithCovariance *>(m);
        CHECK_EQ(c->pose.position.x, seq);
        CHECK(c->covariance[35] == seq * 1000.0 + 35);
        bool writable = true;
        CHECK(in_zloan_shm(m, &writable) && !writable);
        CHECK_RET(rcl_return_loaned_message_from_subscription(&c_sub, m));
    }
    printf("listener: the rcl subscription of the C type took the same %d loans\n", COUNT);
    CHECK_RET(rcl_subscription_fini(&c_sub, rcl_node));
    rclcpp::shutdown();
    return 0;
}

int main()
{
    int to_parent[2];
    CHECK(pipe(to_parent) == 0);
    pid_t child = spawn(listener, to_parent);
    CHECK(hear(to_parent[0], 20) == 'S');

    rclcpp_open();
    auto node = std::make_shared<rclcpp::Node>("rclcpp_talker");
    auto pub = node->create_publisher<Pose>("/rclcpp_poses", rclcpp::QoS(COUNT).reliable());
    CHECK(pub->can_loan_messages());
    double end = now_s() + 20;
    while (pub->get_subscription_count() < 2 && now_s() < end)
        usleep(10000);
    CHECK_EQ(pub->get_subscription_count(), 2);
    for (int seq = 1; seq <= COUNT; seq++) {
        auto loan = pub->borrow_loaned_message();
        CHECK(loan.is_valid());
        bool writable = false;
        CHECK(in_zloan_shm(&loan.get(), &writable));
        CHECK(writable);
        fill(loan.get(), seq);
        pub->publish(std::move(loan));
        usleep(1000);
    }
    printf("talker: %d loaned messages published from zloan's shared memory\n", COUNT);
    CHECK_EQ(reap(child), 0);
    rclcpp::shutdown();
    printf("rclcpp loans: ok\n");
    return 0;
}
