/* libFuzzer target: a hostile peer against a real publisher and subscription.
 *
 * Each input is a small program. Its first bytes choose the endpoints'
 * options; then each step is either a call of the victim (loan, publish,
 * return, take, connect, destroy and create again, stats) or a write of a
 * fuzzer-chosen value into one of the topic's shared objects, which the
 * harness maps read-write by name as any process of the user could: registry
 * slots and generation, queue headers, connection ids, ring positions and
 * entries, pool headers and chunk headers (user segments' too: the file a
 * user segment names, a chunk's offset in it), or any word of any of them.
 * A publisher may register user memory (a sealed memfd of 4 frames),
 * publish from it, take its completion notices and destroy it.
 *
 * What must hold (docs/design.md I3): the victim never crashes, hangs (libFuzzer
 * -timeout) or reads outside its mappings; every call returns one of its
 * documented codes; a loan the harness holds can always be returned or
 * published (0); every loan a take hands out is aligned for its type and
 * readable to its last byte (the harness reads it); and when every endpoint is destroyed, nothing of
 * the topic is left in /dev/shm (with HOSTILE_FUZZ_STRICT_CLEANUP=1). A
 * violation aborts, and libFuzzer keeps the input. ftruncate of a shared object is out of scope (see tests/fuzz/README.md).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "../hostile.h"
#include "../peer.h"
#include "shm/layout.h"
#include "shm/queue.h"

#define PUBS 2
#define SUBS 2
#define LOANS 2
#define OBJECTS 4

typedef struct input {
    const uint8_t *data;
    size_t size;
} input;

static uint8_t next8(input *in)
{
    if (in->size == 0)
        return 0;
    in->size--;
    return *in->data++;
}

static uint64_t next64(input *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)next8(in) << (8 * i);
    return v;
}

static void fatal(const char *what, int rc)
{
    fprintf(stderr, "hostile_fuzz: %s returned %d (%s); detail: %s\n", what, rc,
            zl_strerror(rc), zl_last_error_detail());
    abort();
}

/* Aborts unless rc is 0 or one of the codes listed (terminated by 1). */
static void expect(const char *what, int rc, ...)
{
    if (rc == 0)
        return;
    va_list codes;
    va_start(codes, rc);
    for (int code = va_arg(codes, int); code != 1; code = va_arg(codes, int))
        if (code == rc) {
            va_end(codes);
            return;
        }
    va_end(codes);
    fatal(what, rc);
}

typedef struct victim {
    char topic[64];
    zl_context *context;
    zl_publisher_options pub_options;
    zl_subscription_options sub_options;
    zl_publisher *pubs[PUBS];
    void *pub_loans[PUBS][LOANS];
    size_t pub_counts[PUBS][LOANS];
    zl_subscription *subs[SUBS];
    const void *sub_loans[SUBS][LOANS];
    hostile_map registry;
    hostile_map pools[OBJECTS];    /* control objects: segment tables */
    hostile_map segments[OBJECTS]; /* pool segments: chunks */
    hostile_map queues[OBJECTS];
    /* User memory: one sealed memfd of FRAMES frames, registered by either
     * publisher (each its own registration). */
    int memfd;
    uint8_t *frames;
    zl_user_memory *memories[PUBS];
} victim;

#define FRAMES 4
#define FRAME_BYTES 4096

static victim v;

/* Whether this input wrote into the registry. Cleanup then may leave
 * objects behind: the last user removes what the registry's records and
 * lingering entries name, and a hostile peer can erase those names. That
 * costs /dev/shm space, not correctness; anything left otherwise is a bug. */
static bool registry_poked;
/* HOSTILE_FUZZ_STRICT_CLEANUP=1 makes a leftover a finding (abort). Off by
 * default for now: a leftover registry appears after some sequences of
 * inputs in one process (not with the input alone); see the README. */
static bool strict_cleanup;

/* HOSTILE_FUZZ_TRACE=1 prints every step, to read what a saved input does. */
static bool trace;
#define TRACE(...)                            \
    do {                                      \
        if (trace)                            \
            fprintf(stderr, __VA_ARGS__);     \
    } while (0)

