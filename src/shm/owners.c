/* Other owners of a topic.
 *
 * A topic's registry lives in its owner's namespace: "/zl.<uid>.<domain>.
 * <topic>", or "/zl.g<gid>...." for a group. Endpoints of different owners
 * never see each other (the isolation is meant: their objects are closed
 * to one another), but a user who expects them to talk deserves to be told
 * why nothing arrives. This looks for registries of the same domain and
 * topic under other owners; it reads directory entries only, never opens
 * or trusts another owner's object.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "registry.h"

/* The owner part of a registry name without its leading "/zl." ("0",
 * "g100"): its length, or 0 when name is not "zl.<owner>.<rest>". */
static size_t owner_length(const char *name)
{
    if (strncmp(name, "zl.", 3) != 0)
        return 0;
    size_t i = 3 + (name[3] == 'g');
    size_t digits = 0;
    while (name[i + digits] >= '0' && name[i + digits] <= '9')
        digits++;
    if (digits == 0 || name[i + digits] != '.')
        return 0;
    return i + digits - 3;
}

uint32_t zl__registry_other_owners(const zl__registry *registry, char *example,
                                   size_t example_size)
{
    /* Our own name, without the '/' that shm_open names carry. */
    const char *own = registry->name + (registry->name[0] == '/');
    size_t own_owner = owner_length(own);
    if (own_owner == 0)
        return 0;
    const char *suffix = own + 3 + own_owner; /* ".<domain>.<topic>" */
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return 0;
    uint32_t others = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t owner = owner_length(entry->d_name);
        if (owner == 0 || strcmp(entry->d_name + 3 + owner, suffix) != 0)
            continue; /* not a registry of this domain and topic */
        if (owner == own_owner && strncmp(entry->d_name + 3, own + 3, owner) == 0)
            continue; /* ours */
        if (others++ == 0 && example != NULL)
            snprintf(example, example_size, "/dev/shm/%s", entry->d_name);
    }
    closedir(dir);
    return others;
}
