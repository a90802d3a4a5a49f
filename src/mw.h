/* The middleware seam: what a transport offers the client library.
 *
 * The client library (context, publisher, subscription) decides policy: can
 * it lend, does it fall back to the allocator, does it serialize. A transport
 * moves payload bytes: it lends chunks, publishes them and hands them to
 * subscriptions. A transport declares what it can do (zl__mw_capabilities);
 * the client library reads the declaration, never the transport's name.
 *
 * The refusal path: a transport that cannot lend (capabilities.lends false,
 * or ZL_ENOTSUP from publisher_loan for one endpoint) gets the user's loans
 * from the allocator instead, and at publish the bytes are handed over with
 * publisher_publish_copy (or, when the transport lends, copied into a loan).
 *
 * Choosing a transport: a context holds an ordered list of tables; an
 * endpoint is made by the first whose create call does not answer
 * ZL_ENOTSUP (a transport refuses what it cannot carry: a type, a QoS).
 *
 * Nothing outside src/shm/ includes a header from src/shm/ (nor outside
 * src/loopback/ from it): each transport adds a table of its own.
 *
 * Threads: the same rules as the public objects. Every function returns 0 or
 * a negative ZL_E* code and changes nothing on error.
 */
#ifndef ZL_MW_H
#define ZL_MW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zloan/allocator.h"
#include "zloan/introspection.h"
#include "zloan/publisher.h"
#include "zloan/subscription.h"
#include "zloan/topic.h"
#include "zloan/type.h"

#include "atomic.h"
#include "log.h"

typedef struct zl__mw_publisher zl__mw_publisher;
typedef struct zl__mw_subscription zl__mw_subscription;
typedef struct zl__mw_topic_view zl__mw_topic_view;

/* What both endpoint kinds tell the transport. */
typedef struct zl__mw_endpoint_config {
    const char *topic;             /* qualified, validated */
    uint32_t domain_id;
    const zl_allocator *allocator; /* for the transport's private state */
    const zl__logger *logger;      /* the context's; outlives the endpoint */
    const char *context_name;      /* "" when the context has none */
    bool share_with_group;
    /* The period of the transport's liveness checks, in milliseconds (0:
     * none), as the context read it from ZLOAN_LIVENESS_PERIOD_MS: the
     * client library reads the environment, transports never do. */
    uint32_t liveness_period_ms;
    /* The type as peers compare it. */
    const char *type_name;
    uint64_t type_size;
    uint64_t layout_hash;
    bool plain;
    /* For tools: the type's alignment, and a sized type's element size
     * and maximum count (0 and 0 for a fixed-size type). */
    size_t type_alignment;
    size_t element_size;
    size_t max_count;
    /* The type's field description as text (zl_type_describe), "" none;
     * valid during the create call. */
    const char *description;
    /* Largest payload in the transport, in bytes, and its alignment: the
     * type's size for fixed-size plain types, its fixed part plus its most
     * elements for sized types (ZL__PAYLOAD_UNBOUNDED when the count has no
     * maximum), its serialized maximum otherwise. */
    size_t payload_size;
    size_t payload_alignment;
    /* Transport loans that may be outstanding at once (the user's plus one
     * the client library uses for copies). The client library's records
     * keep the bound, on both endpoint kinds: it never holds more, so a
     * transport need not count them again (it may size tables by it). */
    uint32_t max_loans;
} zl__mw_endpoint_config;

/* The payload bound of a sized type without a maximum count: the transport
 * lends what its memory bound allows. */
#define ZL__PAYLOAD_UNBOUNDED ((size_t)1 << 40)

typedef struct zl__mw_publisher_config {
    zl__mw_endpoint_config endpoint;
    uint32_t history;
    uint32_t max_subscriptions;
    uint32_t chunks_per_subscription;
    /* Bound of the publisher's shared memory; 0: the transport's default. */
    uint64_t pool_bytes_max;
    /* Bytes of the first loans the pool is prepared for at creation (0:
     * none; the first loan grows it). */
    size_t initial_payload;
    int64_t max_blocking_time_ns; /* waiting for lossless subscriptions */
} zl__mw_publisher_config;