/* Maps whatever objects the topic has now (after creations, destructions). */
static void remap(void)
{
    hostile_unmap(&v.registry);
    hostile_map_object(0, v.topic, 'r', 0, &v.registry);
    for (int i = 0; i < OBJECTS; i++) {
        hostile_unmap(&v.pools[i]);
        hostile_unmap(&v.segments[i]);
        hostile_unmap(&v.queues[i]);
        hostile_map_object(0, v.topic, 'p', i, &v.pools[i]);
        hostile_map_object(0, v.topic, 'g', i, &v.segments[i]);
        hostile_map_object(0, v.topic, 's', i, &v.queues[i]);
    }
}

/* The victim's messages are sized: a test_msg, then a tail of up to 64 KiB
 * whose length comes from the input, so loans spread over size classes and
 * the pools grow, shrink and name new segments while the peer writes. */
typedef struct fuzz_msg {
    test_msg head;
    uint8_t tail[];
} fuzz_msg;
#define TAIL_MAX 65536u
static const zl_type fuzz_type = ZL_TYPE_SIZED(fuzz_msg, tail, TAIL_MAX);

static size_t next_count(input *in)
{
    size_t high = next8(in), low = next8(in);
    return ((high << 8) | low) % (TAIL_MAX + 1);
}

static void create_publisher(int i)
{
    int rc = zl_publisher_create(v.context, v.topic, &fuzz_type, &v.pub_options, &v.pubs[i]);
    expect("zl_publisher_create", rc, ZL_ECORRUPT, ZL_ETYPE, ZL_ELIMIT, 1);
    if (rc != 0)
        v.pubs[i] = NULL;
    memset(v.pub_loans[i], 0, sizeof v.pub_loans[i]);
}

static void create_subscription(int i)
{
    int rc = zl_subscription_create(v.context, v.topic, &fuzz_type, &v.sub_options,
                                    &v.subs[i]);
    expect("zl_subscription_create", rc, ZL_ECORRUPT, ZL_ETYPE, ZL_ELIMIT, 1);
    if (rc != 0)
        v.subs[i] = NULL;
    memset(v.sub_loans[i], 0, sizeof v.sub_loans[i]);
}

/* Destroys publisher i's user memory; false when a message from it is
 * still in flight (then the publisher must refuse destruction too). */
static bool destroy_memory(int i)
{
    if (v.memories[i] == NULL)
        return true;
    int rc = zl_user_memory_destroy(v.memories[i]);
    expect("zl_user_memory_destroy", rc, ZL_EBUSY, 1);
    if (rc != 0)
        return false;
    v.memories[i] = NULL;
    return true;
}

static void destroy_publisher(int i)
{
    if (v.pubs[i] == NULL)
        return;
    if (!destroy_memory(i)) {
        int refused = zl_publisher_destroy(v.pubs[i]);
        if (refused != ZL_EBUSY)
            fatal("zl_publisher_destroy with user memory registered", refused);
        return;
    }
    int rc = zl_publisher_destroy(v.pubs[i]);
    if (rc != 0)
        fatal("zl_publisher_destroy", rc);
    v.pubs[i] = NULL;
}

static int held_loan_slot(void *const *loans);

static void destroy_subscription(int i)
{
    if (v.subs[i] == NULL)
        return;
    /* Loans held: refused, and they stay held (returned below). */
    int rc;
    if (held_loan_slot((void *const *)v.sub_loans[i]) >= 0 &&
        (rc = zl_subscription_destroy(v.subs[i])) != ZL_EBUSY)
        fatal("zl_subscription_destroy with loans held", rc);
    for (int k = 0; k < LOANS; k++)
        if (v.sub_loans[i][k] != NULL) {
            if ((rc = zl_subscription_return_loan(v.subs[i], v.sub_loans[i][k])) != 0)
                fatal("zl_subscription_return_loan before destroy", rc);
            v.sub_loans[i][k] = NULL;
        }
    rc = zl_subscription_destroy(v.subs[i]);
    if (rc != 0)
        fatal("zl_subscription_destroy", rc);
    v.subs[i] = NULL;
}

