/* rmw_zloan test — rcl's loan API end to end between two processes, on a
 * plain type (geometry_msgs/PoseWithCovariance, 344 bytes, no pointers):
 *   - the publisher's borrowed message lies in zloan's shared memory,
 *     writable; the subscription's loaned message lies in zloan's shared
 *     memory too, mapped read-only: the bytes the publisher wrote, no copy
 *     (/proc/self/maps);
 *   - loans are on by default (rcl_*_can_loan_messages);
 *   - loans held by the subscription stay unchanged while the publisher
 *     publishes 200 more messages (zloan never overwrites a held loan). */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <string.h>
#include <unistd.h>

#include <geometry_msgs/msg/pose_with_covariance.h>

#define HELD 4
#define MORE 200

typedef geometry_msgs__msg__PoseWithCovariance pose;

static const rosidl_message_type_support_t *ts(void)
{
    return ROSIDL_GET_MSG_TYPE_SUPPORT(geometry_msgs, msg, PoseWithCovariance);
}

static void fill(pose *m, int seq)
{
    m->pose.position.x = seq;
    for (int k = 0; k < 36; k++)
        m->covariance[k] = seq * 1000.0 + k;
}

static bool intact(const pose *m, int seq)
{
    if (m->pose.position.x != seq)
        return false;
    for (int k = 0; k < 36; k++)
        if (m->covariance[k] != seq * 1000.0 + k)
            return false;
    return true;
}

static int subscriber(void *arg)
{
    pipes *p = arg;
    ros2 r;
    ros2_open(&r, "loan_listener");
    rcl_subscription_t sub = rcl_get_zero_initialized_subscription();
    rcl_subscription_options_t so = rcl_subscription_get_default_options();
    CHECK_RET(rcl_subscription_init(&sub, &r.node, ts(), "/poses", &so));
    CHECK(rcl_subscription_can_loan_messages(&sub));
    say(p->to_parent[1], 'S');

    const pose *held[HELD];
    int got = 0;
    double end = now_s() + 20;
    while (got < HELD && now_s() < end) {
        void *m = NULL;
        rmw_message_info_t info = rmw_get_zero_initialized_message_info();
        rcl_ret_t ret = rcl_take_loaned_message(&sub, &m, &info, NULL);
        if (ret == RCL_RET_SUBSCRIPTION_TAKE_FAILED) {
            usleep(1000);
            continue;
        }
        CHECK_RET(ret);
        held[got] = m;
        CHECK(intact(held[got], got + 1));
        CHECK_EQ(info.publication_sequence_number, got + 1);
        bool writable = true;
        CHECK(in_zloan_shm(m, &writable));
        CHECK(!writable);
        got++;
    }
    CHECK_EQ(got, HELD);
    printf("subscriber: %d loans held, each in zloan's shared memory, read-only\n", HELD);
    say(p->to_parent[1], 'H');
    CHECK(hear(p->to_child[0], 60) == 'D');
    for (int i = 0; i < HELD; i++) {
        CHECK(intact(held[i], i + 1));
        CHECK_RET(rcl_return_loaned_message_from_subscription(&sub, (void *)held[i]));
    }
    printf("subscriber: the held loans were unchanged after %d more messages\n", MORE);
    /* The newest messages are queued (keep-last, depth 10): the last one is MORE + HELD. */
    int last = 0;
    for (;;) {
        pose m;
        CHECK(geometry_msgs__msg__PoseWithCovariance__init(&m));
        rcl_ret_t ret = rcl_take(&sub, &m, NULL, NULL);
        if (ret == RCL_RET_SUBSCRIPTION_TAKE_FAILED)
            break;
        CHECK_RET(ret);
        CHECK(intact(&m, (int)m.pose.position.x));
        last = (int)m.pose.position.x;
    }
    CHECK_EQ(last, HELD + MORE);
    CHECK_RET(rcl_subscription_fini(&sub, &r.node));
    ros2_close(&r);
    return 0;
}

int main(void)
{
    pipes p;
    pipes_open(&p);
    pid_t child = spawn(subscriber, &p);
    CHECK(hear(p.to_parent[0], 20) == 'S');

    ros2 r;
    ros2_open(&r, "loan_talker");
    rcl_publisher_t pub = rcl_get_zero_initialized_publisher();
    rcl_publisher_options_t po = rcl_publisher_get_default_options();
    CHECK_RET(rcl_publisher_init(&pub, &r.node, ts(), "/poses", &po));
    CHECK(rcl_publisher_can_loan_messages(&pub));
    wait_subscribed(&pub, 1, 20);
    for (int seq = 1; seq <= HELD + MORE; seq++) {
        if (seq == HELD + 1)
            CHECK(hear(p.to_parent[0], 30) == 'H');
        void *m = NULL;
        CHECK_RET(rcl_borrow_loaned_message(&pub, ts(), &m));
        bool writable = false;
        CHECK(in_zloan_shm(m, &writable));
        CHECK(writable);
        fill(m, seq);
        CHECK_RET(rcl_publish_loaned_message(&pub, m, NULL));
    }
    printf("publisher: %d loaned messages published from zloan's shared memory\n", HELD + MORE);
    say(p.to_child[1], 'D');
    CHECK_EQ(reap(child), 0);
    CHECK_RET(rcl_publisher_fini(&pub, &r.node));
    ros2_close(&r);
    printf("rcl loans: ok\n");
    return 0;
}
