/* rmw_zloan — the ROS graph, read from zloan's registries.
 *
 * Nothing is cached: each query lists the domain's topics and reads the
 * registries it needs (zloan/introspection.h), so what it answers is what
 * shared memory holds at that moment, dead processes left out. A node is a
 * live publisher on "/_zloan_node/<ns>/<name>"; an endpoint belongs to the
 * node whose announcement has the same pid and context name. Services are
 * the "/_zloan_rq" topics: a service subscribes to one, a client publishes
 * on it. */
#include "rmw_zloan.h"

#include <stdlib.h>
#include <string.h>

#include <rcutils/strdup.h>
#include <rmw/get_node_info_and_types.h>
#include <rmw/get_service_names_and_types.h>
#include <rmw/get_topic_endpoint_info.h>
#include <rmw/get_topic_names_and_types.h>
#include <rmw/names_and_types.h>
#include <rmw/sanity_checks.h>
#include <rmw/topic_endpoint_info_array.h>

typedef struct graph_node {
    char name[ZL_TOPIC_NAME_MAX + 1];
    char ns[ZL_TOPIC_NAME_MAX + 1];
    char enclave[ZL_TYPE_NAME_MAX];
    uint32_t pid;
    char context_name[ZL_CONTEXT_NAME_MAX];
} graph_node;

typedef struct graph {
    zl_topic_summary *topics;
    size_t topic_count;
    graph_node *nodes;
    size_t node_count;
    zl_topic_info *info; /* scratch for one topic */
} graph;

static bool has_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 && s[n] == '/';
}

static bool reserved(const char *topic)
{
    return has_prefix(topic, ZR_NODE_PREFIX) || has_prefix(topic, ZR_REQUEST_PREFIX) ||
           has_prefix(topic, ZR_REPLY_PREFIX) || has_prefix(topic, ZR_QOS_PREFIX);
}

static void graph_free(graph *g)
{
    free(g->topics);
    free(g->nodes);
    free(g->info);
    memset(g, 0, sizeof *g);
}

static rmw_ret_t list_topics(uint32_t domain, graph *g)
{
    size_t cap = 64;
    for (;;) {
        zl_topic_summary *t = realloc(g->topics, cap * sizeof *t);
        if (t == NULL) {
            RMW_SET_ERROR_MSG("out of memory for the topic list");
            return RMW_RET_BAD_ALLOC;
        }
        g->topics = t;
        size_t count = 0;
        int rc = zl_introspection_list_topics(domain, t, cap, &count);
        if (rc != 0)
            return zr_fail_zl(rc, "zl_introspection_list_topics");
        if (count <= cap) {
            g->topic_count = count;
            return RMW_RET_OK;
        }
        cap = count + 16;
    }
}

/* Reads one topic into g->info; false when it is gone, corrupt or foreign
 * (then it is left out of the graph, as zloan's own listing does). */
static bool read_topic(uint32_t domain, graph *g, const char *name)
{
    if (g->info == NULL && (g->info = malloc(sizeof *g->info)) == NULL)
        return false;
    return zl_introspection_topic_info(domain, name, g->info) == 0;
}

static void add_node(graph *g, const char *topic, const zl_endpoint_info *e)
{
    /* "/_zloan_node/a/b/talker": namespace "/a/b", name "talker". */
    const char *fq = topic + strlen(ZR_NODE_PREFIX);
    const char *last = strrchr(fq, '/');
    graph_node *n = &g->nodes[g->node_count];
    size_t ns_len = (size_t)(last - fq);
    if (strlen(last + 1) >= sizeof n->name || ns_len >= sizeof n->ns)
        return;
    memcpy(n->name, last + 1, strlen(last + 1) + 1);
    if (ns_len == 0) {
        strcpy(n->ns, "/");
    } else {
        memcpy(n->ns, fq, ns_len);
        n->ns[ns_len] = '\0';
    }
    const char *type = g->info->type_name;
    size_t prefix = strlen(ZR_NODE_TYPE);
    snprintf(n->enclave, sizeof n->enclave, "%s",
             strncmp(type, ZR_NODE_TYPE, prefix) == 0 ? type + prefix : "/");
    n->pid = e->pid;
    memcpy(n->context_name, e->context_name, sizeof n->context_name);
    n->context_name[sizeof n->context_name - 1] = '\0';
    g->node_count++;
}

