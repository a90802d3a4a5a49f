/* The topic's type description: the hash of its text, and the text itself,
 * stored by a registration and read by registrations and tools behind a
 * sequence lock (like a slot's, G1).
 *
 * Invariants
 *   It is stored under the REGISTER lock: one writer at a time (as G1 for
 *   a slot); the sequence lock lets readers detect a concurrent rewrite and
 *   retry.
 *   I3 (docs/design.md). What is read is checked before use: the stored
 *   size against the bounds, the text against its hash.
 */
#include <string.h>

#include "zloan/error.h"

#include "../../error_detail.h"
#include "../queue.h"
#include "internal.h"

uint64_t zl__description_hash(const char *text)
{
    if (text[0] == '\0')
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = text; *p != '\0'; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ull;
    }
    return h == 0 ? 1 : h;
}

/* Stores our description as the topic's, behind its sequence lock (like a
 * slot's). Under the REGISTER lock: one writer. */
void zl__registry_store_description(zl__registry *registry, const char *text)
{
    zl__registry_shm *shm = registry->shm;
    size_t size = strlen(text);
    uint64_t words[ZL__DESCRIPTION_MAX / 8];
    memset(words, 0, sizeof words);
    memcpy(words, text, size);
    uint32_t seq = zl__load_relaxed(&shm->description.seq) | 1u;
    zl__store_relaxed(&shm->description.seq, seq);
    /* Orders the odd seq before the stores below (pairs with the reader's
     * acquire fence, zl__registry_read_description). */
    zl__fence_release();
    __atomic_store_n(&shm->description.size, (uint32_t)size, __ATOMIC_RELAXED);
    __atomic_store_n(&shm->description.hash, zl__description_hash(text), __ATOMIC_RELAXED);
    for (size_t i = 0; i < (size + 8) / 8; i++)
        __atomic_store_n(&shm->description.words[i], words[i], __ATOMIC_RELAXED);
    /* Publishes the text; pairs with the reader's acquire load of seq. */
    zl__store_release(&shm->description.seq, seq + 1);
}

int zl__registry_read_description(const zl__registry *registry, char *out, size_t out_size,
                                  uint64_t *hash)
{
    const zl__registry_shm *shm = registry->shm;
    for (int tries = 0; tries < 64; tries++) {
        /* Acquire pairs with the writer's release store of the even seq. */
        uint32_t before = zl__load_acquire(&shm->description.seq);
        if (before & 1u)
            continue;
        uint32_t size = ZL__READ_ONCE(shm->description.size);
        uint64_t h = ZL__READ_ONCE(shm->description.hash);
        if (size == 0) {
            out[0] = '\0';
            *hash = 0;
            return 0;
        }
        if (size >= ZL__DESCRIPTION_MAX || size >= out_size)
            return zl__fail(ZL_ECORRUPT, "the type description of topic %s has size %u",
                            registry->topic, size);
        for (uint32_t i = 0; i < (size + 7) / 8; i++) {
            uint64_t w = __atomic_load_n(&shm->description.words[i], __ATOMIC_RELAXED);
            memcpy(out + 8 * i, &w, 8 * (i + 1) <= out_size ? 8 : out_size - 8 * i);
        }
        /* Orders the word loads before the second seq load (as a slot's). */
        zl__fence_acquire();
        if (zl__load_relaxed(&shm->description.seq) != before)
            continue;
        out[size] = '\0';
        if (strlen(out) != size || zl__description_hash(out) != h)
            return zl__fail(ZL_ECORRUPT, "the type description of topic %s fails its hash",
                            registry->topic);
        *hash = h;
        return 0;
    }
    return zl__fail(ZL_EBUSY, "the type description of topic %s kept changing", registry->topic);
}