/* Reads a loan to its last byte: a loan outside the mapping faults here. */
static void touch(const void *loan, size_t bytes)
{
    const volatile unsigned char *p = loan;
    unsigned sum = 0;
    for (size_t k = 0; k < bytes; k++)
        sum += p[k];
    (void)sum;
}

static int free_loan_slot(void *const *loans)
{
    for (int k = 0; k < LOANS; k++)
        if (loans[k] == NULL)
            return k;
    return -1;
}

static int held_loan_slot(void *const *loans)
{
    for (int k = 0; k < LOANS; k++)
        if (loans[k] != NULL)
            return k;
    return -1;
}

static void step_publisher(input *in, uint8_t op)
{
    int i = next8(in) % PUBS;
    zl_publisher *p = v.pubs[i];
    if (p == NULL) {
        if (op == 6) {
            create_publisher(i);
            remap();
        }
        return;
    }
    void **loans = v.pub_loans[i];
    int rc;
    switch (op) {
    case 0: { /* loan */
        int k = free_loan_slot(loans);
        void *loan = NULL;
        size_t count = next_count(in);
        rc = zl_publisher_loan_sized(p, count, &loan);
        expect("zl_publisher_loan_sized", rc, ZL_ETOOMANYLOANS, ZL_EEXHAUSTED, ZL_ENOSHM, 1);
        if (rc == 0) {
            if (k < 0)
                fatal("zl_publisher_loan_sized beyond max_loans", 0);
            test_msg_fill(loan, (uint64_t)i, next64(in));
            memset(((fuzz_msg *)loan)->tail, 0x5a, count); /* every byte lent is ours */
            loans[k] = loan;
            v.pub_counts[i][k] = count;
        }
        break;
    }
    case 1: { /* publish a loan, or return it */
        int k = held_loan_slot(loans);
        if (k < 0)
            break;
        uint8_t how = next8(in);
        rc = (how & 1)   ? zl_publisher_return_loan(p, loans[k])
             : (how & 2) ? zl_publisher_publish_loan_sized(p, loans[k], v.pub_counts[i][k] / 2)
                         : zl_publisher_publish_loan(p, loans[k]);
        if (rc != 0)
            fatal("publishing or returning a held publisher loan", rc);
        loans[k] = NULL;
        break;
    }
    case 2: { /* publish a copy */
        static union {
            fuzz_msg m;
            uint8_t bytes[sizeof(fuzz_msg) + 256];
        } copy;
        test_msg_fill(&copy.m.head, (uint64_t)i, next64(in));
        expect("zl_publisher_publish_sized", zl_publisher_publish_sized(p, &copy.m, next8(in)),
               ZL_EEXHAUSTED, ZL_ETOOMANYLOANS, ZL_ENOSHM, 1);
        break;
    }
    case 3: /* connect */
        expect("zl_publisher_update_connections", zl_publisher_update_connections(p), 1);
        break;
    case 4: { /* misuse: a pointer that is not a loan of this publisher */
        int k = held_loan_slot(loans);
        uint8_t shift = next8(in);
        if (k >= 0 && shift != 0 &&
            zl_publisher_return_loan(p, (char *)loans[k] + shift) != ZL_ENOTLOAN)
            fatal("returning a pointer inside a publisher loan", 0);
        int other = held_loan_slot(v.pub_loans[1 - i]);
        if (other >= 0 && v.pubs[1 - i] != NULL &&
            zl_publisher_return_loan(p, v.pub_loans[1 - i][other]) != ZL_ENOTLOAN)
            fatal("returning another publisher's loan", 0);
        zl_publisher_stats stats;
        expect("zl_publisher_get_stats", zl_publisher_get_stats(p, &stats), 1);
        break;
    }
    case 5:
        destroy_publisher(i);
        remap();
        break;
    default: /* 6: destroy and create again */
        destroy_publisher(i);
        if (v.pubs[i] == NULL) /* not refused for user memory in flight */
            create_publisher(i);
        remap();
        break;
    }
}

