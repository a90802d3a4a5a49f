/* rmw_zloan test — deadline and liveliness events across processes. A child
 * has a publisher with a deadline and manual liveliness (lease 1 s) on one
 * topic and one with automatic liveliness on another; the parent
 * subscribes to both. The child publishes once and then only asserts its
 * liveliness: both sides miss their deadlines; the parent sees the manual
 * publisher alive, then (the child stops asserting) not alive while the
 * child's publisher reports its liveliness lost, woken in one rcl_wait;
 * alive again when the child asserts without publishing; and the automatic
 * publisher not alive once the child is killed. Each step waits for a state,
 * never for a time. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <signal.h>
#include <string.h>

#include <rosidl_runtime_c/string_functions.h>
#include <std_msgs/msg/string.h>

#define MANUAL_TOPIC "/qos_manual"
#define AUTOMATIC_TOPIC "/qos_automatic"

static const rosidl_message_type_support_t *string_type(void)
{
    return ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, String);
}

static rmw_qos_profile_t manual(rmw_time_t deadline, rmw_time_t lease)
{
    rmw_qos_profile_t q = rmw_qos_profile_default;
    q.deadline = deadline;
    q.liveliness = RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_TOPIC;
    q.liveliness_lease_duration = lease;
    return q;
}

static rmw_qos_profile_t automatic(void)
{
    rmw_qos_profile_t q = rmw_qos_profile_default;
    q.liveliness = RMW_QOS_POLICY_LIVELINESS_AUTOMATIC;
    return q;
}

/* Waits for a deadline-missed event and takes it, the first take: one
 * deadline missed at least, all of them new. The offered and the requested
 * status have the same two fields. */
static void check_deadline_missed(rcl_context_t *context, rcl_event_t *event, const char *who)
{
    CHECK(wait_event(context, event, 30));
    rmw_offered_deadline_missed_status_t st;
    CHECK_RET(rcl_take_event(event, &st));
    printf("%s deadline missed: total %d, change %d\n", who, (int)st.total_count,
           (int)st.total_count_change);
    CHECK(st.total_count >= 1);
    CHECK_EQ(st.total_count_change, st.total_count);
}

/* ---- the child: the publishers ------------------------------------------- */

/* Asserts the publisher's liveliness every 50 ms until the parent says
 * something; returns what it said. */
static char assert_until_told(rcl_publisher_t *pub, int fd)
{
    for (;;) {
        CHECK_RET(rcl_publisher_assert_liveliness(pub));
        char c = hear(fd, 0.05);
        if (c != 0)
            return c;
    }
}

static int run_publishers(void *arg)
{
    pipes *p = arg;
    ros2 r;
    ros2_open(&r, "qos_timing_publishers");
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_t pub2 = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    po.qos = manual((rmw_time_t){0, 300000000}, (rmw_time_t){1, 0});
    CHECK_RET(rcl_publisher_init(&pub, &r.node, string_type(), MANUAL_TOPIC, &po));
    po.qos = automatic();
    CHECK_RET(rcl_publisher_init(&pub2, &r.node, string_type(), AUTOMATIC_TOPIC, &po));
    rcl_event_t deadline = rcl_get_zero_initialized_event();
    rcl_event_t lost = rcl_get_zero_initialized_event();
    CHECK_RET(rcl_publisher_event_init(&deadline, &pub, RCL_PUBLISHER_OFFERED_DEADLINE_MISSED));
    CHECK_RET(rcl_publisher_event_init(&lost, &pub, RCL_PUBLISHER_LIVELINESS_LOST));
    rmw_qos_profile_t actual = *rcl_publisher_get_actual_qos(&pub);
    CHECK_EQ(actual.deadline.nsec, 300000000);
    CHECK_EQ(actual.liveliness, RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_TOPIC);
    CHECK_EQ(actual.liveliness_lease_duration.sec, 1);

    CHECK_EQ(hear(p->to_child[0], 60), 'h'); /* the parent subscribes */
    std_msgs__msg__String m;
    std_msgs__msg__String__init(&m);
    CHECK(rosidl_runtime_c__String__assign(&m.data, "the only message"));
    CHECK_RET(rcl_publish(&pub, &m, NULL));
    std_msgs__msg__String__fini(&m);
    CHECK_EQ(assert_until_told(&pub, p->to_child[0]), 's');

    /* No more assertions: one rcl_wait wakes when the lease passes. */
    rcl_wait_set_t ws = rcl_get_zero_initialized_wait_set();
    CHECK_RET(rcl_wait_set_init(&ws, 0, 0, 0, 0, 0, 1, &r.context, rcl_get_default_allocator()));
    CHECK_RET(rcl_wait_set_add_event(&ws, &lost, NULL));
    CHECK_RET(rcl_wait(&ws, RCL_S_TO_NS(30)));
    CHECK(ws.events[0] == &lost);
    CHECK_RET(rcl_wait_set_fini(&ws));
    rmw_liveliness_lost_status_t ls;
    CHECK_RET(rcl_take_event(&lost, &ls));
    printf("publisher: liveliness lost: total %d, change %d\n", (int)ls.total_count,
           (int)ls.total_count_change);
    CHECK_EQ(ls.total_count, 1);
    CHECK_EQ(ls.total_count_change, 1);
    /* One publish, then none for far longer than 300 ms. */
    check_deadline_missed(&r.context, &deadline, "publisher: offered");
    fflush(stdout); /* it is killed at the end */
    say(p->to_parent[1], 'l');

    CHECK_EQ(hear(p->to_child[0], 60), 'a');
    assert_until_told(&pub, p->to_child[0]); /* until killed */
    return 1;
}

