/* Wait sets.
 *
 * A wait arms every entry, checks readiness, and sleeps in one futex_waitv
 * call on all the words at once:
 *   subscription: read its words (the queue's wake word and the registry's
 *                 generation), then raise its queue's sleepers counter;
 *   guard condition: read its word;
 *   timer:        nothing to arm; its deadline bounds the sleep;
 *   publisher:    (writable: a publish would not wait for a lossless
 *                 subscription) its connections are brought up to date,
 *                 then the same as a subscription, with the words of the
 *                 lossless connection that has no room (publisher/lossless.c P6),
 *                 whose subscription wakes it when it takes or returns.
 *   user memory:  (a message published from it completed) its publisher's
 *                 returns are taken back and completions noted, then the
 *                 same as a publisher, with the completion pair beside the
 *                 publisher's registry slot (publisher/user_memory.c M1), which a
 *                 subscription that returns a chunk of user memory wakes.
 *                 Armed before publishers: bringing a publisher's
 *                 connections up to date may unmap a connection, so the
 *                 words of a publisher entry are chosen last.
 *   subscription that needs a loan (the executor's loan delivery) while the
 *                 user holds every loan: not its queue but its loan count,
 *                 with a waiter bit set in the count by compare-and-swap; a
 *                 return's decrement either comes first (the futex sees
 *                 another value and does not sleep) or sees the bit and
 *                 wakes (one word, so no fence is needed).
 * Then a seq_cst fence, then the readiness checks. A publisher stores its
 * delivery, fences, and wakes only when it sees a sleeper (notify.h): either
 * the check here sees the delivery, or the publisher sees the raised counter
 * and changes the word, so the futex call returns at once or is woken. No
 * wake-up is lost; spurious ones are (a word changed for another reason, a
 * message was reclaimed by keep-last before the take), and the caller takes
 * until ZL_ENODATA.
 *
 * Wake sources. A transport wakes through futex words or through a file
 * descriptor (mw.h, zl__mw_capabilities.wake: the loopback transport's
 * eventfd). The fd sources get the same protocol (sleepers raised, fence,
 * checks), then:
 *   only futex words (guard conditions count): one futex_waitv, as above;
 *   only fds (and timers): one ppoll until the first deadline, then each
 *                 readable fd is read once to consume its wake-ups;
 *   both:         ppoll on the fds for at most a slice (WAIT_SLICE_NS), then
 *                 the loop re-checks every entry, futex words included. A
 *                 futex-word wake-up is seen within a slice: a latency bound
 *                 bought without a helper thread or an fd per futex word
 *                 (docs/design.md, the seam).
 * The steady state of a wait set of shm entries is unchanged: no fd, no
 * ppoll.
 *
 * Waiting allocates nothing: the futex_waitv and pollfd arrays are sized at
 * creation.
 */
#include <poll.h>
#include <string.h>

#include "zloan/error.h"
#include "zloan/waitset.h"

#include "clock.h"
#include "context.h"
#include "error_detail.h"
#include "futex.h"
#include "publisher.h"
#include "subscription.h"
#include "user_memory.h"
#include "waitset.h"

enum {
    ENTRY_FREE = 0,
    ENTRY_SUBSCRIPTION,
    ENTRY_GUARD,
    ENTRY_TIMER,
    ENTRY_PUBLISHER,
    ENTRY_USER_MEMORY
};

typedef struct entry {
    int kind;
    bool ready;
    /* Subscriptions delivered as loans (the executor's): ready only with a
     * loan free; starved while every loan is held, when the wait sleeps on
     * the loan count (loan_word == loan_expected) instead of the queue. */
    bool needs_loan;
    bool starved;
    zl__atomic_u32 *loan_word;
    uint32_t loan_expected;
    union {
        zl_subscription *subscription;
        zl_guard_condition *guard;
        zl_timer *timer;
        zl_publisher *publisher;
        zl_user_memory *memory;
    } u;
    zl__mw_waitable waitable;
} entry;

struct zl_waitset {
    zl_context *context;
    size_t capacity;
    entry *entries;
    zl__futex_waiter *waiters; /* 2 per entry */
    struct pollfd *polls;      /* 1 per entry */
};

/* How long a wait that mixes fd and futex-word sources sleeps in ppoll
 * before it looks at the futex words again. */
#define WAIT_SLICE_NS 1000000