/* User memory of publisher i: register, publish a frame from it, take
 * completion notices, ask what is in flight, destroy. */
static void step_user_memory(input *in, uint8_t op)
{
    int i = next8(in) % PUBS;
    zl_publisher *p = v.pubs[i];
    zl_user_memory *m = v.memories[i];
    if (p == NULL || (m == NULL && op != 0))
        return;
    int rc;
    switch (op) {
    case 0: { /* register */
        if (m != NULL)
            break;
        zl_user_memory_options o;
        zl_user_memory_options_init(&o);
        o.fd = v.memfd;
        o.base = v.frames;
        o.length = FRAMES * FRAME_BYTES;
        o.max_in_flight = 1 + next8(in) % FRAMES;
        rc = zl_user_memory_create(p, &o, &v.memories[i]);
        expect("zl_user_memory_create", rc, ZL_ENOSHM, 1);
        if (rc != 0)
            v.memories[i] = NULL;
        remap();
        break;
    }
    case 1: { /* publish a frame (written only while not in flight) */
        uint8_t *frame = v.frames + (size_t)(next8(in) % FRAMES) * FRAME_BYTES;
        size_t count = next8(in) % 64;
        bool busy = true;
        if (zl_user_memory_in_flight(m, frame, &busy) != 0)
            fatal("zl_user_memory_in_flight", 0);
        if (!busy)
            test_msg_fill((test_msg *)(void *)frame, (uint64_t)i, next64(in));
        rc = zl_user_memory_publish(m, frame, count);
        expect("zl_user_memory_publish", rc, ZL_EBUSY, ZL_ETIMEOUT, ZL_EEXHAUSTED, ZL_ENOSHM, 1);
        break;
    }
    case 2: { /* completion notices: each names a frame */
        const void *done;
        while ((rc = zl_user_memory_take_completed(m, &done)) == 0)
            if ((const uint8_t *)done < v.frames ||
                (size_t)((const uint8_t *)done - v.frames) % FRAME_BYTES != 0 ||
                (const uint8_t *)done >= v.frames + FRAMES * FRAME_BYTES)
                fatal("a completion notice names no frame", 0);
        if (rc != ZL_ENODATA)
            fatal("zl_user_memory_take_completed", rc);
        break;
    }
    case 3: /* what is in flight */
        if (zl_user_memory_in_flight_count(m) > FRAMES)
            fatal("more user messages in flight than max_in_flight", 0);
        break;
    default: /* 4: destroy (refused while in flight) */
        destroy_memory(i);
        remap();
        break;
    }
}

