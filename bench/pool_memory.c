/* Shared memory a publisher's pool reserves, at creation and after a
 * steady state: one publisher of a fixed-size type of SIZE bytes with the
 * default options, one subscription (default options) taking and returning
 * every message, publishing at 100 Hz for SECONDS.
 *
 *   zloan_bench_pool_memory SIZE SECONDS
 *
 * Prints one line: "pool_memory SIZE created_bytes steady_bytes", the
 * bytes /dev/shm holds (allocated blocks) for the topic's pool objects.
 * Uses only the public API that existed before pools grew, so that
 * bench/pool_memory.sh can build it against the previous design too. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zloan/zloan.h"

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "pool_memory: %s: %s (%s)\n", what, zl_strerror(rc),
                zl_last_error_detail());
        exit(1);
    }
}

/* Bytes of /dev/shm objects whose name holds needle. */
static unsigned long long shm_bytes(const char *needle)
{
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return 0;
    unsigned long long total = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strstr(e->d_name, needle) == NULL)
            continue;
        char path[600];
        snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
        struct stat st;
        if (stat(path, &st) == 0)
            total += (unsigned long long)st.st_blocks * 512u;
    }
    closedir(dir);
    return total;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SIZE SECONDS\n", argv[0]);
        return 2;
    }
    size_t size = strtoull(argv[1], NULL, 10);
    double seconds = atof(argv[2]);
    zl_type type = {.name = "pool_memory_payload", .size = size, .alignment = 64, .plain = true};
    char topic[64], needle[64];
    snprintf(topic, sizeof topic, "/pool_memory/t%d", (int)getpid());
    snprintf(needle, sizeof needle, "pool_memory.t%d:p", (int)getpid());
    zl_context *context;
    must(zl_context_create(NULL, &context), "zl_context_create");
    zl_subscription *sub;
    must(zl_subscription_create(context, topic, &type, NULL, &sub), "zl_subscription_create");
    zl_publisher *pub;
    must(zl_publisher_create(context, topic, &type, NULL, &pub), "zl_publisher_create");
    unsigned long long created = shm_bytes(needle);
    int64_t end = now_ns() + (int64_t)(seconds * 1e9);
    for (uint64_t sequence = 1; now_ns() < end; sequence++) {
        void *loan;
        must(zl_publisher_loan(pub, &loan), "zl_publisher_loan");
        memset(loan, (int)sequence, size < 4096 ? size : 4096);
        must(zl_publisher_publish_loan(pub, loan), "zl_publisher_publish_loan");
        const void *msg;
        while (zl_subscription_take_loan(sub, &msg, NULL) == 0)
            must(zl_subscription_return_loan(sub, msg), "zl_subscription_return_loan");
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    unsigned long long steady = shm_bytes(needle);
    printf("pool_memory\t%zu\t%llu\t%llu\n", size, created, steady);
    must(zl_publisher_destroy(pub), "zl_publisher_destroy");
    must(zl_subscription_destroy(sub), "zl_subscription_destroy");
    must(zl_context_destroy(context), "zl_context_destroy");
    return 0;
}
