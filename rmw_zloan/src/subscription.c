/* rmw_zloan — subscriptions and taking.
 *
 * A plain type is taken by copy (rmw_take) or lent (rmw_take_loaned_message:
 * the publisher's shared memory, read-only, never overwritten while held);
 * any other type is deserialized by rmw_take from the CDR bytes of a zloan
 * loan, which is returned at once. A non-plain type of the C type support
 * is also lent: rmw_take_loaned_message gives a C struct of the
 * subscription's whose strings and sequences point into the zloan loan,
 * held until the message is returned (view.c). The C++ type support
 * (rclcpp) is never lent a C struct: its messages are not C structs. */
#include "rmw_zloan.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rmw/allocators.h>
#include <rmw/serialized_message.h>

_Static_assert(ZR_SUBSCRIPTION_LOANS <= 32, "views_lent has a bit per loan");

/* The view slots of a subscription of a non-plain C type (nothing to do for
 * other types): their C structs, their arenas empty until a message needs
 * one. */
static rmw_ret_t views_create(zr_subscription *s)
{
    if (!s->loans || s->type.plain)
        return RMW_RET_OK;
    size_t size = s->type.members->size_of_;
    s->view_stride = (size + 15) & ~(size_t)15;
    s->views = calloc(ZR_SUBSCRIPTION_LOANS, sizeof *s->views);
    s->view_structs = calloc(ZR_SUBSCRIPTION_LOANS, s->view_stride);
    if (s->views == NULL || s->view_structs == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the subscription's loaned messages");
        return RMW_RET_BAD_ALLOC;
    }
    for (size_t i = 0; i < ZR_SUBSCRIPTION_LOANS; i++)
        s->views[i].message = s->view_structs + i * s->view_stride;
    atomic_init(&s->views_lent, 0);
    return RMW_RET_OK;
}

static void views_destroy(zr_subscription *s)
{
    if (s->views != NULL)
        for (size_t i = 0; i < ZR_SUBSCRIPTION_LOANS; i++)
            free(s->views[i].arena);
    free(s->views);
    free(s->view_structs);
}

/* This process's subscriptions on topic, as the registry lists them. */
static size_t own_subscriptions(uint32_t domain_id, const char *topic, zl_topic_info *info,
                                uint64_t ids[ZL_TOPIC_SUBSCRIPTIONS_MAX])
{
    size_t n = 0;
    if (zl_introspection_topic_info(domain_id, topic, info) != 0)
        return 0;
    for (uint32_t k = 0; k < info->endpoint_count && n < ZL_TOPIC_SUBSCRIPTIONS_MAX; k++) {
        const zl_endpoint_info *e = &info->endpoints[k];
        if (e->kind == ZL_ENDPOINT_SUBSCRIPTION && e->pid == (uint32_t)getpid())
            ids[n++] = e->id;
    }
    return n;
}

/* Creates s's zl_subscription and finds its registry id, which zloan's API
 * does not give: the one of this process's subscriptions on the topic
 * that was not there before. Creations in this process take turns, so no
 * other one of ours appears in between. */
static int create_and_identify(zr_subscription *s, const char *topic,
                               const zl_subscription_options *o)
{
    static pthread_mutex_t creating = PTHREAD_MUTEX_INITIALIZER;
    uint64_t before[ZL_TOPIC_SUBSCRIPTIONS_MAX], after[ZL_TOPIC_SUBSCRIPTIONS_MAX];
    pthread_mutex_lock(&creating);
    size_t nb = own_subscriptions(s->node->domain_id, topic, s->match.scratch, before);
    int rc = zl_subscription_create(s->node->zl, topic, &s->type.zl, o, &s->zl);
    size_t na = rc == 0 ? own_subscriptions(s->node->domain_id, topic, s->match.scratch, after) : 0;
    pthread_mutex_unlock(&creating);
    for (size_t i = 0; i < na && s->registry_id == 0; i++) {
        bool old = false;
        for (size_t j = 0; j < nb && !old; j++)
            old = before[j] == after[i];
        if (!old)
            s->registry_id = after[i];
    }
    return rc;
}

