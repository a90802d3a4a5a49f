/* rmw_zloan — publishers, QoS, serialization entry points.
 *
 * A plain message type is published by copy (rmw_publish) or lent from the
 * publisher's shared-memory pool (rmw_borrow_loaned_message, then
 * rmw_publish_loaned_message: no copy at all). Any other type is serialized
 * as CDR straight into a sized zloan loan: one copy in; or, borrowed with
 * rmw_zloan_borrow_loaned_message_sized, written in place but for the
 * members around its tail sequence (sized.c). */
#include "rmw_zloan.h"

#include <stdlib.h>
#include <string.h>

#include <rmw/allocators.h>
#include <rmw/serialized_message.h>
#include <rmw/validate_full_topic_name.h>

static const rmw_qos_profile_t *resolve(const rmw_qos_profile_t *qos, rmw_qos_profile_t *actual)
{
    *actual = *qos;
    if (actual->history == RMW_QOS_POLICY_HISTORY_SYSTEM_DEFAULT ||
        actual->history == RMW_QOS_POLICY_HISTORY_UNKNOWN)
        actual->history = RMW_QOS_POLICY_HISTORY_KEEP_LAST;
    if (actual->history == RMW_QOS_POLICY_HISTORY_KEEP_LAST && actual->depth == 0)
        actual->depth = 10;
    if (actual->depth > ZR_DEPTH_MAX)
        actual->depth = ZR_DEPTH_MAX;
    if (actual->reliability != RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT)
        actual->reliability = RMW_QOS_POLICY_RELIABILITY_RELIABLE;
    if (actual->durability != RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL)
        actual->durability = RMW_QOS_POLICY_DURABILITY_VOLATILE;
    /* zloan itself has neither deadlines nor lifespans nor leases (a
     * process is alive while it lives): infinite here. rmw_zloan's
     * publishers and subscriptions honour them (match.c) and report what
     * they asked for (zr_qos_requested); services do not. */
    actual->deadline = (rmw_time_t)RMW_DURATION_INFINITE;
    actual->lifespan = (rmw_time_t)RMW_DURATION_INFINITE;
    actual->liveliness = RMW_QOS_POLICY_LIVELINESS_AUTOMATIC;
    actual->liveliness_lease_duration = (rmw_time_t)RMW_DURATION_INFINITE;
    return actual;
}

void zr_qos_publisher_options(const rmw_qos_profile_t *qos, bool loans, zl_publisher_options *o,
                              rmw_qos_profile_t *actual)
{
    resolve(qos, actual);
    zl_publisher_options_init(o);
    o->disable_loans = !loans;
    o->max_loans = ZR_PUBLISHER_LOANS;
    o->max_subscriptions = ZL_TOPIC_SUBSCRIPTIONS_MAX;
    /* A subscription's queue (up to ZR_DEPTH_MAX) and its loans. */
    o->chunks_per_subscription = ZR_DEPTH_MAX + ZR_SUBSCRIPTION_LOANS + 2;
    if (actual->durability == RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL) {
        size_t h = actual->history == RMW_QOS_POLICY_HISTORY_KEEP_ALL ? 64 : actual->depth;
        o->history = (uint32_t)(h > 64 ? 64 : h);
    }
}

void zr_qos_subscription_options(const rmw_qos_profile_t *qos, bool loans,
                                 zl_subscription_options *o, rmw_qos_profile_t *actual)
{
    resolve(qos, actual);
    zl_subscription_options_init(o);
    o->disable_loans = !loans;
    o->max_loans = ZR_SUBSCRIPTION_LOANS;
    o->history = actual->durability == RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL;
    if (actual->history == RMW_QOS_POLICY_HISTORY_KEEP_ALL) {
        /* Keep-all and reliable: nothing is dropped, the publisher waits. */
        o->depth = ZR_KEEP_ALL_DEPTH;
        if (actual->reliability == RMW_QOS_POLICY_RELIABILITY_RELIABLE)
            o->reliability = ZL_LOSSLESS;
    } else {
        o->depth = (uint32_t)actual->depth;
    }
}

