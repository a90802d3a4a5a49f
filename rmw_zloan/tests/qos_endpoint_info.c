/* rmw_zloan test — endpoint info of another process's endpoints echoes the
 * QoS they asked for (best effort, a deadline of 11 s, a lifespan of 10 s,
 * manual liveliness with a lease of 20 s, ...), as rmw_cyclonedds does; the
 * endpoints, and the records that carry their QoS, disappear when their
 * process is killed. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include <rcl/graph.h>
#include <std_msgs/msg/string.h>
#include <zloan/introspection.h>

#define TOPIC "/qos_info"

static rmw_qos_profile_t publisher_profile(void)
{
    rmw_qos_profile_t q = rmw_qos_profile_default;
    q.history = RMW_QOS_POLICY_HISTORY_KEEP_LAST;
    q.depth = 7;
    q.reliability = RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT;
    q.durability = RMW_QOS_POLICY_DURABILITY_VOLATILE;
    q.deadline = (rmw_time_t){11, 0};
    q.lifespan = (rmw_time_t){10, 0};
    q.liveliness = RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_TOPIC;
    q.liveliness_lease_duration = (rmw_time_t){20, 0};
    return q;
}

/* The subscription asks for what the publisher offers, or less. */
static rmw_qos_profile_t subscription_profile(void)
{
    rmw_qos_profile_t q = rmw_qos_profile_default;
    q.history = RMW_QOS_POLICY_HISTORY_KEEP_LAST;
    q.depth = 3;
    q.reliability = RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT;
    q.durability = RMW_QOS_POLICY_DURABILITY_VOLATILE;
    q.deadline = (rmw_time_t){12, 500};
    q.liveliness = RMW_QOS_POLICY_LIVELINESS_AUTOMATIC;
    q.liveliness_lease_duration = (rmw_time_t){30, 0};
    return q;
}

static int endpoints(void *arg)
{
    (void)arg;
    ros2 r;
    ros2_open(&r, "qos_info_endpoints");
    const rosidl_message_type_support_t *ts = ROSIDL_GET_MSG_TYPE_SUPPORT(std_msgs, msg, String);
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    po.qos = publisher_profile();
    CHECK_RET(rcl_publisher_init(&pub, &r.node, ts, TOPIC, &po));
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    so.qos = subscription_profile();
    CHECK_RET(rcl_subscription_init(&sub, &r.node, ts, TOPIC, &so));
    for (;;)
        pause(); /* until killed */
}

static void check_time(const char *what, rmw_time_t got, rmw_time_t want)
{
    if (got.sec != want.sec || got.nsec != want.nsec) {
        fprintf(stderr, "%s: got %llu s %llu ns, want %llu s %llu ns\n", what,
                (unsigned long long)got.sec, (unsigned long long)got.nsec,
                (unsigned long long)want.sec, (unsigned long long)want.nsec);
        exit(1);
    }
}

/* What DDS echoes: every policy but depth and history as asked. */
static void check_profile(const char *kind, const rmw_qos_profile_t *got,
                          const rmw_qos_profile_t *want, bool lifespan)
{
    printf("%s: reliability %d durability %d liveliness %d deadline %llu s\n", kind,
           (int)got->reliability, (int)got->durability, (int)got->liveliness,
           (unsigned long long)got->deadline.sec);
    CHECK_EQ(got->reliability, want->reliability);
    CHECK_EQ(got->durability, want->durability);
    CHECK_EQ(got->liveliness, want->liveliness);
    CHECK_EQ(got->depth, want->depth);
    check_time("deadline", got->deadline, want->deadline);
    check_time("lease", got->liveliness_lease_duration, want->liveliness_lease_duration);
    if (lifespan)
        check_time("lifespan", got->lifespan, want->lifespan);
}

typedef struct observer {
    ros2 r;
} observer;

static size_t count(observer *o, bool publishers)
{
    return graph_count(&o->r.node, TOPIC, publishers);
}

/* Endpoint info of TOPIC's publishers or subscriptions. */
static rcl_topic_endpoint_info_array_t endpoint_info(observer *o, bool publisher)
{
    rcl_topic_endpoint_info_array_t info = rmw_get_zero_initialized_topic_endpoint_info_array();
    rcl_allocator_t a = rcl_get_default_allocator();
    if (publisher)
        CHECK_RET(rcl_get_publishers_info_by_topic(&o->r.node, &a, TOPIC, false, &info));
    else
        CHECK_RET(rcl_get_subscriptions_info_by_topic(&o->r.node, &a, TOPIC, false, &info));
    return info;
}

