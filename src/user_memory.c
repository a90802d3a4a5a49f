/* User memory: messages published from memory zloan did not allocate, and
 * their completion (docs/user_memory.md).
 *
 * Each message in flight is one record here (its address, bytes and the
 * transport's ticket); max_in_flight records, a few, searched linearly. A
 * record is freed when the transport says its publication is no longer in
 * flight: before a publish (so a busy range is refused) and on every query.
 * All of this is private to the publisher's thread: no atomics. */
#include <string.h>

#include "zloan/error.h"
#include "zloan/user_memory.h"

#include "context.h"
#include "error_detail.h"
#include "publisher.h"

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
};

void zl_user_memory_options_init(zl_user_memory_options *options)
{
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
    size_t table = sizeof(flight) * options->max_in_flight;
    m->flights = zl__context_allocate(parts.context, table, _Alignof(flight));
    if (m->flights == NULL) {
        zl__context_deallocate(parts.context, m, sizeof *m, _Alignof(zl_user_memory));
        return zl__fail(ZL_ENOMEM, "allocating user memory failed");
    }
    memset(m->flights, 0, table);
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
    *memory = m;
    return 0;
}

/* Frees the records of publications that completed. */
static void settle(zl_user_memory *m)
{
    m->parts.mw->publisher_refresh(m->parts.impl);
    for (uint32_t i = 0; i < m->max_in_flight; i++) {
        flight *f = &m->flights[i];
        if (f->message != NULL && !m->parts.mw->publisher_memory_in_flight(m->parts.impl, f->ticket))
            f->message = NULL;
    }
}

int zl_user_memory_destroy(zl_user_memory *memory)
{
    zl__clear_detail();
    if (memory == NULL)
        return zl__fail(ZL_EINVAL, "memory is NULL");
    zl_user_memory *m = memory;
    if (m->shared) {
        settle(m);
        int rc = m->parts.mw->publisher_unregister_memory(m->parts.impl, m->memory);
        if (rc != 0)
            return rc;
    }
    zl__context_deallocate(m->parts.context, m->flights, sizeof(flight) * m->max_in_flight,
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
    if (!m->shared)
        return zl_publisher_publish_sized(m->publisher, message, count); /* one copy */
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
        return zl__fail(ZL_EBUSY, "all %u messages the memory may have in flight are",
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
