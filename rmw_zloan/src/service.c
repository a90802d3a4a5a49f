/* rmw_zloan — services and clients.
 *
 * A service "/s" is two zloan topics: the clients publish requests on
 * "/_zloan_rq/s", which the service subscribes to; the service publishes
 * replies on "/_zloan_rr/s", which every client subscribes to. A message
 * is zr_service_message: the client's id (its request publisher's zloan
 * id), the request's sequence number, then the CDR of the request or reply.
 * A client takes only the replies that carry its own id. */
#include "rmw_zloan.h"

#include <stdlib.h>
#include <string.h>

#include <rmw/allocators.h>

typedef enum { ROLE_CLIENT, ROLE_SERVICE } role;

static void endpoint_free(zr_service_endpoint *e)
{
    if (e->pub != NULL)
        zl_publisher_destroy(e->pub);
    if (e->sub != NULL)
        zl_subscription_destroy(e->sub);
    free(e->service_name);
    free(e);
}

static zr_service_endpoint *endpoint_open(const rmw_node_t *node,
                                          const rosidl_service_type_support_t *type_support,
                                          const char *service_name, const rmw_qos_profile_t *qos,
                                          role r)
{
    ZR_CHECK_ARG_NULL(node);
    ZR_CHECK_ID_NULL(node);
    ZR_CHECK_ARG_NULL(type_support);
    ZR_CHECK_ARG_NULL(service_name);
    ZR_CHECK_ARG_NULL(qos);
    if (zr_check_topic(service_name, qos) != RMW_RET_OK)
        return NULL;
    bool cpp = false;
    const rosidl_typesupport_introspection_c__ServiceMembers *members =
        zr_service_members(type_support, &cpp);
    if (members == NULL)
        return NULL;
    zr_node *n = node->data;
    zr_service_endpoint *e = calloc(1, sizeof *e);
    if (e == NULL || (e->service_name = zr_strdup(service_name)) == NULL) {
        free(e);
        RMW_SET_ERROR_MSG("out of memory for the service endpoint");
        return NULL;
    }
    e->node = n;
    e->next_sequence = 1;
    char rq[ZL_TOPIC_NAME_MAX + 2], rr[ZL_TOPIC_NAME_MAX + 2];
    if (zr_type_init_members(&e->request, members->request_members_, cpp, "", true) != RMW_RET_OK ||
        zr_type_init_members(&e->response, members->response_members_, cpp, "", true) != RMW_RET_OK ||
        zr_join_topic(ZR_REQUEST_PREFIX, service_name, rq, sizeof rq) != RMW_RET_OK ||
        zr_join_topic(ZR_REPLY_PREFIX, service_name, rr, sizeof rr) != RMW_RET_OK) {
        endpoint_free(e);
        return NULL;
    }
    zl_publisher_options po;
    zl_subscription_options so;
    rmw_qos_profile_t actual;
    zr_qos_publisher_options(qos, true, &po, &actual);
    zr_qos_subscription_options(qos, true, &so, &e->qos);
    const char *pub_topic = r == ROLE_CLIENT ? rq : rr;
    const char *sub_topic = r == ROLE_CLIENT ? rr : rq;
    const zl_type *pub_type = r == ROLE_CLIENT ? &e->request.zl : &e->response.zl;
    const zl_type *sub_type = r == ROLE_CLIENT ? &e->response.zl : &e->request.zl;
    /* The subscription first: a client's replies can then never precede it. */
    int rc = zl_subscription_create(n->zl, sub_topic, sub_type, &so, &e->sub);
    if (rc != 0) {
        zr_fail_zl(rc, "zl_subscription_create (service)");
        endpoint_free(e);
        return NULL;
    }
    rc = zl_publisher_create(n->zl, pub_topic, pub_type, &po, &e->pub);
    if (rc != 0) {
        zr_fail_zl(rc, "zl_publisher_create (service)");
        endpoint_free(e);
        return NULL;
    }
    e->id = zl_publisher_id(e->pub);
    zr_graph_changed(n->context);
    return e;
}

static rmw_ret_t endpoint_close(zr_service_endpoint *e)
{
    int rc = zl_publisher_destroy(e->pub);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_publisher_destroy (service)");
    e->pub = NULL;
    rc = zl_subscription_destroy(e->sub);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_subscription_destroy (service)");
    e->sub = NULL;
    rmw_context_t *context = e->node->context;
    endpoint_free(e);
    zr_graph_changed(context);
    return RMW_RET_OK;
}

/* Publishes one request or reply: header, then the CDR of ros_message. */
static rmw_ret_t send(zr_service_endpoint *e, const zr_type *t, uint64_t client_id,
                      int64_t sequence, const void *ros_message)
{
    size_t size = zr_cdr_size(t, ros_message);
    void *loan;
    int rc = zl_publisher_loan_sized(e->pub, size, &loan);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_publisher_loan_sized (service)");
    zr_service_message *m = loan;
    m->client_id = client_id;
    m->reserved = 0;
    m->sequence = sequence;
    if (zr_cdr_serialize(t, ros_message, m->cdr, size) != size) {
        zl_publisher_return_loan(e->pub, loan);
        RMW_SET_ERROR_MSG("CDR serialization did not fit the size it computed");
        return RMW_RET_ERROR;
    }
    rc = zl_publisher_publish_loan(e->pub, loan);
    if (rc != 0) {
        zl_publisher_return_loan(e->pub, loan);
        return zr_fail_zl(rc, "zl_publisher_publish_loan (service)");
    }
    return RMW_RET_OK;
}

