/* Playing a hostile peer in tests: map a topic's shared objects read-write by
 * name, as any process of the same user could, and write into them.
 *
 * Names (src/shm/layout.h): /dev/shm/zl.<uid>.<domain>.<topic, '/' as '.'>
 * for the registry, the same plus ":p<id>" for a publisher's pool (its
 * control object), ":p<id>.<serial>" for the pool's segments and ":s<id>"
 * for a subscription's queues. */
#ifndef ZL_TEST_HOSTILE_H
#define ZL_TEST_HOSTILE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct hostile_map {
    void *base;
    size_t size;
} hostile_map;

/* The /dev/shm file name of topic's registry in domain (no directory). */
static inline void hostile_registry_name(char *out, size_t out_size, unsigned domain,
                                         const char *topic)
{
    int n = snprintf(out, out_size, "zl.%u.%u.", (unsigned)geteuid(), domain);
    size_t at = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; topic[i] != '\0' && at + 1 < out_size; i++)
        out[at++] = topic[i] == '/' ? '.' : topic[i];
    out[at] = '\0';
}

/* Finds the index-th object of kind 'p' (pool control object), 'g' (pool
 * segment) or 's' (queue) of topic, in directory order; writes its file
 * name. Returns false when there is none. */
static inline bool hostile_find(unsigned domain, const char *topic, char kind, int index,
                                char *out, size_t out_size)
{
    char prefix[300];
    hostile_registry_name(prefix, sizeof prefix, domain, topic);
    size_t len = strlen(prefix);
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return false;
    bool found = false;
    struct dirent *entry;
    while (!found && (entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        bool segment = strchr(name + len, '.') != NULL;
        char is = name[len + 1] == 'p' && segment ? 'g' : name[len + 1];
        if (strncmp(name, prefix, len) == 0 && name[len] == ':' && is == kind &&
            index-- == 0) {
            snprintf(out, out_size, "%s", name);
            found = true;
        }
    }
    closedir(dir);
    return found;
}

/* Maps /dev/shm/<name> read-write. */
static inline bool hostile_map_file(const char *name, hostile_map *map)
{
    char path[512];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        return false;
    }
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return false;
    map->base = base;
    map->size = (size_t)st.st_size;
    return true;
}

static inline void hostile_unmap(hostile_map *map)
{
    if (map->base != NULL)
        munmap(map->base, map->size);
    map->base = NULL;
    map->size = 0;
}

/* Maps the registry, or the index-th pool or queue, of topic. */
static inline bool hostile_map_object(unsigned domain, const char *topic, char kind, int index,
                                      hostile_map *map)
{
    char name[400];
    if (kind == 'r')
        hostile_registry_name(name, sizeof name, domain, topic);
    else if (!hostile_find(domain, topic, kind, index, name, sizeof name))
        return false;
    return hostile_map_file(name, map);
}

#endif
