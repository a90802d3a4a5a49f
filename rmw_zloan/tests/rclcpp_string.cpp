// rmw_zloan test — a non-plain type between rclcpp and rcl (C), and the C++
// type support's CDR against the C one's:
//   - std_msgs/String from an rclcpp publisher to an rcl subscription in
//     another process (its text, and its serialized bytes: the CDR the C
//     path writes), and back from an rcl publisher to an rclcpp callback
//     (its text, and its bytes through a SerializedMessage callback); the
//     rcl subscription lends (views of the CDR), the rclcpp one does not;
//   - in this process, for test_msgs types with strings, wide strings,
//     bool vectors, bounded and unbounded sequences, fixed arrays and nested
//     messages: rmw_serialize of the C++ message gives the bytes of the same
//     message in C (deserialized there and serialized again), the C defaults
//     arrive as the C++ defaults, and a C++ round trip is equal; a truncated
//     stream fails with an error, never overruns.
#include "rclcpp_test.hpp"

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rclcpp/rclcpp.hpp>
#include <rclcpp/serialized_message.hpp>
#include <rosidl_runtime_c/string_functions.h>
#include <rosidl_typesupport_cpp/message_type_support.hpp>
#include <std_msgs/msg/string.h>
#include <std_msgs/msg/string.hpp>
#include <test_msgs/msg/multi_nested.h>
#include <test_msgs/msg/multi_nested.hpp>
#include <test_msgs/msg/strings.h>
#include <test_msgs/msg/strings.hpp>
#include <test_msgs/msg/unbounded_sequences.h>
#include <test_msgs/msg/unbounded_sequences.hpp>
#include <test_msgs/msg/w_strings.h>
#include <test_msgs/msg/w_strings.hpp>

using namespace std::chrono_literals;

static constexpr int COUNT = 5;

static std::string text(int i)
{
    return "hello from rclcpp " + std::to_string(i) + std::string(100 * i, 'x');
}

// The CDR of a std_msgs/String: header, length with the NUL, bytes, NUL.
static std::vector<uint8_t> string_cdr(const std::string &s)
{
    // Little-endian (the header's 0, 1), byte by byte: gcc 12 at -O2 warns
    // falsely (-Warray-bounds) on a vector insert of the length's 4 bytes.
    uint32_t n = static_cast<uint32_t>(s.size() + 1);
    std::vector<uint8_t> b(8 + s.size() + 1, 0);
    b[1] = 1;
    for (unsigned i = 0; i < 4; i++)
        b[4 + i] = static_cast<uint8_t>(n >> (8 * i));
    for (size_t i = 0; i < s.size(); i++)
        b[8 + i] = static_cast<uint8_t>(s[i]);
    return b;
}

static const rosidl_message_type_support_t *c_string_ts()
{
    return ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, String);
}

// The rcl (C) side: takes each String twice (as a message and as bytes),
// checks both, and publishes "echo: <text>" back.
static int c_echo(void *arg)
{
    pipes *p = static_cast<pipes *>(arg);
    ros2 r;
    ros2_open(&r, "c_echo");
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_t raw = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    so.qos.depth = COUNT;
    CHECK_RET(rcl_subscription_init(&sub, &r.node, c_string_ts(), "/cpp_to_c", &so));
    CHECK_RET(rcl_subscription_init(&raw, &r.node, c_string_ts(), "/cpp_to_c", &so));
    CHECK(rcl_subscription_can_loan_messages(&sub)); // the C type support: views of the CDR
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    po.qos.depth = COUNT;
    CHECK_RET(rcl_publisher_init(&pub, &r.node, c_string_ts(), "/c_to_cpp", &po));
    say(p->to_parent[1], 'S');

    rcl_allocator_t a = rcl_get_default_allocator();
    rcl_serialized_message_t bytes = rmw_get_zero_initialized_serialized_message();
    CHECK_RET(rmw_serialized_message_init(&bytes, 0, &a));
    int got = 0, got_raw = 0;
    double end = now_s() + 30;
    while ((got < COUNT || got_raw < COUNT) && now_s() < end) {
        std_msgs__msg__String m;
        CHECK(std_msgs__msg__String__init(&m));
        rcl_ret_t ret = rcl_take(&sub, &m, NULL, NULL);
        if (ret == RCL_RET_OK) {
            got++;
            CHECK(m.data.data == text(got));
            std::string echo = "echo: " + std::string(m.data.data);
            std_msgs__msg__String out;
            CHECK(std_msgs__msg__String__init(&out));
            CHECK(rosidl_runtime_c__String__assign(&out.data, echo.c_str()));
            CHECK_RET(rcl_publish(&pub, &out, NULL));
            std_msgs__msg__String__fini(&out);
        } else {
            CHECK(ret == RCL_RET_SUBSCRIPTION_TAKE_FAILED);
        }
        std_msgs__msg__String__fini(&m);
        ret = rcl_take_serialized_message(&raw, &bytes, NULL, NULL);
        if (ret == RCL_RET_OK) {
            got_raw++;
            std::vector<uint8_t> want = string_cdr(text(got_raw));
            CHECK_EQ(bytes.buffer_length, want.size());
            CHECK(memcmp(bytes.buffer, want.data(), want.size()) == 0);
        } else {
            CHECK(ret == RCL_RET_SUBSCRIPTION_TAKE_FAILED);
        }
        usleep(1000);
    }
    CHECK_EQ(got, COUNT);
    CHECK_EQ(got_raw, COUNT);
    printf("rcl: %d strings from rclcpp, their bytes the C path's CDR, echoed\n", got);
    CHECK(hear(p->to_child[0], 30) == 'D');
    CHECK_RET(rmw_serialized_message_fini(&bytes));
    CHECK_RET(rcl_publisher_fini(&pub, &r.node));
    CHECK_RET(rcl_subscription_fini(&raw, &r.node));
    CHECK_RET(rcl_subscription_fini(&sub, &r.node));
    ros2_close(&r);
    return 0;
}

