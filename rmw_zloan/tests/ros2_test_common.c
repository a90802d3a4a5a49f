/* rmw_zloan tests — the helpers of ros2_test.h. */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <rcl/graph.h>

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void ros2_open(ros2 *r, const char *node_name)
{
    rcl_allocator_t a = rcl_get_default_allocator();
    rcl_init_options_t io = rcl_get_zero_initialized_init_options();
    CHECK_RET(rcl_init_options_init(&io, a));
    r->context = rcl_get_zero_initialized_context();
    CHECK_RET(rcl_init(0, NULL, &io, &r->context));
    CHECK_RET(rcl_init_options_fini(&io));
    const char *impl = rmw_get_implementation_identifier();
    if (strcmp(impl, "rmw_zloan") != 0) {
        fprintf(stderr, "the middleware is %s, not rmw_zloan (RMW_IMPLEMENTATION)\n", impl);
        exit(1);
    }
    r->node = rcl_get_zero_initialized_node();
    rcl_node_options_t no = rcl_node_get_default_options();
    no.enable_rosout = false;
    CHECK_RET(rcl_node_init(&r->node, node_name, "", &r->context, &no));
}

void ros2_close(ros2 *r)
{
    CHECK_RET(rcl_node_fini(&r->node));
    CHECK_RET(rcl_shutdown(&r->context));
    CHECK_RET(rcl_context_fini(&r->context));
}

pid_t spawn(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* A child dies with the test: one that outlived a failed parent
         * would hold ctest's output pipe open until the timeout. */
        CHECK(prctl(PR_SET_PDEATHSIG, SIGKILL) == 0);
        if (getppid() != parent)
            _exit(1);
        int rc = fn(arg);
        fflush(NULL);
        _exit(rc);
    }
    return pid;
}

int reap(pid_t pid)
{
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

double now_s(void)
{
    static struct timespec t0;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (t0.tv_sec == 0)
        t0 = t;
    return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

void say(int fd, char c)
{
    CHECK(write(fd, &c, 1) == 1);
}

char hear(int fd, double timeout_s)
{
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, (int)(timeout_s * 1000));
    if (n != 1)
        return 0;
    char c = 0;
    if (read(fd, &c, 1) != 1)
        return 0;
    return c;
}

void pipes_open(pipes *p)
{
    CHECK(pipe(p->to_parent) == 0 && pipe(p->to_child) == 0);
}

bool in_zloan_shm(const void *address, bool *writable)
{
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    char line[512];
    bool found = false;
    uintptr_t a = (uintptr_t)address;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        char perms[8] = "";
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &path_at) < 3)
            continue;
        if (a < lo || a >= hi)
            continue;
        const char *path = line + path_at;
        found = strncmp(path, "/dev/shm/zl.", 12) == 0;
        *writable = perms[1] == 'w';
        if (!found)
            fprintf(stderr, "%p lies in %s", address, line);
    }
    fclose(f);
    return found;
}

bool wait_until(bool (*cond)(void *), void *arg, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        if (cond(arg))
            return true;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return cond(arg);
}

void wait_subscribed(const rcl_publisher_t *pub, size_t count, double timeout_s)
{
    size_t subs = 0;
    double end = now_s() + timeout_s;
    for (;;) {
        CHECK_RET(rcl_publisher_get_subscription_count(pub, &subs));
        if (subs >= count || now_s() > end)
            break;
        usleep(10000);
    }
    CHECK_EQ(subs, count);
}

bool wait_event(rcl_context_t *context, rcl_event_t *event, double timeout_s)
{
    rcl_wait_set_t ws = rcl_get_zero_initialized_wait_set();
    CHECK_RET(rcl_wait_set_init(&ws, 0, 0, 0, 0, 0, 1, context, rcl_get_default_allocator()));
    double end = now_s() + timeout_s;
    bool ready = false;
    while (!ready && now_s() < end) {
        CHECK_RET(rcl_wait_set_clear(&ws));
        CHECK_RET(rcl_wait_set_add_event(&ws, event, NULL));
        rcl_ret_t ret = rcl_wait(&ws, RCL_S_TO_NS(1));
        CHECK(ret == RCL_RET_OK || ret == RCL_RET_TIMEOUT);
        ready = ret == RCL_RET_OK && ws.events[0] != NULL;
    }
    CHECK_RET(rcl_wait_set_fini(&ws));
    return ready;
}

size_t graph_count(rcl_node_t *node, const char *topic, bool publishers)
{
    size_t n = 99;
    if (publishers)
        CHECK_RET(rcl_count_publishers(node, topic, &n));
    else
        CHECK_RET(rcl_count_subscribers(node, topic, &n));
    return n;
}