int zl_waitset_create(zl_context *context, size_t capacity, zl_waitset **waitset)
{
    zl__clear_detail();
    if (context == NULL || waitset == NULL || capacity == 0 || capacity > ZL_WAITSET_CAPACITY_MAX)
        return zl__fail(ZL_EINVAL, "context and waitset must not be NULL, capacity 1..%d",
                        ZL_WAITSET_CAPACITY_MAX);
    zl_waitset *w = zl__context_allocate(context, sizeof *w, _Alignof(zl_waitset));
    if (w == NULL)
        return zl__fail(ZL_ENOMEM, "allocating a wait set failed");
    memset(w, 0, sizeof *w);
    w->context = context;
    w->capacity = capacity;
    w->entries = zl__context_allocate(context, sizeof(entry) * capacity, _Alignof(entry));
    w->waiters = zl__context_allocate(context, sizeof(zl__futex_waiter) * 2 * capacity,
                                      _Alignof(zl__futex_waiter));
    w->polls = zl__context_allocate(context, sizeof(struct pollfd) * capacity,
                                    _Alignof(struct pollfd));
    if (w->entries == NULL || w->waiters == NULL || w->polls == NULL) {
        zl__context_deallocate(context, w->entries, sizeof(entry) * capacity, _Alignof(entry));
        zl__context_deallocate(context, w->waiters, sizeof(zl__futex_waiter) * 2 * capacity,
                               _Alignof(zl__futex_waiter));
        zl__context_deallocate(context, w->polls, sizeof(struct pollfd) * capacity,
                               _Alignof(struct pollfd));
        zl__context_deallocate(context, w, sizeof *w, _Alignof(zl_waitset));
        return zl__fail(ZL_ENOMEM, "allocating a wait set failed");
    }
    memset(w->entries, 0, sizeof(entry) * capacity);
    zl__context_hold(context, ZL__CONTEXT_WAITSET);
    *waitset = w;
    return 0;
}

int zl_waitset_detach(zl_waitset *waitset, size_t index)
{
    zl__clear_detail();
    if (waitset == NULL || index >= waitset->capacity ||
        waitset->entries[index].kind == ENTRY_FREE)
        return zl__fail(ZL_EINVAL, "no entry %zu in the wait set", index);
    entry *e = &waitset->entries[index];
    if (e->kind == ENTRY_SUBSCRIPTION)
        zl__subscription_attached(e->u.subscription, false);
    else if (e->kind == ENTRY_PUBLISHER)
        zl__publisher_attached(e->u.publisher, false);
    else if (e->kind == ENTRY_USER_MEMORY)
        zl__user_memory_attached(e->u.memory, false);
    else if (e->kind == ENTRY_GUARD)
        e->u.guard->attached = false;
    else if (e->kind == ENTRY_TIMER)
        e->u.timer->attached = false;
    memset(e, 0, sizeof *e);
    return 0;
}

int zl_waitset_destroy(zl_waitset *waitset)
{
    zl__clear_detail();
    if (waitset == NULL)
        return zl__fail(ZL_EINVAL, "waitset is NULL");
    for (size_t i = 0; i < waitset->capacity; i++)
        if (waitset->entries[i].kind != ENTRY_FREE)
            zl_waitset_detach(waitset, i);
    zl_context *context = waitset->context;
    zl__context_deallocate(context, waitset->entries, sizeof(entry) * waitset->capacity,
                           _Alignof(entry));
    zl__context_deallocate(context, waitset->waiters,
                           sizeof(zl__futex_waiter) * 2 * waitset->capacity,
                           _Alignof(zl__futex_waiter));
    zl__context_deallocate(context, waitset->polls, sizeof(struct pollfd) * waitset->capacity,
                           _Alignof(struct pollfd));
    zl__context_deallocate(context, waitset, sizeof *waitset, _Alignof(zl_waitset));
    zl__context_release(context, ZL__CONTEXT_WAITSET);
    return 0;
}