/* A transport's name for one of its loans, returned with the loan and
 * given back to publish or return it: the client library keeps it in its
 * loan record, so the transport finds the chunk without a search. */
typedef uint32_t zl__mw_loan_handle;

/* One publication from user memory, as the transport names it: the chunk
 * that carries it and its sequence (the chunk is reused later). */
typedef struct zl__mw_ticket {
    uint32_t handle;
    uint64_t sequence;
} zl__mw_ticket;

typedef struct zl__mw_subscription_config {
    zl__mw_endpoint_config endpoint;
    uint32_t depth;
    bool history;
    bool lossless; /* publishers wait instead of dropping (ZL_LOSSLESS) */
} zl__mw_subscription_config;

/* How to sleep until a subscription may have data (or a publisher may
 * publish), for futex sources: raise *sleepers (when not NULL; set it to 1 when
 * sleepers_is_flag: a flag the waker may take down), read the words, check
 * readiness, sleep on the words (futex, shared), lower *sleepers (set 0). A
 * publisher that delivers (a subscription that takes from a lossless queue)
 * wakes the first word when it sees a sleeper; the last changes when peers
 * come or go. */
typedef struct zl__mw_waitable {
    zl__atomic_u32 *words[2];
    uint32_t count;
    zl__atomic_u32 *sleepers;
    bool sleepers_is_flag;
    /* A transport whose wake source is ZL__MW_WAKE_FD: the descriptor
     * (count is 0 then), with the same sleepers protocol: the transport
     * writes it only when it sees a sleeper. The caller sets it to -1
     * before the waitable call; a futex-source transport leaves it so. */
    int fd;
    /* Longest the caller may sleep before asking again, in ns (0: no
     * bound): a transport that notices a peer's death only when asked (no
     * liveness monitor runs) sets it. The caller sets 0 before the call. */
    int64_t slice_ns;
} zl__mw_waitable;

/* How a transport tells a sleeper that something changed. */
typedef enum zl__mw_wake_source {
    /* 32-bit futex words (shared or private): zl__mw_waitable.words. */
    ZL__MW_WAKE_FUTEX = 0,
    /* A file descriptor that becomes readable (an eventfd the transport
     * writes): zl__mw_waitable.fd. The wait set reads it (8 bytes, the fd is
     * non-blocking) to consume a wake-up once poll reports it. */
    ZL__MW_WAKE_FD = 1,
} zl__mw_wake_source;

/* What a transport can do; the client library decides policy from it. */
typedef struct zl__mw_capabilities {
    /* publisher_loan lends the transport's own memory (else it answers
     * ZL_ENOTSUP and the client library uses the allocator and
     * publisher_publish_copy). */
    bool lends;
    /* Endpoints in other processes of the host meet (else: this process). */
    bool shared_memory;
    /* Payloads of any size up to payload_size per message (sized types). */
    bool variable_size;
    /* A publisher's history reaches subscriptions that join later. */
    bool history;
    /* Subscriptions may be lossless (ZL_LOSSLESS). */
    bool lossless;
    zl__mw_wake_source wake;
} zl__mw_capabilities;

