/* rmw_zloan — the QoS an endpoint asked for, where other processes read it,
 * and DDS's rule of which offered QoS satisfies which requested one.
 *
 * zloan's registries hold a subscription's depth, reliability (lossless)
 * and durability and a publisher's history, not what ROS asks beside them
 * (a publisher's reliability, deadlines, liveliness, lifespan). So each
 * publisher and subscription of rmw_zloan announces its requested profile
 * the way a node announces itself (node.c): a publisher with a one-byte
 * message on "/_zloan_qos/e<endpoint id, 16 hex digits>" whose type name is
 * "rmw_zloan/Qos@" and the profile in text. Other processes read it with
 * zloan's introspection; it lives exactly as long as the endpoint's
 * process holds the record's lock, so a killed endpoint's record goes with
 * it. Publishing on it (nobody subscribes) sets the record's last message
 * time, which is how a publisher asserts its liveliness to other processes
 * besides publishing on its topic. */
#include "rmw_zloan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a record carries: nothing; its type name is the profile. */
typedef struct zr_qos_message {
    uint8_t unused;
} zr_qos_message;

static void record_topic(uint64_t id, char *out, size_t out_size)
{
    /* "e": a token of a topic name starts with a letter. */
    snprintf(out, out_size, "%s/e%016" PRIx64, ZR_QOS_PREFIX, id);
}

/* A duration as text: "i" for infinite, else nanoseconds. */
static int put_duration(char *out, size_t size, rmw_time_t t)
{
    int64_t ns = zr_duration_ns(t);
    if (ns < 0)
        return snprintf(out, size, "i");
    return snprintf(out, size, "%" PRId64, ns);
}

static rmw_time_t get_duration(const char *text, char **end)
{
    if (*text == 'i') {
        *end = (char *)text + 1;
        return (rmw_time_t)RMW_DURATION_INFINITE;
    }
    long long ns = strtoll(text, end, 10);
    if (ns < 0)
        ns = 0;
    return (rmw_time_t){(uint64_t)ns / 1000000000ULL, (uint64_t)ns % 1000000000ULL};
}

/* "rmw_zloan/Qos@h1.d10.r2.u2.D11000000000.S0.l3.L1000000000": history,
 * depth, reliability, durability, deadline, lifespan, liveliness and its
 * lease (rmw's enum values; durations in ns or "i"). At most 14 + 4 * 3 +
 * 5 + 3 * 21 bytes: ZL_TYPE_NAME_MAX holds it. */
static rmw_ret_t encode(const rmw_qos_profile_t *q, char *out, size_t size)
{
    char d[3][24];
    put_duration(d[0], sizeof d[0], q->deadline);
    put_duration(d[1], sizeof d[1], q->lifespan);
    put_duration(d[2], sizeof d[2], q->liveliness_lease_duration);
    int n = snprintf(out, size, "%sh%u.d%zu.r%u.u%u.D%s.S%s.l%u.L%s", ZR_QOS_TYPE,
                     (unsigned)q->history, q->depth, (unsigned)q->reliability,
                     (unsigned)q->durability, d[0], d[1], (unsigned)q->liveliness, d[2]);
    if (n < 0 || (size_t)n >= size) {
        RMW_SET_ERROR_MSG("the QoS profile does not fit a zloan type name");
        return RMW_RET_ERROR;
    }
    return RMW_RET_OK;
}

/* The inverse of encode(); false when type_name is not a record's. */
static bool decode(const char *type_name, rmw_qos_profile_t *q)
{
    size_t prefix = strlen(ZR_QOS_TYPE);
    if (strncmp(type_name, ZR_QOS_TYPE, prefix) != 0)
        return false;
    *q = rmw_qos_profile_default;
    const char *p = type_name + prefix;
    char *end;
    const char keys[] = "hdruDSlL";
    for (size_t k = 0; keys[k] != '\0'; k++) {
        if (*p != keys[k])
            return false;
        p++;
        switch (keys[k]) {
        case 'D': q->deadline = get_duration(p, &end); break;
        case 'S': q->lifespan = get_duration(p, &end); break;
        case 'L': q->liveliness_lease_duration = get_duration(p, &end); break;
        default: {
            unsigned long v = strtoul(p, &end, 10);
            if (keys[k] == 'h')
                q->history = (enum rmw_qos_history_policy_e)v;
            else if (keys[k] == 'd')
                q->depth = v;
            else if (keys[k] == 'r')
                q->reliability = (enum rmw_qos_reliability_policy_e)v;
            else if (keys[k] == 'u')
                q->durability = (enum rmw_qos_durability_policy_e)v;
            else
                q->liveliness = (enum rmw_qos_liveliness_policy_e)v;
        }
        }
        if (end == p || (*end != '.' && *end != '\0'))
            return false;
        p = *end == '.' ? end + 1 : end;
    }
    return true;
}

void zr_qos_requested(const rmw_qos_profile_t *asked, const rmw_qos_profile_t *actual,
                      rmw_qos_profile_t *out)
{
    /* What the endpoint asked for, with the system defaults resolved as
     * zloan resolves them (actual), and the depth it got. */
    *out = *asked;
    out->history = actual->history;
    out->depth = actual->depth;
    out->reliability = actual->reliability;
    out->durability = actual->durability;
    if (out->liveliness == RMW_QOS_POLICY_LIVELINESS_SYSTEM_DEFAULT ||
        out->liveliness == RMW_QOS_POLICY_LIVELINESS_UNKNOWN)
        out->liveliness = RMW_QOS_POLICY_LIVELINESS_AUTOMATIC;
    /* rmw's 0 ("the default") is infinite for all three. */
    rmw_time_t *durations[] = {&out->deadline, &out->lifespan, &out->liveliness_lease_duration};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++)
        if (zr_duration_ns(*durations[i]) <= 0)
            *durations[i] = (rmw_time_t)RMW_DURATION_INFINITE;
}

