/* Introspection: the read-only face of the discovery layer.
 *
 * A view maps a topic's registry read-only (PROT_READ, a descriptor opened
 * O_RDONLY) and takes no lock: it cannot change what endpoints see, cannot
 * keep the topic alive (it holds no USERS lock, so the last endpoint still
 * removes the registry; our mapping then stays readable until closed), and
 * cannot be mistaken for an endpoint. Liveness is asked with F_OFD_GETLK,
 * which only looks.
 *
 * Everything read is validated (I3): the registry's header as an endpoint
 * checks it, each record's fields against the ranges endpoints accept (a
 * record out of range makes the whole registry ZL_ECORRUPT), queue and pool
 * headers with the same geometry checks endpoints use (a bad one only
 * leaves that part of the answer out), counters clamped where they feed a
 * difference. Slots being rewritten are retried, then left out.
 *
 * This file opens views and lists topics, validating what it reads there
 * (the registry's header, each record); topic_info.c builds the answer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zloan/error.h"

#include "../../error_detail.h"
#include "../queue.h"
#include "internal.h"

int zl__introspection_map_readonly(const char *name, bool group, size_t bytes, zl__mapping *map,
                                   uint64_t *file_size, int *fd_out)
{
    int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT)
            return zl__fail(ZL_ENODATA, "%s does not exist", name);
        if (errno == EACCES)
            return zl__fail(ZL_EPERM, "cannot open %s: %s", name, strerror(errno));
        return zl__fail(ZL_ESYSTEM, "shm_open(%s): %s", name, strerror(errno));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = zl__fail(ZL_ESYSTEM, "fstat(%s): %s", name, strerror(errno));
    } else if (!zl__shm_owner_trusted(st.st_uid, st.st_gid, st.st_mode, group)) {
        rc = zl__fail(ZL_EPERM, "%s belongs to uid %u gid %u (mode %o), not to us", name,
                      (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)st.st_mode & 0777);
    } else if (st.st_size == 0 && bytes == 0) {
        /* Created, not yet sized: the creator holds it between shm_open
         * and posix_fallocate (or died there; the next opener sizes it). */
        rc = zl__fail(ZL_ENODATA, "%s is empty (being created)", name);
    } else if (st.st_size <= 0 || (bytes != 0 && (uint64_t)st.st_size < bytes)) {
        rc = zl__fail(ZL_ECORRUPT, "%s has size %lld", name, (long long)st.st_size);
    } else {
        size_t size = bytes != 0 ? bytes : (size_t)st.st_size;
        void *base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED) {
            rc = zl__fail(ZL_ESYSTEM, "mmap(%s): %s", name, strerror(errno));
        } else {
            map->base = base;
            map->size = size;
            *file_size = (uint64_t)st.st_size;
        }
    }
    if (rc != 0 || fd_out == NULL)
        close(fd);
    else
        *fd_out = fd;
    return rc;
}

int zl__introspection_view_open_in(zl__mw_topic_view *view, uint32_t domain, const char *topic,
                                   bool group)
{
    zl__registry *r = &view->registry;
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->domain = domain;
    r->group = group;
    snprintf(r->topic, sizeof r->topic, "%s", topic);
    zl__shm_name_registry(r->name, sizeof r->name, domain, topic, group);
    zl__mapping map;
    uint64_t size;
    int fd;
    int rc = zl__introspection_map_readonly(r->name, group, 0, &map, &size, &fd);
    if (rc != 0)
        return rc;
    const zl__registry_shm *shm = map.base;
    /* Sized but not yet initialised (its creator stores magic last, with
     * release): no topic yet, as for a registry not yet created. A tool
     * racing a topic's first endpoint sees the topic absent, not corrupt. */
    if (size == sizeof *shm && __atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE) == 0) {
        munmap(map.base, map.size);
        close(fd);
        return zl__fail(ZL_ENODATA, "the registry %s of topic %s is being created", r->name,
                        topic);
    }
    /* Another version of zloan (its own layout, maybe its own size):
     * ZL_ENOTSUP, which listings skip; a registry of ours that fails
     * validation: ZL_ECORRUPT. Acquire pairs with the initialiser's release
     * store of magic. */
    if (size >= offsetof(zl__registry_shm, topic) &&
        __atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE) == ZL__REGISTRY_MAGIC &&
        ZL__READ_ONCE(shm->version) != ZL__LAYOUT_VERSION) {
        uint32_t version = ZL__READ_ONCE(shm->version);
        munmap(map.base, map.size);
        close(fd);
        return zl__fail(ZL_ENOTSUP, "the registry %s of topic %s has layout version %u, this "
                        "zloan reads version %u", r->name, topic, version, ZL__LAYOUT_VERSION);
    }
    if (size != sizeof *shm ||
        __atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE) != ZL__REGISTRY_MAGIC ||
        ZL__READ_ONCE(shm->version) != ZL__LAYOUT_VERSION ||
        ZL__READ_ONCE(shm->size) != sizeof *shm ||
        strncmp(shm->topic, topic, sizeof shm->topic) != 0) {
        zl__segment_unmap(&map);
        close(fd);
        return zl__fail(ZL_ECORRUPT,
                        "the registry %s of topic %s is not a zloan registry of this version "
                        "(size %llu, expected %zu)",
                        r->name, topic, (unsigned long long)size, sizeof *shm);
    }
    r->fd = fd;
    r->shm = map.base;
    view->domain = domain;
    return 0;
}

