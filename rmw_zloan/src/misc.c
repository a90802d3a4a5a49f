/* rmw_zloan — QoS compatibility, and what zloan has no counterpart for:
 * content filters, network flow endpoints (there is no network) and
 * listener callbacks (rmw_wait is how rmw_zloan wakes a program). */
#include "rmw_zloan.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rmw/get_network_flow_endpoints.h>
#include <rmw/qos_profiles.h>

__attribute__((format(printf, 3, 4)))
static void append(char *reason, size_t reason_size, const char *fmt, ...)
{
    if (reason == NULL || reason_size == 0)
        return;
    size_t len = strnlen(reason, reason_size);
    if (len + 1 >= reason_size)
        return;
    if (len > 0)
        len += (size_t)snprintf(reason + len, reason_size - len, ";");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason + len, reason_size - len, fmt, ap);
    va_end(ap);
}

/* DDS's request-versus-offered rule, as rmw_zloan matches endpoints by it
 * (qos.c, match.c): each policy in which the publisher does not satisfy
 * the subscription is an error; a system default or unknown reliability
 * or durability, which cannot be judged, a warning. */
rmw_ret_t rmw_qos_profile_check_compatible(const rmw_qos_profile_t publisher_profile,
                                           const rmw_qos_profile_t subscription_profile,
                                           rmw_qos_compatibility_type_t *compatibility,
                                           char *reason, size_t reason_size)
{
    ZR_CHECK_ARG(compatibility);
    if (reason == NULL && reason_size != 0) {
        RMW_SET_ERROR_MSG("reason is NULL but reason_size is not 0");
        return RMW_RET_INVALID_ARGUMENT;
    }
    if (reason != NULL && reason_size > 0)
        reason[0] = '\0';
    *compatibility = RMW_QOS_COMPATIBILITY_OK;
    const rmw_qos_profile_t *p = &publisher_profile, *s = &subscription_profile;
    rmw_qos_policy_kind_t kinds[ZR_QOS_POLICIES_CHECKED];
    size_t n = zr_qos_incompatibilities(p, s, kinds);
    for (size_t i = 0; i < n; i++) {
        static const char *const why[] = {
            [RMW_QOS_POLICY_RELIABILITY] = "Best effort publisher and reliable subscription",
            [RMW_QOS_POLICY_DURABILITY] = "Volatile publisher and transient local subscription",
            [RMW_QOS_POLICY_DEADLINE] = "Subscription has a deadline shorter than the publisher's",
            [RMW_QOS_POLICY_LIVELINESS] = "Publisher's liveliness kind is weaker or its lease "
                                          "longer than the subscription's",
        };
        *compatibility = RMW_QOS_COMPATIBILITY_ERROR;
        append(reason, reason_size, "ERROR: %s", why[kinds[i]]);
    }
    if (*compatibility == RMW_QOS_COMPATIBILITY_OK) {
        bool unknown_p = p->reliability == RMW_QOS_POLICY_RELIABILITY_SYSTEM_DEFAULT ||
                         p->reliability == RMW_QOS_POLICY_RELIABILITY_UNKNOWN ||
                         p->durability == RMW_QOS_POLICY_DURABILITY_SYSTEM_DEFAULT ||
                         p->durability == RMW_QOS_POLICY_DURABILITY_UNKNOWN;
        bool unknown_s = s->reliability == RMW_QOS_POLICY_RELIABILITY_SYSTEM_DEFAULT ||
                         s->reliability == RMW_QOS_POLICY_RELIABILITY_UNKNOWN ||
                         s->durability == RMW_QOS_POLICY_DURABILITY_SYSTEM_DEFAULT ||
                         s->durability == RMW_QOS_POLICY_DURABILITY_UNKNOWN;
        if (unknown_p || unknown_s) {
            *compatibility = RMW_QOS_COMPATIBILITY_WARNING;
            append(reason, reason_size,
                   "WARNING: %s reliability or durability is system default or unknown",
                   unknown_p ? "publisher" : "subscription");
        }
    }
    return RMW_RET_OK;
}

rmw_ret_t rmw_subscription_set_content_filter(rmw_subscription_t *subscription,
                                              const rmw_subscription_content_filter_options_t *options)
{
    (void)options;
    ZR_CHECK_ARG(subscription);
    ZR_CHECK_ID(subscription);
    RMW_SET_ERROR_MSG("content filtered topics are not supported by rmw_zloan");
    return RMW_RET_UNSUPPORTED;
}

rmw_ret_t rmw_subscription_get_content_filter(const rmw_subscription_t *subscription,
                                              rcutils_allocator_t *allocator,
                                              rmw_subscription_content_filter_options_t *options)
{
    (void)allocator;
    (void)options;
    ZR_CHECK_ARG(subscription);
    ZR_CHECK_ID(subscription);
    RMW_SET_ERROR_MSG("content filtered topics are not supported by rmw_zloan");
    return RMW_RET_UNSUPPORTED;
}

rmw_ret_t rmw_subscription_set_on_new_message_callback(rmw_subscription_t *subscription,
                                                       rmw_event_callback_t callback,
                                                       const void *user_data)
{
    (void)callback;
    (void)user_data;
    ZR_CHECK_ARG(subscription);
    ZR_CHECK_ID(subscription);
    RMW_SET_ERROR_MSG("rmw_subscription_set_on_new_message_callback is not supported by "
                      "rmw_zloan (use rmw_wait)");
    return RMW_RET_UNSUPPORTED;
}

rmw_ret_t rmw_publisher_get_network_flow_endpoints(
    const rmw_publisher_t *publisher, rcutils_allocator_t *allocator,
    rmw_network_flow_endpoint_array_t *network_flow_endpoint_array)
{
    (void)allocator;
    (void)network_flow_endpoint_array;
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    RMW_SET_ERROR_MSG("rmw_zloan has no network flows: its messages stay in shared memory");
    return RMW_RET_UNSUPPORTED;
}

rmw_ret_t rmw_subscription_get_network_flow_endpoints(
    const rmw_subscription_t *subscription, rcutils_allocator_t *allocator,
    rmw_network_flow_endpoint_array_t *network_flow_endpoint_array)
{
    (void)allocator;
    (void)network_flow_endpoint_array;
    ZR_CHECK_ARG(subscription);
    ZR_CHECK_ID(subscription);
    RMW_SET_ERROR_MSG("rmw_zloan has no network flows: its messages stay in shared memory");
    return RMW_RET_UNSUPPORTED;
}
