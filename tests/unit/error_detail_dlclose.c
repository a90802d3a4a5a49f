/* A thread that failed a zloan call (so its failure detail was allocated,
 * error.c) outlives the library: libzloan.so is loaded with dlopen, used,
 * and unloaded with dlclose while that thread is alive; the thread exits
 * after. The library's key destructor must not be called then (it is no
 * longer mapped): the process crashed when it was. Then the library loads
 * again and fails and clears details as before. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

typedef int (*loan_fn)(void *publisher, void **message);
typedef const char *(*detail_fn)(void);

static pthread_barrier_t barrier;

typedef struct library {
    void *handle;
    loan_fn loan;
    detail_fn detail;
} library;

static void open_library(library *lib)
{
    lib->handle = dlopen(ZLOAN_SHARED_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (lib->handle == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", ZLOAN_SHARED_LIBRARY, dlerror());
        exit(1);
    }
    lib->loan = (loan_fn)(uintptr_t)dlsym(lib->handle, "zl_publisher_loan");
    lib->detail = (detail_fn)(uintptr_t)dlsym(lib->handle, "zl_last_error_detail");
    CHECK(lib->loan != NULL && lib->detail != NULL);
}

static void *failing_thread(void *arg)
{
    library *lib = arg;
    CHECK_EQ(lib->loan(NULL, NULL), ZL_EINVAL);
    CHECK(strlen(lib->detail()) > 0);
    pthread_barrier_wait(&barrier); /* failed: the library may go */
    pthread_barrier_wait(&barrier); /* it is gone: exit */
    return NULL;
}

int main(void)
{
    for (int cycle = 0; cycle < 3; cycle++) {
        library lib;
        open_library(&lib);
        CHECK(pthread_barrier_init(&barrier, NULL, 2) == 0);
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, failing_thread, &lib) == 0);
        pthread_barrier_wait(&barrier);
        CHECK(dlclose(lib.handle) == 0);
        pthread_barrier_wait(&barrier);
        CHECK(pthread_join(thread, NULL) == 0); /* its exit ran no code of ours */
        CHECK(pthread_barrier_destroy(&barrier) == 0);
    }
    library lib;
    open_library(&lib);
    CHECK_EQ(lib.loan(NULL, NULL), ZL_EINVAL);
    CHECK(strstr(lib.detail(), "NULL") != NULL);
    CHECK(dlclose(lib.handle) == 0);
    printf("error_detail_dlclose: ok\n");
    return 0;
}