static rmw_ret_t graph_read(uint32_t domain, graph *g)
{
    memset(g, 0, sizeof *g);
    rmw_ret_t ret = list_topics(domain, g);
    if (ret != RMW_RET_OK)
        goto fail;
    size_t cap = 0;
    for (size_t i = 0; i < g->topic_count; i++)
        if (has_prefix(g->topics[i].name, ZR_NODE_PREFIX))
            cap += g->topics[i].publishers;
    g->nodes = calloc(cap > 0 ? cap : 1, sizeof *g->nodes);
    if (g->nodes == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the node list");
        ret = RMW_RET_BAD_ALLOC;
        goto fail;
    }
    for (size_t i = 0; i < g->topic_count; i++) {
        const char *name = g->topics[i].name;
        if (!has_prefix(name, ZR_NODE_PREFIX) || !read_topic(domain, g, name))
            continue;
        for (uint32_t k = 0; k < g->info->endpoint_count && g->node_count < cap; k++) {
            const zl_endpoint_info *e = &g->info->endpoints[k];
            if (e->kind == ZL_ENDPOINT_PUBLISHER && e->alive)
                add_node(g, name, e);
        }
    }
    return RMW_RET_OK;
fail:
    graph_free(g);
    return ret;
}

static const graph_node *endpoint_node(const graph *g, const zl_endpoint_info *e)
{
    for (size_t i = 0; i < g->node_count; i++)
        if (g->nodes[i].pid == e->pid && strcmp(g->nodes[i].context_name, e->context_name) == 0)
            return &g->nodes[i];
    return NULL;
}

static bool node_exists(const graph *g, const char *name, const char *ns)
{
    for (size_t i = 0; i < g->node_count; i++)
        if (strcmp(g->nodes[i].name, name) == 0 && strcmp(g->nodes[i].ns, ns) == 0)
            return true;
    return false;
}

uint64_t zr_graph_signature(uint32_t domain_id)
{
    graph g;
    memset(&g, 0, sizeof g);
    if (list_topics(domain_id, &g) != RMW_RET_OK) {
        rmw_reset_error();
        graph_free(&g);
        return 0;
    }
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < g.topic_count; i++) {
        const zl_topic_summary *t = &g.topics[i];
        for (const char *p = t->name; *p != '\0'; p++)
            h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
        for (const char *p = t->type_name; *p != '\0'; p++)
            h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
        uint32_t live[2] = {t->publishers - t->dead_publishers,
                            t->subscriptions - t->dead_subscriptions};
        for (int k = 0; k < 2; k++)
            h = (h ^ live[k]) * 0x100000001b3ULL;
    }
    graph_free(&g);
    return h;
}

rmw_ret_t zr_count_endpoints(uint32_t domain_id, const char *topic, zl_endpoint_kind kind,
                             size_t *count)
{
    *count = 0;
    zl_topic_info *info = malloc(sizeof *info);
    if (info == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the topic info");
        return RMW_RET_BAD_ALLOC;
    }
    int rc = zl_introspection_topic_info(domain_id, topic, info);
    if (rc == 0) {
        for (uint32_t k = 0; k < info->endpoint_count; k++)
            if (info->endpoints[k].kind == kind && info->endpoints[k].alive)
                (*count)++;
    }
    free(info);
    if (rc == 0 || rc == ZL_ENODATA || rc == ZL_ECORRUPT || rc == ZL_ENOTSUP || rc == ZL_EPERM)
        return RMW_RET_OK; /* no such topic here, or not one we can read: no endpoints */
    return zr_fail_zl(rc, "zl_introspection_topic_info");
}

/* ---- helpers for the rmw arrays ------------------------------------------ */

#define CHECK_NODE(node)                                                       \
    ZR_CHECK_ARG(node);                                                        \
    ZR_CHECK_ID(node)

static uint32_t domain_of(const rmw_node_t *node)
{
    return ((zr_node *)node->data)->domain_id;
}

