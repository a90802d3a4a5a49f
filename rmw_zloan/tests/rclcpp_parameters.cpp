// rmw_zloan test — a default rclcpp::Node (parameter services, the
// /parameter_events publisher, rosout: all C++ type supports, services
// included) comes up on rmw_zloan, and a second node in another process
// lists, sets and reads its parameters through those services
// (rclcpp::SyncParametersClient), and sees the change on /parameter_events.
#include "rclcpp_test.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <rcl_interfaces/msg/parameter_event.hpp>
#include <rclcpp/rclcpp.hpp>

using namespace std::chrono_literals;

// The node whose parameters are set: a default rclcpp::Node.
static int server(void *arg)
{
    pipes *p = static_cast<pipes *>(arg);
    rclcpp_open();
    auto node = std::make_shared<rclcpp::Node>("param_server");
    node->declare_parameter("answer", 1);
    node->declare_parameter("name", std::string("zloan"));
    rclcpp::executors::SingleThreadedExecutor exec;
    exec.add_node(node);
    say(p->to_parent[1], 'S');
    double end = now_s() + 60;
    char c = 0;
    while (c != 'D' && now_s() < end) {
        exec.spin_some(20ms);
        c = hear(p->to_child[0], 0.01);
    }
    CHECK(c == 'D');
    // The value the client set is the node's own.
    CHECK_EQ(node->get_parameter("answer").as_int(), 42);
    CHECK(node->get_parameter("name").as_string() == "rclcpp on zloan");
    printf("server: answer = 42 and name = \"rclcpp on zloan\", set from another process\n");
    rclcpp::shutdown();
    return 0;
}

int main()
{
    pipes p;
    pipes_open(&p);
    pid_t child = spawn(server, &p);
    CHECK(hear(p.to_parent[0], 20) == 'S');

    rclcpp_open();
    auto node = std::make_shared<rclcpp::Node>("param_client");
    std::vector<std::string> changed;
    auto events = node->create_subscription<rcl_interfaces::msg::ParameterEvent>(
        "/parameter_events", rclcpp::ParameterEventsQoS(),
        [&](const rcl_interfaces::msg::ParameterEvent &e) {
            if (e.node != "/param_server")
                return;
            for (const auto &c : e.changed_parameters)
                changed.push_back(c.name);
        });
    auto client = std::make_shared<rclcpp::SyncParametersClient>(node, "param_server");
    CHECK(client->wait_for_service(20s));

    auto listed = client->list_parameters({}, 0);
    bool has_answer = false;
    for (const auto &n : listed.names)
        has_answer = has_answer || n == "answer";
    CHECK(has_answer);
    CHECK_EQ(client->get_parameter<int64_t>("answer"), 1);
    CHECK(client->get_parameter<std::string>("name") == "zloan");

    auto results = client->set_parameters(
        {rclcpp::Parameter("answer", 42), rclcpp::Parameter("name", "rclcpp on zloan")});
    CHECK_EQ(results.size(), 2);
    CHECK(results[0].successful && results[1].successful);
    auto got = client->get_parameters({"answer", "name"});
    CHECK_EQ(got.size(), 2);
    CHECK_EQ(got[0].as_int(), 42);
    CHECK(got[1].as_string() == "rclcpp on zloan");
    auto types = client->get_parameter_types({"answer"});
    CHECK_EQ(types.size(), 1);
    CHECK(types[0] == rclcpp::ParameterType::PARAMETER_INTEGER);
    printf("client: listed, set and read param_server's parameters through its services\n");

    double end = now_s() + 10;
    while (changed.size() < 2 && now_s() < end)
        rclcpp::spin_some(node);
    CHECK_EQ(changed.size(), 2);
    printf("client: /parameter_events told of the change\n");
    say(p.to_child[1], 'D');
    CHECK_EQ(reap(child), 0);
    rclcpp::shutdown();
    printf("rclcpp parameters: ok\n");
    return 0;
}
