/* rmw_zloan — internal declarations shared by the files of the package.
 *
 * How ROS 2 objects map onto zloan (docs/rmw_zloan.md says it at length):
 *   - an rmw context owns one zl_context (guard conditions, wait sets) and a
 *     graph thread that watches the domain's topics and raises the graph
 *     guard conditions of its nodes when they change;
 *   - an rmw node owns a zl_context of its own, named after the node, so
 *     that every endpoint it makes carries the node's name in the topic
 *     registries, where other processes read it; the node is announced by
 *     a publisher on "/_zloan_node/<namespace>/<name>";
 *   - a ROS topic is the zloan topic of the same name; a message type whose
 *     layout is plain travels as its C struct (loans), any other as CDR in a
 *     sized zloan message whose bytes are the serialized message;
 *   - a service "/s" is two zloan topics, "/_zloan_rq/s" (requests) and
 *     "/_zloan_rr/s" (replies), whose messages carry the client's id and the
 *     request's sequence number before the CDR bytes;
 *   - a publisher or subscription announces the QoS it asked for by a
 *     publisher on "/_zloan_qos/e<its id>" whose type name is the profile
 *     (qos.c), and matches its peers by DDS's QoS rule (match.c). */
#ifndef RMW_ZLOAN_H
#define RMW_ZLOAN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rcutils/allocator.h>
#include <rmw/error_handling.h>
#include <rmw/event.h>
#include <rmw/init.h>
#include <rmw/ret_types.h>
#include <rmw/rmw.h>
#include <rmw/types.h>
#include <rosidl_typesupport_introspection_c/message_introspection.h>
#include <rosidl_typesupport_introspection_c/service_introspection.h>

#include <zloan/zloan.h>

#include "cpp.h"

/** The implementation identifier every rmw_zloan object carries. */
extern const char zr_identifier[];

#define ZR_NODE_PREFIX "/_zloan_node"
#define ZR_NODE_TYPE "rmw_zloan/Node@" /* then the node's enclave */
#define ZR_REQUEST_PREFIX "/_zloan_rq"
#define ZR_REPLY_PREFIX "/_zloan_rr"
#define ZR_QOS_PREFIX "/_zloan_qos" /* then "/e" and the endpoint id in 16 hex digits */
#define ZR_QOS_TYPE "rmw_zloan/Qos@" /* then the requested profile (qos.c) */
#define ZR_DEPTH_MAX 1000u      /* deepest subscription queue we ask zloan for */
#define ZR_KEEP_ALL_DEPTH 1000u /* keep-all: this deep, and lossless */
#define ZR_SUBSCRIPTION_LOANS 16u
#define ZR_PUBLISHER_LOANS 16u

/* Checks that an argument is not NULL and that its implementation_identifier
 * is ours, returning the documented codes with an error message. */