static rmw_ret_t check_topic(const char *topic_name, const rmw_qos_profile_t *qos)
{
    if (topic_name == NULL || topic_name[0] == '\0') {
        RMW_SET_ERROR_MSG("topic_name is NULL or empty");
        return RMW_RET_INVALID_ARGUMENT;
    }
    if (qos->avoid_ros_namespace_conventions)
        return RMW_RET_OK;
    int result;
    size_t index;
    if (rmw_validate_full_topic_name(topic_name, &result, &index) != RMW_RET_OK)
        return RMW_RET_ERROR;
    if (result != RMW_TOPIC_VALID) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("invalid topic name '%s': %s", topic_name,
                                             rmw_full_topic_name_validation_result_string(result));
        return RMW_RET_INVALID_ARGUMENT;
    }
    return RMW_RET_OK;
}

rmw_ret_t zr_check_topic(const char *topic_name, const rmw_qos_profile_t *qos)
{
    return check_topic(topic_name, qos);
}

/* A transient-local publisher's calls and the graph thread's take turns
 * (enter/leave); other publishers have no second caller and skip the lock. */
static void enter(zr_publisher *p)
{
    if (p->served_in != NULL)
        pthread_mutex_lock(&p->lock);
}

static void leave(zr_publisher *p)
{
    if (p->served_in != NULL)
        pthread_mutex_unlock(&p->lock);
}

void zr_publisher_enter(zr_publisher *p)
{
    enter(p);
}

void zr_publisher_leave(zr_publisher *p)
{
    leave(p);
}

void zr_serve_history(rmw_context_impl_t *impl)
{
    for (zr_publisher *p = impl->served; p != NULL; p = p->served_next) {
        if (pthread_mutex_trylock(&p->lock) != 0)
            continue; /* its user is calling it: that call serves them */
        (void)zl_publisher_update_connections(p->zl);
        pthread_mutex_unlock(&p->lock);
    }
}

void zr_serve_stop(rmw_context_impl_t *impl)
{
    for (zr_publisher *p = impl->served, *next; p != NULL; p = next) {
        next = p->served_next;
        pthread_mutex_lock(&p->lock); /* no call of its user in between */
        p->served_next = NULL;
        p->served_in = NULL;
        pthread_mutex_unlock(&p->lock);
    }
    impl->served = NULL;
}

/* Hands p to its context's graph thread when it keeps history. */
static void serve(zr_publisher *p, rmw_context_impl_t *impl)
{
    if (p->qos.durability != RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL)
        return;
    pthread_mutex_lock(&impl->lock);
    pthread_mutex_init(&p->lock, NULL);
    p->served_in = impl;
    p->served_next = impl->served;
    impl->served = p;
    pthread_mutex_unlock(&impl->lock);
}

/* Takes p back from its context's graph thread. */
static void unserve(zr_publisher *p)
{
    rmw_context_impl_t *impl = p->served_in;
    if (impl == NULL)
        return;
    pthread_mutex_lock(&impl->lock);
    for (zr_publisher **link = &impl->served; *link != NULL; link = &(*link)->served_next)
        if (*link == p) {
            *link = p->served_next;
            break;
        }
    p->served_in = NULL;
    pthread_mutex_unlock(&impl->lock);
    pthread_mutex_destroy(&p->lock);
}

