/* Removing what dead processes left in /dev/shm (docs/design.md I5).
 *
 * Survivors reap the slots of dead peers they are connected to
 * (registry.c), and the last user of a topic removes the topic's objects.
 * When every participant of a topic was killed, nobody is left to do either:
 * the sweep, run when a context is created, finds those leftovers and removes
 * them. See sweep.c for why it never removes an object that is in use.
 */
#ifndef ZL_SHM_SWEEP_H
#define ZL_SHM_SWEEP_H

/* Scans /dev/shm for this user's zloan objects and removes the ones that are
 * provably dead. Best effort: errors only mean less is removed. Returns the
 * number of objects removed. Any thread. */
int zl__shm_sweep(void);

/* Removes every pool and queue object of the registry named registry_name
 * ("/zl.<uid>.<domain>.<topic>"). The caller holds the registry's USERS write
 * lock on a file that is still linked under that name, which proves that no
 * endpoint of the topic is alive. Returns the number removed. */
int zl__shm_sweep_topic(const char *registry_name);

#endif
