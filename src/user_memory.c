/* User memory: messages published from memory zloan did not allocate, and
 * their completion (docs/user_memory.md).
 *
 * Each message in flight is one record here (its address, bytes and the
 * transport's ticket); max_in_flight records, a few, searched linearly. A
 * record is freed when the transport says its publication is no longer in
 * flight (settle): before a publish (so a busy range is refused), on every
 * query, and when a wait set arms the memory. Freeing it queues a
 * completion notice (the message's address) in a ring of max_in_flight
 * notices, oldest first; zl_user_memory_take_completed() and the
 * executor's callback consume them. A ring full of notices nobody takes
 * forgets the oldest (a program that polls zl_user_memory_in_flight never
 * takes any).
 * All of this is private to the publisher's thread: no atomics. */
#include <string.h>

#include "zloan/error.h"
#include "zloan/user_memory.h"

#include "context.h"
#include "error_detail.h"
#include "publisher.h"
#include "user_memory.h"

typedef struct flight {
    const uint8_t *message; /* NULL: free */
    size_t bytes;
    zl__mw_ticket ticket;
} flight;

struct zl_user_memory {
    zl_publisher *publisher;
    zl__publisher_parts parts;
    const uint8_t *base;
    size_t length;
    bool shared;     /* the transport maps it for subscriptions */
    uint32_t memory; /* the transport's name for it */
    uint32_t max_in_flight;
    flight *flights;
    const void **notices; /* ring of max_in_flight completion notices */
    uint32_t notice_head; /* the oldest */
    uint32_t notice_count;
    uint32_t attachments; /* wait-set entries naming it (destroy refuses) */
};

static size_t private_bytes(uint32_t max_in_flight)
{
    return (sizeof(flight) + sizeof(const void *)) * max_in_flight;
}

void zl_user_memory_options_init(zl_user_memory_options *options)
{
    if (options == NULL)
        return;
    memset(options, 0, sizeof *options);
    options->fd = -1;
    options->max_in_flight = 8;
}

int zl_user_memory_create(zl_publisher *publisher, const zl_user_memory_options *options,
                          zl_user_memory **memory)
{
    zl__clear_detail();
    if (publisher == NULL || options == NULL || memory == NULL || options->base == NULL)
        return zl__fail(ZL_EINVAL, "publisher, options, options->base and memory must not be NULL");
    if (options->length == 0 || options->max_in_flight == 0 || options->max_in_flight > 1024)
        return zl__fail(ZL_EINVAL, "length must not be 0 and max_in_flight is 1..1024");
    zl__publisher_parts parts;
    zl__publisher_parts_get(publisher, &parts);
    zl_user_memory *m = zl__context_allocate(parts.context, sizeof *m, _Alignof(zl_user_memory));
    if (m == NULL)
        return zl__fail(ZL_ENOMEM, "allocating user memory failed");
    memset(m, 0, sizeof *m);
    /* One block: the flight records, then the notices. */
    size_t table = private_bytes(options->max_in_flight);
    m->flights = zl__context_allocate(parts.context, table, _Alignof(flight));
    if (m->flights == NULL) {
        zl__context_deallocate(parts.context, m, sizeof *m, _Alignof(zl_user_memory));
        return zl__fail(ZL_ENOMEM, "allocating user memory failed");
    }
    memset(m->flights, 0, table);
    m->notices = (const void **)(void *)(m->flights + options->max_in_flight);
    m->publisher = publisher;
    m->parts = parts;
    m->base = options->base;
    m->length = options->length;
    m->max_in_flight = options->max_in_flight;
    if (options->fd >= 0 && parts.can_loan && parts.mw->publisher_register_memory != NULL) {
        int rc = parts.mw->publisher_register_memory(parts.impl, options->fd, options->offset,
                                                     options->length, options->max_in_flight,
                                                     &m->memory);
        if (rc != 0) {
            zl__context_deallocate(parts.context, m->flights, table, _Alignof(flight));
            zl__context_deallocate(parts.context, m, sizeof *m, _Alignof(zl_user_memory));
            return rc;
        }
        m->shared = true;
    }
    zl__publisher_memory_registered(publisher, true);
    *memory = m;
    return 0;
}