static void step_subscription(input *in, uint8_t op)
{
    int i = next8(in) % SUBS;
    zl_subscription *s = v.subs[i];
    if (s == NULL) {
        if (op == 6) {
            create_subscription(i);
            remap();
        }
        return;
    }
    const void **loans = v.sub_loans[i];
    int rc;
    switch (op) {
    case 0: { /* take a loan */
        const void *loan = NULL;
        zl_message_info info;
        rc = zl_subscription_take_loan(s, &loan, &info);
        expect("zl_subscription_take_loan", rc, ZL_ENODATA, ZL_ETOOMANYLOANS, ZL_ESERIALIZE, 1);
        if (rc == 0) {
            int k = free_loan_slot((void *const *)loans);
            if (k < 0)
                fatal("zl_subscription_take_loan beyond max_loans", 0);
            if ((uintptr_t)loan % _Alignof(test_msg) != 0)
                fatal("zl_subscription_take_loan lent memory misaligned for the type", 0);
            touch(loan, info.size);
            loans[k] = loan;
        }
        break;
    }
    case 1: { /* return a loan (is it consistent first?) */
        int k = held_loan_slot((void *const *)loans);
        if (k < 0)
            break;
        bool consistent;
        if ((rc = zl_subscription_is_consistent(s, loans[k], &consistent)) != 0)
            fatal("zl_subscription_is_consistent of a held loan", rc);
        if ((rc = zl_subscription_return_loan(s, loans[k])) != 0)
            fatal("zl_subscription_return_loan of a held loan", rc);
        loans[k] = NULL;
        break;
    }
    case 2: { /* take a copy, into room for all of it or for a part */
        static union {
            fuzz_msg m;
            uint8_t bytes[sizeof(fuzz_msg) + TAIL_MAX];
        } copy;
        rc = next8(in) & 1 ? zl_subscription_take(s, &copy.m, NULL)
                           : zl_subscription_take_sized(s, &copy.m, next8(in), NULL);
        expect("zl_subscription_take", rc, ZL_ENODATA, ZL_ETOOMANYLOANS, ZL_ESERIALIZE, 1);
        break;
    }
    case 3: { /* stats */
        zl_subscription_stats stats;
        expect("zl_subscription_get_stats", zl_subscription_get_stats(s, &stats), 1);
        break;
    }
    case 4: { /* misuse: the other subscription's loan, or a pointer inside a loan */
        int k = held_loan_slot((void *const *)v.sub_loans[1 - i]);
        if (k >= 0 && v.subs[1 - i] != NULL &&
            zl_subscription_return_loan(s, v.sub_loans[1 - i][k]) != ZL_ENOTLOAN)
            fatal("returning another subscription's loan", 0);
        k = held_loan_slot((void *const *)loans);
        uint8_t shift = next8(in);
        if (k >= 0 && shift != 0 &&
            zl_subscription_return_loan(s, (const char *)loans[k] + shift) != ZL_ENOTLOAN)
            fatal("returning a pointer inside a loan", 0);
        break;
    }
    case 5:
        destroy_subscription(i);
        remap();
        break;
    default: /* 6: destroy and create again */
        destroy_subscription(i);
        create_subscription(i);
        remap();
        break;
    }
}

/* The value to write: fuzzer-chosen bytes, a small number, or the current
 * value moved by a little (ring positions off by a few are the subtle ones). */
static uint64_t choose_value(input *in, uint64_t current)
{
    switch (next8(in) % 4) {
    case 0:
        return next64(in);
    case 1:
        return next8(in);
    case 2:
        return current + (uint64_t)(int64_t)(int8_t)next8(in);
    default:
        return (uint64_t)1 << (next8(in) % 64);
    }
}

static void poke(hostile_map *m, size_t offset, size_t width, input *in)
{
    if (m->base == NULL || offset + width > m->size)
        return;
    registry_poked = registry_poked || m == &v.registry;
    uint64_t current = 0;
    unsigned char *at = (unsigned char *)m->base + offset;
    memcpy(&current, at, width);
    uint64_t value = choose_value(in, current);
    TRACE("  poke %s+%zu (%zu bytes): %llx -> %llx\n",
          m == &v.registry ? "registry" : (m >= v.pools && m < v.pools + OBJECTS) ? "pool" : "queue",
          offset, width, (unsigned long long)current, (unsigned long long)value);
    /* Relaxed atomic stores: the victim reads these words atomically too,
     * and a plain store would be a data race only to the compiler. */
    if (width == 8)
        __atomic_store_n((uint64_t *)(void *)at, value, __ATOMIC_RELAXED);
    else
        __atomic_store_n((uint32_t *)(void *)at, (uint32_t)value,
                         __ATOMIC_RELAXED);
}

/* The honest geometry of a segment the harness mapped (whatever its pool). */
static bool segment_geometry(const zl__segment_shm *s, size_t size, zl__segment_geometry *g)
{
    return zl__segment_geometry_read(s, size, s->publisher_id, s->slot, s->serial,
                                     s->payload_offset, zl__pool_alignment(_Alignof(test_msg)), g);
}