/* Takes one request (mine_only false) or one reply for client_id. */
static rmw_ret_t take(zr_service_endpoint *e, const zr_type *t, bool mine_only,
                      rmw_service_info_t *header, void *ros_message, bool *taken)
{
    *taken = false;
    for (;;) {
        zl_message_info zi;
        const void *msg;
        int rc = zl_subscription_take_loan(e->sub, &msg, &zi);
        if (rc == ZL_ENODATA)
            return RMW_RET_OK;
        if (rc == ZL_ESERIALIZE)
            continue;
        if (rc != 0)
            return zr_fail_zl(rc, "zl_subscription_take_loan (service)");
        const zr_service_message *m = msg;
        if (zi.size < offsetof(zr_service_message, cdr) || (mine_only && m->client_id != e->id)) {
            zl_subscription_return_loan(e->sub, msg);
            continue; /* another client's reply */
        }
        uint64_t client_id = m->client_id;
        int64_t sequence = m->sequence;
        rmw_ret_t ret = zr_cdr_deserialize(t, m->cdr,
                                           zi.size - offsetof(zr_service_message, cdr),
                                           ros_message);
        zl_subscription_return_loan(e->sub, msg);
        if (ret != RMW_RET_OK)
            return ret;
        memset(header, 0, sizeof *header);
        memcpy(header->request_id.writer_guid, &client_id, sizeof client_id);
        header->request_id.sequence_number = sequence;
        header->source_timestamp = zi.source_timestamp_ns;
        header->received_timestamp = zr_now_ns();
        *taken = true;
        return RMW_RET_OK;
    }
}

rmw_client_t *rmw_create_client(const rmw_node_t *node,
                                const rosidl_service_type_support_t *type_support,
                                const char *service_name, const rmw_qos_profile_t *qos_policies)
{
    zr_service_endpoint *e = endpoint_open(node, type_support, service_name, qos_policies,
                                           ROLE_CLIENT);
    if (e == NULL)
        return NULL;
    rmw_client_t *c = rmw_client_allocate();
    if (c == NULL) {
        endpoint_free(e);
        RMW_SET_ERROR_MSG("out of memory for the client");
        return NULL;
    }
    c->implementation_identifier = zr_identifier;
    c->data = e;
    c->service_name = e->service_name;
    return c;
}

rmw_ret_t rmw_destroy_client(rmw_node_t *node, rmw_client_t *client)
{
    ZR_CHECK_ARG(node);
    ZR_CHECK_ARG(client);
    ZR_CHECK_ID(node);
    ZR_CHECK_ID(client);
    rmw_ret_t ret = endpoint_close(client->data);
    if (ret == RMW_RET_OK)
        rmw_client_free(client);
    return ret;
}

rmw_ret_t rmw_send_request(const rmw_client_t *client, const void *ros_request,
                           int64_t *sequence_id)
{
    ZR_CHECK_ARG(client);
    ZR_CHECK_ID(client);
    ZR_CHECK_ARG(ros_request);
    ZR_CHECK_ARG(sequence_id);
    zr_service_endpoint *e = client->data;
    int64_t seq = e->next_sequence;
    rmw_ret_t ret = send(e, &e->request, e->id, seq, ros_request);
    if (ret == RMW_RET_OK) {
        e->next_sequence++;
        *sequence_id = seq;
    }
    return ret;
}

rmw_ret_t rmw_take_response(const rmw_client_t *client, rmw_service_info_t *request_header,
                            void *ros_response, bool *taken)
{
    ZR_CHECK_ARG(client);
    ZR_CHECK_ID(client);
    ZR_CHECK_ARG(request_header);
    ZR_CHECK_ARG(ros_response);
    ZR_CHECK_ARG(taken);
    zr_service_endpoint *e = client->data;
    return take(e, &e->response, true, request_header, ros_response, taken);
}

rmw_service_t *rmw_create_service(const rmw_node_t *node,
                                  const rosidl_service_type_support_t *type_support,
                                  const char *service_name, const rmw_qos_profile_t *qos_profile)
{
    zr_service_endpoint *e = endpoint_open(node, type_support, service_name, qos_profile,
                                           ROLE_SERVICE);
    if (e == NULL)
        return NULL;
    rmw_service_t *s = rmw_service_allocate();
    if (s == NULL) {
        endpoint_free(e);
        RMW_SET_ERROR_MSG("out of memory for the service");
        return NULL;
    }
    s->implementation_identifier = zr_identifier;
    s->data = e;
    s->service_name = e->service_name;
    return s;
}