/* Queues a completion notice for message, forgetting the oldest when the
 * ring is full. */
static void notice_push(zl_user_memory *m, const void *message)
{
    if (m->notice_count == m->max_in_flight) {
        m->notice_head = (m->notice_head + 1) % m->max_in_flight;
        m->notice_count--;
    }
    m->notices[(m->notice_head + m->notice_count) % m->max_in_flight] = message;
    m->notice_count++;
}

/* Frees the records of publications that completed (as of the transport's
 * last refresh), queuing their notices in the order they were published. */
static void collect(zl_user_memory *m)
{
    for (;;) {
        flight *first = NULL;
        for (uint32_t i = 0; i < m->max_in_flight; i++) {
            flight *f = &m->flights[i];
            if (f->message != NULL &&
                (first == NULL || f->ticket.sequence < first->ticket.sequence) &&
                !m->parts.mw->publisher_memory_in_flight(m->parts.impl, f->ticket))
                first = f;
        }
        if (first == NULL)
            return;
        notice_push(m, first->message);
        first->message = NULL;
    }
}

/* Takes back what subscriptions returned, then collects completions. */
static void settle(zl_user_memory *m)
{
    if (!m->shared)
        return;
    m->parts.mw->publisher_refresh(m->parts.impl);
    collect(m);
}

int zl_user_memory_destroy(zl_user_memory *memory)
{
    zl__clear_detail();
    if (memory == NULL)
        return zl__fail(ZL_EINVAL, "memory is NULL");
    zl_user_memory *m = memory;
    if (m->attachments != 0)
        return zl__fail(ZL_EBUSY,
                        "the user memory is attached to %u wait set or executor entries: "
                        "detach it (or destroy the executor) first",
                        m->attachments);
    if (m->shared) {
        settle(m);
        int rc = m->parts.mw->publisher_unregister_memory(m->parts.impl, m->memory);
        if (rc != 0)
            return rc;
    }
    zl__publisher_memory_registered(m->publisher, false);
    zl__context_deallocate(m->parts.context, m->flights, private_bytes(m->max_in_flight),
                           _Alignof(flight));
    zl__context_deallocate(m->parts.context, m, sizeof *m, _Alignof(zl_user_memory));
    return 0;
}

bool zl_user_memory_is_shared(const zl_user_memory *memory)
{
    return memory != NULL && memory->shared;
}

/* Checks that count elements at message lie in the memory, aligned: their
 * bytes in *bytes. */
static int check_message(const zl_user_memory *m, const uint8_t *message, size_t count,
                         size_t *bytes)
{
    const zl_type *type = m->parts.type;
    if (type->element_size == 0 && count != 0)
        return zl__fail(ZL_EINVAL, "type '%s' has a fixed size: the count must be 0", type->name);
    if (type->element_size != 0 && type->max_count != 0 && count > type->max_count)
        return zl__fail(ZL_EINVAL, "%zu elements exceed the %zu that type '%s' allows", count,
                        type->max_count, type->name);
    if (type->element_size != 0 && count > (m->length - type->size) / type->element_size)
        return zl__fail(ZL_EINVAL, "%zu elements do not fit the memory", count);
    *bytes = type->size + count * type->element_size;
    if (message < m->base || (size_t)(message - m->base) > m->length ||
        *bytes > m->length - (size_t)(message - m->base))
        return zl__fail(ZL_EINVAL, "the %zu bytes at %p do not lie in the registered memory",
                        *bytes, (const void *)message);
    if ((uintptr_t)message % type->alignment != 0)
        return zl__fail(ZL_EINVAL, "%p is not aligned for type '%s' (%zu)",
                        (const void *)message, type->name, type->alignment);
    return 0;
}