// ---- C++ CDR against C CDR, in this process --------------------------------

static std::vector<uint8_t> serialize(const void *msg, const rosidl_message_type_support_t *ts)
{
    rcutils_allocator_t a = rcutils_get_default_allocator();
    rmw_serialized_message_t s = rmw_get_zero_initialized_serialized_message();
    CHECK_RET(rmw_serialized_message_init(&s, 0, &a));
    CHECK_RET(rmw_serialize(msg, ts, &s));
    std::vector<uint8_t> out(s.buffer, s.buffer + s.buffer_length);
    CHECK_RET(rmw_serialized_message_fini(&s));
    return out;
}

static rmw_ret_t deserialize(const std::vector<uint8_t> &bytes,
                             const rosidl_message_type_support_t *ts, void *msg)
{
    rmw_serialized_message_t s = rmw_get_zero_initialized_serialized_message();
    s.buffer = const_cast<uint8_t *>(bytes.data());
    s.buffer_length = bytes.size();
    s.buffer_capacity = bytes.size();
    return rmw_deserialize(&s, ts, msg);
}

// C: the generated create/destroy functions of a type.
template <typename CMsg>
struct c_type {
    const rosidl_message_type_support_t *ts;
    CMsg *(*create)(void);
    void (*destroy)(CMsg *);
};

template <typename CppMsg, typename CMsg>
static void same_cdr(const char *name, const CppMsg &m, c_type<CMsg> c)
{
    const rosidl_message_type_support_t *cpp_ts =
        rosidl_typesupport_cpp::get_message_type_support_handle<CppMsg>();
    // The C++ message, in C and back: the same bytes.
    std::vector<uint8_t> cpp_bytes = serialize(&m, cpp_ts);
    CMsg *cm = c.create();
    CHECK(cm != NULL);
    CHECK_RET(deserialize(cpp_bytes, c.ts, cm));
    std::vector<uint8_t> c_bytes = serialize(cm, c.ts);
    c.destroy(cm);
    CHECK_EQ(c_bytes.size(), cpp_bytes.size());
    CHECK(c_bytes == cpp_bytes);
    CppMsg back;
    CHECK_RET(deserialize(cpp_bytes, cpp_ts, &back));
    CHECK(back == m);
    // C's defaults arrive as C++'s defaults.
    cm = c.create();
    std::vector<uint8_t> c_default = serialize(cm, c.ts);
    c.destroy(cm);
    CppMsg from_c;
    from_c = CppMsg(rosidl_runtime_cpp::MessageInitialization::ZERO);
    CHECK_RET(deserialize(c_default, cpp_ts, &from_c));
    CHECK(from_c == CppMsg());
    // A truncated stream: an error with its message, nothing overrun.
    for (size_t cut : {cpp_bytes.size() - 1, cpp_bytes.size() / 2, size_t{5}}) {
        std::vector<uint8_t> part(cpp_bytes.begin(),
                                  cpp_bytes.begin() + static_cast<std::ptrdiff_t>(cut));
        CppMsg bad;
        CHECK(deserialize(part, cpp_ts, &bad) == RMW_RET_ERROR);
        CHECK(rmw_error_is_set());
        rmw_reset_error();
    }
    printf("%s: C++ and C give the same %zu bytes of CDR\n", name, cpp_bytes.size());
}

#define C_TYPE(pkg, name)                                                                   \
    c_type<pkg##__msg__##name>                                                              \
    {                                                                                       \
        ROSIDL_GET_MSG_TYPE_SUPPORT(pkg, msg, name), pkg##__msg__##name##__create,          \
            pkg##__msg__##name##__destroy                                                   \
    }

