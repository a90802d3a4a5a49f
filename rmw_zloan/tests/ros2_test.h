/* rmw_zloan tests — what the test programs share: checks that print both
 * sides, child processes, and the ROS 2 boilerplate. Each test is a CTest
 * case in its own process (and the children it forks), on its own domain. */
#ifndef RMW_ZLOAN_ROS2_TEST_H
#define RMW_ZLOAN_ROS2_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include <unistd.h>

#include <rcl/error_handling.h>
#include <rcl/event.h>
#include <rcl/rcl.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: [%d] check failed: %s (rcl error: %s)\n", __FILE__, \
                    __LINE__, (int)getpid(), #cond, rcl_get_error_string().str);      \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)
#define CHECK_RET(expr)                                                               \
    do {                                                                              \
        rcl_ret_t r_ = (expr);                                                        \
        if (r_ != RCL_RET_OK) {                                                       \
            fprintf(stderr, "%s:%d: [%d] %s returned %d: %s\n", __FILE__, __LINE__,     \
                    (int)getpid(), #expr, (int)r_, rcl_get_error_string().str);       \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)
#define CHECK_EQ(a, b)                                                                \
    do {                                                                              \
        long long a_ = (long long)(a), b_ = (long long)(b);                           \
        if (a_ != b_) {                                                               \
            fprintf(stderr, "%s:%d: [%d] %s == %s failed: %lld != %lld\n", __FILE__,     \
                    __LINE__, (int)getpid(), #a, #b, a_, b_);                         \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/** A ROS 2 context and one node, made with rcl. */
typedef struct ros2 {
    rcl_context_t context;
    rcl_node_t node;
} ros2;

void ros2_open(ros2 *r, const char *node_name);
void ros2_close(ros2 *r);

/** Forks a child that runs fn(arg) and exits with its return value. */
pid_t spawn(int (*fn)(void *), void *arg);
/** Waits for pid; its exit code (128 + signal when killed). */
int reap(pid_t pid);
/** Seconds since the first call. */
double now_s(void);
/** A pipe pair: one byte messages between a parent and a child. */
void say(int fd, char c);
char hear(int fd, double timeout_s);
/** Both ways between a parent and a child: the child says on to_parent[1]
 * and hears on to_child[0]. */
typedef struct pipes {
    int to_parent[2];
    int to_child[2];
} pipes;
void pipes_open(pipes *p);

/** Whether address lies in a mapping of /dev/shm of zloan's, and whether
 * that mapping is writable (from /proc/self/maps). */
bool in_zloan_shm(const void *address, bool *writable);

/** Waits up to timeout_s until pub counts count subscriptions; fails the
 * test (exit 1) when it does not. */
void wait_subscribed(const rcl_publisher_t *pub, size_t count, double timeout_s);

/** Waits (spinning rcl's graph) until cond(arg) holds or timeout_s passes. */
bool wait_until(bool (*cond)(void *), void *arg, double timeout_s);

/** The publishers (or subscriptions) of topic in the graph, as node sees it. */
size_t graph_count(rcl_node_t *node, const char *topic, bool publishers);

/** Waits in rcl_wait, on the event alone, until it is ready (true) or
 * timeout_s passes (false). */
bool wait_event(rcl_context_t *context, rcl_event_t *event, double timeout_s);

#ifdef __cplusplus
}
#endif

#endif