int zl_user_memory_publish(zl_user_memory *memory, const void *message, size_t count)
{
    zl__clear_detail();
    if (memory == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "memory and message must not be NULL");
    zl_user_memory *m = memory;
    const uint8_t *at = message;
    size_t bytes = 0;
    int rc = check_message(m, at, count, &bytes);
    if (rc != 0)
        return rc;
    if (!m->shared) {
        rc = zl_publisher_publish_sized(m->publisher, message, count); /* one copy */
        if (rc == 0)
            notice_push(m, message); /* complete at once */
        return rc;
    }
    settle(m);
    flight *slot = NULL;
    for (uint32_t i = 0; i < m->max_in_flight; i++) {
        flight *f = &m->flights[i];
        if (f->message == NULL) {
            slot = slot != NULL ? slot : f;
            continue;
        }
        if (at < f->message + f->bytes && f->message < at + bytes)
            return zl__fail(ZL_EBUSY,
                            "the message at %p overlaps one published from %p that is still in "
                            "flight: wait for its completion",
                            message, (const void *)f->message);
    }
    if (slot == NULL)
        return zl__fail(ZL_EBUSY,
                        "all %u messages the memory may have in flight (max_in_flight) are in "
                        "flight: wait for a completion",
                        m->max_in_flight);
    rc = m->parts.mw->publisher_publish_memory(m->parts.impl, m->memory,
                                               (uint64_t)(at - m->base), bytes, &slot->ticket);
    if (rc != 0)
        return rc;
    slot->message = at;
    slot->bytes = bytes;
    return 0;
}

int zl_user_memory_in_flight(zl_user_memory *memory, const void *message, bool *in_flight)
{
    zl__clear_detail();
    if (memory == NULL || message == NULL || in_flight == NULL)
        return zl__fail(ZL_EINVAL, "memory, message and in_flight must not be NULL");
    *in_flight = false;
    if (!memory->shared)
        return 0;
    settle(memory);
    for (uint32_t i = 0; i < memory->max_in_flight; i++)
        if (memory->flights[i].message == message)
            *in_flight = true;
    return 0;
}

uint32_t zl_user_memory_in_flight_count(zl_user_memory *memory)
{
    if (memory == NULL || !memory->shared)
        return 0;
    settle(memory);
    uint32_t n = 0;
    for (uint32_t i = 0; i < memory->max_in_flight; i++)
        n += memory->flights[i].message != NULL;
    return n;
}

int zl_user_memory_take_completed(zl_user_memory *memory, const void **message)
{
    zl__clear_detail();
    if (memory == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "memory and message must not be NULL");
    if (memory->notice_count == 0)
        settle(memory);
    if (memory->notice_count == 0)
        return ZL_ENODATA;
    *message = memory->notices[memory->notice_head];
    memory->notice_head = (memory->notice_head + 1) % memory->max_in_flight;
    memory->notice_count--;
    return 0;
}

void zl__user_memory_waitable(zl_user_memory *memory, zl__mw_waitable *waitable)
{
    if (!memory->shared) {
        /* Notices of plain memory are queued at publish: nothing to wait on. */
        waitable->count = 0;
        waitable->sleepers = NULL;
        waitable->sleepers_is_flag = false;
        return;
    }
    memory->parts.mw->publisher_memory_waitable(memory->parts.impl, memory->memory, waitable);
    collect(memory);
}

bool zl__user_memory_ready(zl_user_memory *memory)
{
    return memory->notice_count != 0 ||
           (memory->shared &&
            memory->parts.mw->publisher_memory_ready(memory->parts.impl, memory->memory));
}

void zl__user_memory_attached(zl_user_memory *memory, bool attached)
{
    memory->attachments += attached ? 1u : (uint32_t)-1;
}

uint32_t zl__user_memory_notices(zl_user_memory *memory)
{
    settle(memory);
    return memory->notice_count;
}
