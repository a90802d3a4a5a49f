/* rmw_zloan test — the graph across processes: three nodes in three child
 * processes, each publishing on its own topic, are seen by an observer
 * node (names, topics and types, counts, endpoint info naming the node);
 * one child is killed with SIGKILL and disappears, with its topic, and the
 * observer's graph guard condition fires for it. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <rcl/graph.h>
#include <rcl/wait.h>
#include <std_msgs/msg/string.h>

#define NODES 3

static int member(void *arg)
{
    int i = *(int *)arg;
    char name[32], topic[32];
    snprintf(name, sizeof name, "graph_node_%d", i);
    snprintf(topic, sizeof topic, "/graph_topic_%d", i);
    ros2 r;
    ros2_open(&r, name);
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    CHECK_RET(rcl_publisher_init(&pub, &r.node, ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, String),
                                 topic, &po));
    for (;;)
        pause(); /* until killed */
}

typedef struct observer {
    ros2 r;
} observer;

static int count_members(observer *o)
{
    rcutils_string_array_t names = rcutils_get_zero_initialized_string_array();
    rcutils_string_array_t spaces = rcutils_get_zero_initialized_string_array();
    CHECK_RET(rcl_get_node_names(&o->r.node, rcl_get_default_allocator(), &names, &spaces));
    int n = 0;
    for (size_t i = 0; i < names.size; i++)
        if (strncmp(names.data[i], "graph_node_", 11) == 0 && strcmp(spaces.data[i], "/") == 0)
            n++;
    CHECK(rcutils_string_array_fini(&names) == RCUTILS_RET_OK);
    CHECK(rcutils_string_array_fini(&spaces) == RCUTILS_RET_OK);
    return n;
}

static size_t publishers(observer *o, const char *topic);

/* A member's node is in the graph before its publisher is: wait for both. */
static bool all_there(void *arg)
{
    observer *o = arg;
    if (count_members(o) != NODES)
        return false;
    for (int i = 1; i <= NODES; i++) {
        char topic[32];
        snprintf(topic, sizeof topic, "/graph_topic_%d", i);
        if (publishers(o, topic) != 1)
            return false;
    }
    return true;
}

static bool one_gone(void *arg)
{
    return count_members(arg) == NODES - 1 && publishers(arg, "/graph_topic_2") == 0;
}

static size_t publishers(observer *o, const char *topic)
{
    size_t n = 99;
    CHECK_RET(rcl_count_publishers(&o->r.node, topic, &n));
    return n;
}

static bool has_topic(observer *o, const char *topic, const char *type)
{
    rcl_names_and_types_t nt = rcl_get_zero_initialized_names_and_types();
    rcl_allocator_t a = rcl_get_default_allocator();
    CHECK_RET(rcl_get_topic_names_and_types(&o->r.node, &a, false, &nt));
    bool found = false;
    for (size_t i = 0; i < nt.names.size; i++)
        if (strcmp(nt.names.data[i], topic) == 0 && nt.types[i].size == 1 &&
            strcmp(nt.types[i].data[0], type) == 0)
            found = true;
    CHECK_RET(rcl_names_and_types_fini(&nt));
    return found;
}

int main(void)
{
    pid_t kids[NODES];
    int ids[NODES];
    for (int i = 0; i < NODES; i++) {
        ids[i] = i + 1;
        kids[i] = spawn(member, &ids[i]);
    }
    observer o;
    ros2_open(&o.r, "graph_observer");
    CHECK(wait_until(all_there, &o, 20));
    printf("observer: %d nodes of 3 other processes listed\n", NODES);
    for (int i = 1; i <= NODES; i++) {
        char topic[32];
        snprintf(topic, sizeof topic, "/graph_topic_%d", i);
        CHECK_EQ(publishers(&o, topic), 1);
        CHECK(has_topic(&o, topic, "std_msgs/msg/String"));
    }
    rcl_topic_endpoint_info_array_t info = rmw_get_zero_initialized_topic_endpoint_info_array();
    rcl_allocator_t a = rcl_get_default_allocator();
    CHECK_RET(rcl_get_publishers_info_by_topic(&o.r.node, &a, "/graph_topic_2", false, &info));
    CHECK_EQ(info.size, 1);
    CHECK(strcmp(info.info_array[0].node_name, "graph_node_2") == 0);
    CHECK(strcmp(info.info_array[0].node_namespace, "/") == 0);
    CHECK(strcmp(info.info_array[0].topic_type, "std_msgs/msg/String") == 0);
    CHECK_EQ(info.info_array[0].endpoint_type, RMW_ENDPOINT_PUBLISHER);
    CHECK(rmw_topic_endpoint_info_array_fini(&info, &a) == RMW_RET_OK);
    rcl_names_and_types_t by_node = rcl_get_zero_initialized_names_and_types();
    CHECK_RET(rcl_get_publisher_names_and_types_by_node(&o.r.node, &a, false, "graph_node_3", "/",
                                                        &by_node));
    CHECK_EQ(by_node.names.size, 1);
    CHECK(strcmp(by_node.names.data[0], "/graph_topic_3") == 0);
    CHECK_RET(rcl_names_and_types_fini(&by_node));

    /* The graph guard condition, drained, then a kill. */
    const rcl_guard_condition_t *graph = rcl_node_get_graph_guard_condition(&o.r.node);
    CHECK(graph != NULL);
    rcl_wait_set_t ws = rcl_get_zero_initialized_wait_set();
    CHECK_RET(rcl_wait_set_init(&ws, 0, 1, 0, 0, 0, 0, &o.r.context, a));
    for (int i = 0; i < 3; i++) {
        CHECK_RET(rcl_wait_set_clear(&ws));
        CHECK_RET(rcl_wait_set_add_guard_condition(&ws, graph, NULL));
        rcl_ret_t ret = rcl_wait(&ws, RCL_MS_TO_NS(100));
        CHECK(ret == RCL_RET_OK || ret == RCL_RET_TIMEOUT);
    }
    CHECK(kill(kids[1], SIGKILL) == 0);
    CHECK_EQ(reap(kids[1]), 128 + SIGKILL);
    bool fired = false;
    double end = now_s() + 10;
    while (!fired && now_s() < end) {
        CHECK_RET(rcl_wait_set_clear(&ws));
        CHECK_RET(rcl_wait_set_add_guard_condition(&ws, graph, NULL));
        rcl_ret_t ret = rcl_wait(&ws, RCL_MS_TO_NS(500));
        fired = ret == RCL_RET_OK && ws.guard_conditions[0] != NULL;
    }
    CHECK(fired);
    CHECK(wait_until(one_gone, &o, 10));
    CHECK_EQ(publishers(&o, "/graph_topic_2"), 0);
    CHECK(!has_topic(&o, "/graph_topic_2", "std_msgs/msg/String"));
    CHECK_EQ(publishers(&o, "/graph_topic_1"), 1);
    printf("observer: the killed node left the graph and the graph guard condition fired\n");
    CHECK_RET(rcl_wait_set_fini(&ws));
    for (int i = 0; i < NODES; i++) {
        if (i == 1)
            continue;
        CHECK(kill(kids[i], SIGKILL) == 0);
        reap(kids[i]);
    }
    ros2_close(&o.r);
    /* A new context removes what the killed processes left in /dev/shm. */
    ros2 sweep;
    ros2_open(&sweep, "graph_sweeper");
    ros2_close(&sweep);
    printf("graph across processes: ok\n");
    return 0;
}