/* Builds names and types: entry i is names[i] with the one type types[i]. */
static rmw_ret_t fill_names_and_types(char **names, char **types, size_t count,
                                      rcutils_allocator_t *allocator,
                                      rmw_names_and_types_t *out)
{
    /* Merge duplicates (a service offered by two nodes is one entry). */
    size_t unique = 0;
    for (size_t i = 0; i < count; i++) {
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(names[i], names[j]) == 0 && strcmp(types[i], types[j]) == 0;
        if (!dup) {
            names[unique] = names[i];
            types[unique] = types[i];
            unique++;
        }
    }
    rmw_ret_t ret = rmw_names_and_types_init(out, unique, allocator);
    if (ret != RMW_RET_OK)
        return ret;
    for (size_t i = 0; i < unique; i++) {
        out->names.data[i] = rcutils_strdup(names[i], *allocator);
        if (out->names.data[i] == NULL ||
            rcutils_string_array_init(&out->types[i], 1, allocator) != RCUTILS_RET_OK ||
            (out->types[i].data[0] = rcutils_strdup(types[i], *allocator)) == NULL) {
            if (rmw_names_and_types_fini(out) != RMW_RET_OK)
                rmw_reset_error(); /* the allocation error is the one to report */
            RMW_SET_ERROR_MSG("out of memory for names and types");
            return RMW_RET_BAD_ALLOC;
        }
    }
    return RMW_RET_OK;
}

typedef enum {
    PICK_TOPICS,        /* ROS topics with live endpoints (all topics if raw) */
    PICK_SERVICES,      /* request topics with live endpoints */
} pick;

/* What a by-node query looks for on each topic. */
typedef struct node_filter {
    const char *name;
    const char *ns;
    zl_endpoint_kind kind;
} node_filter;

/* Name and type of topic i for the query; NULL when it does not belong. */
static bool topic_matches(uint32_t domain, graph *g, size_t i, pick what, bool raw,
                          const node_filter *f, char *name_out, char *type_out)
{
    const zl_topic_summary *t = &g->topics[i];
    if (t->corrupt || t->type_name[0] == '\0')
        return false;
    bool live = t->publishers > t->dead_publishers || t->subscriptions > t->dead_subscriptions;
    if (!live)
        return false;
    if (what == PICK_TOPICS) {
        if (reserved(t->name) && !raw)
            return false;
        strcpy(name_out, t->name);
        strcpy(type_out, t->type_name);
    } else {
        if (!has_prefix(t->name, ZR_REQUEST_PREFIX))
            return false;
        strcpy(name_out, t->name + strlen(ZR_REQUEST_PREFIX));
        strcpy(type_out, t->type_name);
        size_t n = strlen(type_out);
        if (n > 8 && strcmp(type_out + n - 8, "_Request") == 0)
            type_out[n - 8] = '\0';
    }
    if (f == NULL)
        return true;
    if (!read_topic(domain, g, t->name))
        return false;
    for (uint32_t k = 0; k < g->info->endpoint_count; k++) {
        const zl_endpoint_info *e = &g->info->endpoints[k];
        if (!e->alive || e->kind != f->kind)
            continue;
        const graph_node *n = endpoint_node(g, e);
        if (n != NULL && strcmp(n->name, f->name) == 0 && strcmp(n->ns, f->ns) == 0)
            return true;
    }
    return false;
}

static rmw_ret_t query(const rmw_node_t *node, rcutils_allocator_t *allocator, pick what,
                       bool raw, const node_filter *f, rmw_names_and_types_t *out)
{
    CHECK_NODE(node);
    ZR_CHECK_ARG(allocator);
    if (!rcutils_allocator_is_valid(allocator)) {
        RMW_SET_ERROR_MSG("allocator is invalid");
        return RMW_RET_INVALID_ARGUMENT;
    }
    ZR_CHECK_ARG(out);
    if (rmw_names_and_types_check_zero(out) != RMW_RET_OK)
        return RMW_RET_INVALID_ARGUMENT;
    graph g;
    rmw_ret_t ret = graph_read(domain_of(node), &g);
    if (ret != RMW_RET_OK)
        return ret;
    if (f != NULL && !node_exists(&g, f->name, f->ns)) {
        graph_free(&g);
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("node %s in namespace %s does not exist", f->name,
                                             f->ns);
        return RMW_RET_NODE_NAME_NON_EXISTENT;
    }
    size_t n = g.topic_count;
    char (*names)[ZL_TOPIC_NAME_MAX + 1] = calloc(n ? n : 1, sizeof *names);
    char (*types)[ZL_TYPE_NAME_MAX] = calloc(n ? n : 1, sizeof *types);
    char **np = calloc(n ? n : 1, sizeof *np);
    char **tp = calloc(n ? n : 1, sizeof *tp);
    if (names == NULL || types == NULL || np == NULL || tp == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the graph query");
        ret = RMW_RET_BAD_ALLOC;
    } else {
        size_t count = 0;
        for (size_t i = 0; i < n; i++) {
            if (topic_matches(domain_of(node), &g, i, what, raw, f, names[count], types[count])) {
                np[count] = names[count];
                tp[count] = types[count];
                count++;
            }
        }
        ret = fill_names_and_types(np, tp, count, allocator, out);
    }
    free(names);
    free(types);
    free(np);
    free(tp);
    graph_free(&g);
    return ret;
}

