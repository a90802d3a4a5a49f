/* Shared-memory objects: names, creation with reserved pages, mapping,
 * removal, and the open-file-description locks used for liveness. */
#ifndef ZL_SHM_SEGMENT_H
#define ZL_SHM_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZL__SHM_NAME_MAX 255
#define ZL__SHM_DIR "/dev/shm"
/* A PMD-mapped (huge) page on x86-64 and arm64 with 4 KiB pages. An object
 * at least this large is advised MADV_HUGEPAGE (segment.c); a pool segment
 * whose chunks are at least this large is a whole number of them
 * (publisher/pool.c). */
#define ZL__HUGE_PAGE_BYTES ((size_t)2 << 20)

typedef struct zl__mapping {
    void *base;
    size_t size;
} zl__mapping;

/* "/zl.<uid>.<domain>.<topic with '/' as '.'>": the topic's registry, in
 * the user's namespace; with group set, "/zl.g<gid>.<domain>.<topic>", in
 * the namespace of the process's effective group, shared by its members. */
void zl__shm_name_registry(char *out, size_t out_size, uint32_t domain, const char *topic,
                           bool group);
/* An endpoint's object: the registry's name, then ":p<id>" (kind 'p') or
 * ":s<id>" (kind 's'). */
void zl__shm_name_endpoint(char *out, size_t out_size, const char *registry_name, char kind,
                           uint64_t id);

/* A segment of a publisher's pool: the pool's name (kind 'p'), then
 * ".<serial>" in 8 hex digits (layout.h). */
void zl__shm_name_segment(char *out, size_t out_size, const char *pool_name, uint32_t serial);

/* The default bound of one publisher's shared memory: a quarter of the
 * machine's RAM or half of what /dev/shm has free now, whichever is less. */
uint64_t zl__shm_default_bound(void);

/* Bytes /dev/shm has free (0 when it cannot tell). */
unsigned long long zl__shm_free_bytes(void);

/* Whether an object with these attributes may be trusted: ours, or (group)
 * our effective group's and closed to others. */
bool zl__shm_owner_trusted(uid_t uid, gid_t gid, mode_t mode, bool group);

/* Creates a new object of size bytes with the pages reserved up front (so a
 * later write can never raise SIGBUS for lack of memory), maps it read-write
 * with every page mapped, advised MADV_HUGEPAGE from ZL__HUGE_PAGE_BYTES.
 * ZL_ENOSHM names the size asked for and what /dev/shm has free. */
int zl__segment_create(const char *name, size_t size, mode_t mode, zl__mapping *out);

/* Maps an existing object, every page mapped, advised MADV_HUGEPAGE from
 * ZL__HUGE_PAGE_BYTES (a hint, never an error). Refuses one owned by
 * another user (ZL_EPERM), an empty one (ZL_ECORRUPT); ZL_ENODATA when it
 * does not exist. */
int zl__segment_open(const char *name, bool writable, bool group, zl__mapping *out);

void zl__segment_unmap(zl__mapping *mapping);

/* Removes the name; mappings stay valid until unmapped. */
void zl__segment_unlink(const char *name);

/* Whether name (a /dev/shm entry, no leading '/') is an endpoint's object:
 * "<registry>:p<16 hex>" or ":s"; on true, *colon is the offset of the ':'
 * and *kind 'p' or 's'. */
bool zl__shm_parse_segment_name(const char *name, size_t *colon, char *kind);

/* Removes the /dev/shm entry (no leading '/') when it is a regular file of
 * this user's; 1 when removed, else 0. */
int zl__shm_unlink_own(const char *entry);

/* Removes every pool and queue object of the registry named registry_name
 * ("/zl.<uid>.<domain>.<topic>"). The caller holds the registry's USERS
 * write lock on a file that is still linked under that name, which proves
 * that no endpoint of the topic is alive. Returns the number removed. */
int zl__segment_unlink_topic(const char *registry_name);

/* Removes the pool of publisher id in the registry named registry_name:
 * its control object "<registry>:p<id>" and every segment
 * "<registry>:p<id>.<serial>" of this user's. Returns the number removed. */
int zl__shm_unlink_pool(const char *registry_name, uint64_t id);

/* Open-file-description byte locks (F_OFD_*). Non-blocking. Return 0 when
 * taken, ZL_EBUSY when another holder has a conflicting lock. */
int zl__ofd_lock(int fd, off_t byte, bool exclusive);
void zl__ofd_unlock(int fd, off_t byte);
/* Whether another open file description holds a lock on byte. */
bool zl__ofd_held_by_other(int fd, off_t byte);

#endif
