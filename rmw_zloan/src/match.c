/* rmw_zloan — matching by QoS, and the QoS events (deadlines, liveliness,
 * incompatible QoS).
 *
 * zloan connects every publisher of a topic to every subscription. DDS
 * matches only the pairs whose offered QoS satisfies the requested one, so
 * each endpoint keeps a table of its peers (the endpoints of the other kind
 * on its topic), read from the topic's registry through a zloan topic view
 * and judged by their QoS records (qos.c): an incompatible peer is not
 * counted as matched, raises the *_QOS_INCOMPATIBLE event once, and a
 * subscription drops its messages at take (subscription.c).
 *
 * Nothing runs in the background: the table is read again when something
 * asks (a count, a take from a publisher not yet known, an event polled by
 * rmw_wait, at most every REFRESH_NS), and what the clock decides (a
 * deadline, a lease) is worked out from timestamps at that moment:
 *   - a publisher's deadline runs from its last publish, its lease from its
 *     last publish or rmw_publisher_assert_liveliness (or its creation);
 *   - a subscription's deadline runs from the newest message of a matched
 *     publisher (the registry's last message time of each, if after the
 *     subscription's creation); a matched publisher is alive while its
 *     process lives and, with a manual liveliness and a finite lease, its
 *     last publish or assertion (its record's stamp) is within the lease.
 * Timestamps are CLOCK_REALTIME, as zloan's source timestamps. */
#include "rmw_zloan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rmw/events_statuses/events_statuses.h>

#define REFRESH_NS 20000000LL /* the registry is read at most this often for events */
/* A peer without a record this long after it was first seen is matched as
 * compatible: a zloan endpoint not made by rmw_zloan has none. Before that
 * it is not matched yet (its record follows its creation by microseconds);
 * its record is still looked for at each reading. */
#define DISCOVERY_NS 1000000000LL

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A lease or deadline in ns; 0 when there is none (infinite or unspecified). */
static int64_t finite_ns(rmw_time_t t)
{
    int64_t ns = zr_duration_ns(t);
    return ns > 0 ? ns : 0;
}

/* The lease within which a manual liveliness must be asserted, 0: none
 * (automatic, or an infinite lease). */
static int64_t lease_ns(const rmw_qos_profile_t *q)
{
    return zr_qos_manual_liveliness(q) ? finite_ns(q->liveliness_lease_duration) : 0;
}

