/* rmw_zloan — nodes.
 *
 * A node owns a zl_context named after it, so that each endpoint it makes
 * carries its name in zloan's registries (the `zloan` tool shows it beside
 * pid and executable), and one publisher on "/_zloan_node/<ns>/<name>" by
 * which other processes list it: a node exists in the graph while that
 * publisher's process holds its lock, so a killed node disappears. */
#include "rmw_zloan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rmw/allocators.h>
#include <rmw/validate_namespace.h>
#include <rmw/validate_node_name.h>

/* What a node announcement carries: nothing; the topic name is the node. */
typedef struct zr_node_announcement {
    uint8_t unused;
} zr_node_announcement;
static const zl_type announcement_type = {
    .name = "rmw_zloan/Node", .size = sizeof(zr_node_announcement),
    .alignment = _Alignof(zr_node_announcement), .plain = true};

void zr_node_context_name(const char *ns, const char *name, char *out, size_t out_size)
{
    int n = snprintf(out, out_size, "%s%s%s", ns, strcmp(ns, "/") == 0 ? "" : "/", name);
    if (n >= 0 && (size_t)n < out_size && (size_t)n < ZL_CONTEXT_NAME_MAX)
        return;
    /* FNV-1a of the full name: too long for a context name. */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = ns; *p != '\0'; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    h = (h ^ '/') * 0x100000001b3ULL;
    for (const char *p = name; *p != '\0'; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    snprintf(out, out_size, "~%016llx", (unsigned long long)h);
}

static rmw_ret_t validate(const char *name, const char *namespace_)
{
    int result;
    size_t index;
    if (rmw_validate_node_name(name, &result, &index) != RMW_RET_OK)
        return RMW_RET_ERROR;
    if (result != RMW_NODE_NAME_VALID) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("invalid node name: %s",
                                             rmw_node_name_validation_result_string(result));
        return RMW_RET_INVALID_ARGUMENT;
    }
    if (rmw_validate_namespace(namespace_, &result, &index) != RMW_RET_OK)
        return RMW_RET_ERROR;
    if (result != RMW_NAMESPACE_VALID) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("invalid node namespace: %s",
                                             rmw_namespace_validation_result_string(result));
        return RMW_RET_INVALID_ARGUMENT;
    }
    return RMW_RET_OK;
}

static void node_free(zr_node *n)
{
    if (n->announce != NULL)
        zl_publisher_destroy(n->announce);
    if (n->graph_guard != NULL) {
        zl_guard_condition_destroy(n->graph_guard->data);
        free(n->graph_guard);
    }
    if (n->zl != NULL)
        zl_context_destroy(n->zl);
    pthread_mutex_destroy(&n->lock);
    free(n->publisher_ids);
    free(n->name);
    free(n->namespace_);
    free(n);
}

static rmw_ret_t node_open(rmw_context_t *context, zr_node *n)
{
    rmw_context_impl_t *impl = context->impl;
    char cname[ZL_CONTEXT_NAME_MAX];
    zr_node_context_name(n->namespace_, n->name, cname, sizeof cname);
    zl_context_options zo;
    zr_context_options(impl->domain_id, cname, false, &zo);
    int rc = zl_context_create(&zo, &n->zl);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_context_create (node)");
    zl_guard_condition *g;
    rc = zl_guard_condition_create(impl->zl, &g);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_guard_condition_create (graph)");
    n->graph_guard = calloc(1, sizeof *n->graph_guard);
    if (n->graph_guard == NULL) {
        zl_guard_condition_destroy(g);
        RMW_SET_ERROR_MSG("out of memory for the graph guard condition");
        return RMW_RET_BAD_ALLOC;
    }
    n->graph_guard->implementation_identifier = zr_identifier;
    n->graph_guard->data = g;
    n->graph_guard->context = context;

    char topic[ZL_TOPIC_NAME_MAX + 2];
    char fq[ZL_TOPIC_NAME_MAX + 2];
    int len = snprintf(fq, sizeof fq, "%s%s%s", n->namespace_,
                       strcmp(n->namespace_, "/") == 0 ? "" : "/", n->name);
    if (len < 0 || (size_t)len >= sizeof fq) {
        RMW_SET_ERROR_MSG("node name and namespace are too long for zloan");
        return RMW_RET_INVALID_ARGUMENT;
    }
    rmw_ret_t ret = zr_join_topic(ZR_NODE_PREFIX, fq, topic, sizeof topic);
    if (ret != RMW_RET_OK)
        return ret;
    zl_publisher_options po;
    zl_publisher_options_init(&po);
    po.max_loans = 1;
    po.max_subscriptions = 1;
    po.chunks_per_subscription = 2;
    rc = zl_publisher_create(n->zl, topic, &announcement_type, &po, &n->announce);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_publisher_create (node announcement)");
    return RMW_RET_OK;
}

