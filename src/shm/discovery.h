/* Discovery: how endpoints find each other, notice deaths and clean up,
 * without a daemon. This header is the process object's (discovery.c) and
 * the sweep's; registry.h is one topic's registry. Endpoints and the
 * transport's table include this one, the registry and introspection code
 * registry.h alone.
 *
 * Three parts, calling in one direction (each uses only those below it,
 * and segment.c under all):
 *
 *   discovery.c  the process object: the registries this process has open,
 *                the liveness monitor thread, and fork handling. Opening a
 *                registry through it (zl__registry_open) tracks it and
 *                starts the monitor; closing untracks it first.
 *   sweep.c      removing what dead processes left in /dev/shm (I5), when
 *                a context is created or `zloan clean` asks.
 *   registry/    one topic's registry file: slots, locks, generation,
 *                registration, reaping, lingering pools (its files are
 *                listed in registry/internal.h).
 */
#ifndef ZL_SHM_DISCOVERY_H
#define ZL_SHM_DISCOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "registry.h"

/* ---- the process object (discovery.c) --------------------------------- */

/* Opens (creating if needed) the registry of topic in domain, in the
 * user's namespace, or with group in the effective group's (mode 0660),
 * and tracks it: the liveness monitor watches it and a forked child lets go
 * of it. Starts the monitor with the first registry. */
int zl__registry_open(zl__registry *registry, uint32_t domain, const char *topic, bool group,
                      uint32_t liveness_period_ms);

/* Untracks it, then closes it (zl__registry_close_file). */
void zl__registry_close(zl__registry *registry);

/* Whether the liveness monitor runs: a thread of the process that, every
 * ZLOAN_LIVENESS_PERIOD_MS (default 20; 0 disables it), looks for dead
 * endpoints in every tracked registry and bumps that registry's generation
 * when it finds one, so that endpoints learn of deaths from the generation
 * counter alone. When it does not run, endpoints check on their own. */
bool zl__liveness_monitor_running(void);

/* The coarse monotonic time (zl__coarse_ns) as the liveness monitor read it
 * last, at most one period ago: while the monitor runs, the periodic checks
 * of a publisher's loan read this word instead of calling the clock. */
extern zl__atomic_u64 zl__monitor_now_ns;

static inline int64_t zl__monitor_coarse_ns(void)
{
    /* Relaxed: a time stamp, ordering nothing; coherence keeps it from
     * going back. */
    return (int64_t)zl__load_relaxed(&zl__monitor_now_ns);
}

/* ---- the sweep (sweep.c) ----------------------------------------------- */

/* Scans /dev/shm for this user's zloan objects (and the effective group's)
 * and removes the ones that are provably dead. Best effort: errors only mean
 * less is removed. Returns the number of objects removed. Any thread. */
int zl__shm_sweep(void);

#endif
