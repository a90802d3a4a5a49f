/* rmw_zloan test — QoS matching across processes, as DDS does it: a child
 * has a best-effort and a reliable publisher on one topic, the parent a
 * reliable subscription. The best-effort pair does not match: neither side
 * counts it, both get their QoS-incompatible event once (the reliability
 * policy named), rcl_wait wakes for it, and the subscription receives every
 * message of the reliable publisher, in order, and none of the other's,
 * though the two publish in turns. A third, reliable publisher with a
 * lifespan of 1 ns is matched, but each of its messages has expired when
 * taken: none arrives either. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <string.h>

#include <rcl/graph.h>
#include <rosidl_runtime_c/string_functions.h>
#include <std_msgs/msg/string.h>

#define TOPIC "/qos_matching"
#define MESSAGES 50

static const rosidl_message_type_support_t *string_type(void)
{
    return ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, String);
}

static rmw_qos_profile_t profile(enum rmw_qos_reliability_policy_e reliability)
{
    rmw_qos_profile_t q = rmw_qos_profile_default;
    q.depth = 2 * MESSAGES;
    q.reliability = reliability;
    return q;
}

static void check_incompatible(rcl_event_t *event, const char *who)
{
    rmw_qos_incompatible_event_status_t st;
    memset(&st, 0, sizeof st);
    CHECK_RET(rcl_take_event(event, &st));
    printf("%s: incompatible QoS: total %d, change %d, policy %d\n", who, (int)st.total_count,
           (int)st.total_count_change, (int)st.last_policy_kind);
    CHECK_EQ(st.total_count, 1);
    CHECK_EQ(st.total_count_change, 1);
    CHECK_EQ(st.last_policy_kind, RMW_QOS_POLICY_RELIABILITY);
}

static void publish(rcl_publisher_t *pub, const char *what, int i)
{
    char text[32];
    snprintf(text, sizeof text, "%s %d", what, i);
    std_msgs__msg__String m;
    std_msgs__msg__String__init(&m);
    CHECK(rosidl_runtime_c__String__assign(&m.data, text));
    CHECK_RET(rcl_publish(pub, &m, NULL));
    std_msgs__msg__String__fini(&m);
}

typedef struct publishers {
    ros2 r;
    rcl_publisher_t bad, good, expired;
} publishers;

static size_t matched(rcl_publisher_t *pub)
{
    size_t n = 99;
    CHECK_RET(rcl_publisher_get_subscription_count(pub, &n));
    return n;
}

static bool good_matched(void *arg)
{
    return matched(&((publishers *)arg)->good) == 1;
}

static int run_publishers(void *arg)
{
    pipes *p = arg;
    publishers ps;
    ros2_open(&ps.r, "qos_matching_publishers");
    ps.bad = rcl_get_zero_initialized_publisher();
    ps.good = rcl_get_zero_initialized_publisher();
    ps.expired = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    po.qos = profile(RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT);
    CHECK_RET(rcl_publisher_init(&ps.bad, &ps.r.node, string_type(), TOPIC, &po));
    po.qos = profile(RMW_QOS_POLICY_RELIABILITY_RELIABLE);
    CHECK_RET(rcl_publisher_init(&ps.good, &ps.r.node, string_type(), TOPIC, &po));
    po.qos.lifespan = (rmw_time_t){0, 1};
    CHECK_RET(rcl_publisher_init(&ps.expired, &ps.r.node, string_type(), TOPIC, &po));
    rcl_event_t bad_event = rcl_get_zero_initialized_event();
    rcl_event_t good_event = rcl_get_zero_initialized_event();
    CHECK_RET(rcl_publisher_event_init(&bad_event, &ps.bad,
                                       RCL_PUBLISHER_OFFERED_INCOMPATIBLE_QOS));
    CHECK_RET(rcl_publisher_event_init(&good_event, &ps.good,
                                       RCL_PUBLISHER_OFFERED_INCOMPATIBLE_QOS));

    CHECK(wait_event(&ps.r.context, &bad_event, 30));
    check_incompatible(&bad_event, "best-effort publisher");
    CHECK(wait_until(good_matched, &ps, 30));
    CHECK_EQ(matched(&ps.bad), 0);
    rmw_qos_incompatible_event_status_t st;
    CHECK_RET(rcl_take_event(&good_event, &st));
    CHECK_EQ(st.total_count, 0);
    say(p->to_parent[1], 'r');

    CHECK_EQ(hear(p->to_child[0], 60), 'g');
    for (int i = 1; i <= MESSAGES; i++) {
        publish(&ps.bad, "bad", i);
        publish(&ps.good, "good", i);
        publish(&ps.expired, "expired", i);
    }
    say(p->to_parent[1], 'p');
    CHECK_EQ(hear(p->to_child[0], 60), 'd');
    CHECK_RET(rcl_event_fini(&bad_event));
    CHECK_RET(rcl_event_fini(&good_event));
    CHECK_RET(rcl_publisher_fini(&ps.bad, &ps.r.node));
    CHECK_RET(rcl_publisher_fini(&ps.good, &ps.r.node));
    CHECK_RET(rcl_publisher_fini(&ps.expired, &ps.r.node));
    ros2_close(&ps.r);
    return 0;
}

typedef struct subscriber {
    ros2 r;
    rcl_subscription_t sub;
} subscriber;

/* Publishers in the graph (all) or matched. */
static size_t count(subscriber *s, bool all)
{
    if (all)
        return graph_count(&s->r.node, TOPIC, true);
    size_t n = 99;
    CHECK_RET(rcl_subscription_get_publisher_count(&s->sub, &n));
    return n;
}