int zl__shm_topic_view_open(uint32_t domain, const char *topic, zl__mw_topic_view **out)
{
    zl__mw_topic_view *view = calloc(1, sizeof *view);
    if (view == NULL)
        return zl__fail(ZL_ENOMEM, "allocating a topic view failed");
    int rc = zl__introspection_view_open_in(view, domain, topic, false);
    if (rc == ZL_ENODATA)
        rc = zl__introspection_view_open_in(view, domain, topic, true);
    if (rc == ZL_ENODATA)
        rc = zl__fail(ZL_ENODATA, "topic %s does not exist in domain %u", topic, domain);
    if (rc != 0) {
        free(view);
        return rc;
    }
    *out = view;
    return 0;
}

void zl__shm_topic_view_close(zl__mw_topic_view *view)
{
    if (view == NULL)
        return;
    munmap(view->registry.shm, sizeof *view->registry.shm);
    close(view->registry.fd);
    free(view);
}

/* The ranges endpoints accept (publisher/endpoint.c, subscription/endpoint.c create). */
bool zl__introspection_record_sane(const zl__endpoint_record *r)
{
    return r->depth <= 65536 && r->max_loans <= 65536 && r->history <= (1u << 24) &&
           r->payload_size <= ((uint64_t)1 << 40) && r->type_size <= ((uint64_t)1 << 40) &&
           r->plain <= 1 && r->pid != 0 && r->type_name[0] != '\0' &&
           r->alignment <= 4096 && (r->alignment & (r->alignment - 1)) == 0 &&
           r->element_size <= ((uint64_t)1 << 40) && r->max_count <= ((uint64_t)1 << 40);
}

/* The topics of one namespace (prefix "zl.<uid>.<domain>." or
 * "zl.g<gid>.<domain>."), appended from *count on. */
static void list_namespace(uint32_t domain, bool group, zl_topic_summary *topics,
                           size_t capacity, size_t *count)
{
    char prefix[64];
    int n = group ? snprintf(prefix, sizeof prefix, "zl.g%u.%u.", (unsigned)getegid(), domain)
                  : snprintf(prefix, sizeof prefix, "zl.%u.%u.", (unsigned)geteuid(), domain);
    size_t prefix_len = n > 0 ? (size_t)n : 0;
    DIR *dir = opendir(ZL__SHM_DIR);
    if (dir == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, prefix, prefix_len) != 0 || strchr(e->d_name, ':') != NULL ||
            strlen(e->d_name) > ZL__SHM_NAME_MAX)
            continue;
        /* The topic: '/' for every '.' of the rest (topic names have none). */
        char topic[ZL_TOPIC_NAME_MAX + 1];
        const char *rest = e->d_name + prefix_len; /* ".camera.image" for /camera/image */
        size_t len = strlen(rest);
        if (len >= sizeof topic)
            continue;
        for (size_t i = 0; i <= len; i++)
            topic[i] = rest[i] == '.' ? '/' : rest[i];
        zl_topic_summary s;
        memset(&s, 0, sizeof s);
        memcpy(s.name, topic, len + 1);
        s.group = group;
        zl__mw_topic_view view;
        int rc = zl__introspection_view_open_in(&view, domain, topic, group);
        if (rc == ZL_ECORRUPT) {
            s.corrupt = true;
            if (*count < capacity)
                topics[*count] = s;
            (*count)++;
        }
        if (rc != 0)
            continue;
        for (uint32_t kind = ZL__KIND_PUBLISHER; kind <= ZL__KIND_SUBSCRIPTION; kind++) {
            uint32_t slots = kind == ZL__KIND_PUBLISHER ? ZL__PUB_SLOTS : ZL__SUB_SLOTS;
            for (uint32_t i = 0; i < slots; i++) {
                zl__endpoint_record record;
                if (zl__registry_lookup(&view.registry, kind, i, &record) != ZL__SLOT_PRESENT)
                    continue;
                s.corrupt |= !zl__introspection_record_sane(&record);
                if (s.type_name[0] == '\0')
                    snprintf(s.type_name, sizeof s.type_name, "%s", record.type_name);
                bool dead = !zl__registry_alive(&view.registry, kind, i);
                if (kind == ZL__KIND_PUBLISHER) {
                    s.publishers++;
                    s.dead_publishers += dead;
                } else {
                    s.subscriptions++;
                    s.dead_subscriptions += dead;
                }
            }
        }
        munmap(view.registry.shm, sizeof *view.registry.shm);
        close(view.registry.fd);
        if (*count < capacity)
            topics[*count] = s;
        (*count)++;
    }
    closedir(dir);
}

int zl__shm_list_topics(uint32_t domain, zl_topic_summary *topics, size_t capacity,
                        size_t *count)
{
    DIR *dir = opendir(ZL__SHM_DIR);
    if (dir == NULL)
        return zl__fail(ZL_ESYSTEM, "cannot read %s: %s", ZL__SHM_DIR, strerror(errno));
    closedir(dir);
    *count = 0;
    list_namespace(domain, false, topics, capacity, count);
    list_namespace(domain, true, topics, capacity, count);
    return 0;
}