static int attach(zl_waitset *waitset, int kind, void *object, size_t *index)
{
    zl__clear_detail();
    if (waitset == NULL || object == NULL)
        return zl__fail(ZL_EINVAL, "waitset and the entry must not be NULL");
    size_t i = 0;
    while (i < waitset->capacity && waitset->entries[i].kind != ENTRY_FREE)
        i++;
    if (i == waitset->capacity)
        return zl__fail(ZL_ELIMIT, "the wait set's %zu entries are in use", waitset->capacity);
    entry *e = &waitset->entries[i];
    switch (kind) {
    case ENTRY_SUBSCRIPTION:
        e->u.subscription = object;
        e->waitable.fd = -1; /* a futex-source transport leaves it so */
        zl__subscription_waitable(object, &e->waitable);
        zl__subscription_attached(object, true);
        break;
    case ENTRY_PUBLISHER:
        e->u.publisher = object; /* its words are chosen at each wait */
        zl__publisher_attached(object, true);
        break;
    case ENTRY_USER_MEMORY:
        e->u.memory = object; /* its words are chosen at each wait */
        e->waitable.fd = -1;  /* a futex source: never fd 0 from the memset */
        zl__user_memory_attached(object, true);
        break;
    case ENTRY_GUARD:
        if (((zl_guard_condition *)object)->attached)
            return zl__fail(ZL_EBUSY, "the guard condition is attached to another wait set");
        e->u.guard = object;
        e->u.guard->attached = true;
        break;
    default:
        if (((zl_timer *)object)->attached)
            return zl__fail(ZL_EBUSY, "the timer is attached to another wait set");
        e->u.timer = object;
        e->u.timer->attached = true;
        break;
    }
    e->kind = kind;
    e->ready = false;
    if (index != NULL)
        *index = i;
    return 0;
}

int zl_waitset_attach_subscription(zl_waitset *waitset, zl_subscription *subscription,
                                   size_t *index)
{
    return attach(waitset, ENTRY_SUBSCRIPTION, subscription, index);
}

int zl_waitset_attach_publisher(zl_waitset *waitset, zl_publisher *publisher, size_t *index)
{
    return attach(waitset, ENTRY_PUBLISHER, publisher, index);
}

int zl_waitset_attach_user_memory(zl_waitset *waitset, zl_user_memory *memory, size_t *index)
{
    return attach(waitset, ENTRY_USER_MEMORY, memory, index);
}

int zl_waitset_attach_guard_condition(zl_waitset *waitset, zl_guard_condition *guard,
                                      size_t *index)
{
    return attach(waitset, ENTRY_GUARD, guard, index);
}

int zl_waitset_attach_timer(zl_waitset *waitset, zl_timer *timer, size_t *index)
{
    return attach(waitset, ENTRY_TIMER, timer, index);
}

bool zl_waitset_ready(const zl_waitset *waitset, size_t index)
{
    return waitset != NULL && index < waitset->capacity && waitset->entries[index].ready;
}

static bool has_words(const entry *e)
{
    return e->kind == ENTRY_SUBSCRIPTION || e->kind == ENTRY_PUBLISHER ||
           e->kind == ENTRY_USER_MEMORY;
}

/* Raises or lowers the sleepers counters of the armed subscriptions and
 * publishers. */
static void set_sleeping(zl_waitset *waitset, const bool *assume_ready, bool sleeping)
{
    for (size_t i = 0; i < waitset->capacity; i++) {
        entry *e = &waitset->entries[i];
        if (!has_words(e) || e->waitable.sleepers == NULL || e->starved ||
            (assume_ready && assume_ready[i]))
            continue;
        /* seq_cst: the increment must be ordered before our readiness check
         * and the publisher's delivery before its sleepers load (notify.h). */
        if (e->waitable.sleepers_is_flag)
            /* A publisher's connection flag (notify.h zl__notify_room): only
             * the publisher's thread sets it, and a waker may clear it. */
            atomic_store_explicit(e->waitable.sleepers, sleeping ? 1u : 0u, memory_order_seq_cst);
        else if (sleeping)
            atomic_fetch_add_explicit(e->waitable.sleepers, 1, memory_order_seq_cst);
        else
            atomic_fetch_sub_explicit(e->waitable.sleepers, 1, memory_order_seq_cst);
    }
}

int zl__waitset_need_loan(zl_waitset *waitset, size_t index)
{
    if (waitset == NULL || index >= waitset->capacity ||
        waitset->entries[index].kind != ENTRY_SUBSCRIPTION)
        return zl__fail(ZL_EINVAL, "no subscription at entry %zu of the wait set", index);
    waitset->entries[index].needs_loan = true;
    return 0;
}

/* Marks the entries that need a loan and have none as starved (they sleep
 * on their loan count this round), or ends that for every entry. */