rmw_subscription_t *rmw_create_subscription(const rmw_node_t *node,
                                            const rosidl_message_type_support_t *type_support,
                                            const char *topic_name,
                                            const rmw_qos_profile_t *qos_policies,
                                            const rmw_subscription_options_t *subscription_options)
{
    ZR_CHECK_ARG_NULL(node);
    ZR_CHECK_ID_NULL(node);
    ZR_CHECK_ARG_NULL(type_support);
    ZR_CHECK_ARG_NULL(topic_name);
    ZR_CHECK_ARG_NULL(qos_policies);
    ZR_CHECK_ARG_NULL(subscription_options);
    if (zr_check_topic(topic_name, qos_policies) != RMW_RET_OK)
        return NULL;
    zr_node *n = node->data;
    zr_subscription *s = calloc(1, sizeof *s);
    rmw_subscription_t *sub = rmw_subscription_allocate();
    char *name = zr_strdup(topic_name);
    if (s == NULL || sub == NULL || name == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the subscription");
        goto fail;
    }
    if (zr_type_init(&s->type, type_support) != RMW_RET_OK)
        goto fail;
    s->node = n;
    s->loans = n->context->impl->loans && (s->type.plain || zr_view_supported(&s->type));
    s->ignore_local = subscription_options->ignore_local_publications;
    zl_subscription_options o;
    rmw_qos_profile_t actual;
    zr_qos_subscription_options(qos_policies, true, &o, &actual);
    zr_qos_requested(qos_policies, &actual, &s->qos); /* deadline, lease: honoured */
    if (zr_match_init(&s->match, n->domain_id, topic_name, false, &s->qos) != RMW_RET_OK)
        goto fail;
    int rc = create_and_identify(s, topic_name, &o);
    if (rc != 0) {
        zr_fail_zl(rc, "zl_subscription_create");
        zr_match_fini(&s->match);
        goto fail;
    }
    /* Without its registry id (not found: a registry being swept?) it has
     * no record, and publishers treat it as compatible. */
    if (s->registry_id != 0 &&
        zr_qos_record_create(&s->record, n->zl, s->registry_id, &s->qos) != RMW_RET_OK) {
        zl_subscription_destroy(s->zl);
        zr_match_fini(&s->match);
        goto fail;
    }
    s->loans = s->loans && zl_subscription_can_loan(s->zl);
    if (views_create(s) != RMW_RET_OK) {
        zl_subscription_destroy(s->zl);
        zr_qos_record_destroy(&s->record);
        zr_match_fini(&s->match);
        goto fail;
    }
    static atomic_uint_fast64_t next_id;
    s->id = ((uint64_t)getpid() << 32) | (uint32_t)(atomic_fetch_add(&next_id, 1) + 1);
    sub->implementation_identifier = zr_identifier;
    sub->data = s;
    sub->topic_name = name;
    sub->options = *subscription_options;
    sub->can_loan_messages = s->loans;
    sub->is_cft_enabled = false;
    zr_graph_changed(n->context);
    return sub;
fail:
    if (s != NULL)
        views_destroy(s);
    free(s);
    free(name);
    if (sub != NULL)
        rmw_subscription_free(sub);
    return NULL;
}

rmw_ret_t rmw_destroy_subscription(rmw_node_t *node, rmw_subscription_t *subscription)
{
    ZR_CHECK_ARG(node);
    ZR_CHECK_ARG(subscription);
    ZR_CHECK_ID(node);
    ZR_CHECK_ID(subscription);
    zr_subscription *s = subscription->data;
    int rc = zl_subscription_destroy(s->zl);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_subscription_destroy (loans still held?)");
    zr_qos_record_destroy(&s->record);
    zr_match_fini(&s->match);
    zr_graph_changed(s->node->context);
    free((char *)subscription->topic_name);
    views_destroy(s);
    free(s);
    rmw_subscription_free(subscription);
    return RMW_RET_OK;
}