rmw_ret_t zr_match_init(zr_match *m, uint32_t domain_id, const char *topic, bool publisher,
                        const rmw_qos_profile_t *qos)
{
    memset(m, 0, sizeof *m);
    m->info = malloc(sizeof *m->info);
    m->scratch = malloc(sizeof *m->scratch);
    if (m->info == NULL || m->scratch == NULL) {
        free(m->info);
        free(m->scratch);
        RMW_SET_ERROR_MSG("out of memory for the endpoint's peers");
        return RMW_RET_BAD_ALLOC;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->domain_id = domain_id;
    snprintf(m->topic, sizeof m->topic, "%s", topic);
    m->publisher = publisher;
    m->qos = *qos;
    m->created_ns = zr_now_ns();
    m->asserted_ns = m->created_ns;
    return RMW_RET_OK;
}

void zr_match_fini(zr_match *m)
{
    zl_topic_view_close(m->view);
    free(m->info);
    free(m->scratch);
    free(m->peers);
    pthread_mutex_destroy(&m->lock);
}

static zr_peer *find(zr_match *m, uint64_t id)
{
    for (size_t i = 0; i < m->peer_count; i++)
        if (m->peers[i].id == id)
            return &m->peers[i];
    return NULL;
}

static zr_peer *find_or_add(zr_match *m, uint64_t id, int64_t now)
{
    zr_peer *p = find(m, id);
    if (p != NULL)
        return p;
    if (m->peer_count == m->peer_cap) {
        size_t cap = m->peer_cap == 0 ? 8 : 2 * m->peer_cap;
        zr_peer *peers = realloc(m->peers, cap * sizeof *peers);
        if (peers == NULL)
            return NULL;
        m->peers = peers;
        m->peer_cap = cap;
    }
    p = &m->peers[m->peer_count++];
    memset(p, 0, sizeof *p);
    p->id = id;
    p->first_seen_ns = now;
    p->compatible = true;
    return p;
}

/* Whether DDS would have matched the peer by now. */
static bool matched(const zr_peer *p, int64_t now)
{
    return p->compatible && (p->known || now - p->first_seen_ns >= DISCOVERY_NS);
}

/* The peer leaves the liveliness counts. */
static void uncount(zr_match *m, zr_peer *p)
{
    if (p->counted)
        *(p->counted_alive ? &m->alive : &m->not_alive) -= 1;
    p->counted = false;
}

/* Reads the peer's record, once found: its QoS and whether it matches. A
 * record found after DISCOVERY_NS (its process was slow to make it) may
 * unmatch a peer matched meanwhile. */
static void learn(zr_match *m, zr_peer *p)
{
    rmw_qos_profile_t q;
    int64_t asserted;
    if (!zr_qos_record_read(m->domain_id, p->id, m->scratch, &q, &asserted))
        return;
    p->known = true;
    p->qos = q;
    p->asserted_ns = asserted;
    rmw_qos_policy_kind_t kinds[ZR_QOS_POLICIES_CHECKED];
    size_t n = m->publisher ? zr_qos_incompatibilities(&m->qos, &q, kinds)
                            : zr_qos_incompatibilities(&q, &m->qos, kinds);
    p->compatible = n == 0;
    if (n > 0) {
        m->incompatible++;
        m->last_policy = kinds[0];
        uncount(m, p);
    }
}

/* A matched publisher's liveliness as a subscription sees it. */
static bool publisher_alive(zr_match *m, zr_peer *p, const zl_endpoint_info *e, int64_t real)
{
    if (!e->alive)
        return false;
    int64_t lease = p->known ? lease_ns(&p->qos) : 0;
    if (lease == 0)
        return true;
    int64_t last = e->last_ns > p->asserted_ns ? e->last_ns : p->asserted_ns;
    if (real - last <= lease)
        return true;
    /* Not published within the lease: it may have asserted its liveliness
     * on its record instead. */
    rmw_qos_profile_t q;
    int64_t asserted;
    if (zr_qos_record_read(m->domain_id, p->id, m->scratch, &q, &asserted))
        p->asserted_ns = asserted;
    last = e->last_ns > p->asserted_ns ? e->last_ns : p->asserted_ns;
    return real - last <= lease;
}

static void count_liveliness(zr_match *m, zr_peer *p, bool alive)
{
    if (!p->counted) {
        p->counted = true;
        p->counted_alive = alive;
        *(alive ? &m->alive : &m->not_alive) += 1;
    } else if (p->counted_alive != alive) {
        p->counted_alive = alive;
        m->alive += alive ? 1 : -1;
        m->not_alive += alive ? -1 : 1;
    }
}

/* Peers gone from the registry leave the table (and the counts). */
static void prune(zr_match *m)
{
    for (size_t i = 0; i < m->peer_count;) {
        zr_peer *p = &m->peers[i];
        if (p->present) {
            i++;
            continue;
        }
        uncount(m, p);
        *p = m->peers[--m->peer_count];
    }
}

/* A new last message or publish at last_ns: the deadline restarts. */
static void restart_deadline(zr_match *m, int64_t last_ns)
{
    int64_t period = finite_ns(m->qos.deadline);
    m->last_ns = last_ns;
    m->deadline_ns = period > 0 ? last_ns + period : 0;
}

/* What the clock decides at real: deadlines missed, a lease lost. */
static void expire(zr_match *m, int64_t real)
{
    int64_t period = finite_ns(m->qos.deadline);
    if (period > 0 && m->deadline_ns != 0 && real > m->deadline_ns) {
        int64_t missed = (real - m->deadline_ns) / period + 1;
        m->deadline_missed += (uint64_t)missed;
        m->deadline_ns += missed * period;
    }
    int64_t lease = lease_ns(&m->qos);
    if (m->publisher && lease > 0 && !m->lost && real - m->asserted_ns > lease) {
        m->lost = true;
        m->lost_count++;
    }
}

/* Reads the topic's registry into the table (lock held): at most every
 * REFRESH_NS unless forced. */
static void refresh(zr_match *m, bool force)
{
    int64_t now = monotonic_ns();
    if (!force && m->refreshed_ns != 0 && now - m->refreshed_ns < REFRESH_NS)
        return;
    m->refreshed_ns = now;
    if (m->view == NULL && zl_topic_view_open(m->domain_id, m->topic, &m->view) != 0) {
        m->view = NULL;
        return;
    }
    if (zl_topic_view_read(m->view, m->info) != 0)
        return;
    int64_t real = zr_now_ns();
    zl_endpoint_kind kind = m->publisher ? ZL_ENDPOINT_SUBSCRIPTION : ZL_ENDPOINT_PUBLISHER;
    int64_t arrival = 0;
    for (size_t i = 0; i < m->peer_count; i++)
        m->peers[i].present = false;
    for (uint32_t k = 0; k < m->info->endpoint_count; k++) {
        const zl_endpoint_info *e = &m->info->endpoints[k];
        zr_peer *p = e->kind == kind ? find_or_add(m, e->id, now) : NULL;
        if (p == NULL)
            continue;
        p->present = true;
        p->process_alive = e->alive;
        if (!p->known)
            learn(m, p); /* a failed shm_open when it has none: cheap */
        if (m->publisher || !matched(p, now))
            continue;
        count_liveliness(m, p, publisher_alive(m, p, e, real));
        if (e->alive && e->last_ns >= m->created_ns && e->last_ns > arrival)
            arrival = e->last_ns;
    }
    prune(m);
    if (arrival > m->last_ns)
        restart_deadline(m, arrival);
}

size_t zr_match_count(zr_match *m)
{
    pthread_mutex_lock(&m->lock);
    refresh(m, true);
    int64_t now = monotonic_ns();
    size_t n = 0;
    for (size_t i = 0; i < m->peer_count; i++)
        if (m->peers[i].process_alive && matched(&m->peers[i], now))
            n++;
    pthread_mutex_unlock(&m->lock);
    return n;
}

bool zr_match_accepts(zr_match *m, uint64_t publisher_id, int64_t source_ns)
{
    pthread_mutex_lock(&m->lock);
    zr_peer *p = find(m, publisher_id);
    if (p == NULL) {
        refresh(m, true); /* a publisher new to us: read the registry now */
        p = find(m, publisher_id);
    } else if (!p->known) {
        /* It published, so its record exists (made before its creation
         * returned), unless it has none: look now while it is new, then
         * at the readings (which may move the table: find it again). */
        if (monotonic_ns() - p->first_seen_ns < DISCOVERY_NS) {
            learn(m, p);
        } else {
            refresh(m, false);
            p = find(m, publisher_id);
        }
    }
    bool ok = p == NULL || p->compatible; /* unknown (gone, or no record): as zloan delivers */
    if (ok && p != NULL && p->known) {
        int64_t lifespan = finite_ns(p->qos.lifespan);
        ok = lifespan == 0 || zr_now_ns() - source_ns <= lifespan;
    }
    pthread_mutex_unlock(&m->lock);
    return ok;
}

/* Whether publishes and assertions need their time taken: a deadline or a
 * manual liveliness with a lease. Other publishers skip the lock. */
static bool timed(const zr_match *m)
{
    return finite_ns(m->qos.deadline) > 0 || lease_ns(&m->qos) > 0;
}

void zr_match_published(zr_match *m)
{
    if (!timed(m))
        return;
    pthread_mutex_lock(&m->lock);
    int64_t real = zr_now_ns();
    expire(m, real); /* a deadline that passed before this publish counts */
    restart_deadline(m, real);
    m->asserted_ns = real;
    m->lost = false;
    pthread_mutex_unlock(&m->lock);
}

void zr_match_asserted(zr_match *m)
{
    if (!timed(m))
        return;
    pthread_mutex_lock(&m->lock);
    int64_t real = zr_now_ns();
    expire(m, real);
    m->asserted_ns = real;
    m->lost = false;
    pthread_mutex_unlock(&m->lock);
}

/* Brings the state up to now for an event of the type (lock held). */
static void update(zr_match *m, rmw_event_type_t type)
{
    if (type != RMW_EVENT_OFFERED_DEADLINE_MISSED && type != RMW_EVENT_LIVELINESS_LOST)
        refresh(m, false); /* the others depend on the peers */
    expire(m, zr_now_ns());
}

bool zr_match_event_ready(zr_match *m, rmw_event_type_t type)
{
    pthread_mutex_lock(&m->lock);
    update(m, type);
    bool ready;
    switch (type) {
    case RMW_EVENT_OFFERED_QOS_INCOMPATIBLE:
    case RMW_EVENT_REQUESTED_QOS_INCOMPATIBLE:
        ready = m->incompatible != m->incompatible_taken;
        break;
    case RMW_EVENT_OFFERED_DEADLINE_MISSED:
    case RMW_EVENT_REQUESTED_DEADLINE_MISSED:
        ready = m->deadline_missed != m->deadline_taken;
        break;
    case RMW_EVENT_LIVELINESS_CHANGED:
        ready = m->alive != m->alive_taken || m->not_alive != m->not_alive_taken;
        break;
    case RMW_EVENT_LIVELINESS_LOST:
        ready = m->lost_count != m->lost_taken;
        break;
    default:
        ready = false;
    }
    pthread_mutex_unlock(&m->lock);
    return ready;
}

/* A total and its change since the last take, as rmw's int32 fields. */
static void total(uint64_t count, uint64_t *taken, int32_t *total_count, int32_t *change)
{
    *total_count = (int32_t)count;
    *change = (int32_t)(count - *taken);
    *taken = count;
}

void zr_match_take_event(zr_match *m, rmw_event_type_t type, void *info)
{
    pthread_mutex_lock(&m->lock);
    update(m, type);
    switch (type) {
    case RMW_EVENT_OFFERED_QOS_INCOMPATIBLE:
    case RMW_EVENT_REQUESTED_QOS_INCOMPATIBLE: {
        rmw_qos_incompatible_event_status_t *st = info;
        total(m->incompatible, &m->incompatible_taken, &st->total_count, &st->total_count_change);
        st->last_policy_kind = m->incompatible > 0 ? m->last_policy : RMW_QOS_POLICY_INVALID;
        break;
    }
    case RMW_EVENT_OFFERED_DEADLINE_MISSED:
    case RMW_EVENT_REQUESTED_DEADLINE_MISSED: {
        rmw_offered_deadline_missed_status_t *st = info; /* the same two fields as requested's */
        total(m->deadline_missed, &m->deadline_taken, &st->total_count, &st->total_count_change);
        break;
    }
    case RMW_EVENT_LIVELINESS_CHANGED: {
        rmw_liveliness_changed_status_t *st = info;
        st->alive_count = m->alive;
        st->not_alive_count = m->not_alive;
        st->alive_count_change = m->alive - m->alive_taken;
        st->not_alive_count_change = m->not_alive - m->not_alive_taken;
        m->alive_taken = m->alive;
        m->not_alive_taken = m->not_alive;
        break;
    }
    case RMW_EVENT_LIVELINESS_LOST: {
        rmw_liveliness_lost_status_t *st = info;
        total(m->lost_count, &m->lost_taken, &st->total_count, &st->total_count_change);
        break;
    }
    default:
        break;
    }
    pthread_mutex_unlock(&m->lock);
}

int64_t zr_match_event_due_ns(zr_match *m, rmw_event_type_t type)
{
    pthread_mutex_lock(&m->lock);
    int64_t due = -1;
    int64_t lease = lease_ns(&m->qos);
    bool deadline = type == RMW_EVENT_OFFERED_DEADLINE_MISSED ||
                    type == RMW_EVENT_REQUESTED_DEADLINE_MISSED;
    if (deadline && m->deadline_ns != 0)
        due = m->deadline_ns;
    else if (type == RMW_EVENT_LIVELINESS_LOST && lease > 0 && !m->lost)
        due = m->asserted_ns + lease;
    pthread_mutex_unlock(&m->lock);
    if (due < 0)
        return -1;
    int64_t left = due - zr_now_ns();
    return left > 0 ? left : 0;
}
