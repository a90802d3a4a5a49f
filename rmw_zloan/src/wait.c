/* rmw_zloan — guard conditions, events, wait sets and rmw_wait.
 *
 * rmw_wait attaches what it is given to the wait set's zl_waitset, waits,
 * reports and detaches (attaching allocates nothing). What cannot be
 * attached is polled in slices of POLL_SLICE_NS: a guard condition already
 * attached to a wait set another thread is waiting on (zloan lets a guard
 * belong to one wait set at a time; its flag is taken here instead), entries
 * beyond ZL_WAITSET_CAPACITY_MAX (reported ready at the end of a slice, a
 * spurious wake-up rmw allows), and events, which are worked out from
 * zloan's counters and registries (match.c); a slice ends early when an
 * event's deadline or lease passes. */
#include "rmw_zloan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rmw/allocators.h>
#include <rmw/events_statuses/events_statuses.h>

#define POLL_SLICE_NS 10000000LL

/* ---- guard conditions ---------------------------------------------------- */

rmw_guard_condition_t *rmw_create_guard_condition(rmw_context_t *context)
{
    ZR_CHECK_ARG_NULL(context);
    ZR_CHECK_ID_NULL(context);
    if (context->impl == NULL) {
        RMW_SET_ERROR_MSG("context is zero-initialized");
        return NULL;
    }
    rmw_guard_condition_t *gc = rmw_guard_condition_allocate();
    if (gc == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the guard condition");
        return NULL;
    }
    zl_guard_condition *g;
    int rc = zl_guard_condition_create(context->impl->zl, &g);
    if (rc != 0) {
        zr_fail_zl(rc, "zl_guard_condition_create");
        rmw_guard_condition_free(gc);
        return NULL;
    }
    gc->implementation_identifier = zr_identifier;
    gc->data = g;
    gc->context = context;
    return gc;
}

rmw_ret_t rmw_destroy_guard_condition(rmw_guard_condition_t *guard_condition)
{
    ZR_CHECK_ARG(guard_condition);
    ZR_CHECK_ID(guard_condition);
    int rc = zl_guard_condition_destroy(guard_condition->data);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_guard_condition_destroy");
    rmw_guard_condition_free(guard_condition);
    return RMW_RET_OK;
}

rmw_ret_t rmw_trigger_guard_condition(const rmw_guard_condition_t *guard_condition)
{
    ZR_CHECK_ARG(guard_condition);
    ZR_CHECK_ID(guard_condition);
    int rc = zl_guard_condition_trigger(guard_condition->data);
    return rc == 0 ? RMW_RET_OK : zr_fail_zl(rc, "zl_guard_condition_trigger");
}

/* ---- events ------------------------------------------------------------- */

/* An rmw event of rmw_zloan holds its endpoint in data (rmw_event_fini,
 * which librmw implements, only zeroes the handle: nothing is allocated).
 * Every event rmw 6.4 defines for an endpoint is supported: message lost
 * from zloan's counters, the others from the endpoint's match (match.c). */
static rmw_ret_t event_init(rmw_event_t *rmw_event, void *endpoint, rmw_event_type_t type,
                            bool supported)
{
    ZR_CHECK_ARG(rmw_event);
    if (rmw_event->implementation_identifier != NULL) {
        RMW_SET_ERROR_MSG("rmw_event is not zero-initialized");
        return RMW_RET_INVALID_ARGUMENT;
    }
    if (!supported) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
            "event type %d is not an event of this kind of endpoint", (int)type);
        return RMW_RET_UNSUPPORTED;
    }
    rmw_event->implementation_identifier = zr_identifier;
    rmw_event->data = endpoint;
    rmw_event->event_type = type;
    return RMW_RET_OK;
}

static bool publisher_event(rmw_event_type_t type)
{
    return type == RMW_EVENT_OFFERED_QOS_INCOMPATIBLE ||
           type == RMW_EVENT_OFFERED_DEADLINE_MISSED || type == RMW_EVENT_LIVELINESS_LOST;
}

