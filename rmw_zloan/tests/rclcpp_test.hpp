// rmw_zloan tests — what the rclcpp tests add to ros2_test.h.
#ifndef RMW_ZLOAN_RCLCPP_TEST_HPP
#define RMW_ZLOAN_RCLCPP_TEST_HPP

#include "ros2_test.h"

#include <string>

#include <rclcpp/rclcpp.hpp>

// rclcpp::init, on rmw_zloan (RMW_IMPLEMENTATION) or exit.
inline void rclcpp_open()
{
    rclcpp::init(0, nullptr);
    CHECK(std::string(rmw_get_implementation_identifier()) == "rmw_zloan");
}

#endif