/* ---- the parent: the subscriptions --------------------------------------- */

/* A liveliness state and the changes taken on the way to it. */
typedef struct liveliness {
    int alive, not_alive;
    int alive_change, not_alive_change;
} liveliness;

/* Takes the subscription's liveliness events until its counts are alive and
 * not_alive (not_alive < 0: any), summing the changes. */
static liveliness wait_liveliness(rcl_context_t *context, rcl_event_t *event, int alive,
                                  int not_alive)
{
    liveliness l = {-1, -1, 0, 0};
    double end = now_s() + 60;
    while (now_s() < end) {
        if (!wait_event(context, event, 1))
            continue;
        rmw_liveliness_changed_status_t st;
        CHECK_RET(rcl_take_event(event, &st));
        l.alive = st.alive_count;
        l.not_alive = st.not_alive_count;
        l.alive_change += st.alive_count_change;
        l.not_alive_change += st.not_alive_count_change;
        printf("subscription: alive %d (%+d), not alive %d (%+d)\n", (int)st.alive_count,
               (int)st.alive_count_change, (int)st.not_alive_count,
               (int)st.not_alive_count_change);
        if (l.alive == alive && (not_alive < 0 || l.not_alive == not_alive))
            return l;
    }
    fprintf(stderr, "liveliness never reached alive %d, not alive %d\n", alive, not_alive);
    exit(1);
}

static rcl_subscription_t subscribe(ros2 *r, const char *topic, rmw_qos_profile_t qos)
{
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    so.qos = qos;
    CHECK_RET(rcl_subscription_init(&sub, &r->node, string_type(), topic, &so));
    return sub;
}

int main(void)
{
    pipes p;
    pipes_open(&p);
    pid_t child = spawn(run_publishers, &p);
    ros2 r;
    ros2_open(&r, "qos_timing_subscriptions");
    rcl_subscription_t sub = subscribe(&r, MANUAL_TOPIC, manual((rmw_time_t){1, 0},
                                                                (rmw_time_t){2, 0}));
    rcl_subscription_t sub2 = subscribe(&r, AUTOMATIC_TOPIC, automatic());
    rcl_event_t deadline = rcl_get_zero_initialized_event();
    rcl_event_t changed = rcl_get_zero_initialized_event();
    rcl_event_t changed2 = rcl_get_zero_initialized_event();
    CHECK_RET(rcl_subscription_event_init(&deadline, &sub,
                                          RCL_SUBSCRIPTION_REQUESTED_DEADLINE_MISSED));
    CHECK_RET(rcl_subscription_event_init(&changed, &sub, RCL_SUBSCRIPTION_LIVELINESS_CHANGED));
    CHECK_RET(rcl_subscription_event_init(&changed2, &sub2, RCL_SUBSCRIPTION_LIVELINESS_CHANGED));
    const rmw_qos_profile_t *actual = rcl_subscription_get_actual_qos(&sub);
    CHECK_EQ(actual->deadline.sec, 1);
    CHECK_EQ(actual->liveliness, RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_TOPIC);
    CHECK_EQ(actual->liveliness_lease_duration.sec, 2);
    say(p.to_child[1], 'h');

    liveliness l = wait_liveliness(&r.context, &changed, 1, 0);
    CHECK_EQ(l.alive_change, 1);
    wait_liveliness(&r.context, &changed2, 1, 0);
    /* One message, then none for far longer than 1 s. */
    check_deadline_missed(&r.context, &deadline, "subscription: requested");
    std_msgs__msg__String m;
    std_msgs__msg__String__init(&m);
    CHECK_RET(rcl_take(&sub, &m, NULL, NULL));
    CHECK(strcmp(m.data.data, "the only message") == 0);
    std_msgs__msg__String__fini(&m);

    say(p.to_child[1], 's'); /* stop asserting */
    l = wait_liveliness(&r.context, &changed, 0, 1);
    CHECK_EQ(l.alive_change, -1);
    CHECK_EQ(l.not_alive_change, 1);
    CHECK_EQ(hear(p.to_parent[0], 60), 'l');
    printf("subscription: the manual publisher is not alive, its lease passed\n");

    say(p.to_child[1], 'a'); /* assert again, without publishing */
    l = wait_liveliness(&r.context, &changed, 1, 0);
    CHECK_EQ(l.alive_change, 1);
    CHECK_EQ(l.not_alive_change, -1);
    printf("subscription: alive again by assertions alone\n");

    CHECK(kill(child, SIGKILL) == 0);
    CHECK_EQ(reap(child), 128 + SIGKILL);
    l = wait_liveliness(&r.context, &changed2, 0, -1);
    CHECK_EQ(l.alive_change, -1);
    printf("subscription: the automatic publisher of the killed process is not alive\n");

    CHECK_RET(rcl_event_fini(&deadline));
    CHECK_RET(rcl_event_fini(&changed));
    CHECK_RET(rcl_event_fini(&changed2));
    CHECK_RET(rcl_subscription_fini(&sub, &r.node));
    CHECK_RET(rcl_subscription_fini(&sub2, &r.node));
    ros2_close(&r);
    printf("deadline and liveliness across processes: ok\n");
    return 0;
}
