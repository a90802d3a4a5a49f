/* User memory on the publisher's side (user_segment.h,
 * docs/user_memory.md): registered files as segments of no size class,
 * messages published from them, and their completion (publisher.h).
 *
 * Invariant
 *   M1. User memory (user_segment.h): a user segment's chunk is a message
 *       published from the user's memory; it completes when nobody holds it
 *       (P1: every connection that held it returned it, had it
 *       reclaimed, left or died; never kept as history). A thread of ours
 *       that waits for a completion raises completion_sleeping beside our
 *       registry slot (after reading completion_wake), fences, and looks at
 *       the return rings of the connections that hold chunks of the memory
 *       and at the registry's generation before it sleeps on both words; a
 *       subscription pushes the return of a user chunk, fences and looks at
 *       the flag (subscription/returns.c S8), a departure or death bumps the
 *       generation. The store-buffer pair of notify.h, roles swapped (as
 *       P6): either we see the return, or it sees the flag and wakes us.
 */
#include <unistd.h>

#include "zloan/error.h"

#include "../../clock.h"
#include "../../error_detail.h"
#include "hot_path.h"

int zl__shm_publisher_register_memory(zl__mw_publisher *pub, int fd, uint64_t offset,
                                      uint64_t length, uint32_t buffers, uint32_t *memory)
{
    uint32_t slot = zl__pub_free_slot(pub);
    if (slot == ZL__SEGMENTS_MAX)
        return zl__fail(ZL_ENOSHM, "the pool of topic %s has all its %u segments in use",
                        pub->registry.topic, ZL__SEGMENTS_MAX);
    zl__user_file file;
    int rc = zl__user_file_check(fd, offset, length, &file);
    if (rc != 0)
        return rc;
    uint64_t *published = zl__endpoint_allocate(pub->allocator, sizeof(uint64_t) * buffers);
    if (published == NULL) {
        close((int)file.fd);
        return zl__fail(ZL_ENOMEM, "allocating the bookkeeping of user memory failed");
    }
    /* Chunk headers only: the payloads are in the user's file. */
    zl__segment_geometry g;
    uint64_t total;
    zl__segment_layout(pub->payload_offset, 0, pub->alignment, buffers, &g, &total);
    rc = zl__pub_segment_add(pub, slot, &g, total, &file);
    if (rc != 0) {
        close((int)file.fd);
        zl__endpoint_deallocate(pub->allocator, published, sizeof(uint64_t) * buffers);
        return rc;
    }
    pub->segments[slot].published = published;
    pub->segments[slot].size_class = NONE;
    zl__pub_table_changed(pub);
    *memory = slot;
    return 0;
}

/* The user segment in slot memory, or NULL. */
static segment *user_segment(zl__mw_publisher *pub, uint32_t memory)
{
    if (memory >= ZL__SEGMENTS_MAX || pub->segments[memory].serial == 0 ||
        !pub->segments[memory].user)
        return NULL;
    return &pub->segments[memory];
}

int zl__shm_publisher_unregister_memory(zl__mw_publisher *pub, uint32_t memory)
{
    segment *seg = user_segment(pub, memory);
    if (seg == NULL)
        return zl__fail(ZL_EINVAL, "no user memory %u is registered", (unsigned)memory);
    zl__pub_update(pub, false);
    zl__pub_drain_returns(pub);
    if (!zl__pub_segment_idle(seg))
        return zl__fail(ZL_EBUSY, "messages published from the memory are still in flight");
    zl__pub_retire(pub, memory);
    return 0;
}

