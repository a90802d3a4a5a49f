/* Liveness across fork(): a child must not keep its parent's endpoints
 * alive.
 *
 * A registry's byte locks belong to the open file description, and fork()
 * shares descriptions: after a fork without exec (a worker, a daemon), the
 * child holds every lock of its parent's endpoints too. Were the parent
 * killed, its slots would still look alive for as long as the child lives,
 * so the survivors would never reclaim what the parent held (I5). The
 * description is referenced by the descriptor and also by the registry's
 * mapping (mmap keeps its file open), so right after fork() the child both
 * closes its copy of the descriptor and replaces the shared mapping with
 * private anonymous memory at the same address; the parent's locks then live
 * and die with the parent alone. (exec drops both by itself.)
 *
 * The endpoints a child inherits are not usable in the child (zloan objects
 * are not fork-safe): their registry is a private blank page and fd == -1,
 * so their calls fail or do nothing instead of touching the parent's locks
 * or slots. Destroying them in the child is still wrong (it would remove
 * the parent's segments by name).
 *
 * Invariant: every registry between a successful zl__registry_open and its
 * zl__registry_close is on the list, under `tracked_lock`; the lock is held
 * across fork() (pthread_atfork prepare/parent/child), so the child sees a
 * consistent list.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "registry.h"

static pthread_mutex_t tracked_lock = PTHREAD_MUTEX_INITIALIZER;
static zl__registry *tracked; /* doubly linked through next/prev */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void before_fork(void) { pthread_mutex_lock(&tracked_lock); }

static void after_fork_in_parent(void) { pthread_mutex_unlock(&tracked_lock); }

void zl__liveness_monitor_forget(void); /* liveness.c: no thread in the child */

static void after_fork_in_child(void)
{
    zl__liveness_monitor_forget();
    zl__registry *r = tracked;
    while (r != NULL) {
        zl__registry *next = r->next;
        if (r->fd >= 0)
            close(r->fd);
        r->fd = -1;
        if (r->shm != NULL)
            mmap(r->shm, sizeof *r->shm, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        r->next = r->prev = NULL;
        r = next;
    }
    tracked = NULL;
    pthread_mutex_unlock(&tracked_lock);
}

static void install(void)
{
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

void zl__registry_track(zl__registry *registry)
{
    pthread_once(&atfork_once, install);
    pthread_mutex_lock(&tracked_lock);
    registry->prev = NULL;
    registry->next = tracked;
    if (tracked != NULL)
        tracked->prev = registry;
    tracked = registry;
    pthread_mutex_unlock(&tracked_lock);
}

void zl__registry_untrack(zl__registry *registry)
{
    pthread_mutex_lock(&tracked_lock);
    if (registry->prev != NULL)
        registry->prev->next = registry->next;
    else if (tracked == registry)
        tracked = registry->next;
    if (registry->next != NULL)
        registry->next->prev = registry->prev;
    registry->next = registry->prev = NULL;
    pthread_mutex_unlock(&tracked_lock);
}

void zl__registry_set_own(zl__registry *registry, uint32_t kind, uint32_t slot)
{
    pthread_mutex_lock(&tracked_lock);
    registry->own_kind = kind;
    registry->own_slot = slot;
    pthread_mutex_unlock(&tracked_lock);
}

void zl__registry_visit_tracked(void (*visit)(zl__registry *registry, void *arg), void *arg)
{
    pthread_mutex_lock(&tracked_lock);
    for (zl__registry *r = tracked; r != NULL; r = r->next)
        visit(r, arg);
    pthread_mutex_unlock(&tracked_lock);
}
