/* A guard condition raised from a signal handler wakes a thread sleeping in
 * a wait set, and zl_executor_stop() from a signal handler ends spin(). */
#include <signal.h>
#include <sys/time.h>

#include "harness.h"

static zl_guard_condition *guard;
static zl_executor *executor;
static volatile sig_atomic_t handled;

static void on_alarm(int signal_number)
{
    (void)signal_number;
    if (handled++ == 0)
        zl_guard_condition_trigger(guard);
    else
        zl_executor_stop(executor);
}

static void guard_callback(zl_guard_condition *g, void *arg)
{
    (void)g;
    ++*(int *)arg;
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    CHECK_OK(zl_guard_condition_create(context, &guard));
    zl_waitset *ws;
    CHECK_OK(zl_waitset_create(context, 1, &ws));
    size_t index;
    CHECK_OK(zl_waitset_attach_guard_condition(ws, guard, &index));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    /* No SA_RESTART: the wait then sees EINTR and re-checks. (With it the
     * wake-up works too, except under ThreadSanitizer, which runs handlers
     * late, at its next intercepted call, while the futex call restarts.) */
    sa.sa_flags = 0;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval in_50ms = {{0, 0}, {0, 50000}};
    CHECK(setitimer(ITIMER_REAL, &in_50ms, NULL) == 0);
    CHECK_OK(zl_waitset_wait(ws, -1, NULL)); /* forever, unless the handler wakes us */
    CHECK(zl_waitset_ready(ws, index));
    CHECK_EQ(handled, 1);
    CHECK_OK(zl_waitset_destroy(ws));

    /* The executor: the guard's callback runs on a trigger from a thread-less
     * signal, then a second signal stops spin(). */
    int calls = 0;
    CHECK_OK(zl_executor_create(context, 2, &executor));
    CHECK_OK(zl_executor_add_guard_condition(executor, guard, guard_callback, &calls));
    handled = 0;
    CHECK(setitimer(ITIMER_REAL, &in_50ms, NULL) == 0);
    CHECK_OK(zl_executor_spin_once(executor, 10000 * 1000000LL));
    CHECK_EQ(calls, 1);
    CHECK(setitimer(ITIMER_REAL, &in_50ms, NULL) == 0);
    CHECK_OK(zl_executor_spin(executor)); /* returns when the handler stops it */
    CHECK_EQ(handled, 2);
    CHECK_OK(zl_executor_destroy(executor));
    CHECK_OK(zl_guard_condition_destroy(guard));
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
