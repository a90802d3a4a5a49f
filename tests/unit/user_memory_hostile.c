/* White-box (reads src/shm/layout.h): hostile values in the shared
 * bookkeeping user memory adds (issue 13). A process of the same user
 * rewrites a user segment's header (the file it names: inode, pid, range)
 * or a user chunk header's offset (past the memory, or misaligned for the
 * type); the subscription
 * refuses to map or to hand out the payload, counts a peer error, and never
 * faults or reads outside the memory. */
#include <sys/stat.h>

#include "harness.h"
#include "hostile.h"
#include "shm/layout.h"
#include "user_memory_common.h"

typedef void (*mutator)(zl__segment_shm *head, hostile_map *map);

static void bad_inode(zl__segment_shm *head, hostile_map *map)
{
    (void)map;
    head->user_ino += 1;
}
static void bad_pid(zl__segment_shm *head, hostile_map *map)
{
    (void)map;
    head->user_pid = 1;
}
static void bad_length(zl__segment_shm *head, hostile_map *map)
{
    (void)map;
    head->user_length = (uint64_t)1 << 40;
}
static void bad_offset(zl__segment_shm *head, hostile_map *map)
{
    (void)map;
    head->user_offset = 4096; /* the range then runs past the file's end */
}
/* The segment names a FIFO nobody writes, held open by this process: an
 * open() for reading of it would block the subscription for ever (it
 * did: the subscription now looks at the file through O_PATH first). */
static int fifo_fd = -1;
static void names_fifo(zl__segment_shm *head, hostile_map *map)
{
    (void)map;
    char path[64];
    snprintf(path, sizeof path, "/tmp/zloan_hostile_fifo_%d", (int)getpid());
    unlink(path);
    CHECK_EQ(mkfifo(path, 0600), 0);
    fifo_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    CHECK(fifo_fd >= 0);
    unlink(path);
    head->user_pid = (uint32_t)getpid();
    head->user_fd = (uint32_t)fifo_fd;
}
/* Applied after publishing: every chunk header points inside the memory,
 * one byte off the type's alignment (4). */
static void misaligned_chunk_offset(zl__segment_shm *head, hostile_map *map)
{
    for (uint32_t c = 0; c < head->chunk_count; c++) {
        zl__chunk_header *h = (zl__chunk_header *)(void *)((char *)map->base + head->chunk_offset +
                                                           head->chunk_stride * c);
        h->user_offset = 1;
    }
}
/* Applied after publishing: every chunk header points past the memory. */
static void bad_chunk_offset(zl__segment_shm *head, hostile_map *map)
{
    for (uint32_t c = 0; c < head->chunk_count; c++) {
        zl__chunk_header *h = (zl__chunk_header *)(void *)((char *)map->base + head->chunk_offset +
                                                           head->chunk_stride * c);
        h->user_offset = head->user_length - 8;
    }
}

/* Maps the topic's user segment read-write. */
static zl__segment_shm *user_segment(const char *topic, hostile_map *map)
{
    for (int i = 0; hostile_map_object(0, topic, 'g', i, map); i++) {
        zl__segment_shm *head = map->base;
        if (head->user == 1)
            return head;
        hostile_unmap(map);
    }
    fprintf(stderr, "no user segment found for %s\n", topic);
    exit(1);
}

static void run(zl_context *context, const char *name, mutator mutate, bool after_publish)
{
    fprintf(stderr, "case: %s\n", name);
    const char *topic = test_topic(name);
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &frame_type, NULL, &pub));
    frame *frames;
    int fd = frames_memfd(2, true, &frames);
    zl_user_memory *memory = frames_register(pub, fd, frames, 2);
    hostile_map map = {0};
    zl__segment_shm *head = user_segment(topic, &map);
    if (!after_publish)
        mutate(head, &map);
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &frame_type, NULL, &sub));
    CHECK_OK(zl_publisher_update_connections(pub));
    frames[1].number = 9;
    CHECK_OK(zl_user_memory_publish(memory, &frames[1], 0));
    if (after_publish)
        mutate(head, &map);
    const void *got;
    CHECK_RC(zl_subscription_take_loan(sub, &got, NULL), ZL_ENODATA);
    zl_subscription_stats stats;
    CHECK_OK(zl_subscription_get_stats(sub, &stats));
    CHECK(stats.peer_errors >= 1);
    /* The dropped message completes while the subscription stays: it gave
     * the entry back (before, it completed only when the subscription
     * left). */
    CHECK_OK(zl_publisher_update_connections(pub));
    bool busy = true;
    CHECK_OK(zl_user_memory_in_flight(memory, &frames[1], &busy));
    CHECK(!busy);
    hostile_unmap(&map);
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_user_memory_destroy(memory));
    CHECK_OK(zl_publisher_destroy(pub));
    munmap(frames, sizeof(frame) * 2);
    close(fd);
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    run(context, "hostile_inode", bad_inode, false);
    run(context, "hostile_pid", bad_pid, false);
    run(context, "hostile_length", bad_length, false);
    run(context, "hostile_offset", bad_offset, false);
    run(context, "hostile_fifo", names_fifo, false);
    close(fifo_fd);
    run(context, "hostile_chunk_offset", bad_chunk_offset, true);
    run(context, "hostile_chunk_alignment", misaligned_chunk_offset, true);
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