rmw_ret_t rmw_destroy_service(rmw_node_t *node, rmw_service_t *service)
{
    ZR_CHECK_ARG(node);
    ZR_CHECK_ARG(service);
    ZR_CHECK_ID(node);
    ZR_CHECK_ID(service);
    rmw_ret_t ret = endpoint_close(service->data);
    if (ret == RMW_RET_OK)
        rmw_service_free(service);
    return ret;
}

rmw_ret_t rmw_take_request(const rmw_service_t *service, rmw_service_info_t *request_header,
                           void *ros_request, bool *taken)
{
    ZR_CHECK_ARG(service);
    ZR_CHECK_ID(service);
    ZR_CHECK_ARG(request_header);
    ZR_CHECK_ARG(ros_request);
    ZR_CHECK_ARG(taken);
    zr_service_endpoint *e = service->data;
    return take(e, &e->request, false, request_header, ros_request, taken);
}

rmw_ret_t rmw_send_response(const rmw_service_t *service, rmw_request_id_t *request_header,
                            void *ros_response)
{
    ZR_CHECK_ARG(service);
    ZR_CHECK_ID(service);
    ZR_CHECK_ARG(request_header);
    ZR_CHECK_ARG(ros_response);
    zr_service_endpoint *e = service->data;
    uint64_t client_id;
    memcpy(&client_id, request_header->writer_guid, sizeof client_id);
    return send(e, &e->response, client_id, request_header->sequence_number, ros_response);
}

rmw_ret_t rmw_service_server_is_available(const rmw_node_t *node, const rmw_client_t *client,
                                          bool *is_available)
{
    ZR_CHECK_ARG(node);
    ZR_CHECK_ID(node);
    ZR_CHECK_ARG(client);
    ZR_CHECK_ID(client);
    ZR_CHECK_ARG(is_available);
    zr_service_endpoint *e = client->data;
    uint32_t domain = e->node->domain_id;
    char rq[ZL_TOPIC_NAME_MAX + 2], rr[ZL_TOPIC_NAME_MAX + 2];
    rmw_ret_t ret = zr_join_topic(ZR_REQUEST_PREFIX, e->service_name, rq, sizeof rq);
    if (ret == RMW_RET_OK)
        ret = zr_join_topic(ZR_REPLY_PREFIX, e->service_name, rr, sizeof rr);
    size_t servers = 0, repliers = 0;
    if (ret == RMW_RET_OK)
        ret = zr_count_endpoints(domain, rq, ZL_ENDPOINT_SUBSCRIPTION, &servers);
    if (ret == RMW_RET_OK)
        ret = zr_count_endpoints(domain, rr, ZL_ENDPOINT_PUBLISHER, &repliers);
    if (ret != RMW_RET_OK)
        return ret;
    *is_available = servers > 0 && repliers > 0;
    return RMW_RET_OK;
}

rmw_ret_t rmw_get_gid_for_client(const rmw_client_t *client, rmw_gid_t *gid)
{
    ZR_CHECK_ARG(client);
    ZR_CHECK_ID(client);
    ZR_CHECK_ARG(gid);
    zr_gid_from_id(gid, ((zr_service_endpoint *)client->data)->id);
    return RMW_RET_OK;
}

#define ACTUAL_QOS(fn, handle_type, handle)                                  \
    rmw_ret_t fn(const handle_type *handle, rmw_qos_profile_t *qos)         \
    {                                                                        \
        ZR_CHECK_ARG(handle);                                                \
        ZR_CHECK_ID(handle);                                                 \
        ZR_CHECK_ARG(qos);                                                   \
        *qos = ((zr_service_endpoint *)handle->data)->qos;                   \
        return RMW_RET_OK;                                                   \
    }
ACTUAL_QOS(rmw_client_request_publisher_get_actual_qos, rmw_client_t, client)
ACTUAL_QOS(rmw_client_response_subscription_get_actual_qos, rmw_client_t, client)
ACTUAL_QOS(rmw_service_request_subscription_get_actual_qos, rmw_service_t, service)
ACTUAL_QOS(rmw_service_response_publisher_get_actual_qos, rmw_service_t, service)

rmw_ret_t rmw_client_set_on_new_response_callback(rmw_client_t *client,
                                                  rmw_event_callback_t callback,
                                                  const void *user_data)
{
    (void)callback;
    (void)user_data;
    ZR_CHECK_ARG(client);
    ZR_CHECK_ID(client);
    RMW_SET_ERROR_MSG("rmw_client_set_on_new_response_callback is not supported by rmw_zloan");
    return RMW_RET_UNSUPPORTED;
}

rmw_ret_t rmw_service_set_on_new_request_callback(rmw_service_t *service,
                                                  rmw_event_callback_t callback,
                                                  const void *user_data)
{
    (void)callback;
    (void)user_data;
    ZR_CHECK_ARG(service);
    ZR_CHECK_ID(service);
    RMW_SET_ERROR_MSG("rmw_service_set_on_new_request_callback is not supported by rmw_zloan");
    return RMW_RET_UNSUPPORTED;
}