static rmw_ret_t check_node_name(const char *node_name, const char *node_namespace)
{
    ZR_CHECK_ARG(node_name);
    ZR_CHECK_ARG(node_namespace);
    return RMW_RET_OK;
}

/* ---- the rmw graph API ------------------------------------------------------ */

static rmw_ret_t list_node_names(const rmw_node_t *node, rcutils_string_array_t *node_names,
                                  rcutils_string_array_t *node_namespaces,
                                  rcutils_string_array_t *enclaves)
{
    CHECK_NODE(node);
    ZR_CHECK_ARG(node_names);
    ZR_CHECK_ARG(node_namespaces);
    if (rmw_check_zero_rmw_string_array(node_names) != RMW_RET_OK ||
        rmw_check_zero_rmw_string_array(node_namespaces) != RMW_RET_OK ||
        (enclaves != NULL && rmw_check_zero_rmw_string_array(enclaves) != RMW_RET_OK))
        return RMW_RET_INVALID_ARGUMENT;
    graph g;
    rmw_ret_t ret = graph_read(domain_of(node), &g);
    if (ret != RMW_RET_OK)
        return ret;
    rcutils_allocator_t a = rcutils_get_default_allocator();
    if (rcutils_string_array_init(node_names, g.node_count, &a) != RCUTILS_RET_OK ||
        rcutils_string_array_init(node_namespaces, g.node_count, &a) != RCUTILS_RET_OK ||
        (enclaves != NULL &&
         rcutils_string_array_init(enclaves, g.node_count, &a) != RCUTILS_RET_OK)) {
        ret = RMW_RET_BAD_ALLOC;
        goto fail;
    }
    for (size_t i = 0; i < g.node_count; i++) {
        node_names->data[i] = rcutils_strdup(g.nodes[i].name, a);
        node_namespaces->data[i] = rcutils_strdup(g.nodes[i].ns, a);
        if (node_names->data[i] == NULL || node_namespaces->data[i] == NULL) {
            ret = RMW_RET_BAD_ALLOC;
            goto fail;
        }
        if (enclaves != NULL && (enclaves->data[i] = rcutils_strdup(g.nodes[i].enclave, a)) == NULL) {
            ret = RMW_RET_BAD_ALLOC;
            goto fail;
        }
    }
    graph_free(&g);
    return RMW_RET_OK;
fail:
    RMW_SET_ERROR_MSG("out of memory for the node names");
    if (rcutils_string_array_fini(node_names) != RCUTILS_RET_OK ||
        rcutils_string_array_fini(node_namespaces) != RCUTILS_RET_OK ||
        (enclaves != NULL && rcutils_string_array_fini(enclaves) != RCUTILS_RET_OK))
        rcutils_reset_error();
    RMW_SET_ERROR_MSG("out of memory for the node names");
    graph_free(&g);
    return ret;
}

rmw_ret_t rmw_get_node_names(const rmw_node_t *node, rcutils_string_array_t *node_names,
                             rcutils_string_array_t *node_namespaces)
{
    return list_node_names(node, node_names, node_namespaces, NULL);
}

rmw_ret_t rmw_get_node_names_with_enclaves(const rmw_node_t *node,
                                           rcutils_string_array_t *node_names,
                                           rcutils_string_array_t *node_namespaces,
                                           rcutils_string_array_t *enclaves)
{
    ZR_CHECK_ARG(enclaves);
    return list_node_names(node, node_names, node_namespaces, enclaves);
}

rmw_ret_t rmw_get_topic_names_and_types(const rmw_node_t *node, rcutils_allocator_t *allocator,
                                        bool no_demangle,
                                        rmw_names_and_types_t *topic_names_and_types)
{
    return query(node, allocator, PICK_TOPICS, no_demangle, NULL, topic_names_and_types);
}

rmw_ret_t rmw_get_service_names_and_types(const rmw_node_t *node, rcutils_allocator_t *allocator,
                                          rmw_names_and_types_t *service_names_and_types)
{
    return query(node, allocator, PICK_SERVICES, false, NULL, service_names_and_types);
}

