/* Helpers shared by the crash tests (label `crash`): counting a topic's
 * objects in /dev/shm, and child processes that report over a pipe. */
#ifndef ZL_TEST_CRASH_H
#define ZL_TEST_CRASH_H

#include <dirent.h>
#include <poll.h>
#include <stdint.h>
#include <sys/stat.h>

#include "harness.h"

/* Objects of this user in /dev/shm whose name contains needle, and the
 * bytes they occupy (allocated blocks, not their nominal size). */
static inline int crash_shm_usage(const char *needle, uint64_t *bytes)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "zl.%u.", (unsigned)geteuid());
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return -1;
    int count = 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || strstr(e->d_name, needle) == NULL)
            continue;
        char path[600];
        snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue; /* removed meanwhile */
        count++;
        total += (uint64_t)st.st_blocks * 512u;
    }
    closedir(dir);
    if (bytes != NULL)
        *bytes = total;
    return count;
}

/* Pools of this user in /dev/shm whose name contains needle: their control
 * objects (`…:p<id>`), not their segments (`…:p<id>.<serial>`). */
static inline int crash_shm_pools(const char *needle)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "zl.%u.", (unsigned)geteuid());
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        const char *pool = strstr(e->d_name, ":p");
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, needle) != NULL &&
            pool != NULL && strchr(pool, '.') == NULL)
            count++;
    }
    closedir(dir);
    return count;
}

/* Pool segments (`…:p<id>.<serial>`) of this user in /dev/shm whose name
 * contains needle. */
static inline int crash_shm_segments(const char *needle)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "zl.%u.", (unsigned)geteuid());
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        const char *pool = strstr(e->d_name, ":p");
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, needle) != NULL &&
            pool != NULL && strchr(pool, '.') != NULL)
            count++;
    }
    closedir(dir);
    return count;
}

/* The topic's name as it appears in /dev/shm (the '/' become '.'). */
static inline void crash_shm_needle(const char *topic, char *out, size_t size)
{
    snprintf(out, size, "%s", topic);
    for (char *p = out; *p != '\0'; p++)
        if (*p == '/')
            *p = '.';
}

/* Reads one line from fd within timeout_ms; returns its length or -1. */
static inline int crash_read_line(int fd, char *line, size_t size, int timeout_ms)
{
    size_t n = 0;
    int64_t deadline = test_now_ns() + (int64_t)timeout_ms * 1000000;
    while (n + 1 < size) {
        int64_t left = (deadline - test_now_ns()) / 1000000;
        if (left < 0)
            return -1;
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (c == '\n') {
            line[n] = '\0';
            return (int)n;
        }
        line[n++] = c;
    }
    line[n] = '\0';
    return (int)n;
}

/* Writes a whole line (a child's report, a command). */
static inline void crash_write_line(int fd, const char *line)
{
    size_t len = strlen(line), done = 0;
    while (done < len) {
        ssize_t w = write(fd, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        done += (size_t)w;
    }
}

static inline void crash_kill_wait(pid_t pid)
{
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

#endif