static bool subscription_event(rmw_event_type_t type)
{
    return type == RMW_EVENT_MESSAGE_LOST || type == RMW_EVENT_REQUESTED_QOS_INCOMPATIBLE ||
           type == RMW_EVENT_REQUESTED_DEADLINE_MISSED || type == RMW_EVENT_LIVELINESS_CHANGED;
}

rmw_ret_t rmw_publisher_event_init(rmw_event_t *rmw_event, const rmw_publisher_t *publisher,
                                   rmw_event_type_t event_type)
{
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    return event_init(rmw_event, publisher->data, event_type, publisher_event(event_type));
}

rmw_ret_t rmw_subscription_event_init(rmw_event_t *rmw_event,
                                      const rmw_subscription_t *subscription,
                                      rmw_event_type_t event_type)
{
    ZR_CHECK_ARG(subscription);
    ZR_CHECK_ID(subscription);
    return event_init(rmw_event, subscription->data, event_type, subscription_event(event_type));
}

/* The match of an event's endpoint. */
static zr_match *event_match(const rmw_event_t *event)
{
    if (publisher_event(event->event_type))
        return &((zr_publisher *)event->data)->match;
    return &((zr_subscription *)event->data)->match;
}

static uint64_t lost_now(zr_subscription *s)
{
    zl_subscription_stats st;
    if (zl_subscription_get_stats(s->zl, &st) != 0)
        return s->lost_reported;
    return st.lost;
}

bool zr_event_ready(const rmw_event_t *event)
{
    if (event->event_type != RMW_EVENT_MESSAGE_LOST)
        return zr_match_event_ready(event_match(event), event->event_type);
    zr_subscription *s = event->data;
    return lost_now(s) > s->lost_reported;
}

/* Nanoseconds until an event may become ready by the clock (a deadline
 * or a lease), -1: none. */
static int64_t event_due_ns(const rmw_event_t *event)
{
    if (event->event_type == RMW_EVENT_MESSAGE_LOST)
        return -1;
    return zr_match_event_due_ns(event_match(event), event->event_type);
}

rmw_ret_t rmw_take_event(const rmw_event_t *event_handle, void *event_info, bool *taken)
{
    ZR_CHECK_ARG(event_handle);
    ZR_CHECK_ID(event_handle);
    ZR_CHECK_ARG(event_info);
    ZR_CHECK_ARG(taken);
    if (event_handle->event_type != RMW_EVENT_MESSAGE_LOST) {
        /* A status is always there to take, as with DDS (counts may be 0). */
        zr_match_take_event(event_match(event_handle), event_handle->event_type, event_info);
        *taken = true;
        return RMW_RET_OK;
    }
    zr_subscription *s = event_handle->data;
    uint64_t lost = lost_now(s);
    rmw_message_lost_status_t *st = event_info;
    st->total_count = lost;
    st->total_count_change = lost - s->lost_reported;
    s->lost_reported = lost;
    *taken = true;
    return RMW_RET_OK;
}

rmw_ret_t rmw_event_set_callback(rmw_event_t *event, rmw_event_callback_t callback,
                                 const void *user_data)
{
    (void)callback;
    (void)user_data;
    ZR_CHECK_ARG(event);
    ZR_CHECK_ID(event);
    RMW_SET_ERROR_MSG("rmw_event_set_callback is not supported by rmw_zloan (use rmw_wait)");
    return RMW_RET_UNSUPPORTED;
}

/* ---- wait sets ------------------------------------------------------------ */

typedef struct zr_wait_set {
    zl_waitset *zl;
    size_t *attached; /* zloan index per attached entry, in rmw order */
    size_t attached_cap;
} zr_wait_set;

rmw_wait_set_t *rmw_create_wait_set(rmw_context_t *context, size_t max_conditions)
{
    (void)max_conditions; /* zloan's wait set holds ZL_WAITSET_CAPACITY_MAX; the rest is polled */
    ZR_CHECK_ARG_NULL(context);
    ZR_CHECK_ID_NULL(context);
    if (context->impl == NULL) {
        RMW_SET_ERROR_MSG("context is zero-initialized");
        return NULL;
    }
    rmw_wait_set_t *ws = rmw_wait_set_allocate();
    zr_wait_set *w = calloc(1, sizeof *w);
    if (ws == NULL || w == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the wait set");
        goto fail;
    }
    int rc = zl_waitset_create(context->impl->zl, ZL_WAITSET_CAPACITY_MAX, &w->zl);
    if (rc != 0) {
        zr_fail_zl(rc, "zl_waitset_create");
        goto fail;
    }
    ws->implementation_identifier = zr_identifier;
    ws->data = w;
    ws->guard_conditions = NULL;
    return ws;
fail:
    free(w);
    if (ws != NULL)
        rmw_wait_set_free(ws);
    return NULL;
}

