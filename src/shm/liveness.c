/* The liveness monitor: one thread per process that notices dead peers.
 *
 * A peer's death shows as a slot whose record is set but whose byte lock
 * nobody holds (registry.c G2); testing takes an fcntl per slot. Doing that
 * from loan, publish or take would put a system call on the hot path (I4),
 * so this thread does it instead, every ZLOAN_LIVENESS_PERIOD_MS (default
 * 20 ms), for every registry the process has open. It only looks (F_OFD_GETLK
 * changes nothing) and, when a slot is dead, bumps that registry's
 * generation: the endpoints notice with the one generation load they make
 * anyway, reap the dead slot on their own thread (zl__registry_reap_dead)
 * and reclaim what the peer held. The thread never takes a slot's lock:
 * byte locks do not exclude threads that share an open file description,
 * so a reap from here could race the endpoint's own registration on the
 * same descriptor. With ZLOAN_LIVENESS_PERIOD_MS=0 there is no thread, and
 * endpoints test their peers themselves every 50 ms.
 *
 * It holds the tracked registries' lock while it looks at them, so none is
 * closed under it, and skips each registry's own slot (whose lock the
 * kernel would not report: it is held through the same description). A
 * forked child has no such thread; it starts one with its first registry.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "../environment.h"
#include "registry.h"

static pthread_mutex_t monitor_lock = PTHREAD_MUTEX_INITIALIZER;
static bool running;
static long period_ms = -1;

static void check(zl__registry *r, void *arg)
{
    (void)arg;
    if (r->fd < 0 || r->shm == NULL)
        return;
    for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++) {
        uint32_t slots = kind == ZL__KIND_PUBLISHER ? ZL__PUB_SLOTS : ZL__SUB_SLOTS;
        for (uint32_t i = 0; i < slots; i++) {
            if (r->own_kind == kind && r->own_slot == i)
                continue;
            zl__endpoint_record record;
            if (zl__registry_lookup(r, kind, i, &record) == ZL__SLOT_PRESENT &&
                !zl__registry_alive(r, kind, i)) {
                zl__registry_poke(r);
                return;
            }
        }
    }
}

static void *monitor(void *arg)
{
    (void)arg;
    struct timespec period = {period_ms / 1000, (period_ms % 1000) * 1000000L};
    for (;;) {
        nanosleep(&period, NULL);
        zl__registry_visit_tracked(check, NULL);
    }
    return NULL;
}

bool zl__liveness_monitor_start(void)
{
    pthread_mutex_lock(&monitor_lock);
    if (period_ms < 0) {
        /* An invalid value was refused by zl_context_create (only a change
         * of the environment since then reaches here): the default. */
        period_ms = (long)zl__environment_number_or(ZL__ENV_LIVENESS_PERIOD_MS,
                                                    ZL__LIVENESS_PERIOD_MS_MAX, 20);
    }
    if (!running && period_ms > 0) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        /* All signals blocked in the thread: they belong to the user's. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        running = pthread_create(&thread, &attr, monitor, NULL) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
    }
    bool result = running;
    pthread_mutex_unlock(&monitor_lock);
    return result;
}

bool zl__liveness_monitor_running(void)
{
    pthread_mutex_lock(&monitor_lock);
    bool result = running;
    pthread_mutex_unlock(&monitor_lock);
    return result;
}

/* In a forked child (registry_fork.c): the thread was not copied. The lock
 * may have been held by another thread at fork: make a fresh one. */
void zl__liveness_monitor_forget(void);
void zl__liveness_monitor_forget(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    monitor_lock = fresh;
    running = false;
}
