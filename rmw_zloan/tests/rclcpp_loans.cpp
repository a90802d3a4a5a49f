// rmw_zloan test — rclcpp's loans end to end between two processes, on a
// plain type (geometry_msgs/PoseWithCovariance, 344 bytes, no pointers),
// with default rclcpp::Nodes (parameter services, /parameter_events, rosout):
//   - the talker's borrow_loaned_message() lies in zloan's shared memory,
//     writable, and publish(std::move(loan)) sends it;
//   - the listener's callback gets the publisher's bytes in zloan's shared
//     memory, mapped read-only: a loan, no copy (/proc/self/maps);
//   - can_loan_messages() is true on both sides.
#include "rclcpp_test.hpp"

#include <chrono>
#include <memory>
#include <string>

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
    say(to_parent[1], 'S');
    rclcpp::executors::SingleThreadedExecutor exec;
    exec.add_node(node);
    double end = now_s() + 30;
    while (got < COUNT && now_s() < end)
        exec.spin_some(100ms);
    CHECK_EQ(got, COUNT);
    CHECK_EQ(loans, COUNT);
    printf("listener: %d messages, each a read-only loan in zloan's shared memory\n", got);
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
    while (pub->get_subscription_count() == 0 && now_s() < end)
        usleep(10000);
    CHECK_EQ(pub->get_subscription_count(), 1);
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
