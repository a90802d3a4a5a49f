/* A small test harness: each test is its own process (CTest runs one
 * executable per test, with a timeout); a failed check prints both operands
 * and where, then exits non-zero. */
#ifndef ZL_TEST_HARNESS_H
#define ZL_TEST_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zloan/zloan.h"

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK(%s) failed (detail: %s)\n", __FILE__, __LINE__, \
                    #cond, zl_last_error_detail());                                        \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

#define CHECK_EQ(a, b)                                                                        \
    do {                                                                                      \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                       \
        if (check_a_ != check_b_) {                                                           \
            fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld (detail: %s)\n",   \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_, zl_last_error_detail()); \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

/* A zloan call that must return code; prints the code's name otherwise. */
#define CHECK_RC(call, code)                                                                  \
    do {                                                                                      \
        int check_rc_ = (call);                                                               \
        if (check_rc_ != (code)) {                                                            \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s); detail: %s\n",     \
                    __FILE__, __LINE__, #call, check_rc_, zl_strerror(check_rc_), (int)(code), \
                    zl_strerror(code), zl_last_error_detail());                               \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

#define CHECK_OK(call) CHECK_RC(call, 0)

/* A topic name unique to this test process, so tests may run in parallel. */
static inline const char *test_topic(const char *base)
{
    static char name[4][128];
    static int next;
    char *out = name[next++ % 4];
    snprintf(out, 128, "/test/%s_%d", base, (int)getpid());
    return out;
}

static inline int64_t test_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Waits for a child; fails the test unless it exited with 0. */
static inline void test_wait_child_ok(pid_t pid, const char *what)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child %s (pid %d) failed: %s %d\n", what, (int)pid,
                WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        exit(1);
    }
}

/* Number of zloan objects of this user in /dev/shm whose name contains
 * needle (NULL: all of them). */
static inline int test_count_shm(const char *needle)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "zl.%u.", (unsigned)geteuid());
    FILE *ls = popen("ls /dev/shm", "r");
    if (ls == NULL)
        return -1;
    char line[512];
    int count = 0;
    while (fgets(line, sizeof line, ls) != NULL)
        if (strncmp(line, prefix, strlen(prefix)) == 0 && (needle == NULL || strstr(line, needle)))
            count++;
    pclose(ls);
    return count;
}


/* An allocator that counts, for checking that everything allocated is
 * freed and that nothing is allocated where nothing should be. */
typedef struct test_counting_allocator {
    long allocations;
    long deallocations;
    long bytes_live;
} test_counting_allocator;

static void *test_counting_allocate(size_t size, size_t alignment, void *state)
{
    test_counting_allocator *c = state;
    __atomic_fetch_add(&c->allocations, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->bytes_live, (long)size, __ATOMIC_RELAXED);
    return zl_allocator_default()->allocate(size, alignment, NULL);
}

static void test_counting_deallocate(void *ptr, size_t size, size_t alignment, void *state)
{
    test_counting_allocator *c = state;
    __atomic_fetch_add(&c->deallocations, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&c->bytes_live, (long)size, __ATOMIC_RELAXED);
    zl_allocator_default()->deallocate(ptr, size, alignment, NULL);
}

static inline zl_allocator test_counting(test_counting_allocator *c)
{
    zl_allocator a = {test_counting_allocate, test_counting_deallocate, c};
    return a;
}

/* The shared-memory name fragment of a topic (its '/' written as '.'). */
static inline const char *test_shm_fragment(const char *topic)
{
    static char out[256];
    size_t i = 0;
    for (; topic[i] != '\0' && i + 1 < sizeof out; i++)
        out[i] = topic[i] == '/' ? '.' : topic[i];
    out[i] = '\0';
    return out;
}

/* Whether address lies in a mapping of a file whose path contains needle. */
static inline int test_mapped_from(const void *address, const char *needle)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL)
        return 0;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx", &start, &end) != 2)
            continue;
        if ((unsigned long)address >= start && (unsigned long)address < end)
            found = strstr(line, needle) != NULL;
    }
    fclose(maps);
    return found;
}
#endif