rmw_node_t *rmw_create_node(rmw_context_t *context, const char *name, const char *namespace_)
{
    ZR_CHECK_ARG_NULL(context);
    ZR_CHECK_ID_NULL(context);
    if (context->impl == NULL) {
        RMW_SET_ERROR_MSG("context is zero-initialized");
        return NULL;
    }
    if (context->impl->shut_down) {
        RMW_SET_ERROR_MSG("context has been shut down");
        return NULL;
    }
    ZR_CHECK_ARG_NULL(name);
    ZR_CHECK_ARG_NULL(namespace_);
    if (validate(name, namespace_) != RMW_RET_OK)
        return NULL;
    zr_node *n = calloc(1, sizeof *n);
    rmw_node_t *node = rmw_node_allocate();
    if (n == NULL || node == NULL) {
        free(n);
        rmw_node_free(node);
        RMW_SET_ERROR_MSG("out of memory for the node");
        return NULL;
    }
    pthread_mutex_init(&n->lock, NULL);
    n->context = context;
    n->name = zr_strdup(name);
    n->namespace_ = zr_strdup(namespace_);
    if (n->name == NULL || n->namespace_ == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the node's names");
        node_free(n);
        rmw_node_free(node);
        return NULL;
    }
    if (node_open(context, n) != RMW_RET_OK) {
        node_free(n);
        rmw_node_free(node);
        return NULL;
    }
    node->implementation_identifier = zr_identifier;
    node->data = n;
    node->name = n->name;
    node->namespace_ = n->namespace_;
    node->context = context;
    rmw_context_impl_t *impl = context->impl;
    pthread_mutex_lock(&impl->lock);
    n->next = impl->nodes;
    impl->nodes = n;
    impl->node_count++;
    pthread_mutex_unlock(&impl->lock);
    zr_graph_changed(context);
    return node;
}

rmw_ret_t rmw_destroy_node(rmw_node_t *node)
{
    ZR_CHECK_ARG(node);
    ZR_CHECK_ID(node);
    zr_node *n = node->data;
    rmw_context_impl_t *impl = n->context->impl;
    /* The announcement goes first: its context must be empty to go. */
    if (n->announce != NULL) {
        int rc = zl_publisher_destroy(n->announce);
        if (rc != 0)
            return zr_fail_zl(rc, "zl_publisher_destroy (node announcement)");
        n->announce = NULL;
    }
    int rc = zl_context_destroy(n->zl);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_context_destroy (the node still has endpoints)");
    n->zl = NULL;
    pthread_mutex_lock(&impl->lock);
    for (zr_node **p = &impl->nodes; *p != NULL; p = &(*p)->next) {
        if (*p == n) {
            *p = n->next;
            impl->node_count--;
            break;
        }
    }
    pthread_mutex_unlock(&impl->lock);
    rmw_context_t *context = n->context;
    node_free(n);
    rmw_node_free(node);
    zr_graph_changed(context);
    return RMW_RET_OK;
}

const rmw_guard_condition_t *rmw_node_get_graph_guard_condition(const rmw_node_t *node)
{
    ZR_CHECK_ARG_NULL(node);
    ZR_CHECK_ID_NULL(node);
    return ((zr_node *)node->data)->graph_guard;
}

void zr_node_add_publisher(zr_node *node, uint64_t id)
{
    pthread_mutex_lock(&node->lock);
    uint64_t *ids = realloc(node->publisher_ids, (node->publisher_id_count + 1) * sizeof *ids);
    if (ids != NULL) {
        node->publisher_ids = ids;
        ids[node->publisher_id_count++] = id;
    }
    pthread_mutex_unlock(&node->lock);
}

void zr_node_remove_publisher(zr_node *node, uint64_t id)
{
    pthread_mutex_lock(&node->lock);
    for (size_t i = 0; i < node->publisher_id_count; i++) {
        if (node->publisher_ids[i] == id) {
            node->publisher_ids[i] = node->publisher_ids[--node->publisher_id_count];
            break;
        }
    }
    pthread_mutex_unlock(&node->lock);
}

bool zr_node_has_publisher(zr_node *node, uint64_t id)
{
    bool found = false;
    pthread_mutex_lock(&node->lock);
    for (size_t i = 0; i < node->publisher_id_count && !found; i++)
        found = node->publisher_ids[i] == id;
    pthread_mutex_unlock(&node->lock);
    return found;
}