static void hostile_write(input *in)
{
    uint8_t target = next8(in);
    uint8_t which = next8(in);
    switch (target % 7) {
    case 0: { /* registry: generation, a slot's seq or one of its words, a
               * lingering pool's id or count, the next slot hints */
        size_t slot_field = which % 6;
        size_t kind = (which / 3) % 2, index = (which / 6) % 2;
        size_t slot = kind == 0 ? offsetof(zl__registry_shm, publishers)
                                : offsetof(zl__registry_shm, subscriptions);
        slot += index * sizeof(zl__slot);
        if (slot_field == 0)
            poke(&v.registry, offsetof(zl__registry_shm, generation), 4, in);
        else if (slot_field == 1)
            poke(&v.registry, slot + offsetof(zl__slot, seq), 4, in);
        else if (slot_field == 2)
            poke(&v.registry, slot + offsetof(zl__slot, words) + 8 * (next8(in) % (sizeof(zl__endpoint_record) / 8)), 8, in);
        else if (slot_field == 3)
            poke(&v.registry, offsetof(zl__registry_shm, lingering[index].pool_id), 8, in);
        else if (slot_field == 4)
            poke(&v.registry, offsetof(zl__registry_shm, lingering[index].remaining), 4, in);
        else
            poke(&v.registry, offsetof(zl__registry_shm, next_slot[kind]), 4, in);
        break;
    }
    case 1: { /* a queue header field */
        static const size_t fields[][2] = {
            {offsetof(zl__queue_shm, magic), 8},
            {offsetof(zl__queue_shm, subscription_id), 8},
            {offsetof(zl__queue_shm, total_size), 8},
            {offsetof(zl__queue_shm, deliver_capacity), 4},
            {offsetof(zl__queue_shm, return_capacity), 4},
            {offsetof(zl__queue_shm, connection_offset), 8},
            {offsetof(zl__queue_shm, connection_stride), 8},
            {offsetof(zl__queue_shm, attach_seq), 4},
            {offsetof(zl__queue_shm, wake), 4},
            {offsetof(zl__queue_shm, sleepers), 4},
        };
        size_t f = which % (sizeof fields / sizeof fields[0]);
        poke(&v.queues[next8(in) % OBJECTS], fields[f][0], fields[f][1], in);
        break;
    }
    case 2:   /* a connection's id, lost count, ring positions or entries */
    case 3: { /* (twice as likely: this is where the protocol lives) */
        hostile_map *m = &v.queues[next8(in) % OBJECTS];
        if (m->base == NULL || m->size < sizeof(zl__queue_shm))
            break;
        /* The honest geometry, computed as the subscription laid it out. */
        const zl__queue_shm *q = (const zl__queue_shm *)m->base;
        zl__queue_geometry g;
        if (!zl__queue_geometry_read(q, m->size, q->subscription_id, &g))
            break;
        size_t connection = g.connection_offset + g.connection_stride * (next8(in) % PUBS);
        static const size_t fields[][2] = {
            {offsetof(zl__connection_shm, publisher_id), 8},
            {offsetof(zl__connection_shm, lost), 8},
            {offsetof(zl__connection_shm, lingering), 4},
            {offsetof(zl__connection_shm, deliver.head), 8},
            {offsetof(zl__connection_shm, deliver.tail), 8},
            {offsetof(zl__connection_shm, ret.head), 8},
            {offsetof(zl__connection_shm, ret.tail), 8},
        };
        size_t f = which % 9;
        if (f < 7) {
            poke(m, connection + fields[f][0], fields[f][1], in);
        } else {
            /* Wherever the layout keeps them (beside the tail or after the
             * connection): as the endpoints compute it. */
            zl__ring deliver, ret;
            zl__queue_rings(&g, (zl__connection_shm *)(void *)((char *)m->base + connection),
                            &deliver, &ret);
            size_t entry = next8(in) % (g.deliver_capacity + g.return_capacity);
            const zl__atomic_u32 *at = entry < g.deliver_capacity
                                           ? &deliver.entries[entry]
                                           : &ret.entries[entry - g.deliver_capacity];
            poke(m, (size_t)((const char *)at - (const char *)m->base), 4, in);
        }
        break;
    }
    case 4: { /* a pool control field (the segment table among them), or a
               * segment header field */
        static const size_t fields[][2] = {
            {offsetof(zl__pool_shm, magic), 8},          {offsetof(zl__pool_shm, segments_max), 4},
            {offsetof(zl__pool_shm, publisher_id), 8},   {offsetof(zl__pool_shm, total_size), 8},
            {offsetof(zl__pool_shm, payload_offset), 8}, {offsetof(zl__pool_shm, payload_max), 8},
            {offsetof(zl__pool_shm, segments_seq), 4},   {offsetof(zl__pool_shm, serials[0]), 4},
            {offsetof(zl__pool_shm, serials[1]), 4},     {offsetof(zl__pool_shm, serials[2]), 4},
        };
        static const size_t segment_fields[][2] = {
            {offsetof(zl__segment_shm, magic), 8},        {offsetof(zl__segment_shm, chunk_count), 4},
            {offsetof(zl__segment_shm, serial), 4},       {offsetof(zl__segment_shm, slot), 4},
            {offsetof(zl__segment_shm, chunk_offset), 8}, {offsetof(zl__segment_shm, chunk_stride), 8},
            {offsetof(zl__segment_shm, payload_offset), 8},
            {offsetof(zl__segment_shm, payload_capacity), 8},
            {offsetof(zl__segment_shm, user), 4},         {offsetof(zl__segment_shm, user_pid), 4},
            {offsetof(zl__segment_shm, user_fd), 4},      {offsetof(zl__segment_shm, user_dev), 8},
            {offsetof(zl__segment_shm, user_ino), 8},     {offsetof(zl__segment_shm, user_offset), 8},
            {offsetof(zl__segment_shm, user_length), 8},
        };
        uint8_t object = next8(in);
        if (which & 1) {
            size_t f = (which / 2) % (sizeof fields / sizeof fields[0]);
            poke(&v.pools[object % OBJECTS], fields[f][0], fields[f][1], in);
        } else {
            size_t f = (which / 2) % (sizeof segment_fields / sizeof segment_fields[0]);
            poke(&v.segments[object % OBJECTS], segment_fields[f][0], segment_fields[f][1], in);
        }
        break;
    }
    case 5: { /* a chunk header field: sizes, names of chunk and segment */
        hostile_map *m = &v.segments[next8(in) % OBJECTS];
        if (m->base == NULL || m->size < sizeof(zl__segment_shm))
            break;
        zl__segment_geometry g;
        if (!segment_geometry((const zl__segment_shm *)m->base, m->size, &g))
            break;
        size_t chunk = g.chunk_offset + g.chunk_stride * (next8(in) % g.chunk_count);
        static const size_t fields[][2] = {
            {offsetof(zl__chunk_header, publisher_id), 8},
            {offsetof(zl__chunk_header, sequence), 8},
            {offsetof(zl__chunk_header, timestamp_ns), 8},
            {offsetof(zl__chunk_header, payload_size), 8},
            {offsetof(zl__chunk_header, chunk_index), 4},
            {offsetof(zl__chunk_header, segment_slot), 4},
            {offsetof(zl__chunk_header, segment_serial), 4},
            {offsetof(zl__chunk_header, user_offset), 8},
        };
        size_t f = which % (sizeof fields / sizeof fields[0]);
        poke(m, chunk + fields[f][0], fields[f][1], in);
        break;
    }
    default: { /* any aligned word of any object */
        hostile_map *m = which % 4 == 0   ? &v.registry
                         : which % 4 == 1 ? &v.queues[(which / 4) % OBJECTS]
                         : which % 4 == 2 ? &v.pools[(which / 4) % OBJECTS]
                                          : &v.segments[(which / 4) % OBJECTS];
        if (m->base == NULL)
            break;
        size_t word = (size_t)(next8(in) | (next8(in) << 8)) % (m->size / 4);
        poke(m, 4 * word, 4, in);
        break;
    }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(v.topic, sizeof v.topic, "/fuzz/hostile_%d", (int)getpid());
    const char *t = getenv("HOSTILE_FUZZ_TRACE");
    trace = t != NULL && t[0] != '\0' && t[0] != '0';
    const char *strict = getenv("HOSTILE_FUZZ_STRICT_CLEANUP");
    strict_cleanup = strict != NULL && strict[0] != '\0' && strict[0] != '0';
    if (zl_context_create(NULL, &v.context) != 0)
        abort();
    v.memfd = memfd_create("hostile-fuzz-frames", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (v.memfd < 0 || ftruncate(v.memfd, FRAMES * FRAME_BYTES) != 0 ||
        fcntl(v.memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0)
        abort();
    v.frames = mmap(NULL, FRAMES * FRAME_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, v.memfd, 0);
    if (v.frames == MAP_FAILED)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    registry_poked = false;
    uint8_t config = next8(&in);
    zl_publisher_options_init(&v.pub_options);
    v.pub_options.history = config % 3;
    v.pub_options.max_loans = LOANS;
    v.pub_options.max_subscriptions = SUBS;
    v.pub_options.chunks_per_subscription = 2 + (config / 3) % 4;
    zl_subscription_options_init(&v.sub_options);
    v.sub_options.depth = 1 + (config / 12) % 4;
    v.sub_options.max_loans = LOANS;
    v.sub_options.history = (config / 48) % 2;
    create_publisher(0);
    create_subscription(0);
    remap();
    for (int steps = 0; in.size > 0 && steps < 256; steps++) {
        uint8_t op = next8(&in);
        TRACE("%s op %d\n",
              op < 56 ? "publisher" : op < 64 ? "user memory" : op < 128 ? "subscription" : "hostile",
              op < 56 ? op % 7 : op < 64 ? op % 5 : op % 7);
        if (op < 56)
            step_publisher(&in, (uint8_t)(op % 7));
        else if (op < 64)
            step_user_memory(&in, (uint8_t)(op % 5));
        else if (op < 128)
            step_subscription(&in, (uint8_t)(op % 7));
        else
            hostile_write(&in);
    }
    for (int i = 0; i < SUBS; i++)
        destroy_subscription(i);
    /* Every subscription is gone: nothing can be in flight once the
     * publisher has noticed (a forced look at its peers' locks). */
    for (int i = 0; i < PUBS; i++)
        for (int tries = 0; v.memories[i] != NULL && !destroy_memory(i); tries++) {
            if (tries == 3) {
                if (!registry_poked)
                    fatal("user memory still in flight after every subscription left", 0);
                fprintf(stderr, "hostile_fuzz: user memory of publisher %d still in flight "
                                "(registry written)\n", i);
                break;
            }
            expect("zl_publisher_update_connections", zl_publisher_update_connections(v.pubs[i]),
                   1);
        }
    for (int i = 0; i < PUBS; i++)
        destroy_publisher(i);
    remap();
    bool left = v.registry.base != NULL;
    for (int i = 0; i < OBJECTS; i++) {
        left = left || v.pools[i].base != NULL || v.queues[i].base != NULL ||
               v.segments[i].base != NULL;
        hostile_unmap(&v.pools[i]);
        hostile_unmap(&v.segments[i]);
        hostile_unmap(&v.queues[i]);
    }
    hostile_unmap(&v.registry);
    if (left && !registry_poked) {
        fprintf(stderr, "hostile_fuzz: objects of %s left in /dev/shm after every endpoint "
                        "was destroyed\n", v.topic);
        if (strict_cleanup)
            abort();
    }
    if (left) {
        char command[160];
        unsigned uid = (unsigned)geteuid();
        int pid = (int)getpid();
        snprintf(command, sizeof command,
                 "rm -f /dev/shm/zl.%u.0..fuzz.hostile_%d /dev/shm/zl.%u.0..fuzz.hostile_%d:*",
                 uid, pid, uid, pid);
        if (system(command) != 0)
            abort();
    }
    return 0;
}
