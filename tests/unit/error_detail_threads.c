/* The failure detail is the calling thread's own (zl_last_error_detail):
 * "" on a thread that never failed, the sentence of its last failure after
 * one, "" again after a call that succeeded, never another thread's; and
 * each thread's buffer is freed when it exits (run under AddressSanitizer:
 * its leak check fails this test if one is not). */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define THREADS 8
#define ROUNDS 200

static zl_context *context;
static atomic_int start;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    while (atomic_load(&start) == 0) {
    }
    /* A thread that never failed has no detail. */
    CHECK(strcmp(zl_last_error_detail(), "") == 0);
    static const zl_type bytes_type = ZL_TYPE_PLAIN(uint64_t);
    char own[64];
    snprintf(own, sizeof own, "/error_detail_threads/p%d_t%d", (int)getpid(), id);
    zl_publisher *publisher = NULL;
    CHECK_OK(zl_publisher_create(context, own, &bytes_type, NULL, &publisher));
    for (int i = 0; i < ROUNDS; i++) {
        /* A failure of our own: the topic name (a token starting with a
         * digit, refused) is ours to recognize. */
        char topic[64];
        snprintf(topic, sizeof topic, "/error_detail_threads/%d_%d", id, i);
        zl_publisher *bad = NULL;
        CHECK_RC(zl_publisher_create(context, topic, &bytes_type, NULL, &bad), ZL_ENAME);
        CHECK(strstr(zl_last_error_detail(), topic) != NULL);
        /* A hot-path call that fails says why; one that succeeds clears. */
        CHECK_RC(zl_publisher_publish_loan(publisher, own), ZL_ENOTLOAN);
        CHECK(strlen(zl_last_error_detail()) > 0);
        void *loan = NULL;
        CHECK_OK(zl_publisher_loan(publisher, &loan));
        CHECK(strcmp(zl_last_error_detail(), "") == 0);
        CHECK_OK(zl_publisher_return_loan(publisher, loan));
    }
    CHECK_OK(zl_publisher_destroy(publisher));
    return NULL;
}

int main(void)
{
    CHECK_OK(zl_context_create(NULL, &context));
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t) == 0);
    atomic_store(&start, 1);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_join(threads[t], NULL) == 0);
    /* The main thread's own detail is untouched by the workers'. */
    CHECK(strcmp(zl_last_error_detail(), "") == 0);
    CHECK_OK(zl_context_destroy(context));
    printf("error_detail_threads: ok\n");
    return 0;
}