static void set_starved(zl_waitset *waitset, const bool *assume_ready, bool starting)
{
    for (size_t i = 0; i < waitset->capacity; i++) {
        entry *e = &waitset->entries[i];
        if (starting && e->needs_loan && !(assume_ready && assume_ready[i]))
            e->starved = zl__subscription_loans_wait_begin(e->u.subscription, &e->loan_word,
                                                           &e->loan_expected);
        else if (!starting && e->starved) {
            zl__subscription_loans_wait_end(e->u.subscription);
            e->starved = false;
        }
    }
}

/* Reads what each entry sleeps on into the wait set's arrays: *n futex
 * words (waiters) and *fds descriptors (polls). */
static void arm(zl_waitset *waitset, const bool *assume_ready, unsigned *words, nfds_t *descriptors)
{
    unsigned n = 0;
    nfds_t fds = 0;
    for (size_t i = 0; i < waitset->capacity; i++) {
        entry *e = &waitset->entries[i];
        if (assume_ready && assume_ready[i])
            continue;
        if (e->starved) {
            /* A return changes the count: the futex does not sleep, or
             * the returner sees the waiter bit and wakes it. */
            zl__futex_waiter_set(&waitset->waiters[n++], e->loan_word, e->loan_expected, 0);
        } else if (has_words(e)) {
            if (e->waitable.fd >= 0)
                waitset->polls[fds++] = (struct pollfd){.fd = e->waitable.fd, .events = POLLIN};
            for (uint32_t k = 0; k < e->waitable.count; k++)
                /* Acquire pairs with the publisher's (for a publisher
                 * or user memory entry: the subscription's) release
                 * increment (notify.h) or the registry's (new peers). */
                zl__futex_waiter_set(&waitset->waiters[n++], e->waitable.words[k],
                                     zl__load_acquire(e->waitable.words[k]), 1);
        } else if (e->kind == ENTRY_GUARD) {
            /* Acquire pairs with the trigger's release increment. */
            zl__futex_waiter_set(&waitset->waiters[n++], &e->u.guard->word,
                                 zl__load_acquire(&e->u.guard->word), 0);
        }
    }
    *words = n;
    *descriptors = fds;
}

/* Reads each readable fd once, consuming the wake-ups it counts (the fds
 * are non-blocking eventfds: a read that finds nothing changes nothing). */
static void consume_fd_wakes(zl_waitset *waitset, nfds_t fds)
{
    for (nfds_t i = 0; i < fds; i++)
        if (waitset->polls[i].revents & POLLIN) {
            uint64_t count;
            ssize_t got = read(waitset->polls[i].fd, &count, sizeof count);
            (void)got; /* EAGAIN: another reader consumed it first */
        }
}

/* Sleeps on what the armed entries gave (n futex words, fds descriptors)
 * until wake_at (INT64_MAX: no deadline); see the top of this file for the
 * three cases. 0 or an errno, as zl__futex_waitv. */
static int sleep_until(zl_waitset *waitset, unsigned n, nfds_t fds, int64_t wake_at, int64_t now)
{
    struct timespec at = {(time_t)(wake_at / 1000000000), (long)(wake_at % 1000000000)};
    if (fds == 0 && n > 0)
        return zl__futex_waitv(waitset->waiters, n, wake_at == INT64_MAX ? NULL : &at);
    if (fds == 0) {
        /* Only timers: sleep until the first is due. */
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
        return 0;
    }
    int64_t until = wake_at;
    if (n > 0 && until - now > WAIT_SLICE_NS)
        until = now + WAIT_SLICE_NS; /* the futex words are looked at again then */
    int64_t rest_ns = until > now ? until - now : 0;
    struct timespec rest = {(time_t)(rest_ns / 1000000000), (long)(rest_ns % 1000000000)};
    int ready = ppoll(waitset->polls, fds, until == INT64_MAX ? NULL : &rest, NULL);
    if (ready < 0)
        return errno;
    consume_fd_wakes(waitset, fds);
    return 0;
}