typedef struct zl__mw_ops {
    const char *name;
    zl__mw_capabilities capabilities;

    /* Removes what dead processes left behind in the transport's namespace
     * (for shm: objects in /dev/shm whose every user was killed). Best
     * effort and safe to run while other processes use the transport: it
     * removes only what it can prove dead. Returns how many objects it
     * removed. Called when a context is created. Any thread. NULL when
     * nothing outlives a process. */
    int (*sweep)(void);

    /* Both creates answer ZL_ENOTSUP when the transport cannot carry the
     * endpoint (its type or its QoS): the context then tries its next
     * transport. The type arrives whole: name, size, layout hash and its
     * field description (zl__mw_endpoint_config). */
    int (*publisher_create)(const zl__mw_publisher_config *config, zl__mw_publisher **publisher);
    void (*publisher_destroy)(zl__mw_publisher *publisher);
    /* Lends at least size bytes (size <= payload_size): *payload and the
     * loan's *handle. ZL_EEXHAUSTED, ZL_ETOOMANYLOANS, ZL_ENOSHM (the pool
     * had to grow and the memory bound or /dev/shm refused). */
    int (*publisher_loan)(zl__mw_publisher *publisher, size_t size, void **payload,
                          zl__mw_loan_handle *handle);
    /* Publishes size bytes of a loan and takes it over. handle is one
     * publisher_loan gave and that is still outstanding (neither published
     * nor returned), and size at most the size lent: the client library's
     * loan record, found by the user's pointer, proves both, and the
     * transport need not check them again (publisher_return_loan
     * likewise). ZL_ETIMEOUT
     * when a lossless subscription stayed full for max_blocking_time_ns
     * (then nothing was delivered to anyone and the loan is still
     * outstanding). */
    int (*publisher_publish_loan)(zl__mw_publisher *publisher, zl__mw_loan_handle handle,
                                  size_t size);
    /* Publishes count loans in order, handles[i] with sizes[i] bytes, each
     * handle outstanding and distinct, each size at most the size lent
     * (the client library's records prove it, as for publisher_publish_loan:
     * none is checked again). *published: how many of the first were
     * published and taken over, count on success; on error (ZL_ETIMEOUT as
     * for publisher_publish_loan) the rest are still outstanding. NULL when
     * the transport has no batch: the client library then calls
     * publisher_publish_loan for each in turn. */
    int (*publisher_publish_loans)(zl__mw_publisher *publisher,
                                   const zl__mw_loan_handle *handles, const size_t *sizes,
                                   size_t count, size_t *published);
    int (*publisher_return_loan)(zl__mw_publisher *publisher, zl__mw_loan_handle handle);
    /* The refusal path's publish: copies size bytes of payload (the user's
     * memory, valid during the call) into the transport and publishes them.
     * NULL when the transport lends (the client library then copies into a
     * loan). ZL_ENOMEM, and what publisher_publish_loan answers. */
    int (*publisher_publish_copy)(zl__mw_publisher *publisher, const void *payload, size_t size);
    int (*publisher_update_connections)(zl__mw_publisher *publisher);
    void (*publisher_stats)(const zl__mw_publisher *publisher, zl_publisher_stats *stats);
    uint64_t (*publisher_id)(const zl__mw_publisher *publisher);
    /* User memory (docs/user_memory.md); NULL when the transport cannot
     * share it (the client library then copies). Registers length bytes at
     * offset of fd, for at most `buffers` messages in flight at once:
     * *memory names it. ZL_EINVAL (bad range, unsealed memfd), ZL_ENOTSUP
     * (an fd that cannot be sealed), ZL_ENOSHM, ZL_ENOMEM. The transport
     * never writes the memory. */
    int (*publisher_register_memory)(zl__mw_publisher *publisher, int fd, uint64_t offset,
                                     uint64_t length, uint32_t buffers, uint32_t *memory);
    /* ZL_EBUSY while a message from it is in flight. */
    int (*publisher_unregister_memory)(zl__mw_publisher *publisher, uint32_t memory);
    /* Publishes size bytes at offset of the registered memory, without a
     * copy. ZL_EBUSY when `buffers` messages are in flight already. */
    int (*publisher_publish_memory)(zl__mw_publisher *publisher, uint32_t memory,
                                    uint64_t offset, size_t size, zl__mw_ticket *ticket);
    /* Takes back what subscriptions returned (and what dead ones held). */
    void (*publisher_refresh)(zl__mw_publisher *publisher);
    /* Whether a subscription still holds or may still take the publication
     * (as of the last refresh). */
    bool (*publisher_memory_in_flight)(zl__mw_publisher *publisher, zl__mw_ticket ticket);
    /* Takes back returns (as publisher_refresh), then fills what to sleep
     * on until a message published from `memory` may have completed: the
     * words of one connection that still holds one (its subscription wakes
     * it when it returns a message of user memory) and the registry's
     * generation (a holder left or died). Owner thread. */
    void (*publisher_memory_waitable)(zl__mw_publisher *publisher, uint32_t memory,
                                      zl__mw_waitable *waitable);
    /* Whether a message of `memory` may have completed since the last
     * refresh (a hint; changes no connection). Owner thread. */
    bool (*publisher_memory_ready)(zl__mw_publisher *publisher, uint32_t memory);
    /* Brings connections up to date, then fills what to sleep on until a
     * publish would not wait for a lossless subscription. Owner thread. */
    void (*publisher_waitable)(zl__mw_publisher *publisher, zl__mw_waitable *waitable);
    /* Whether a publish would not wait (a hint; changes no connection, so
     * the words of the last publisher_waitable stay mapped). Owner thread. */
    bool (*publisher_ready)(zl__mw_publisher *publisher);

    int (*subscription_create)(const zl__mw_subscription_config *config,
                               zl__mw_subscription **subscription);
    void (*subscription_destroy)(zl__mw_subscription *subscription);
    /* Takes the oldest payload: *payload and *size (validated against
     * payload_size), info filled except reception_sequence. ZL_ENODATA,
     * ZL_ETOOMANYLOANS. */
    int (*subscription_take_loan)(zl__mw_subscription *subscription, const void **payload,
                                  size_t *size, zl_message_info *info);
    /* Takes up to capacity payloads at once, oldest first, as
     * subscription_take_loan takes one: payloads[i], sizes[i] and, when
     * infos is not NULL, infos[i]; *count of them (at least 1 on success).
     * The client library asks for no more than the user may still hold
     * (S5). ZL_ENODATA (*count 0), ZL_ETOOMANYLOANS. NULL when the
     * transport has no batch: the client library calls
     * subscription_take_loan for each in turn. */
    int (*subscription_take_loans)(zl__mw_subscription *subscription, const void **payloads,
                                   size_t *sizes, zl_message_info *infos, size_t capacity,
                                   size_t *count);
    /* Any thread. ZL_ENOTLOAN when payload is not held. */
    int (*subscription_return_loan)(zl__mw_subscription *subscription, const void *payload);
    /* Any thread. Returns count payloads at once, or none: ZL_EINVAL when
     * one appears twice, ZL_ENOTLOAN when one is not held (each with a
     * detail naming it), and then every one is still held. */
    int (*subscription_return_loans)(zl__mw_subscription *subscription,
                                     const void *const *payloads, size_t count);
    /* Any thread. */
    int (*subscription_is_consistent)(zl__mw_subscription *subscription, const void *payload,
                                      bool *consistent);
    void (*subscription_stats)(zl__mw_subscription *subscription, zl_subscription_stats *stats);
    void (*subscription_waitable)(zl__mw_subscription *subscription, zl__mw_waitable *waitable);
    /* Owner thread: whether a take would find something (a hint). */
    bool (*subscription_ready)(zl__mw_subscription *subscription);

    /* Introspection (zloan/introspection.h): read-only, registers nothing,
     * validates everything. Any thread; a view by one thread at a time.
     * NULL when the transport has no view from outside (loopback: its
     * topics are its process's alone); introspection reads shm's. */
    int (*list_topics)(uint32_t domain, zl_topic_summary *topics, size_t capacity,
                       size_t *count);
    int (*topic_view_open)(uint32_t domain, const char *topic, zl__mw_topic_view **view);
    int (*topic_view_read)(zl__mw_topic_view *view, zl_topic_info *info);
    void (*topic_view_close)(zl__mw_topic_view *view);
} zl__mw_ops;

/* The shared-memory transport (src/shm/). */
extern const zl__mw_ops zl__shm_ops;
/* The in-process loopback transport (src/loopback/). */
extern const zl__mw_ops zl__loopback_ops;

/* The transports a context can hold, by name ("shm", "loopback"): the
 * table, or NULL for an unknown name. */
const zl__mw_ops *zl__mw_transport_find(const char *name, size_t length);

/* The transport whose endpoints are seen from outside their process (its
 * list_topics and topic views are not NULL): what zloan/introspection.h
 * reads. */
const zl__mw_ops *zl__mw_transport_introspecting(void);

#endif
