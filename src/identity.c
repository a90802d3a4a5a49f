/* Random ids and the process token. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "identity.h"

uint64_t zl__random_id(void)
{
    uint64_t value = 0;
    for (;;) {
        ssize_t n = getrandom(&value, sizeof value, 0);
        if (n == (ssize_t)sizeof value && value != 0)
            return value;
        if (n < 0 && errno != EINTR) {
            /* getrandom cannot fail on Linux >= 3.17 once the pool is
             * initialised; fall back to a time and pid mix rather than abort. */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            value = ((uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)getpid() << 32) ^
                    (uint64_t)ts.tv_sec;
            if (value != 0)
                return value;
        }
    }
}

/* The token is made on first use and forgotten in a forked child, which
 * makes its own. Relaxed ordering is enough: the token carries no other data,
 * and the compare-and-swap makes every thread agree on the first value. */
static zl__atomic_u64 token;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_token_in_child(void) { zl__store_relaxed(&token, 0); }

static void register_atfork(void) { pthread_atfork(NULL, NULL, forget_token_in_child); }

uint64_t zl__process_token(void)
{
    uint64_t current = zl__load_relaxed(&token);
    if (current != 0)
        return current;
    pthread_once(&atfork_once, register_atfork);
    uint64_t fresh = zl__random_id();
    uint64_t expected = 0;
    if (atomic_compare_exchange_strong_explicit(&token, &expected, fresh, memory_order_relaxed,
                                                memory_order_relaxed))
        return fresh;
    return expected;
}