rmw_ret_t rmw_destroy_wait_set(rmw_wait_set_t *wait_set)
{
    ZR_CHECK_ARG(wait_set);
    ZR_CHECK_ID(wait_set);
    zr_wait_set *w = wait_set->data;
    int rc = zl_waitset_destroy(w->zl);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_waitset_destroy");
    free(w->attached);
    free(w);
    rmw_wait_set_free(wait_set);
    return RMW_RET_OK;
}

/* One rmw entry of a wait: where it sits in the rmw arrays and how it is
 * watched. */
enum { WATCH_ATTACHED, WATCH_GUARD_POLLED, WATCH_OVERFLOW };
typedef struct wait_entry {
    void **slot;   /* the rmw array element, set to NULL when not ready */
    int watch;
    size_t index;  /* zloan's index when attached */
    zl_guard_condition *guard; /* guards */
    bool ready;
} wait_entry;

typedef struct wait_state {
    wait_entry *entries;
    size_t count;
    size_t attached;
    bool polled; /* something is polled: wait in slices */
} wait_state;

static void add_entry(wait_state *st, zr_wait_set *w, void **slot, int kind, void *object)
{
    wait_entry *e = &st->entries[st->count++];
    e->slot = slot;
    e->ready = false;
    e->guard = kind == 1 ? object : NULL;
    int rc;
    if (st->attached >= ZL_WAITSET_CAPACITY_MAX) {
        rc = ZL_ELIMIT;
    } else if (kind == 1) {
        rc = zl_waitset_attach_guard_condition(w->zl, object, &e->index);
    } else {
        rc = zl_waitset_attach_subscription(w->zl, object, &e->index);
    }
    if (rc == 0) {
        e->watch = WATCH_ATTACHED;
        st->attached++;
    } else {
        e->watch = kind == 1 ? WATCH_GUARD_POLLED : WATCH_OVERFLOW;
        st->polled = true;
    }
}

/* Polled entries and events: true when one is ready now. */
static bool poll_ready(wait_state *st, const rmw_events_t *events, bool slice_over)
{
    bool any = false;
    for (size_t i = 0; i < st->count; i++) {
        wait_entry *e = &st->entries[i];
        if (e->watch == WATCH_GUARD_POLLED && !e->ready)
            e->ready = zl_guard_condition_take(e->guard);
        else if (e->watch == WATCH_OVERFLOW && slice_over)
            e->ready = true;
        any = any || (e->watch != WATCH_ATTACHED && e->ready);
    }
    if (events != NULL) {
        for (size_t i = 0; i < events->event_count; i++) {
            rmw_event_t *ev = events->events[i];
            if (ev != NULL && zr_event_ready(ev))
                any = true;
        }
    }
    return any;
}

/* The soonest an event may become ready by the clock alone, -1: none. */
static int64_t events_due_ns(const rmw_events_t *events)
{
    int64_t due = -1;
    for (size_t i = 0; events != NULL && i < events->event_count; i++) {
        rmw_event_t *ev = events->events[i];
        int64_t d = ev != NULL ? event_due_ns(ev) : -1;
        if (d >= 0 && (due < 0 || d < due))
            due = d;
    }
    return due;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};
    nanosleep(&ts, NULL);
}

