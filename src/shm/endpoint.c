/* Joining a topic: what publishers and subscriptions do alike. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "zloan/error.h"

#include "../error_detail.h"
#include "../identity.h"
#include "endpoint.h"

void zl__endpoint_record_init(zl__endpoint_record *record, const zl__mw_endpoint_config *config,
                              uint32_t kind, uint64_t id)
{
    record->id = id;
    record->process_token = zl__process_token();
    record->pid = (uint32_t)getpid();
    record->kind = kind;
    record->max_loans = config->max_loans;
    record->payload_size = config->payload_size;
    record->type_size = config->type_size;
    record->layout_hash = config->layout_hash;
    record->plain = config->plain;
    record->alignment = (uint32_t)config->type_alignment;
    record->element_size = config->element_size;
    record->max_count = config->max_count;
    snprintf(record->type_name, sizeof record->type_name, "%s", config->type_name);
    snprintf(record->context_name, sizeof record->context_name, "%s",
             config->context_name != NULL ? config->context_name : "");
    snprintf(record->executable, sizeof record->executable, "%s", program_invocation_short_name);
    record->description_hash =
        config->description != NULL ? zl__description_hash(config->description) : 0;
}

int zl__endpoint_create_object(zl__registry *registry, const zl__mw_endpoint_config *config,
                               char kind, uint64_t id, size_t size, char *name,
                               size_t name_size, zl__mapping *map)
{
    int rc = zl__registry_open(registry, config->domain_id, config->topic,
                               config->share_with_group, config->liveness_period_ms);
    if (rc != 0)
        return rc;
    registry->logger = config->logger;
    registry->description = config->description;
    zl__registry_endpoint_name(registry, name, name_size, kind, id);
    /* Create the object under the REGISTER lock, so that a sweep never
     * takes it for an orphan (docs/design.md G6); released by register. */
    rc = zl__registry_lock_register(registry);
    if (rc == 0)
        rc = zl__segment_create(name, size, registry->mode, map);
    if (rc != 0)
        zl__registry_close(registry);
    return rc;
}

/* A topic that exists under another owner: the endpoint will never meet
 * that owner's endpoints. Say so in the detail (the call succeeds). */
static void warn_other_owners(const zl__registry *registry)
{
    char example[ZL__SHM_NAME_MAX + 16];
    uint32_t others = zl__registry_other_owners(registry, example, sizeof example);
    if (others != 0)
        zl__log(registry->logger, ZL_LOG_WARN,
                "topic %s (domain %u) also exists under %u other owner%s (%s): endpoints of "
                "different users never meet (this process runs as uid %u)",
                registry->topic, (unsigned)registry->domain, others, others == 1 ? "" : "s",
                example, (unsigned)geteuid());
    if (others != 0)
        zl__fail(ZL_OK,
                 "warning: topic %s of domain %u also exists under %u other owner%s (%s); "
                 "endpoints of different users never connect (share_with_group connects "
                 "the members of one group)",
                 registry->topic, (unsigned)registry->domain, others, others == 1 ? "" : "s",
                 example);
}

int zl__endpoint_register(zl__registry *registry, const zl__endpoint_record *record,
                          uint32_t *slot, const char *name, zl__mapping *map)
{
    int rc = zl__registry_register(registry, record, slot);
    /* The description was the create call's (mw.h): it is not kept. */
    registry->description = NULL;
    if (rc == 0)
        zl__log(registry->logger, ZL_LOG_DEBUG, "topic %s: %s %016llx joined in slot %u",
                registry->topic, record->kind == ZL__KIND_PUBLISHER ? "publisher" : "subscription",
                (unsigned long long)record->id, *slot);
    if (rc != 0) {
        zl__segment_unlink(name);
        zl__segment_unmap(map);
        zl__registry_close(registry);
        return rc;
    }
    warn_other_owners(registry);
    return 0;
}