int zl__waitset_wait(zl_waitset *waitset, int64_t timeout_ns, const bool *assume_ready,
                     size_t *ready_count)
{
    zl__clear_detail();
    if (waitset == NULL)
        return zl__fail(ZL_EINVAL, "waitset is NULL");
    size_t used = 0;
    for (size_t i = 0; i < waitset->capacity; i++)
        used += waitset->entries[i].kind != ENTRY_FREE;
    if (used == 0)
        return zl__fail(ZL_EINVAL, "the wait set has no entry");
    int64_t deadline = timeout_ns < 0 ? INT64_MAX : zl__monotonic_ns() + timeout_ns;
    for (;;) {
        /* User memory first (see the top of the file). */
        for (size_t i = 0; i < waitset->capacity; i++)
            if (waitset->entries[i].kind == ENTRY_USER_MEMORY &&
                !(assume_ready && assume_ready[i])) {
                waitset->entries[i].waitable.fd = -1; /* as for a publisher, below */
                waitset->entries[i].waitable.slice_ns = 0;
                zl__user_memory_waitable(waitset->entries[i].u.memory,
                                         &waitset->entries[i].waitable);
            }
        /* A publisher's words depend on which connection is full: chosen
         * now, before anything is armed (choosing may drop a connection,
         * unmapping its words). */
        for (size_t i = 0; i < waitset->capacity; i++)
            if (waitset->entries[i].kind == ENTRY_PUBLISHER &&
                !(assume_ready && assume_ready[i])) {
                waitset->entries[i].waitable.fd = -1;
                waitset->entries[i].waitable.slice_ns = 0;
                zl__publisher_waitable(waitset->entries[i].u.publisher,
                                       &waitset->entries[i].waitable);
            }
        set_starved(waitset, assume_ready, true);
        unsigned n = 0;
        nfds_t fds = 0;
        arm(waitset, assume_ready, &n, &fds);
        /* The words are read before the sleepers go up: a publisher
         * connection's flag may be taken down by the waker that bumps its
         * word (notify.h zl__notify_room), which must then find the word
         * changed since we read it. (A counter would allow either order.) */
        set_sleeping(waitset, assume_ready, true);
        /* Orders the sleepers increments and word reads before the checks
         * below (the waiter's half of notify.h's store-buffer argument). */
        zl__fence_seq_cst();
        size_t ready = 0, fresh = 0;
        int64_t wake_at = deadline, checked_at = zl__monotonic_ns();
        for (size_t i = 0; i < waitset->capacity; i++) {
            entry *e = &waitset->entries[i];
            if (e->kind == ENTRY_FREE) {
                e->ready = false;
                continue;
            }
            if (assume_ready && assume_ready[i]) {
                e->ready = true;
            } else if (e->starved) {
                e->ready = false; /* a take would find no loan */
            } else if (e->kind == ENTRY_SUBSCRIPTION) {
                e->ready = zl__subscription_ready(e->u.subscription);
            } else if (e->kind == ENTRY_PUBLISHER || e->kind == ENTRY_USER_MEMORY) {
                e->ready = e->kind == ENTRY_PUBLISHER ? zl__publisher_ready(e->u.publisher)
                                                      : zl__user_memory_ready(e->u.memory);
                /* A transport that finds deaths only when asked bounds the
                 * sleep (no liveness monitor). */
                if (!e->ready && e->waitable.slice_ns > 0 &&
                    checked_at + e->waitable.slice_ns < wake_at)
                    wake_at = checked_at + e->waitable.slice_ns;
            } else if (e->kind == ENTRY_GUARD) {
                e->ready = zl_guard_condition_take(e->u.guard);
            } else {
                int64_t remaining = zl_timer_remaining(e->u.timer);
                e->ready = remaining <= 0;
                int64_t at = e->u.timer->deadline_ns;
                if (!e->ready && at < wake_at)
                    wake_at = at;
            }
            ready += e->ready;
            fresh += e->ready && !(assume_ready && assume_ready[i]);
        }
        /* Entries assumed ready are reported, but only a fresh one ends the
         * wait (the executor's trigger waits for the others). */
        int64_t now = zl__monotonic_ns();
        if (fresh > 0 || timeout_ns == 0 || now >= deadline) {
            set_sleeping(waitset, assume_ready, false);
            set_starved(waitset, assume_ready, false);
            if (ready_count != NULL)
                *ready_count = ready;
            return fresh > 0 ? 0 : ZL_ETIMEOUT;
        }
        int rc = sleep_until(waitset, n, fds, wake_at, now);
        set_sleeping(waitset, assume_ready, false);
        set_starved(waitset, assume_ready, false);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
            return zl__fail(ZL_ESYSTEM, "%s: %s", fds > 0 ? "ppoll" : "futex_waitv",
                            strerror(rc));
    }
}

int zl_waitset_wait(zl_waitset *waitset, int64_t timeout_ns, size_t *ready_count)
{
    return zl__waitset_wait(waitset, timeout_ns, NULL, ready_count);
}