/* The three publishers are in the graph, two are matched. */
static bool two_of_three(void *arg)
{
    return count(arg, true) == 3 && count(arg, false) == 2;
}

/* Takes what is there: each a "good <n>" in order from *next. */
static void take_all(subscriber *s, int *next)
{
    for (;;) {
        std_msgs__msg__String m;
        std_msgs__msg__String__init(&m);
        rcl_ret_t ret = rcl_take(&s->sub, &m, NULL, NULL);
        if (ret == RCL_RET_SUBSCRIPTION_TAKE_FAILED) {
            std_msgs__msg__String__fini(&m);
            return;
        }
        CHECK_RET(ret);
        char want[32];
        snprintf(want, sizeof want, "good %d", *next);
        if (strcmp(m.data.data, want) != 0) {
            fprintf(stderr, "took '%s', want '%s'\n", m.data.data, want);
            exit(1);
        }
        (*next)++;
        std_msgs__msg__String__fini(&m);
    }
}

int main(void)
{
    pipes p;
    pipes_open(&p);
    pid_t child = spawn(run_publishers, &p);
    subscriber s;
    ros2_open(&s.r, "qos_matching_subscription");
    s.sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    so.qos = profile(RMW_QOS_POLICY_RELIABILITY_RELIABLE);
    CHECK_RET(rcl_subscription_init(&s.sub, &s.r.node, string_type(), TOPIC, &so));
    rcl_event_t event = rcl_get_zero_initialized_event();
    CHECK_RET(rcl_subscription_event_init(&event, &s.sub,
                                          RCL_SUBSCRIPTION_REQUESTED_INCOMPATIBLE_QOS));

    CHECK(wait_event(&s.r.context, &event, 30));
    check_incompatible(&event, "reliable subscription");
    CHECK(wait_until(two_of_three, &s, 30));
    CHECK_EQ(hear(p.to_parent[0], 60), 'r');
    printf("subscription: 3 publishers in the graph, 2 matched\n");

    say(p.to_child[1], 'g');
    int next = 1;
    rcl_wait_set_t ws = rcl_get_zero_initialized_wait_set();
    CHECK_RET(rcl_wait_set_init(&ws, 1, 0, 0, 0, 0, 0, &s.r.context, rcl_get_default_allocator()));
    double end = now_s() + 60;
    while (next <= MESSAGES && now_s() < end) {
        CHECK_RET(rcl_wait_set_clear(&ws));
        CHECK_RET(rcl_wait_set_add_subscription(&ws, &s.sub, NULL));
        rcl_ret_t ret = rcl_wait(&ws, RCL_S_TO_NS(1));
        CHECK(ret == RCL_RET_OK || ret == RCL_RET_TIMEOUT);
        take_all(&s, &next);
    }
    CHECK_RET(rcl_wait_set_fini(&ws));
    CHECK_EQ(hear(p.to_parent[0], 60), 'p');
    take_all(&s, &next); /* whatever came after the last wait: no "bad", no "expired" */
    CHECK_EQ(next, MESSAGES + 1);
    printf("subscription: the %d messages of the reliable publisher, in order, none of the "
           "best-effort one's, none expired\n", MESSAGES);
    say(p.to_child[1], 'd');
    CHECK_EQ(reap(child), 0);
    CHECK_RET(rcl_event_fini(&event));
    CHECK_RET(rcl_subscription_fini(&s.sub, &s.r.node));
    ros2_close(&s.r);
    printf("QoS matching across processes: ok\n");
    return 0;
}
