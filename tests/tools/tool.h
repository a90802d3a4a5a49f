/* Running the `zloan` tool from tests and reading what it prints. */
#ifndef ZL_TEST_TOOL_H
#define ZL_TEST_TOOL_H

#include <signal.h>
#include <stdarg.h>

#include "harness.h"

/* Runs "TOOL ARGS 2>&1", its output into out; returns its exit code, or
 * 128 + signal when it was killed (a crash fails every caller's checks). */
static inline int tool_run(const char *tool, char *out, size_t out_size, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static inline int tool_run(const char *tool, char *out, size_t out_size, const char *format, ...)
{
    char args[1024], command[1400];
    va_list ap;
    va_start(ap, format);
    vsnprintf(args, sizeof args, format, ap);
    va_end(ap);
    snprintf(command, sizeof command, "%s %s 2>&1", tool, args);
    FILE *p = popen(command, "r");
    CHECK(p != NULL);
    size_t n = fread(out, 1, out_size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Children to kill when the test exits, also on a failed CHECK (which
 * exits at once): a child left running would hold CTest's output pipe open
 * until the test's timeout. */
static pid_t tool_children[8];
static pid_t tool_parent;

static void tool_kill_children(void)
{
    if (getpid() != tool_parent)
        return; /* a forked child exiting */
    for (int i = 0; i < 8; i++)
        if (tool_children[i] > 0)
            kill(tool_children[i], SIGKILL);
}

static inline void tool_track_child(pid_t pid)
{
    if (tool_parent == 0) {
        tool_parent = getpid();
        atexit(tool_kill_children);
    }
    for (int i = 0; i < 8; i++)
        if (tool_children[i] == 0) {
            tool_children[i] = pid;
            return;
        }
}

/* How many times needle occurs in text. */
static inline int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
        n++;
    return n;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