rmw_publisher_t *rmw_create_publisher(const rmw_node_t *node,
                                      const rosidl_message_type_support_t *type_support,
                                      const char *topic_name, const rmw_qos_profile_t *qos_profile,
                                      const rmw_publisher_options_t *publisher_options)
{
    ZR_CHECK_ARG_NULL(node);
    ZR_CHECK_ID_NULL(node);
    ZR_CHECK_ARG_NULL(type_support);
    ZR_CHECK_ARG_NULL(topic_name);
    ZR_CHECK_ARG_NULL(qos_profile);
    ZR_CHECK_ARG_NULL(publisher_options);
    if (check_topic(topic_name, qos_profile) != RMW_RET_OK)
        return NULL;
    zr_node *n = node->data;
    zr_publisher *p = calloc(1, sizeof *p);
    rmw_publisher_t *pub = rmw_publisher_allocate();
    char *name = zr_strdup(topic_name);
    if (p == NULL || pub == NULL || name == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the publisher");
        goto fail;
    }
    if (zr_type_init(&p->type, type_support) != RMW_RET_OK)
        goto fail;
    p->node = n;
    p->loans = n->context->impl->loans && p->type.plain;
    zl_publisher_options o;
    rmw_qos_profile_t actual;
    zr_qos_publisher_options(qos_profile, true, &o, &actual);
    zr_qos_requested(qos_profile, &actual, &p->qos); /* deadline, lease, lifespan: honoured */
    if (zr_match_init(&p->match, n->domain_id, topic_name, true, &p->qos) != RMW_RET_OK)
        goto fail;
    int rc = zl_publisher_create(n->zl, topic_name, &p->type.zl, &o, &p->zl);
    if (rc != 0) {
        zr_fail_zl(rc, "zl_publisher_create");
        zr_match_fini(&p->match);
        goto fail;
    }
    if (zr_qos_record_create(&p->record, n->zl, zl_publisher_id(p->zl), &p->qos) != RMW_RET_OK) {
        zl_publisher_destroy(p->zl);
        zr_match_fini(&p->match);
        goto fail;
    }
    p->loans = p->loans && zl_publisher_can_loan(p->zl);
    zr_gid_from_id(&p->gid, zl_publisher_id(p->zl));
    pub->implementation_identifier = zr_identifier;
    pub->data = p;
    pub->topic_name = name;
    pub->options = *publisher_options;
    pub->can_loan_messages = p->loans;
    zr_node_add_publisher(n, zl_publisher_id(p->zl));
    serve(p, n->context->impl);
    zr_graph_changed(n->context);
    return pub;
fail:
    free(p);
    free(name);
    if (pub != NULL)
        rmw_publisher_free(pub);
    return NULL;
}

rmw_ret_t rmw_destroy_publisher(rmw_node_t *node, rmw_publisher_t *publisher)
{
    ZR_CHECK_ARG(node);
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(node);
    ZR_CHECK_ID(publisher);
    zr_publisher *p = publisher->data;
    uint64_t id = zl_publisher_id(p->zl);
    bool served = p->served_in != NULL;
    rmw_context_impl_t *impl = p->served_in;
    unserve(p);
    int rc = zl_publisher_destroy(p->zl);
    if (rc != 0) {
        if (served)
            serve(p, impl); /* as it was */
        return zr_fail_zl(rc, "zl_publisher_destroy");
    }
    zr_qos_record_destroy(&p->record);
    zr_match_fini(&p->match);
    zr_node_remove_publisher(p->node, id);
    zr_graph_changed(p->node->context);
    free((char *)publisher->topic_name);
    zr_sized_destroy(p);
    free(p);
    rmw_publisher_free(publisher);
    return RMW_RET_OK;
}

/* Serializes ros_message into a sized loan of p and publishes it. */
static rmw_ret_t publish_cdr(zr_publisher *p, const void *ros_message)
{
    size_t size = zr_cdr_size(&p->type, ros_message);
    void *loan;
    int rc = zl_publisher_loan_sized(p->zl, size - offsetof(zr_cdr_message, data), &loan);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_publisher_loan_sized");
    if (zr_cdr_serialize(&p->type, ros_message, loan, size) != size) {
        zl_publisher_return_loan(p->zl, loan);
        RMW_SET_ERROR_MSG("CDR serialization did not fit the size it computed");
        return RMW_RET_ERROR;
    }
    rc = zl_publisher_publish_loan(p->zl, loan);
    if (rc != 0) {
        zl_publisher_return_loan(p->zl, loan);
        return zr_fail_zl(rc, "zl_publisher_publish_loan");
    }
    return RMW_RET_OK;
}