rmw_ret_t zr_qos_record_create(zr_qos_record *r, zl_context *context, uint64_t id,
                               const rmw_qos_profile_t *qos)
{
    memset(r, 0, sizeof *r);
    rmw_ret_t ret = encode(qos, r->type_name, sizeof r->type_name);
    if (ret != RMW_RET_OK)
        return ret;
    char topic[ZL_TOPIC_NAME_MAX + 1];
    record_topic(id, topic, sizeof topic);
    zl_publisher_options po;
    zl_publisher_options_init(&po);
    po.max_loans = 1;
    po.max_subscriptions = 1;
    po.chunks_per_subscription = 2;
    r->type = (zl_type){.name = r->type_name,
                        .size = sizeof(zr_qos_message),
                        .alignment = _Alignof(zr_qos_message),
                        .plain = true};
    int rc = zl_publisher_create(context, topic, &r->type, &po, &r->zl);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_publisher_create (QoS record)");
    zr_qos_record_assert(r); /* creation asserts liveliness */
    return RMW_RET_OK;
}

void zr_qos_record_destroy(zr_qos_record *r)
{
    if (r->zl != NULL && zl_publisher_destroy(r->zl) == 0)
        r->zl = NULL;
}

void zr_qos_record_assert(zr_qos_record *r)
{
    zr_qos_message m = {0};
    if (r->zl != NULL)
        (void)zl_publisher_publish(r->zl, &m); /* nobody subscribes: it only stamps */
}

bool zr_qos_record_read(uint32_t domain_id, uint64_t id, zl_topic_info *scratch,
                        rmw_qos_profile_t *qos, int64_t *asserted_ns)
{
    char topic[ZL_TOPIC_NAME_MAX + 1];
    record_topic(id, topic, sizeof topic);
    if (zl_introspection_topic_info(domain_id, topic, scratch) != 0)
        return false;
    for (uint32_t k = 0; k < scratch->endpoint_count; k++) {
        const zl_endpoint_info *e = &scratch->endpoints[k];
        if (e->kind == ZL_ENDPOINT_PUBLISHER && e->alive && decode(scratch->type_name, qos)) {
            *asserted_ns = e->last_ns;
            return true;
        }
    }
    return false;
}

bool zr_qos_record_find(const zl_topic_summary *topics, size_t count, uint64_t id,
                        rmw_qos_profile_t *qos)
{
    char topic[ZL_TOPIC_NAME_MAX + 1];
    record_topic(id, topic, sizeof topic);
    for (size_t i = 0; i < count; i++)
        if (strcmp(topics[i].name, topic) == 0)
            return topics[i].publishers > topics[i].dead_publishers &&
                   decode(topics[i].type_name, qos);
    return false;
}

/* ---- request versus offered (DDS) ----------------------------------------- */

/* A duration's nanoseconds for comparing, 0 (unspecified) and infinite as
 * INT64_MAX: rmw's 0 means "the default", which is infinite for these. */
static int64_t compare_ns(rmw_time_t t)
{
    int64_t ns = zr_duration_ns(t);
    return ns <= 0 ? INT64_MAX : ns;
}

/* rmw's value of RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_NODE, deprecated (its
 * name warns) but still a value a profile may hold. */
#define LIVELINESS_MANUAL_BY_NODE 2

/* AUTOMATIC < MANUAL_BY_NODE < MANUAL_BY_TOPIC: how strong an assertion is. */
static int liveliness_rank(enum rmw_qos_liveliness_policy_e kind)
{
    if (kind == RMW_QOS_POLICY_LIVELINESS_MANUAL_BY_TOPIC)
        return 2;
    return (int)kind == LIVELINESS_MANUAL_BY_NODE ? 1 : 0;
}

bool zr_qos_manual_liveliness(const rmw_qos_profile_t *qos)
{
    return liveliness_rank(qos->liveliness) > 0;
}

size_t zr_qos_incompatibilities(const rmw_qos_profile_t *offered,
                                const rmw_qos_profile_t *requested,
                                rmw_qos_policy_kind_t kinds[ZR_QOS_POLICIES_CHECKED])
{
    size_t n = 0;
    if (offered->reliability == RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT &&
        requested->reliability == RMW_QOS_POLICY_RELIABILITY_RELIABLE)
        kinds[n++] = RMW_QOS_POLICY_RELIABILITY;
    if (offered->durability == RMW_QOS_POLICY_DURABILITY_VOLATILE &&
        requested->durability == RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL)
        kinds[n++] = RMW_QOS_POLICY_DURABILITY;
    if (compare_ns(offered->deadline) > compare_ns(requested->deadline))
        kinds[n++] = RMW_QOS_POLICY_DEADLINE;
    /* DDS has one liveliness policy (kind and lease): rmw_cyclonedds reports
     * either mismatch as RMW_QOS_POLICY_LIVELINESS. */
    if (liveliness_rank(offered->liveliness) < liveliness_rank(requested->liveliness) ||
        compare_ns(offered->liveliness_lease_duration) >
            compare_ns(requested->liveliness_lease_duration))
        kinds[n++] = RMW_QOS_POLICY_LIVELINESS;
    return n;
}