static void fill_info(rmw_message_info_t *out, const zl_message_info *in)
{
    out->source_timestamp = in->source_timestamp_ns;
    out->received_timestamp = zr_now_ns();
    out->publication_sequence_number = in->publication_sequence;
    out->reception_sequence_number = in->reception_sequence;
    zr_gid_from_id(&out->publisher_gid, in->publisher_id);
    out->from_intra_process = false;
}

/* Whether a message taken must be skipped: ignore_local_publications and a
 * publisher of the subscription's own node. */
static bool skip_local(zr_subscription *s, const zl_message_info *info)
{
    return s->ignore_local && info->from_this_process &&
           zr_node_has_publisher(s->node, info->publisher_id);
}

/* Borrows the next message for the user: messages zloan dropped for their
 * size, those of publishers DDS would not match (QoS) or past their
 * publisher's lifespan, and, with ignore_local_publications, those of the
 * node's own publishers are passed over, their loans returned at once.
 * 0, ZL_ENODATA, or another zloan code. */
static int take_next(zr_subscription *s, const void **msg, zl_message_info *zi)
{
    for (;;) {
        int rc = zl_subscription_take_loan(s->zl, msg, zi);
        if (rc == ZL_ESERIALIZE)
            continue; /* a message of the wrong size: dropped and counted by zloan */
        if (rc != 0)
            return rc;
        if (!skip_local(s, zi) &&
            zr_match_accepts(&s->match, zi->publisher_id, zi->source_timestamp_ns))
            return 0;
        zl_subscription_return_loan(s->zl, *msg);
    }
}

/* What take_one returns when there is nothing to take (no rmw code is -1). */
#define ZR_NOTHING ((rmw_ret_t)-1)

/* A message as the rmw calls take it: its zloan loan, and the bytes they
 * read (a plain type's struct, or a non-plain type's CDR stream, which a
 * publisher's sized loan places after a gap). */
typedef struct taken_message {
    const void *loan;
    const uint8_t *bytes;
    size_t len;
} taken_message;

/* take_next for the rmw calls: RMW_RET_OK with a message, ZR_NOTHING, or
 * an rmw code with the error set (a message whose stream is not inside it
 * is dropped). */
static rmw_ret_t take_one(zr_subscription *s, taken_message *t, zl_message_info *zi)
{
    int rc = take_next(s, &t->loan, zi);
    if (rc == ZL_ENODATA)
        return ZR_NOTHING;
    if (rc != 0)
        return zr_fail_zl(rc, "zl_subscription_take_loan");
    t->bytes = t->loan;
    t->len = zi->size;
    if (!s->type.plain && !zr_cdr_locate(&s->type, t->loan, zi->size, &t->bytes, &t->len)) {
        zl_subscription_return_loan(s->zl, t->loan);
        return RMW_RET_ERROR;
    }
    return RMW_RET_OK;
}

rmw_ret_t zr_subscription_take(zr_subscription *s, void *ros_message, bool *taken,
                               rmw_message_info_t *info)
{
    *taken = false;
    zl_message_info zi;
    taken_message t;
    rmw_ret_t got = take_one(s, &t, &zi);
    if (got != RMW_RET_OK)
        return got == ZR_NOTHING ? RMW_RET_OK : got;
    const void *msg = t.loan;
    rmw_ret_t ret = RMW_RET_OK;
    if (s->type.plain)
        memcpy(ros_message, msg, s->type.members->size_of_);
    else
        ret = zr_cdr_deserialize(&s->type, t.bytes, t.len, ros_message);
    zl_subscription_return_loan(s->zl, msg);
    if (ret != RMW_RET_OK)
        return ret; /* the message lied about its contents: dropped, error set */
    if (info != NULL)
        fill_info(info, &zi);
    *taken = true;
    return RMW_RET_OK;
}