rmw_ret_t rmw_publish(const rmw_publisher_t *publisher, const void *ros_message,
                      rmw_publisher_allocation_t *allocation)
{
    (void)allocation;
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    ZR_CHECK_ARG(ros_message);
    zr_publisher *p = publisher->data;
    enter(p);
    rmw_ret_t ret;
    if (!p->type.plain) {
        ret = publish_cdr(p, ros_message);
    } else {
        int rc = zl_publisher_publish(p->zl, ros_message);
        ret = rc == 0 ? RMW_RET_OK : zr_fail_zl(rc, "zl_publisher_publish");
    }
    leave(p);
    if (ret == RMW_RET_OK)
        zr_match_published(&p->match);
    return ret;
}

/* rmw_publish_serialized_message's work, its publisher entered. */
static rmw_ret_t publish_serialized(zr_publisher *p,
                                    const rmw_serialized_message_t *serialized_message)
{
    size_t len = serialized_message->buffer_length;
    if (serialized_message->buffer == NULL || len < offsetof(zr_cdr_message, data)) {
        RMW_SET_ERROR_MSG("serialized message is shorter than a CDR header");
        return RMW_RET_INVALID_ARGUMENT;
    }
    void *loan;
    int rc;
    if (p->type.plain) {
        /* The subscriptions read the C struct: decode into the loan. */
        rc = zl_publisher_loan(p->zl, &loan);
        if (rc != 0)
            return zr_fail_zl(rc, "zl_publisher_loan");
        p->type.members->init_function(loan, ROSIDL_RUNTIME_C_MSG_INIT_ZERO);
        rmw_ret_t ret = zr_cdr_deserialize(&p->type, serialized_message->buffer, len, loan);
        if (ret != RMW_RET_OK) {
            zl_publisher_return_loan(p->zl, loan);
            return ret;
        }
    } else {
        rc = zl_publisher_loan_sized(p->zl, len - offsetof(zr_cdr_message, data), &loan);
        if (rc != 0)
            return zr_fail_zl(rc, "zl_publisher_loan_sized");
        memcpy(loan, serialized_message->buffer, len);
    }
    rc = zl_publisher_publish_loan(p->zl, loan);
    if (rc != 0) {
        zl_publisher_return_loan(p->zl, loan);
        return zr_fail_zl(rc, "zl_publisher_publish_loan");
    }
    return RMW_RET_OK;
}

rmw_ret_t rmw_publish_serialized_message(const rmw_publisher_t *publisher,
                                         const rmw_serialized_message_t *serialized_message,
                                         rmw_publisher_allocation_t *allocation)
{
    (void)allocation;
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    ZR_CHECK_ARG(serialized_message);
    zr_publisher *p = publisher->data;
    enter(p);
    rmw_ret_t ret = publish_serialized(p, serialized_message);
    leave(p);
    if (ret == RMW_RET_OK)
        zr_match_published(&p->match);
    return ret;
}

rmw_ret_t rmw_borrow_loaned_message(const rmw_publisher_t *publisher,
                                    const rosidl_message_type_support_t *type_support,
                                    void **ros_message)
{
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    ZR_CHECK_ARG(type_support);
    ZR_CHECK_ARG(ros_message);
    if (*ros_message != NULL) {
        RMW_SET_ERROR_MSG("*ros_message must be NULL");
        return RMW_RET_INVALID_ARGUMENT;
    }
    zr_publisher *p = publisher->data;
    if (!publisher->can_loan_messages) {
        RMW_SET_ERROR_MSG("this publisher does not lend: its type is not plain, or loans are "
                          "disabled (ROS_DISABLE_LOANED_MESSAGES)");
        return RMW_RET_UNSUPPORTED;
    }
    enter(p);
    int rc = zl_publisher_loan(p->zl, ros_message);
    leave(p);
    return rc == 0 ? RMW_RET_OK : zr_fail_zl(rc, "zl_publisher_loan");
}