static rmw_ret_t wait_loop(zr_wait_set *w, wait_state *st, const rmw_events_t *events,
                           int64_t timeout_ns)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool has_events = events != NULL && events->event_count > 0;
    bool sliced = st->polled || has_events;
    for (;;) {
        if (poll_ready(st, events, false))
            timeout_ns = 0;
        int64_t slice = timeout_ns;
        if (sliced && (slice < 0 || slice > POLL_SLICE_NS))
            slice = POLL_SLICE_NS;
        int64_t due = events_due_ns(events);
        if (due >= 0 && (slice < 0 || due < slice))
            slice = due; /* wake when a deadline or lease passes */
        bool any = false;
        if (st->attached > 0) {
            size_t ready = 0;
            int rc = zl_waitset_wait(w->zl, slice, &ready);
            if (rc != 0 && rc != ZL_ETIMEOUT)
                return zr_fail_zl(rc, "zl_waitset_wait");
            for (size_t i = 0; i < st->count; i++) {
                wait_entry *e = &st->entries[i];
                if (e->watch == WATCH_ATTACHED && zl_waitset_ready(w->zl, e->index) && rc == 0)
                    e->ready = true;
                any = any || e->ready;
            }
        } else if (slice > 0) {
            sleep_ns(slice);
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t elapsed = (int64_t)(now.tv_sec - start.tv_sec) * 1000000000LL +
                          (now.tv_nsec - start.tv_nsec);
        bool over = timeout_ns >= 0 && elapsed >= timeout_ns;
        if (poll_ready(st, events, sliced))
            any = true;
        for (size_t i = 0; i < st->count && !any; i++)
            any = st->entries[i].ready;
        if (any)
            return RMW_RET_OK;
        if (over)
            return RMW_RET_TIMEOUT;
    }
}

rmw_ret_t rmw_wait(rmw_subscriptions_t *subscriptions, rmw_guard_conditions_t *guard_conditions,
                   rmw_services_t *services, rmw_clients_t *clients, rmw_events_t *events,
                   rmw_wait_set_t *wait_set, const rmw_time_t *wait_timeout)
{
    ZR_CHECK_ARG(wait_set);
    ZR_CHECK_ID(wait_set);
    zr_wait_set *w = wait_set->data;
    size_t n = (subscriptions ? subscriptions->subscriber_count : 0) +
               (guard_conditions ? guard_conditions->guard_condition_count : 0) +
               (services ? services->service_count : 0) + (clients ? clients->client_count : 0);
    wait_state st = {NULL, 0, 0, false};
    if (n > 0) {
        st.entries = calloc(n, sizeof *st.entries);
        if (st.entries == NULL) {
            RMW_SET_ERROR_MSG("out of memory for the wait");
            return RMW_RET_BAD_ALLOC;
        }
    }
    for (size_t i = 0; subscriptions && i < subscriptions->subscriber_count; i++)
        if (subscriptions->subscribers[i] != NULL)
            add_entry(&st, w, &subscriptions->subscribers[i], 0,
                      ((zr_subscription *)subscriptions->subscribers[i])->zl);
    for (size_t i = 0; guard_conditions && i < guard_conditions->guard_condition_count; i++)
        if (guard_conditions->guard_conditions[i] != NULL)
            add_entry(&st, w, &guard_conditions->guard_conditions[i], 1,
                      guard_conditions->guard_conditions[i]);
    for (size_t i = 0; services && i < services->service_count; i++)
        if (services->services[i] != NULL)
            add_entry(&st, w, &services->services[i], 0,
                      ((zr_service_endpoint *)services->services[i])->sub);
    for (size_t i = 0; clients && i < clients->client_count; i++)
        if (clients->clients[i] != NULL)
            add_entry(&st, w, &clients->clients[i], 0,
                      ((zr_service_endpoint *)clients->clients[i])->sub);

    int64_t timeout_ns = wait_timeout == NULL ? -1 : zr_duration_ns(*wait_timeout);
    rmw_ret_t ret = wait_loop(w, &st, events, timeout_ns);

    for (size_t i = 0; i < st.count; i++) {
        wait_entry *e = &st.entries[i];
        if (e->watch == WATCH_ATTACHED)
            zl_waitset_detach(w->zl, e->index);
        if (!e->ready)
            *e->slot = NULL;
    }
    for (size_t i = 0; events && i < events->event_count; i++) {
        rmw_event_t *ev = events->events[i];
        if (ev != NULL && !zr_event_ready(ev))
            events->events[i] = NULL;
    }
    free(st.entries);
    return ret;
}