#define ZR_CHECK_ARG(arg)                                                     \
    do {                                                                      \
        if ((arg) == NULL) {                                                  \
            RMW_SET_ERROR_MSG(#arg " is NULL");                               \
            return RMW_RET_INVALID_ARGUMENT;                                  \
        }                                                                     \
    } while (0)
#define ZR_CHECK_ID(obj)                                                      \
    do {                                                                      \
        if ((obj)->implementation_identifier != zr_identifier) {              \
            RMW_SET_ERROR_MSG(#obj " implementation identifier is not rmw_zloan"); \
            return RMW_RET_INCORRECT_RMW_IMPLEMENTATION;                      \
        }                                                                     \
    } while (0)
/* The same for functions returning a pointer: NULL with the message set. */
#define ZR_CHECK_ARG_NULL(arg)                                                \
    do {                                                                      \
        if ((arg) == NULL) {                                                  \
            RMW_SET_ERROR_MSG(#arg " is NULL");                               \
            return NULL;                                                      \
        }                                                                     \
    } while (0)
#define ZR_CHECK_ID_NULL(obj)                                                 \
    do {                                                                      \
        if ((obj)->implementation_identifier != zr_identifier) {              \
            RMW_SET_ERROR_MSG(#obj " implementation identifier is not rmw_zloan"); \
            return NULL;                                                      \
        }                                                                     \
    } while (0)

typedef rosidl_typesupport_introspection_c__MessageMembers zr_members;
typedef rosidl_typesupport_introspection_c__MessageMember zr_member;

/* ---- types (type.c) ---------------------------------------------------- */

/** A ROS message type as rmw_zloan carries it. */
typedef struct zr_type {
    /** The C or the C++ introspection members (their structs have one
     * layout; cpp says which, for strings and sequences). */
    const zr_members *members;
    bool cpp;
    /** The message is its C struct (no strings, no sequences): lent. The C
     * and the C++ struct of a plain type are the same bytes. */
    bool plain;
    char name[ZL_TYPE_NAME_MAX];   /* "std_msgs/msg/String" */
    char layout[ZL_TYPE_DESCRIPTION_MAX];
    zl_type zl;                    /* what zloan is told */
} zr_type;

/** Bytes before the CDR data in a serialized (non-plain) zloan message and in
 * request and reply messages: the fixed part of the sized zloan type. */
typedef struct zr_cdr_message {
    uint8_t encapsulation[4]; /* the first 4 bytes of the CDR stream */
    uint8_t data[];           /* the rest of it */
} zr_cdr_message;

typedef struct zr_service_message {
    uint64_t client_id;  /* the client's request publisher id */
    uint64_t reserved;
    int64_t sequence;    /* the request's sequence number, from 1 */
    uint8_t cdr[];       /* the whole CDR stream, header included */
} zr_service_message;

/** Fills *type from a message type support (rosidl's C or C++ dispatch, or
 * the C or C++ introspection one). as_service_part: 0 for a topic, else the zloan type is
 * the service message (zr_service_message) whatever the layout.
 * RMW_RET_OK, RMW_RET_UNSUPPORTED (no C or C++ introspection),
 * RMW_RET_INVALID_ARGUMENT (a name too long). */
rmw_ret_t zr_type_init(zr_type *type, const rosidl_message_type_support_t *ts);
rmw_ret_t zr_type_init_members(zr_type *type, const zr_members *members, bool cpp,
                               const char *suffix, bool service);
/** The introspection members of a service type support (*cpp: C++ ones),
 * or NULL (error set). */
const rosidl_typesupport_introspection_c__ServiceMembers *
zr_service_members(const rosidl_service_type_support_t *ts, bool *cpp);

/* ---- CDR (cdr.c) -------------------------------------------------------- */

#define ZR_CDR_HEADER 4u    /* the encapsulation header's bytes */
#define ZR_CDR_DEPTH_MAX 32 /* the deepest nesting of messages read */

/** The C layout every rosidl C sequence shares. */
typedef struct zr_sequence {
    void *data;
    size_t size;
    size_t capacity;
} zr_sequence;

/** Bytes of one primitive of a rosidl field type, in C and in CDR (0 for
 * strings and messages). */
size_t zr_primitive_size(uint8_t type_id);
/** The C alignment of one primitive (its size but for the 8- and 16-byte
 * ones, whose alignment the ABI says). */
size_t zr_primitive_alignment(uint8_t type_id);
/** Bytes of the CDR form of msg, encapsulation header included. */
size_t zr_cdr_size(const zr_type *type, const void *msg);
/** An upper bound of the CDR size of any message of a type whose strings
 * and sequences are all bounded (*bounded false, and the result meaningless,
 * when one is not). */
size_t zr_cdr_max_size(const zr_members *members, bool *bounded);
/** zr_cdr_size, and *at_pos the stream position of the bytes at `at` (the
 * data of one of msg's primitive sequences; SIZE_MAX when none is written
 * from there). */
size_t zr_cdr_size_at(const zr_type *type, const void *msg, const void *at, size_t *at_pos);
/** A non-plain message whose CDR stream does not start at its first byte
 * (a publisher's sized loan, sized.c) starts with these 4 bytes and the
 * stream's offset (u32): ZR_CDR_PLACED_HEAD bytes before the gap's end.
 * No CDR stream starts so (its first bytes are 00 01 or 00 00). */
extern const uint8_t zr_cdr_placed_magic[4];
#define ZR_CDR_PLACED_HEAD 8u
/** The CDR stream of a received non-plain message of size bytes (*stream,
 * *len): at its start, or where its placed head says; false (error set)
 * when that place is not inside the message. */
bool zr_cdr_locate(const zr_type *type, const uint8_t *message, size_t size,
                   const uint8_t **stream, size_t *len);
/** Writes the CDR form of msg into buf (cap bytes, at least zr_cdr_size);
 * returns the bytes written, 0 when it did not fit. */
size_t zr_cdr_serialize(const zr_type *type, const void *msg, uint8_t *buf, size_t cap);
/** Fills msg (initialised by the type's init function) from len bytes of
 * CDR. Every length read is checked against what is left: a message that
 * lies fails (RMW_RET_ERROR, message set), never overruns. */
rmw_ret_t zr_cdr_deserialize(const zr_type *type, const uint8_t *buf, size_t len, void *msg);

/** A CDR stream being read (by cdr.c and view.c): len bytes at buf, the
 * next at pos (counted from the start, header included); error and member
 * say the first failure. */
typedef struct zr_cdr_in {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    const char *error;  /* NULL while none */
    const char *member;
    bool cpp;           /* the message is C++ */
} zr_cdr_in;
/* The checked readers: each reads one thing at pos and advances past it,
 * every length checked against the bytes left and m's bound; false (and
 * error set) when the stream lies. */
bool zr_cdr_fail(zr_cdr_in *in, const char *why, const zr_member *m);
bool zr_cdr_align(zr_cdr_in *in, size_t alignment);
bool zr_cdr_u32(zr_cdr_in *in, uint32_t *v, const zr_member *m);
/** A string: *chars its size bytes in the stream, NUL-terminated (NULL for
 * the length 0 CDR allows). */
bool zr_cdr_string(zr_cdr_in *in, const zr_member *m, const char **chars, size_t *size);
/** A wide string's count of units (then zr_cdr_wstring_units reads them,
 * into units unless NULL). */
bool zr_cdr_wstring_size(zr_cdr_in *in, const zr_member *m, uint32_t *n);
bool zr_cdr_wstring_units(zr_cdr_in *in, const zr_member *m, uint32_t n, uint16_t *units);
/** count primitives of m: *at their first byte in the stream (aligned as
 * CDR aligns them, NULL when count is 0). */
bool zr_cdr_primitives(zr_cdr_in *in, const zr_member *m, size_t count, const uint8_t **at);
/** Copies count primitives of m from the stream, bools made 0 or 1. */
void zr_cdr_copy_primitives(const zr_member *m, uint8_t *dst, const uint8_t *src, size_t count);
/** A sequence's count, no more than the bytes left and the bound. */
bool zr_cdr_sequence_size(zr_cdr_in *in, const zr_member *m, uint32_t *n);
/** Whether buf starts with the little-endian CDR header (else error set). */
bool zr_cdr_header_ok(const zr_members *members, const uint8_t *buf, size_t len);
/** Sets the rmw error from in's failure. */
void zr_cdr_set_error(const zr_members *members, const zr_cdr_in *in);

/* ---- views of received CDR (view.c) ------------------------------------- */

/** One loan a subscription may lend of a non-plain C type: the C struct the
 * user reads and the private memory of what cannot point into the loan. */
typedef struct zr_view_slot {
    void *message;        /* members->size_of_ bytes, the subscription's */
    uint8_t *arena;       /* sequences of strings and messages, wide strings,
                             misaligned primitives; grown, never shrunk */
    size_t arena_cap;
    const void *loan;     /* the zloan loan the message views, while lent */
} zr_view_slot;

/** Whether loaned takes of type are views of the received CDR: a non-plain
 * type of the C type support, on a little-endian host. */
bool zr_view_supported(const zr_type *type);
/** Fills slot->message with a view of len bytes of CDR at buf, which must
 * stay mapped, unchanged, while the message is lent. Every length is
 * checked: RMW_RET_ERROR (the message lies; error set naming the member),
 * RMW_RET_BAD_ALLOC (the arena could not grow), RMW_RET_OK. */
rmw_ret_t zr_view_fill(const zr_type *type, const uint8_t *buf, size_t len, zr_view_slot *slot);

/* ---- context, nodes (init.c, node.c) ------------------------------------ */

typedef struct zr_node zr_node;

struct rmw_context_impl_s {
    zl_context *zl;       /* guard conditions and wait sets */
    uint32_t domain_id;
    bool loans;           /* ROS_DISABLE_LOANED_MESSAGES not set */
    bool shut_down;
    pthread_mutex_t lock; /* nodes */
    zr_node *nodes;
    size_t node_count;
    pthread_t graph_thread;
    bool graph_thread_started;
    atomic_bool graph_stop;
    pthread_cond_t graph_cond;
    uint64_t graph_signature;
    /* Transient-local publishers, under lock: the graph thread lets each
     * serve late joiners its history every period, so an idle publisher's
     * history reaches them (zloan sends it at a publisher's next call). */
    struct zr_publisher *served;
};

struct zr_node {
    rmw_context_t *context;      /* NULL once the node is destroyed (see node.c) */
    uint32_t domain_id;
    zl_context *zl;              /* this node's endpoints */
    zl_publisher *announce;      /* on /_zloan_node/<ns>/<name> */
    zl_type announce_type;
    char announce_type_name[ZL_TYPE_NAME_MAX];
    rmw_guard_condition_t *graph_guard;
    char *name;
    char *namespace_;
    zr_node *next;
    pthread_mutex_t lock;        /* publisher ids below */
    uint64_t *publisher_ids;
    size_t publisher_id_count;
};

/** Raise the graph guard condition of every node of the context (the graph
 * changed here: an endpoint or node was made or destroyed). */
/** Options of a zl_context of rmw_zloan: its log goes to rcutils. */
rmw_ret_t zr_context_options(uint32_t domain_id, const char *name, bool disable_loans,
                             zl_context_options *o);
void zr_graph_changed(rmw_context_t *context);
rmw_ret_t zr_graph_thread_start(rmw_context_t *context);
void zr_graph_thread_stop(rmw_context_t *context);
/** The fingerprint of the domain's graph as zloan's registries show it. */
uint64_t zr_graph_signature(uint32_t domain_id);

void zr_node_add_publisher(zr_node *node, uint64_t id);
void zr_node_remove_publisher(zr_node *node, uint64_t id);
bool zr_node_has_publisher(zr_node *node, uint64_t id);

/** The context name a node's zl_context gets: its fully qualified name when
 * it fits ZL_CONTEXT_NAME_MAX, else a hash of it ("~" and 16 hex digits). */
void zr_node_context_name(const char *ns, const char *name, char *out, size_t out_size);

/* ---- errors and helpers (common.c) --------------------------------------- */

/** Sets the rmw error from a zloan code and the call that failed, and
 * returns the rmw code it maps to. */
rmw_ret_t zr_fail_zl(int code, const char *what);
/** Joins prefix and name ("/_zloan_rq" + "/add" = "/_zloan_rq/add"). */
rmw_ret_t zr_join_topic(const char *prefix, const char *name, char *out, size_t out_size);
char *zr_strdup(const char *s);
int64_t zr_now_ns(void);
int64_t zr_duration_ns(rmw_time_t t); /* -1: infinite */
/** True when ROS_DISABLE_LOANED_MESSAGES is set to something other than 0. */
bool zr_loans_disabled_by_env(void);
void zr_gid_from_id(rmw_gid_t *gid, uint64_t id);

/* ---- QoS records and compatibility (qos.c) -------------------------------- */

/** An endpoint's requested profile where other processes read it: a
 * zl_publisher on ZR_QOS_PREFIX "/<id>" whose type name is the profile. */
typedef struct zr_qos_record {
    zl_publisher *zl;
    zl_type type;
    char type_name[ZL_TYPE_NAME_MAX];
} zr_qos_record;

/** What an endpoint asked for (asked), with the system defaults and the
 * depth as zloan resolved them (actual). */
void zr_qos_requested(const rmw_qos_profile_t *asked, const rmw_qos_profile_t *actual,
                      rmw_qos_profile_t *out);
/** Announces qos as the profile of endpoint id, in context (its node's).
 * RMW_RET_OK, or the code with the message set (then *r holds nothing). */
rmw_ret_t zr_qos_record_create(zr_qos_record *r, zl_context *context, uint64_t id,
                               const rmw_qos_profile_t *qos);
void zr_qos_record_destroy(zr_qos_record *r);
/** Stamps the record (its last message time): a liveliness assertion. */
void zr_qos_record_assert(zr_qos_record *r);
/** Reads the live record of endpoint id: true with its profile and its
 * last assertion (CLOCK_REALTIME ns); false when there is none. */
bool zr_qos_record_read(uint32_t domain_id, uint64_t id, zl_topic_info *scratch,
                        rmw_qos_profile_t *qos, int64_t *asserted_ns);
/** The same from a topic listing (no liveliness). */
bool zr_qos_record_find(const zl_topic_summary *topics, size_t count, uint64_t id,
                        rmw_qos_profile_t *qos);

/** Whether the liveliness is asserted by the user (manual by topic or by
 * node) rather than by the process living (automatic). */
bool zr_qos_manual_liveliness(const rmw_qos_profile_t *qos);

#define ZR_QOS_POLICIES_CHECKED 4
/** DDS's request-versus-offered rule: the policies in which offered does
 * not satisfy requested (reliability, durability, deadline, liveliness
 * kind or lease), into kinds; their number (0: compatible). */
size_t zr_qos_incompatibilities(const rmw_qos_profile_t *offered,
                                const rmw_qos_profile_t *requested,
                                rmw_qos_policy_kind_t kinds[ZR_QOS_POLICIES_CHECKED]);

/* ---- matching and QoS events (match.c) ------------------------------------ */

/** One endpoint of the other kind on an endpoint's topic. */
typedef struct zr_peer {
    uint64_t id;
    int64_t first_seen_ns; /* monotonic */
    bool known;            /* its record was read */
    bool compatible;       /* DDS would match it (true while it is not known) */
    bool present;          /* in the latest reading of the registry */
    bool process_alive;    /* its process holds its lock */
    bool counted;          /* publishers: in the liveliness counts */
    bool counted_alive;    /* ... as alive (else as not alive) */
    rmw_qos_profile_t qos; /* its requested or offered profile, when known */
    int64_t asserted_ns;   /* publishers: its record's last stamp (realtime) */
} zr_peer;

/** What an endpoint knows of its peers and what it has to report: the
 * QoS events of rmw and which peers are matched. All under lock. */
typedef struct zr_match {
    pthread_mutex_t lock;
    uint32_t domain_id;
    char topic[ZL_TOPIC_NAME_MAX + 1];
    bool publisher;          /* the endpoint is a publisher: its peers subscribe */
    rmw_qos_profile_t qos;   /* its own requested (subscription) or offered profile */
    int64_t created_ns;      /* realtime */
    zl_topic_view *view;     /* its topic's registry, kept mapped */
    zl_topic_info *info;     /* scratch for the view */
    zl_topic_info *scratch;  /* scratch for records */
    zr_peer *peers;
    size_t peer_count, peer_cap;
    int64_t refreshed_ns;    /* monotonic, 0: never */
    /* RMW_EVENT_*_QOS_INCOMPATIBLE */
    uint64_t incompatible, incompatible_taken;
    rmw_qos_policy_kind_t last_policy;
    /* RMW_EVENT_LIVELINESS_CHANGED (subscriptions) */
    int32_t alive, not_alive, alive_taken, not_alive_taken;
    /* RMW_EVENT_*_DEADLINE_MISSED: of publishes (publisher) or arrivals
     * (subscription), realtime ns; 0: none yet */
    int64_t last_ns, deadline_ns;
    uint64_t deadline_missed, deadline_taken;
    /* RMW_EVENT_LIVELINESS_LOST (publishers) */
    int64_t asserted_ns;
    bool lost;
    uint64_t lost_count, lost_taken;
} zr_match;

rmw_ret_t zr_match_init(zr_match *m, uint32_t domain_id, const char *topic, bool publisher,
                        const rmw_qos_profile_t *qos);
void zr_match_fini(zr_match *m);
/** Peers matched now (live, compatible). */
size_t zr_match_count(zr_match *m);
/** Whether a message of publisher_id, published at source_ns, is for this
 * subscription: its publisher is matched and the message within its
 * lifespan. */
bool zr_match_accepts(zr_match *m, uint64_t publisher_id, int64_t source_ns);
/** The publisher published (a liveliness assertion too). */
void zr_match_published(zr_match *m);
/** The publisher asserted its liveliness. */
void zr_match_asserted(zr_match *m);
/** Whether an event of the type has something new to take. */
bool zr_match_event_ready(zr_match *m, rmw_event_type_t type);
/** Fills the rmw status of the type into info and marks it taken. */
void zr_match_take_event(zr_match *m, rmw_event_type_t type, void *info);
/** Nanoseconds until the event of the type may next become ready by the
 * clock alone (a deadline or a lease of this endpoint), -1: none. */
int64_t zr_match_event_due_ns(zr_match *m, rmw_event_type_t type);

/* ---- publishers and subscriptions --------------------------------------- */

typedef struct zr_publisher {
    zr_node *node;
    zr_type type;
    zl_publisher *zl;
    rmw_qos_profile_t qos;
    rmw_gid_t gid;
    zr_qos_record record;
    zr_match match;
    bool loans; /* borrow lends zloan's shared memory */
    /* Transient-local: the context whose graph thread serves it (NULL once
     * that context shut down), its link there, and the lock that makes the
     * user's calls and the graph thread's one at a time (a zl_publisher is
     * used by one thread at a time). */
    rmw_context_impl_t *served_in;
    struct zr_publisher *served_next;
    pthread_mutex_t lock;
    struct zr_sized *sized; /* its sized loans (sized.c), NULL before the first */
} zr_publisher;

/** A transient-local publisher's calls take turns with the graph thread's:
 * enter before using p->zl, leave after (nothing for other publishers). */
void zr_publisher_enter(zr_publisher *p);
void zr_publisher_leave(zr_publisher *p);

/* Sized loans (sized.c; rmw_zloan/rmw_zloan.h). */
typedef struct zr_sized zr_sized;
/** Whether message is a sized loan p lent and still holds. */
bool zr_sized_lent(const zr_publisher *p, const void *message);
/** Publishes a sized loan (p entered): RMW_RET_OK, the loan gone; else
 * an error set and the loan still held. */
rmw_ret_t zr_sized_publish(zr_publisher *p, void *message);
/** Gives a sized loan back unpublished (p entered). */
rmw_ret_t zr_sized_return(zr_publisher *p, void *message);
/** Frees p's sized loans' memory, once its zl_publisher is destroyed. */
void zr_sized_destroy(zr_publisher *p);

/** The graph thread's turn: every transient-local publisher of the
 * context that is not busy serves late joiners (impl->lock held). */
void zr_serve_history(rmw_context_impl_t *impl);
/** The context shuts down: its publishers are served no more (impl->lock
 * held). */
void zr_serve_stop(rmw_context_impl_t *impl);

typedef struct zr_subscription {
    zr_node *node;
    zr_type type;
    zl_subscription *zl;
    rmw_qos_profile_t qos;
    bool loans;
    bool ignore_local;
    uint64_t lost_reported; /* stats.lost already reported by the lost event */
    uint64_t id;
    /* Loaned takes of a non-plain C type (NULL otherwise): one slot per
     * loan zloan lets it hold, their C structs in one block (views_structs,
     * view_stride bytes apart), and the mask of the slots lent (bit i: slot
     * i), set by the take thread, cleared by whichever thread returns. */
    zr_view_slot *views;
    uint8_t *view_structs;
    size_t view_stride;
    atomic_uint views_lent;
    uint64_t registry_id; /* its id in zloan's registry (the graph's gid); 0: not found */
    zr_qos_record record;
    zr_match match;
} zr_subscription;

/** zloan endpoint options from a ROS QoS profile (actual_qos gets what is
 * honoured: system defaults resolved). */
void zr_qos_publisher_options(const rmw_qos_profile_t *qos, bool loans, zl_publisher_options *o,
                              rmw_qos_profile_t *actual);
void zr_qos_subscription_options(const rmw_qos_profile_t *qos, bool loans,
                                 zl_subscription_options *o, rmw_qos_profile_t *actual);
/** Takes one message of a subscription's zloan topic into ros_message
 * (copy or deserialization): *taken false when there was none. */
rmw_ret_t zr_subscription_take(zr_subscription *s, void *ros_message, bool *taken,
                               rmw_message_info_t *info);

/** RMW_RET_OK when topic_name is a valid fully qualified ROS topic (or the
 * QoS avoids ROS conventions), else the code with the message set. */
rmw_ret_t zr_check_topic(const char *topic_name, const rmw_qos_profile_t *qos);

/* ---- graph (graph.c) ------------------------------------------------------ */

/** Counts the live endpoints of one kind on a zloan topic (0 when it does
 * not exist). */
rmw_ret_t zr_count_endpoints(uint32_t domain_id, const char *topic, zl_endpoint_kind kind,
                             size_t *count);

/* ---- services (service.c) and wait (wait.c) ------------------------------ */

typedef struct zr_service_endpoint {
    zr_node *node;
    zr_type request;       /* the zloan type of the request topic */
    zr_type response;      /* the zloan type of the reply topic */
    zl_publisher *pub;     /* client: requests; service: replies */
    zl_subscription *sub;  /* client: replies; service: requests */
    uint64_t id;           /* client: its request publisher's id */
    int64_t next_sequence; /* client */
    char *service_name;
    rmw_qos_profile_t qos;
} zr_service_endpoint;

/** True when the event (its data: the zr_subscription) has something to take. */
bool zr_event_ready(const rmw_event_t *event);

#endif