rmw_ret_t rmw_return_loaned_message_from_publisher(const rmw_publisher_t *publisher,
                                                   void *loaned_message)
{
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    ZR_CHECK_ARG(loaned_message);
    zr_publisher *p = publisher->data;
    if (zr_sized_lent(p, loaned_message)) {
        enter(p);
        rmw_ret_t ret = zr_sized_return(p, loaned_message);
        leave(p);
        return ret;
    }
    if (!publisher->can_loan_messages) {
        RMW_SET_ERROR_MSG("this publisher does not lend");
        return RMW_RET_UNSUPPORTED;
    }
    enter(p);
    int rc = zl_publisher_return_loan(p->zl, loaned_message);
    leave(p);
    return rc == 0 ? RMW_RET_OK : zr_fail_zl(rc, "zl_publisher_return_loan");
}

rmw_ret_t rmw_publish_loaned_message(const rmw_publisher_t *publisher, void *ros_message,
                                     rmw_publisher_allocation_t *allocation)
{
    (void)allocation;
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    ZR_CHECK_ARG(ros_message);
    zr_publisher *p = publisher->data;
    if (zr_sized_lent(p, ros_message)) {
        enter(p);
        rmw_ret_t ret = zr_sized_publish(p, ros_message);
        leave(p);
        if (ret == RMW_RET_OK)
            zr_match_published(&p->match);
        return ret;
    }
    if (!publisher->can_loan_messages) {
        RMW_SET_ERROR_MSG("this publisher does not lend");
        return RMW_RET_UNSUPPORTED;
    }
    enter(p);
    int rc = zl_publisher_publish_loan(p->zl, ros_message);
    leave(p);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_publisher_publish_loan");
    zr_match_published(&p->match);
    return RMW_RET_OK;
}

rmw_ret_t rmw_publisher_count_matched_subscriptions(const rmw_publisher_t *publisher,
                                                    size_t *subscription_count)
{
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    ZR_CHECK_ARG(subscription_count);
    /* The subscriptions DDS would match: QoS-incompatible ones are not. */
    *subscription_count = zr_match_count(&((zr_publisher *)publisher->data)->match);
    return RMW_RET_OK;
}

rmw_ret_t rmw_publisher_get_actual_qos(const rmw_publisher_t *publisher, rmw_qos_profile_t *qos)
{
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    ZR_CHECK_ARG(qos);
    *qos = ((zr_publisher *)publisher->data)->qos;
    return RMW_RET_OK;
}

rmw_ret_t rmw_publisher_assert_liveliness(const rmw_publisher_t *publisher)
{
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    /* Its own lease restarts; other processes see the record's stamp. */
    zr_publisher *p = publisher->data;
    pthread_mutex_lock(&p->match.lock);
    zr_qos_record_assert(&p->record);
    pthread_mutex_unlock(&p->match.lock);
    zr_match_asserted(&p->match);
    return RMW_RET_OK;
}

rmw_ret_t rmw_publisher_wait_for_all_acked(const rmw_publisher_t *publisher, rmw_time_t wait_timeout)
{
    (void)wait_timeout;
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    /* A publish returns once the message is in every subscription's queue:
     * there is no acknowledgement outstanding. */
    return RMW_RET_OK;
}

rmw_ret_t rmw_get_gid_for_publisher(const rmw_publisher_t *publisher, rmw_gid_t *gid)
{
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    ZR_CHECK_ARG(gid);
    *gid = ((zr_publisher *)publisher->data)->gid;
    return RMW_RET_OK;
}

rmw_ret_t rmw_compare_gids_equal(const rmw_gid_t *gid1, const rmw_gid_t *gid2, bool *result)
{
    ZR_CHECK_ARG(gid1);
    ZR_CHECK_ARG(gid2);
    ZR_CHECK_ARG(result);
    ZR_CHECK_ID(gid1);
    ZR_CHECK_ID(gid2);
    *result = memcmp(gid1->data, gid2->data, sizeof gid1->data) == 0;
    return RMW_RET_OK;
}

/* Plain types: their exact size (every message of the type has it). Types
 * whose strings and sequences are all bounded: an upper bound. Others have
 * no bound to give (rmw_serialize gives a message's size). message_bounds,
 * a placeholder in rmw 6.4, is not read. */
