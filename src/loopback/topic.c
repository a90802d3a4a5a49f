/* The loopback transport's topics (see topic.h). The list of topics is the
 * process's, not a context's: endpoints of two contexts of one domain meet,
 * as they do on shm. It is allocated with malloc, since no one context
 * owns it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zloan/error.h"

#include "../error_detail.h"
#include "topic.h"

static pthread_mutex_t topics_lock = PTHREAD_MUTEX_INITIALIZER;
static zl__loopback_topic *topics; /* under topics_lock */

static zl__loopback_topic *find(const zl__mw_endpoint_config *config)
{
    for (zl__loopback_topic *t = topics; t != NULL; t = t->next)
        if (t->domain_id == config->domain_id && strcmp(t->name, config->topic) == 0)
            return t;
    return NULL;
}

static int check_type(const zl__loopback_topic *t, const zl__mw_endpoint_config *config)
{
    if (strcmp(t->type_name, config->type_name) == 0 && t->type_size == config->type_size &&
        t->layout_hash == config->layout_hash)
        return 0;
    return zl__fail(ZL_ETYPE,
                    "topic '%s' carries type '%s' (%llu bytes, layout %016llx); this endpoint "
                    "has '%s' (%llu bytes, layout %016llx)",
                    t->name, t->type_name, (unsigned long long)t->type_size,
                    (unsigned long long)t->layout_hash, config->type_name,
                    (unsigned long long)config->type_size,
                    (unsigned long long)config->layout_hash);
}

static zl__loopback_topic *make(const zl__mw_endpoint_config *config)
{
    zl__loopback_topic *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->domain_id = config->domain_id;
    snprintf(t->name, sizeof t->name, "%s", config->topic);
    snprintf(t->type_name, sizeof t->type_name, "%s", config->type_name);
    t->type_size = config->type_size;
    t->layout_hash = config->layout_hash;
    pthread_mutex_init(&t->lock, NULL);
    t->next = topics;
    topics = t;
    return t;
}

int zl__loopback_topic_join(const zl__mw_endpoint_config *config, zl__loopback_topic **topic)
{
    pthread_mutex_lock(&topics_lock);
    zl__loopback_topic *t = find(config);
    int rc = t != NULL ? check_type(t, config) : 0;
    if (rc == 0 && t == NULL && (t = make(config)) == NULL)
        rc = zl__fail(ZL_ENOMEM, "allocating loopback topic '%s' failed", config->topic);
    if (rc == 0) {
        t->users++;
        *topic = t;
    }
    pthread_mutex_unlock(&topics_lock);
    return rc;
}

void zl__loopback_topic_leave(zl__loopback_topic *topic)
{
    pthread_mutex_lock(&topics_lock);
    if (--topic->users == 0) {
        zl__loopback_topic **at = &topics;
        while (*at != topic)
            at = &(*at)->next;
        *at = topic->next;
        pthread_mutex_destroy(&topic->lock);
        free(topic);
    }
    pthread_mutex_unlock(&topics_lock);
}