static rmw_ret_t by_node(const rmw_node_t *node, rcutils_allocator_t *allocator,
                         const char *node_name, const char *node_namespace, pick what,
                         zl_endpoint_kind kind, bool raw, rmw_names_and_types_t *out)
{
    rmw_ret_t ret = check_node_name(node_name, node_namespace);
    if (ret != RMW_RET_OK)
        return ret;
    node_filter f = {node_name, node_namespace, kind};
    return query(node, allocator, what, raw, &f, out);
}

rmw_ret_t rmw_get_subscriber_names_and_types_by_node(const rmw_node_t *node,
                                                     rcutils_allocator_t *allocator,
                                                     const char *node_name,
                                                     const char *node_namespace, bool no_demangle,
                                                     rmw_names_and_types_t *topic_names_and_types)
{
    return by_node(node, allocator, node_name, node_namespace, PICK_TOPICS,
                   ZL_ENDPOINT_SUBSCRIPTION, no_demangle, topic_names_and_types);
}

rmw_ret_t rmw_get_publisher_names_and_types_by_node(const rmw_node_t *node,
                                                    rcutils_allocator_t *allocator,
                                                    const char *node_name,
                                                    const char *node_namespace, bool no_demangle,
                                                    rmw_names_and_types_t *topic_names_and_types)
{
    return by_node(node, allocator, node_name, node_namespace, PICK_TOPICS,
                   ZL_ENDPOINT_PUBLISHER, no_demangle, topic_names_and_types);
}

rmw_ret_t rmw_get_service_names_and_types_by_node(const rmw_node_t *node,
                                                  rcutils_allocator_t *allocator,
                                                  const char *node_name,
                                                  const char *node_namespace,
                                                  rmw_names_and_types_t *service_names_and_types)
{
    return by_node(node, allocator, node_name, node_namespace, PICK_SERVICES,
                   ZL_ENDPOINT_SUBSCRIPTION, false, service_names_and_types);
}

rmw_ret_t rmw_get_client_names_and_types_by_node(const rmw_node_t *node,
                                                 rcutils_allocator_t *allocator,
                                                 const char *node_name,
                                                 const char *node_namespace,
                                                 rmw_names_and_types_t *service_names_and_types)
{
    return by_node(node, allocator, node_name, node_namespace, PICK_SERVICES,
                   ZL_ENDPOINT_PUBLISHER, false, service_names_and_types);
}

static rmw_ret_t count(const rmw_node_t *node, const char *topic_name, size_t *out,
                       zl_endpoint_kind kind)
{
    CHECK_NODE(node);
    ZR_CHECK_ARG(topic_name);
    ZR_CHECK_ARG(out);
    rmw_qos_profile_t qos = rmw_qos_profile_default;
    rmw_ret_t ret = zr_check_topic(topic_name, &qos);
    if (ret != RMW_RET_OK)
        return ret;
    return zr_count_endpoints(domain_of(node), topic_name, kind, out);
}

rmw_ret_t rmw_count_publishers(const rmw_node_t *node, const char *topic_name, size_t *count_out)
{
    return count(node, topic_name, count_out, ZL_ENDPOINT_PUBLISHER);
}

rmw_ret_t rmw_count_subscribers(const rmw_node_t *node, const char *topic_name, size_t *count_out)
{
    return count(node, topic_name, count_out, ZL_ENDPOINT_SUBSCRIPTION);
}

/* The QoS of an endpoint: what it asked for, from its record (qos.c);
 * for an endpoint without one (not made by rmw_zloan), what the registry
 * shows, as ROS says it. */
static rmw_qos_profile_t endpoint_qos(const graph *g, const zl_endpoint_info *e)
{
    rmw_qos_profile_t q = rmw_qos_profile_default;
    if (zr_qos_record_find(g->topics, g->topic_count, e->id, &q))
        return q;
    if (e->kind == ZL_ENDPOINT_SUBSCRIPTION) {
        q.depth = e->depth;
        q.history = e->lossless ? RMW_QOS_POLICY_HISTORY_KEEP_ALL : RMW_QOS_POLICY_HISTORY_KEEP_LAST;
        q.durability = e->wants_history ? RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL
                                        : RMW_QOS_POLICY_DURABILITY_VOLATILE;
    } else {
        q.depth = e->history > 0 ? e->history : 10;
        q.durability = e->history > 0 ? RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL
                                      : RMW_QOS_POLICY_DURABILITY_VOLATILE;
    }
    q.reliability = RMW_QOS_POLICY_RELIABILITY_RELIABLE;
    q.liveliness = RMW_QOS_POLICY_LIVELINESS_AUTOMATIC;
    q.deadline = (rmw_time_t)RMW_DURATION_INFINITE;
    q.lifespan = (rmw_time_t)RMW_DURATION_INFINITE;
    q.liveliness_lease_duration = (rmw_time_t)RMW_DURATION_INFINITE;
    return q;
}