rmw_ret_t rmw_get_serialized_message_size(const rosidl_message_type_support_t *type_support,
                                          const rosidl_runtime_c__Sequence__bound *message_bounds,
                                          size_t *size)
{
    (void)message_bounds;
    ZR_CHECK_ARG(type_support);
    ZR_CHECK_ARG(size);
    zr_type t;
    rmw_ret_t ret = zr_type_init(&t, type_support);
    if (ret != RMW_RET_OK)
        return ret;
    if (!t.plain) {
        bool bounded;
        size_t max = zr_cdr_max_size(t.members, &bounded);
        if (!bounded) {
            RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
                "%s has an unbounded string or sequence: its serialized size has no bound "
                "(rmw_serialize gives a message's size)", t.name);
            return RMW_RET_UNSUPPORTED;
        }
        *size = max;
        return RMW_RET_OK;
    }
    void *msg = calloc(1, t.members->size_of_ > 0 ? t.members->size_of_ : 1);
    if (msg == NULL) {
        RMW_SET_ERROR_MSG("out of memory");
        return RMW_RET_BAD_ALLOC;
    }
    *size = zr_cdr_size(&t, msg);
    free(msg);
    return RMW_RET_OK;
}

rmw_ret_t rmw_serialize(const void *ros_message, const rosidl_message_type_support_t *type_support,
                        rmw_serialized_message_t *serialized_message)
{
    ZR_CHECK_ARG(ros_message);
    ZR_CHECK_ARG(type_support);
    ZR_CHECK_ARG(serialized_message);
    zr_type t;
    rmw_ret_t ret = zr_type_init(&t, type_support);
    if (ret != RMW_RET_OK)
        return ret;
    size_t size = zr_cdr_size(&t, ros_message);
    if (serialized_message->buffer_capacity < size) {
        if (rmw_serialized_message_resize(serialized_message, size) != RMW_RET_OK) {
            RMW_SET_ERROR_MSG("cannot resize the serialized message");
            return RMW_RET_BAD_ALLOC;
        }
    }
    if (zr_cdr_serialize(&t, ros_message, serialized_message->buffer,
                         serialized_message->buffer_capacity) != size) {
        RMW_SET_ERROR_MSG("CDR serialization did not fit the size it computed");
        return RMW_RET_ERROR;
    }
    serialized_message->buffer_length = size;
    return RMW_RET_OK;
}

rmw_ret_t rmw_deserialize(const rmw_serialized_message_t *serialized_message,
                          const rosidl_message_type_support_t *type_support, void *ros_message)
{
    ZR_CHECK_ARG(serialized_message);
    ZR_CHECK_ARG(type_support);
    ZR_CHECK_ARG(ros_message);
    zr_type t;
    rmw_ret_t ret = zr_type_init(&t, type_support);
    if (ret != RMW_RET_OK)
        return ret;
    if (serialized_message->buffer == NULL) {
        RMW_SET_ERROR_MSG("serialized message has no buffer");
        return RMW_RET_INVALID_ARGUMENT;
    }
    return zr_cdr_deserialize(&t, serialized_message->buffer,
                              serialized_message->buffer_length, ros_message);
}

rmw_ret_t rmw_init_publisher_allocation(const rosidl_message_type_support_t *type_support,
                                        const rosidl_runtime_c__Sequence__bound *message_bounds,
                                        rmw_publisher_allocation_t *allocation)
{
    (void)type_support;
    (void)message_bounds;
    (void)allocation;
    RMW_SET_ERROR_MSG("rmw_init_publisher_allocation is not supported by rmw_zloan (publishing "
                      "allocates nothing in the steady state)");
    return RMW_RET_UNSUPPORTED;
}

rmw_ret_t rmw_fini_publisher_allocation(rmw_publisher_allocation_t *allocation)
{
    (void)allocation;
    RMW_SET_ERROR_MSG("rmw_fini_publisher_allocation is not supported by rmw_zloan");
    return RMW_RET_UNSUPPORTED;
}