#define CHECK_SUB(subscription)      \
    ZR_CHECK_ARG(subscription);      \
    ZR_CHECK_ID(subscription)

rmw_ret_t rmw_take(const rmw_subscription_t *subscription, void *ros_message, bool *taken,
                   rmw_subscription_allocation_t *allocation)
{
    (void)allocation;
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(ros_message);
    ZR_CHECK_ARG(taken);
    return zr_subscription_take(subscription->data, ros_message, taken, NULL);
}

rmw_ret_t rmw_take_with_info(const rmw_subscription_t *subscription, void *ros_message,
                             bool *taken, rmw_message_info_t *message_info,
                             rmw_subscription_allocation_t *allocation)
{
    (void)allocation;
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(ros_message);
    ZR_CHECK_ARG(taken);
    ZR_CHECK_ARG(message_info);
    return zr_subscription_take(subscription->data, ros_message, taken, message_info);
}

rmw_ret_t rmw_take_sequence(const rmw_subscription_t *subscription, size_t count,
                            rmw_message_sequence_t *message_sequence,
                            rmw_message_info_sequence_t *message_info_sequence, size_t *taken,
                            rmw_subscription_allocation_t *allocation)
{
    (void)allocation;
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(message_sequence);
    ZR_CHECK_ARG(message_info_sequence);
    ZR_CHECK_ARG(taken);
    if (count == 0) {
        RMW_SET_ERROR_MSG("count must be greater than 0");
        return RMW_RET_INVALID_ARGUMENT;
    }
    if (count > message_sequence->capacity || count > message_info_sequence->capacity) {
        RMW_SET_ERROR_MSG("count exceeds the capacity of the sequences");
        return RMW_RET_INVALID_ARGUMENT;
    }
    *taken = 0;
    rmw_ret_t ret = RMW_RET_OK;
    while (*taken < count) {
        bool one = false;
        ret = zr_subscription_take(subscription->data, message_sequence->data[*taken], &one,
                                   &message_info_sequence->data[*taken]);
        if (ret != RMW_RET_OK || !one)
            break;
        (*taken)++;
    }
    message_sequence->size = *taken;
    message_info_sequence->size = *taken;
    return ret;
}

static rmw_ret_t take_serialized(const rmw_subscription_t *subscription,
                                 rmw_serialized_message_t *serialized_message, bool *taken,
                                 rmw_message_info_t *info)
{
    zr_subscription *s = subscription->data;
    *taken = false;
    zl_message_info zi;
    taken_message t;
    rmw_ret_t got = take_one(s, &t, &zi);
    if (got != RMW_RET_OK)
        return got == ZR_NOTHING ? RMW_RET_OK : got;
    const void *msg = t.loan;
    size_t size = s->type.plain ? zr_cdr_size(&s->type, msg) : t.len;
    if (serialized_message->buffer_capacity < size &&
        rmw_serialized_message_resize(serialized_message, size) != RMW_RET_OK) {
        zl_subscription_return_loan(s->zl, msg);
        RMW_SET_ERROR_MSG("cannot resize the serialized message");
        return RMW_RET_BAD_ALLOC;
    }
    if (s->type.plain)
        zr_cdr_serialize(&s->type, msg, serialized_message->buffer, size);
    else
        memcpy(serialized_message->buffer, t.bytes, size);
    serialized_message->buffer_length = size;
    zl_subscription_return_loan(s->zl, msg);
    if (info != NULL)
        fill_info(info, &zi);
    *taken = true;
    return RMW_RET_OK;
}

rmw_ret_t rmw_take_serialized_message(const rmw_subscription_t *subscription,
                                      rmw_serialized_message_t *serialized_message, bool *taken,
                                      rmw_subscription_allocation_t *allocation)
{
    (void)allocation;
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(serialized_message);
    ZR_CHECK_ARG(taken);
    return take_serialized(subscription, serialized_message, taken, NULL);
}