static void check_cdr_of_types()
{
    test_msgs::msg::Strings s;
    s.string_value = "zloan";
    s.bounded_string_value = "bounded";
    same_cdr("test_msgs/Strings", s, C_TYPE(test_msgs, Strings));

    test_msgs::msg::WStrings w;
    w.wstring_value = u"zl\u00f6an \u30cf";
    w.array_of_wstrings[1] = u"middle";
    w.bounded_sequence_of_wstrings = {u"a", u""};
    w.unbounded_sequence_of_wstrings = {u"x", u"\u30cf\u30ed\u30fc", u""};
    same_cdr("test_msgs/WStrings", w, C_TYPE(test_msgs, WStrings));

    test_msgs::msg::UnboundedSequences u;
    u.bool_values = {true, false, true, true, false};
    u.int16_values = {-3, 4};
    u.float64_values = {1.5};
    u.string_values = {"a", "", "ccc"};
    u.basic_types_values.resize(2);
    u.basic_types_values[1].int64_value = -9;
    u.basic_types_values[1].bool_value = true;
    u.defaults_values.resize(1);
    u.alignment_check = 42;
    same_cdr("test_msgs/UnboundedSequences", u, C_TYPE(test_msgs, UnboundedSequences));

    test_msgs::msg::MultiNested n;
    n.array_of_arrays[2].string_values[0] = "deep";
    n.array_of_bounded_sequences[1].bool_values = {true, true};
    n.array_of_unbounded_sequences[0].string_values = {"u", "v"};
    n.bounded_sequence_of_arrays.resize(1);
    n.bounded_sequence_of_bounded_sequences.resize(2);
    n.bounded_sequence_of_bounded_sequences[1].int8_values = {-1, -2, -3};
    n.unbounded_sequence_of_unbounded_sequences.resize(2);
    n.unbounded_sequence_of_unbounded_sequences[1].bool_values = {false, true};
    n.unbounded_sequence_of_arrays.resize(1);
    n.unbounded_sequence_of_arrays[0].uint64_values[2] = 77;
    same_cdr("test_msgs/MultiNested", n, C_TYPE(test_msgs, MultiNested));
}

int main()
{
    pipes p;
    pipes_open(&p);
    pid_t child = spawn(c_echo, &p);
    CHECK(hear(p.to_parent[0], 20) == 'S');

    rclcpp_open();
    check_cdr_of_types();

    auto node = std::make_shared<rclcpp::Node>("rclcpp_strings");
    auto pub = node->create_publisher<std_msgs::msg::String>("/cpp_to_c", COUNT);
    CHECK(!pub->can_loan_messages()); // not plain: serialized, no loans
    std::vector<std::string> echoes;
    std::vector<std::vector<uint8_t>> echo_bytes;
    auto sub = node->create_subscription<std_msgs::msg::String>(
        "/c_to_cpp", COUNT,
        [&](const std_msgs::msg::String &m) { echoes.push_back(m.data); });
    // The C++ type support is never lent (its message is no C struct): rclcpp's
    // executor takes a loaned message whenever can_loan_messages() is true.
    CHECK(!sub->can_loan_messages());
    auto raw = node->create_subscription<std_msgs::msg::String>(
        "/c_to_cpp", COUNT, [&](const std::shared_ptr<rclcpp::SerializedMessage> m) {
            const rcl_serialized_message_t &s = m->get_rcl_serialized_message();
            echo_bytes.emplace_back(s.buffer, s.buffer + s.buffer_length);
        });
    double end = now_s() + 20;
    while ((pub->get_subscription_count() < 2 || sub->get_publisher_count() < 1) && now_s() < end)
        usleep(10000);
    CHECK_EQ(pub->get_subscription_count(), 2);
    CHECK_EQ(sub->get_publisher_count(), 1);

    rclcpp::executors::SingleThreadedExecutor exec;
    exec.add_node(node);
    for (int i = 1; i <= COUNT; i++) {
        std_msgs::msg::String m;
        m.data = text(i);
        pub->publish(m);
        exec.spin_some(10ms);
    }
    end = now_s() + 30;
    while ((echoes.size() < COUNT || echo_bytes.size() < COUNT) && now_s() < end)
        exec.spin_some(100ms);
    CHECK_EQ(echoes.size(), COUNT);
    CHECK_EQ(echo_bytes.size(), COUNT);
    for (int i = 1; i <= COUNT; i++) {
        CHECK(echoes[static_cast<size_t>(i - 1)] == "echo: " + text(i));
        CHECK(echo_bytes[static_cast<size_t>(i - 1)] == string_cdr("echo: " + text(i)));
    }
    printf("rclcpp: %d echoes from rcl, text and bytes as sent\n", COUNT);
    say(p.to_child[1], 'D');
    CHECK_EQ(reap(child), 0);
    rclcpp::shutdown();
    printf("rclcpp strings: ok\n");
    return 0;
}