/* The reliability endpoint info shows for the one endpoint of a kind
 * (-1: not one endpoint). */
static int reliability(observer *o, bool publisher)
{
    rcl_topic_endpoint_info_array_t info = endpoint_info(o, publisher);
    rcl_allocator_t a = rcl_get_default_allocator();
    int r = info.size == 1 ? (int)info.info_array[0].qos_profile.reliability : -1;
    CHECK(rmw_topic_endpoint_info_array_fini(&info, &a) == RMW_RET_OK);
    return r;
}

/* Both endpoints are there with their records: a record follows its
 * endpoint (endpoint info shows the registry's "reliable" until then). */
static bool both_there(void *arg)
{
    return count(arg, true) == 1 && count(arg, false) == 1 &&
           reliability(arg, true) == RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT &&
           reliability(arg, false) == RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT;
}

static bool both_gone(void *arg)
{
    return count(arg, true) == 0 && count(arg, false) == 0;
}

/* The one endpoint of a kind on TOPIC: its profile checked, its id kept. */
static uint64_t check_info(observer *o, bool publisher)
{
    rcl_topic_endpoint_info_array_t info = endpoint_info(o, publisher);
    rcl_allocator_t a = rcl_get_default_allocator();
    CHECK_EQ(info.size, 1);
    const rmw_topic_endpoint_info_t *e = &info.info_array[0];
    CHECK(strcmp(e->node_name, "qos_info_endpoints") == 0);
    rmw_qos_profile_t want = publisher ? publisher_profile() : subscription_profile();
    check_profile(publisher ? "publisher" : "subscription", &e->qos_profile, &want, publisher);
    uint64_t id;
    memcpy(&id, e->endpoint_gid, sizeof id);
    CHECK(rmw_topic_endpoint_info_array_fini(&info, &a) == RMW_RET_OK);
    return id;
}

/* Whether a live endpoint still announces the QoS of endpoint id. */
static bool record_alive(uint64_t id)
{
    char topic[64];
    snprintf(topic, sizeof topic, "/_zloan_qos/e%016" PRIx64, id);
    zl_topic_info *info = malloc(sizeof *info);
    CHECK(info != NULL);
    bool alive = false;
    const char *domain = getenv("ROS_DOMAIN_ID");
    if (zl_introspection_topic_info((uint32_t)atoi(domain != NULL ? domain : "0"), topic,
                                    info) == 0)
        for (uint32_t k = 0; k < info->endpoint_count; k++)
            alive = alive || info->endpoints[k].alive;
    free(info);
    return alive;
}

/* No graph query shows the records. */
static void check_hidden(observer *o)
{
    rcl_names_and_types_t nt = rcl_get_zero_initialized_names_and_types();
    rcl_allocator_t a = rcl_get_default_allocator();
    CHECK_RET(rcl_get_topic_names_and_types(&o->r.node, &a, false, &nt));
    for (size_t i = 0; i < nt.names.size; i++)
        CHECK(strncmp(nt.names.data[i], "/_zloan", 7) != 0);
    CHECK_RET(rcl_names_and_types_fini(&nt));
}

int main(void)
{
    pid_t child = spawn(endpoints, NULL);
    observer o;
    ros2_open(&o.r, "qos_info_observer");
    CHECK(wait_until(both_there, &o, 30));
    uint64_t pub_id = check_info(&o, true);
    uint64_t sub_id = check_info(&o, false);
    CHECK(record_alive(pub_id));
    CHECK(record_alive(sub_id));
    check_hidden(&o);
    printf("observer: another process's endpoints show the QoS they asked for\n");

    CHECK(kill(child, SIGKILL) == 0);
    CHECK_EQ(reap(child), 128 + SIGKILL);
    CHECK(wait_until(both_gone, &o, 30));
    rcl_topic_endpoint_info_array_t info = endpoint_info(&o, true);
    rcl_allocator_t a = rcl_get_default_allocator();
    CHECK_EQ(info.size, 0);
    CHECK(rmw_topic_endpoint_info_array_fini(&info, &a) == RMW_RET_OK);
    CHECK(!record_alive(pub_id));
    CHECK(!record_alive(sub_id));
    printf("observer: the killed process's endpoints and QoS records are gone\n");
    ros2_close(&o.r);
    printf("QoS in endpoint info: ok\n");
    return 0;
}