rmw_ret_t rmw_take_serialized_message_with_info(const rmw_subscription_t *subscription,
                                                rmw_serialized_message_t *serialized_message,
                                                bool *taken, rmw_message_info_t *message_info,
                                                rmw_subscription_allocation_t *allocation)
{
    (void)allocation;
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(serialized_message);
    ZR_CHECK_ARG(taken);
    ZR_CHECK_ARG(message_info);
    return take_serialized(subscription, serialized_message, taken, message_info);
}

/* A free view slot (its bit not set in views_lent), or -1 when every one
 * is lent. Only the take thread sets bits, so a slot seen free stays free
 * until this thread lends it. */
static int view_free_slot(zr_subscription *s)
{
    /* Acquire: pairs with the release in view_return, so that the returning
     * thread's last reads of the slot come before this thread rewrites it. */
    unsigned lent = atomic_load_explicit(&s->views_lent, memory_order_acquire);
    for (int i = 0; i < (int)ZR_SUBSCRIPTION_LOANS; i++)
        if ((lent & (1u << i)) == 0)
            return i;
    return -1;
}

/* A loaned take of a non-plain C type: the next message viewed in a slot. */
static rmw_ret_t take_view(zr_subscription *s, void **loaned_message, bool *taken,
                           rmw_message_info_t *info)
{
    int i = view_free_slot(s);
    if (i < 0)
        return zr_fail_zl(ZL_ETOOMANYLOANS, "rmw_take_loaned_message");
    zl_message_info zi;
    taken_message t;
    rmw_ret_t got = take_one(s, &t, &zi);
    if (got != RMW_RET_OK)
        return got == ZR_NOTHING ? RMW_RET_OK : got;
    const void *msg = t.loan;
    zr_view_slot *slot = &s->views[i];
    rmw_ret_t ret = zr_view_fill(&s->type, t.bytes, t.len, slot);
    if (ret != RMW_RET_OK) {
        zl_subscription_return_loan(s->zl, msg); /* the message is dropped, error set */
        return ret;
    }
    slot->loan = msg;
    /* Relaxed: the bit is this thread's to set; the message reaches another
     * thread only through the user, whose hand-over orders it. */
    atomic_fetch_or_explicit(&s->views_lent, 1u << i, memory_order_relaxed);
    *loaned_message = slot->message;
    if (info != NULL)
        fill_info(info, &zi);
    *taken = true;
    return RMW_RET_OK;
}

/* Returns a view: its zloan loan goes back, its slot is free again. */
static rmw_ret_t view_return(zr_subscription *s, void *loaned_message)
{
    uintptr_t at = (uintptr_t)loaned_message - (uintptr_t)s->view_structs;
    size_t i = at / s->view_stride;
    if ((uintptr_t)loaned_message < (uintptr_t)s->view_structs || at % s->view_stride != 0 ||
        i >= ZR_SUBSCRIPTION_LOANS ||
        (atomic_load_explicit(&s->views_lent, memory_order_relaxed) & (1u << i)) == 0) {
        RMW_SET_ERROR_MSG("loaned_message is not a message lent by this subscription (never "
                          "taken, or already returned)");
        return RMW_RET_INVALID_ARGUMENT;
    }
    int rc = zl_subscription_return_loan(s->zl, s->views[i].loan);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_subscription_return_loan");
    s->views[i].loan = NULL;
    /* Release: pairs with the acquire in view_free_slot (above). */
    atomic_fetch_and_explicit(&s->views_lent, ~(1u << i), memory_order_release);
    return RMW_RET_OK;
}