int zl__shm_publisher_publish_memory(zl__mw_publisher *pub, uint32_t memory, uint64_t offset,
                                     size_t size, zl__mw_ticket *ticket)
{
    segment *seg = user_segment(pub, memory);
    if (seg == NULL)
        return zl__fail(ZL_EINVAL, "no user memory %u is registered", (unsigned)memory);
    if (size > pub->payload_max || offset > seg->file.length || size > seg->file.length - offset)
        return zl__fail(ZL_EINVAL, "%zu bytes at %llu do not fit the memory or the type", size,
                        (unsigned long long)offset);
    zl__pub_update(pub, false);
    zl__pub_drain_returns(pub);
    if (seg->free_top == 0)
        return zl__fail(ZL_EBUSY, "all %u messages of the memory are in flight",
                        seg->geometry.chunk_count);
    int rc = zl__pub_wait_for_room(pub);
    if (rc != 0)
        return rc; /* nothing delivered, nothing in flight */
    uint32_t chunk = seg->free_stack[--seg->free_top];
    uint32_t handle = zl__entry_pack(memory, chunk);
    seg->holders[chunk] = HOLD_LENT; /* the publication's hold, let go by fan_out (P1) */
    zl__chunk_header *header = (zl__chunk_header *)(void *)chunk_base(seg, chunk);
    header->sequence = ++pub->sequence; /* its identity: pool.c, at segment_add */
    header->timestamp_ns = zl__realtime_ns();
    header->payload_size = size;
    header->user_offset = offset;
    seg->published[chunk] = pub->sequence;
    ticket->handle = handle;
    ticket->sequence = pub->sequence;
    /* No history: a kept user message would stay in flight until pushed
     * out, and the user waits for it to complete. */
    zl__pub_fan_out(pub, handle, false, size, header->timestamp_ns);
    return 0;
}

bool zl__shm_publisher_memory_in_flight(zl__mw_publisher *pub, zl__mw_ticket ticket)
{
    segment *seg = segment_of(pub, ticket.handle);
    if (seg == NULL || !seg->user)
        return false;
    uint32_t chunk = zl__entry_chunk(ticket.handle);
    return seg->holders[chunk] != 0 && seg->published[chunk] == ticket.sequence;
}

/* Whether connection j holds (outstanding bit, P2) a chunk of seg: queued,
 * taken or on its way back. */
static bool connection_holds(segment *seg, uint32_t j)
{
    for (uint32_t chunk = 0; chunk < seg->geometry.chunk_count; chunk++)
        if ((seg->holders[chunk] & holder_bit(j)) != 0)
            return true;
    return false;
}

/* M1 (see the top of the file): the words of the completion pair beside
 * our registry slot, and the generation (a holder that leaves or dies). */
void zl__shm_publisher_memory_waitable(zl__mw_publisher *pub, uint32_t memory,
                                       zl__mw_waitable *waitable)
{
    (void)memory;
    zl__pub_update(pub, false);
    zl__pub_drain_returns(pub);
    waitable->count = 0;
    waitable->words[waitable->count++] = &pub->counters->completion_wake;
    waitable->words[waitable->count++] = &pub->registry.shm->generation;
    /* Only our thread raises the flag (wait sets, set_sleeping). */
    waitable->sleepers = &pub->counters->completion_sleeping;
    waitable->sleepers_is_flag = true;
    /* Without the liveness monitor nobody bumps the generation when a
     * holder dies: zl__pub_update() finds it when asked, so ask every slice. */
    waitable->slice_ns = pub->monitored ? 0 : WAIT_SLICE_NS;
}

/* M1: after the waiter's flag store and fence, a return already pushed by
 * a holder (whose fence then missed the flag) shows here. */
bool zl__shm_publisher_memory_ready(zl__mw_publisher *pub, uint32_t memory)
{
    /* A peer came, left or died: say "ready" and let the refresh find out. */
    if (zl__registry_generation(&pub->registry) != pub->seen_generation)
        return true;
    segment *seg = user_segment(pub, memory);
    if (seg == NULL)
        return false;
    uint32_t mask = pub->connected_mask;
    while (mask != 0) {
        uint32_t j = (uint32_t)__builtin_ctz(mask);
        mask &= mask - 1;
        if (connection_holds(seg, j) && zl__pub_returns_waiting(&pub->connections[j]))
            return true;
    }
    return false;
}
