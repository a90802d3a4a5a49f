/* The process object of the discovery layer: the registries this process
 * has open, the liveness monitor thread, and what happens at fork().
 *
 * The liveness monitor. A peer's death shows as a slot whose record is set
 * but whose byte lock nobody holds (docs/design.md G2); testing takes an fcntl
 * per slot. Doing that from loan, publish or take would put a system call
 * on the hot path (I4), so one thread of the process does it instead, every
 * ZLOAN_LIVENESS_PERIOD_MS (default 20 ms; the context reads it and the
 * first endpoint of the process passes it in), for every tracked registry. It
 * only looks (F_OFD_GETLK changes nothing) and, when a slot is dead, bumps
 * that registry's generation: the endpoints notice with the one generation
 * load they make anyway, reap the dead slot on their own thread
 * (zl__registry_reap_dead) and reclaim what the peer held. The thread never
 * takes a slot's lock: byte locks do not exclude threads that share an open
 * file description, so a reap from here could race the endpoint's own
 * registration on the same descriptor. With ZLOAN_LIVENESS_PERIOD_MS=0
 * there is no thread, and endpoints test their peers themselves every 50 ms.
 * It skips each registry's own slot (registry.h, `own`).
 *
 * Fork. A registry's byte locks belong to the open file description, and
 * fork() shares descriptions: after a fork without exec (a worker, a
 * daemon), the child holds every lock of its parent's endpoints too. Were
 * the parent killed, its slots would still look alive for as long as the
 * child lives, so the survivors would never reclaim what the parent held
 * (I5). The description is referenced by the descriptor and also by the
 * registry's mapping (mmap keeps its file open), so right after fork() the
 * child both closes its copy of the descriptor and replaces the shared
 * mapping with private anonymous memory at the same address; the parent's
 * locks then live and die with the parent alone. (exec drops both by
 * itself.) The endpoints a child inherits are not usable in the child
 * (zloan objects are not fork-safe): their registry is a private blank page
 * and fd == -1, so their calls fail or do nothing instead of touching the
 * parent's locks or slots. Destroying them in the child is still wrong (it
 * would remove the parent's segments by name). The child has no monitor
 * thread; it starts one with its first registry.
 *
 * Invariants
 *   D1. Every registry between a successful zl__registry_open and its
 *       zl__registry_close is on `tracked`, under `lock`; it is untracked
 *       before its file is closed, and the monitor looks at registries only
 *       under `lock`, so it never touches a closed one.
 *   D2. `lock` is held across fork() (pthread_atfork prepare/parent/child),
 *       so the child sees a consistent list and a lock nobody else holds.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "../clock.h"
#include "discovery.h"

static struct {
    pthread_mutex_t lock;  /* guards everything below */
    zl__registry *tracked; /* doubly linked through next/prev (D1) */
    bool monitor_running;
    long period_ms;        /* -1 until the first registry is opened */
} process = {PTHREAD_MUTEX_INITIALIZER, NULL, false, -1};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Under process.lock. */
static void check(zl__registry *r)
{
    if (r->fd < 0 || r->shm == NULL)
        return;
    for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++) {
        uint32_t slots = kind == ZL__KIND_PUBLISHER ? ZL__PUB_SLOTS : ZL__SUB_SLOTS;
        for (uint32_t i = 0; i < slots; i++) {
            zl__endpoint_record record;
            if (zl__registry_lookup(r, kind, i, &record) != ZL__SLOT_PRESENT)
                continue;
            /* Relaxed, after the record's acquire: see `own` in registry.h. */
            if (zl__load_relaxed(&r->own) == zl__registry_own_word(kind, i))
                continue;
            if (!zl__registry_alive(r, kind, i)) {
                zl__registry_poke(r);
                return;
            }
        }
    }
}

zl__atomic_u64 zl__monitor_now_ns;

static void *monitor(void *arg)
{
    (void)arg;
    struct timespec period = {process.period_ms / 1000, (process.period_ms % 1000) * 1000000L};
    for (;;) {
        nanosleep(&period, NULL);
        /* Relaxed: see zl__monitor_coarse_ns. */
        zl__store_relaxed(&zl__monitor_now_ns, (uint64_t)zl__coarse_ns());
        pthread_mutex_lock(&process.lock);
        for (zl__registry *r = process.tracked; r != NULL; r = r->next)
            check(r);
        pthread_mutex_unlock(&process.lock);
    }
    return NULL;
}

/* Under process.lock. The first endpoint's period is the process's (one
 * monitor thread serves every context). */
static void start_monitor(uint32_t period_ms)
{
    if (process.period_ms < 0)
        process.period_ms = (long)period_ms;
    if (process.monitor_running || process.period_ms == 0)
        return;
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    /* All signals blocked in the thread: they belong to the user's. */
    /* Before the thread runs: no endpoint reads a time older than this. */
    zl__store_relaxed(&zl__monitor_now_ns, (uint64_t)zl__coarse_ns());
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    process.monitor_running = pthread_create(&thread, &attr, monitor, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

static void before_fork(void) { pthread_mutex_lock(&process.lock); }

static void after_fork_in_parent(void) { pthread_mutex_unlock(&process.lock); }

static void after_fork_in_child(void)
{
    zl__registry *r = process.tracked;
    while (r != NULL) {
        zl__registry *next = r->next;
        zl__registry_forget_after_fork(r);
        r->next = r->prev = NULL;
        r = next;
    }
    process.tracked = NULL;
    process.monitor_running = false; /* the thread was not copied */
    pthread_mutex_unlock(&process.lock); /* held by this thread since before_fork (D2) */
}

static void install_atfork(void)
{
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

int zl__registry_open(zl__registry *registry, uint32_t domain, const char *topic, bool group,
                      uint32_t liveness_period_ms)
{
    int rc = zl__registry_open_file(registry, domain, topic, group);
    if (rc != 0)
        return rc;
    pthread_once(&atfork_once, install_atfork);
    pthread_mutex_lock(&process.lock);
    registry->prev = NULL;
    registry->next = process.tracked;
    if (process.tracked != NULL)
        process.tracked->prev = registry;
    process.tracked = registry;
    start_monitor(liveness_period_ms);
    pthread_mutex_unlock(&process.lock);
    return 0;
}

void zl__registry_close(zl__registry *registry)
{
    if (registry->shm == NULL)
        return;
    pthread_mutex_lock(&process.lock);
    if (registry->prev != NULL)
        registry->prev->next = registry->next;
    else if (process.tracked == registry)
        process.tracked = registry->next;
    if (registry->next != NULL)
        registry->next->prev = registry->prev;
    registry->next = registry->prev = NULL;
    pthread_mutex_unlock(&process.lock);
    zl__registry_close_file(registry);
}

bool zl__liveness_monitor_running(void)
{
    pthread_mutex_lock(&process.lock);
    bool result = process.monitor_running;
    pthread_mutex_unlock(&process.lock);
    return result;
}