static rmw_ret_t endpoints_info(const rmw_node_t *node, rcutils_allocator_t *allocator,
                                const char *topic_name, zl_endpoint_kind kind,
                                rmw_topic_endpoint_info_array_t *out)
{
    CHECK_NODE(node);
    ZR_CHECK_ARG(allocator);
    ZR_CHECK_ARG(topic_name);
    ZR_CHECK_ARG(out);
    if (!rcutils_allocator_is_valid(allocator)) {
        RMW_SET_ERROR_MSG("allocator is invalid");
        return RMW_RET_INVALID_ARGUMENT;
    }
    if (rmw_topic_endpoint_info_array_check_zero(out) != RMW_RET_OK)
        return RMW_RET_INVALID_ARGUMENT;
    graph g;
    rmw_ret_t ret = graph_read(domain_of(node), &g);
    if (ret != RMW_RET_OK)
        return ret;
    size_t n = 0;
    bool found = read_topic(domain_of(node), &g, topic_name);
    for (uint32_t k = 0; found && k < g.info->endpoint_count; k++)
        if (g.info->endpoints[k].alive && g.info->endpoints[k].kind == kind)
            n++;
    ret = rmw_topic_endpoint_info_array_init_with_size(out, n, allocator);
    if (ret != RMW_RET_OK) {
        graph_free(&g);
        return ret;
    }
    size_t i = 0;
    for (uint32_t k = 0; found && k < g.info->endpoint_count && ret == RMW_RET_OK; k++) {
        const zl_endpoint_info *e = &g.info->endpoints[k];
        if (!e->alive || e->kind != kind)
            continue;
        rmw_topic_endpoint_info_t *t = &out->info_array[i++];
        const graph_node *gn = endpoint_node(&g, e);
        rmw_gid_t gid;
        zr_gid_from_id(&gid, e->id);
        rmw_qos_profile_t q = endpoint_qos(&g, e);
        ret = rmw_topic_endpoint_info_set_node_name(t, gn ? gn->name : "_unknown", allocator);
        if (ret == RMW_RET_OK)
            ret = rmw_topic_endpoint_info_set_node_namespace(t, gn ? gn->ns : "/", allocator);
        if (ret == RMW_RET_OK)
            ret = rmw_topic_endpoint_info_set_topic_type(t, g.info->type_name, allocator);
        if (ret == RMW_RET_OK)
            ret = rmw_topic_endpoint_info_set_endpoint_type(
                t, kind == ZL_ENDPOINT_PUBLISHER ? RMW_ENDPOINT_PUBLISHER : RMW_ENDPOINT_SUBSCRIPTION);
        if (ret == RMW_RET_OK)
            ret = rmw_topic_endpoint_info_set_gid(t, gid.data, RMW_GID_STORAGE_SIZE);
        if (ret == RMW_RET_OK)
            ret = rmw_topic_endpoint_info_set_qos_profile(t, &q);
    }
    if (ret != RMW_RET_OK)
        if (rmw_topic_endpoint_info_array_fini(out, allocator) != RMW_RET_OK)
            rmw_reset_error();
    graph_free(&g);
    return ret;
}

rmw_ret_t rmw_get_publishers_info_by_topic(const rmw_node_t *node, rcutils_allocator_t *allocator,
                                           const char *topic_name, bool no_mangle,
                                           rmw_topic_endpoint_info_array_t *publishers_info)
{
    (void)no_mangle; /* ROS topic names are zloan's: nothing to mangle */
    return endpoints_info(node, allocator, topic_name, ZL_ENDPOINT_PUBLISHER, publishers_info);
}

rmw_ret_t rmw_get_subscriptions_info_by_topic(const rmw_node_t *node,
                                              rcutils_allocator_t *allocator,
                                              const char *topic_name, bool no_mangle,
                                              rmw_topic_endpoint_info_array_t *subscriptions_info)
{
    (void)no_mangle;
    return endpoints_info(node, allocator, topic_name, ZL_ENDPOINT_SUBSCRIPTION,
                          subscriptions_info);
}