static rmw_ret_t take_loaned(const rmw_subscription_t *subscription, void **loaned_message,
                             bool *taken, rmw_message_info_t *info)
{
    if (!subscription->can_loan_messages) {
        RMW_SET_ERROR_MSG("this subscription does not lend: its type is neither plain nor of "
                          "the C type support, or loans are disabled "
                          "(ROS_DISABLE_LOANED_MESSAGES)");
        return RMW_RET_UNSUPPORTED;
    }
    if (*loaned_message != NULL) {
        RMW_SET_ERROR_MSG("*loaned_message must be NULL");
        return RMW_RET_INVALID_ARGUMENT;
    }
    zr_subscription *s = subscription->data;
    *taken = false;
    if (s->views != NULL)
        return take_view(s, loaned_message, taken, info);
    zl_message_info zi;
    taken_message t;
    rmw_ret_t got = take_one(s, &t, &zi);
    if (got != RMW_RET_OK)
        return got == ZR_NOTHING ? RMW_RET_OK : got;
    const void *msg = t.loan;
    /* rmw hands out a non-const pointer; the memory is mapped read-only
     * (writing to it faults), as rmw's documentation asks of a loan. */
    *loaned_message = (void *)(uintptr_t)msg;
    if (info != NULL)
        fill_info(info, &zi);
    *taken = true;
    return RMW_RET_OK;
}

rmw_ret_t rmw_take_loaned_message(const rmw_subscription_t *subscription, void **loaned_message,
                                  bool *taken, rmw_subscription_allocation_t *allocation)
{
    (void)allocation;
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(loaned_message);
    ZR_CHECK_ARG(taken);
    return take_loaned(subscription, loaned_message, taken, NULL);
}

rmw_ret_t rmw_take_loaned_message_with_info(const rmw_subscription_t *subscription,
                                            void **loaned_message, bool *taken,
                                            rmw_message_info_t *message_info,
                                            rmw_subscription_allocation_t *allocation)
{
    (void)allocation;
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(loaned_message);
    ZR_CHECK_ARG(taken);
    ZR_CHECK_ARG(message_info);
    return take_loaned(subscription, loaned_message, taken, message_info);
}

rmw_ret_t rmw_return_loaned_message_from_subscription(const rmw_subscription_t *subscription,
                                                      void *loaned_message)
{
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(loaned_message);
    if (!subscription->can_loan_messages) {
        RMW_SET_ERROR_MSG("this subscription does not lend");
        return RMW_RET_UNSUPPORTED;
    }
    zr_subscription *s = subscription->data;
    if (s->views != NULL)
        return view_return(s, loaned_message);
    int rc = zl_subscription_return_loan(s->zl, loaned_message);
    return rc == 0 ? RMW_RET_OK : zr_fail_zl(rc, "zl_subscription_return_loan");
}

rmw_ret_t rmw_subscription_count_matched_publishers(const rmw_subscription_t *subscription,
                                                    size_t *publisher_count)
{
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(publisher_count);
    /* The publishers DDS would match: QoS-incompatible ones are not. */
    *publisher_count = zr_match_count(&((zr_subscription *)subscription->data)->match);
    return RMW_RET_OK;
}

rmw_ret_t rmw_subscription_get_actual_qos(const rmw_subscription_t *subscription,
                                          rmw_qos_profile_t *qos)
{
    CHECK_SUB(subscription);
    ZR_CHECK_ARG(qos);
    *qos = ((zr_subscription *)subscription->data)->qos;
    return RMW_RET_OK;
}

rmw_ret_t rmw_init_subscription_allocation(const rosidl_message_type_support_t *type_support,
                                           const rosidl_runtime_c__Sequence__bound *message_bounds,
                                           rmw_subscription_allocation_t *allocation)
{
    (void)type_support;
    (void)message_bounds;
    (void)allocation;
    RMW_SET_ERROR_MSG("rmw_init_subscription_allocation is not supported by rmw_zloan");
    return RMW_RET_UNSUPPORTED;
}

rmw_ret_t rmw_fini_subscription_allocation(rmw_subscription_allocation_t *allocation)
{
    (void)allocation;
    RMW_SET_ERROR_MSG("rmw_fini_subscription_allocation is not supported by rmw_zloan");
    return RMW_RET_UNSUPPORTED;
}
