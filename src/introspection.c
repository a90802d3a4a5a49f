/* Introspection: the public face of the transport's read-only view. */
#include <stdlib.h>

#include "zloan/error.h"
#include "zloan/introspection.h"

#include "error_detail.h"
#include "mw.h"

struct zl_topic_view {
    const zl__mw_ops *transport;
    zl__mw_topic_view *view;
};

static int check_domain(uint32_t domain_id)
{
    if (domain_id > ZL_DOMAIN_ID_MAX)
        return zl__fail(ZL_EINVAL, "domain id %u is above %d", domain_id, ZL_DOMAIN_ID_MAX);
    return 0;
}

int zl_introspection_list_topics(uint32_t domain_id, zl_topic_summary *topics, size_t capacity,
                                 size_t *count)
{
    zl__clear_detail();
    if (count == NULL || (topics == NULL && capacity > 0))
        return zl__fail(ZL_EINVAL, "count is NULL, or topics is NULL with a capacity");
    int rc = check_domain(domain_id);
    if (rc != 0)
        return rc;
    return zl__mw_transport_introspecting()->list_topics(domain_id, topics, capacity, count);
}

int zl_topic_view_open(uint32_t domain_id, const char *topic, zl_topic_view **view)
{
    zl__clear_detail();
    if (topic == NULL || view == NULL)
        return zl__fail(ZL_EINVAL, "topic or view is NULL");
    int rc = check_domain(domain_id);
    if (rc != 0)
        return rc;
    char qualified[ZL_TOPIC_NAME_MAX + 1];
    rc = zl_topic_name_qualify(topic, qualified, sizeof qualified);
    if (rc != 0)
        return rc;
    zl_topic_view *v = malloc(sizeof *v);
    if (v == NULL)
        return zl__fail(ZL_ENOMEM, "allocating a topic view failed");
    v->transport = zl__mw_transport_introspecting();
    rc = v->transport->topic_view_open(domain_id, qualified, &v->view);
    if (rc != 0) {
        free(v);
        return rc;
    }
    *view = v;
    return 0;
}

int zl_topic_view_read(zl_topic_view *view, zl_topic_info *info)
{
    zl__clear_detail();
    if (view == NULL || info == NULL)
        return zl__fail(ZL_EINVAL, "view or info is NULL");
    return view->transport->topic_view_read(view->view, info);
}

void zl_topic_view_close(zl_topic_view *view)
{
    if (view == NULL)
        return;
    view->transport->topic_view_close(view->view);
    free(view);
}

int zl_introspection_topic_info(uint32_t domain_id, const char *topic, zl_topic_info *info)
{
    if (info == NULL)
        return zl__fail(ZL_EINVAL, "info is NULL");
    zl_topic_view *view;
    int rc = zl_topic_view_open(domain_id, topic, &view);
    if (rc != 0)
        return rc;
    rc = zl_topic_view_read(view, info);
    zl_topic_view_close(view);
    return rc;
}
