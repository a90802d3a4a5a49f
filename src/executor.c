/* The executor: a wait set, the handles in the order added, and the memory
 * strategy of each subscription. Everything is allocated when handles are
 * added; spinning allocates nothing (with loan delivery, nothing is copied
 * either). */
#include <string.h>

#include "zloan/error.h"
#include "zloan/executor.h"

#include "clock.h"
#include "context.h"
#include "error_detail.h"
#include "futex.h"
#include "subscription.h"
#include "user_memory.h"
#include "waitset.h"

enum { HANDLE_SUBSCRIPTION = 1, HANDLE_TIMER, HANDLE_GUARD, HANDLE_USER_MEMORY };

typedef struct handle {
    int kind;
    size_t index; /* in the wait set */
    void *arg;
    union {
        struct {
            zl_subscription *subscription;
            zl_subscription_callback callback;
            zl_delivery mode;
            void *storage; /* copy mode */
            const zl_type *type;
        } s;
        struct {
            zl_timer *timer;
            zl_timer_callback callback;
        } t;
        struct {
            zl_guard_condition *guard;
            zl_guard_condition_callback callback;
        } g;
        struct {
            zl_user_memory *memory;
            zl_user_memory_callback callback;
        } m;
    } u;
} handle;

struct zl_executor {
    zl_context *context;
    zl_waitset *waitset;
    size_t capacity;
    size_t count;
    handle *handles;
    bool *ready;   /* per handle, this round */
    bool *pending; /* per wait-set entry: ready but not yet run (trigger false) */
    zl_trigger trigger;
    size_t trigger_handle;
    zl_trigger_function trigger_function;
    void *trigger_arg;
    zl_guard_condition *stop_guard;
    size_t stop_index;
    zl__atomic_u32 stop;
    bool in_callback;
    const void *delivering; /* the loan a callback is looking at */
    bool keep;
};

int zl_executor_create(zl_context *context, size_t capacity, zl_executor **executor)
{
    zl__clear_detail();
    if (context == NULL || executor == NULL || capacity == 0 ||
        capacity >= ZL_WAITSET_CAPACITY_MAX)
        return zl__fail(ZL_EINVAL, "context and executor must not be NULL, capacity 1..%d",
                        ZL_WAITSET_CAPACITY_MAX - 1);
    zl_executor *x = zl__context_allocate(context, sizeof *x, _Alignof(zl_executor));
    if (x == NULL)
        return zl__fail(ZL_ENOMEM, "allocating an executor failed");
    memset(x, 0, sizeof *x);
    x->context = context;
    x->capacity = capacity;
    x->handles = zl__context_allocate(context, sizeof(handle) * capacity, _Alignof(handle));
    x->ready = zl__context_allocate(context, capacity, 1);
    x->pending = zl__context_allocate(context, capacity + 1, 1);
    int rc = ZL_ENOMEM;
    if (x->handles != NULL && x->ready != NULL && x->pending != NULL) {
        memset(x->handles, 0, sizeof(handle) * capacity);
        memset(x->pending, 0, capacity + 1);
        rc = zl_waitset_create(context, capacity + 1, &x->waitset);
    }
    if (rc == 0)
        rc = zl_guard_condition_create(context, &x->stop_guard);
    if (rc == 0)
        rc = zl_waitset_attach_guard_condition(x->waitset, x->stop_guard, &x->stop_index);
    if (rc != 0) {
        if (x->stop_guard != NULL) {
            if (x->waitset != NULL)
                zl_waitset_destroy(x->waitset); /* detaches the guard */
            x->waitset = NULL;
            zl_guard_condition_destroy(x->stop_guard);
        }
        if (x->waitset != NULL)
            zl_waitset_destroy(x->waitset);
        zl__context_deallocate(context, x->handles, sizeof(handle) * capacity, _Alignof(handle));
        zl__context_deallocate(context, x->ready, capacity, 1);
        zl__context_deallocate(context, x->pending, capacity + 1, 1);
        zl__context_deallocate(context, x, sizeof *x, _Alignof(zl_executor));
        return rc == ZL_ENOMEM ? zl__fail(ZL_ENOMEM, "allocating an executor failed") : rc;
    }
    zl__context_hold(context, ZL__CONTEXT_EXECUTOR);
    *executor = x;
    return 0;
}

/* Bytes of copy storage that hold every message of type; 0 for a sized
 * type without a maximum count. */
static size_t storage_bytes(const zl_type *type)
{
    if (type->element_size == 0)
        return type->size;
    return type->max_count != 0 ? zl_type_message_size(type, type->max_count) : 0;
}

int zl_executor_destroy(zl_executor *executor)
{
    zl__clear_detail();
    if (executor == NULL)
        return zl__fail(ZL_EINVAL, "executor is NULL");
    if (executor->in_callback)
        return zl__fail(ZL_EBUSY, "an executor cannot be destroyed from its callback");
    zl_context *context = executor->context;
    for (size_t i = 0; i < executor->count; i++) {
        handle *h = &executor->handles[i];
        if (h->kind == HANDLE_SUBSCRIPTION && h->u.s.storage != NULL)
            zl__context_deallocate(context, h->u.s.storage, storage_bytes(h->u.s.type),
                                   h->u.s.type->alignment);
    }
    zl_waitset_destroy(executor->waitset); /* detaches timers and guards */
    zl_guard_condition_destroy(executor->stop_guard);
    size_t capacity = executor->capacity;
    zl__context_deallocate(context, executor->handles, sizeof(handle) * capacity,
                           _Alignof(handle));
    zl__context_deallocate(context, executor->ready, capacity, 1);
    zl__context_deallocate(context, executor->pending, capacity + 1, 1);
    zl__context_deallocate(context, executor, sizeof *executor, _Alignof(zl_executor));
    zl__context_release(context, ZL__CONTEXT_EXECUTOR);
    return 0;
}

static handle *next_handle(zl_executor *executor)
{
    if (executor->count == executor->capacity) {
        zl__fail(ZL_ELIMIT, "the executor's %zu handles are in use", executor->capacity);
        return NULL;
    }
    return &executor->handles[executor->count];
}

/* Fills the next handle (its wait-set entry is attached) and counts it. */
static handle *append(zl_executor *executor, int kind, size_t index, void *arg)
{
    handle *h = &executor->handles[executor->count++];
    memset(h, 0, sizeof *h);
    h->kind = kind;
    h->index = index;
    h->arg = arg;
    return h;
}

int zl_executor_add_subscription(zl_executor *executor, zl_subscription *subscription,
                                 zl_delivery mode, zl_subscription_callback callback, void *arg)
{
    zl__clear_detail();
    if (executor == NULL || subscription == NULL || callback == NULL ||
        (mode != ZL_DELIVERY_DEFAULT && mode != ZL_DELIVERY_LOAN && mode != ZL_DELIVERY_COPY))
        return zl__fail(ZL_EINVAL, "executor, subscription and callback must not be NULL");
    handle *h = next_handle(executor);
    if (h == NULL)
        return ZL_ELIMIT;
    /* A subscription that cannot loan still delivers ZL_DELIVERY_LOAN: its
     * take_loan lends allocator memory (the refusal path), so a program
     * runs unchanged with loans disabled. */
    if (mode == ZL_DELIVERY_DEFAULT)
        mode = zl__subscription_lends(subscription) ? ZL_DELIVERY_LOAN : ZL_DELIVERY_COPY;
    const zl_type *type = zl__subscription_type(subscription);
    void *storage = NULL;
    size_t bytes = storage_bytes(type);
    if (mode == ZL_DELIVERY_COPY) {
        if (bytes == 0)
            return zl__fail(ZL_ENOTSUP, "sized type '%s' has no max_count, so no storage holds "
                                        "every message: deliver it by loan",
                            type->name);
        storage = zl__context_allocate(executor->context, bytes, type->alignment);
        if (storage == NULL)
            return zl__fail(ZL_ENOMEM, "allocating %zu bytes of copy storage failed", bytes);
    }
    size_t index;
    int rc = zl_waitset_attach_subscription(executor->waitset, subscription, &index);
    if (rc != 0) {
        zl__context_deallocate(executor->context, storage, bytes, type->alignment);
        return rc;
    }
    /* Callbacks may keep every loan: then the executor sleeps until one is
     * returned rather than spin on data it cannot take. */
    if (mode == ZL_DELIVERY_LOAN)
        zl__waitset_need_loan(executor->waitset, index);
    h = append(executor, HANDLE_SUBSCRIPTION, index, arg);
    h->u.s.subscription = subscription;
    h->u.s.callback = callback;
    h->u.s.mode = mode;
    h->u.s.storage = storage;
    h->u.s.type = type;
    return 0;
}

int zl_executor_add_timer(zl_executor *executor, zl_timer *timer, zl_timer_callback callback,
                          void *arg)
{
    zl__clear_detail();
    if (executor == NULL || timer == NULL || callback == NULL)
        return zl__fail(ZL_EINVAL, "executor, timer and callback must not be NULL");
    handle *h = next_handle(executor);
    if (h == NULL)
        return ZL_ELIMIT;
    size_t index;
    int rc = zl_waitset_attach_timer(executor->waitset, timer, &index);
    if (rc != 0)
        return rc;
    h = append(executor, HANDLE_TIMER, index, arg);
    h->u.t.timer = timer;
    h->u.t.callback = callback;
    return 0;
}

int zl_executor_add_guard_condition(zl_executor *executor, zl_guard_condition *guard,
                                    zl_guard_condition_callback callback, void *arg)
{
    zl__clear_detail();
    if (executor == NULL || guard == NULL || callback == NULL)
        return zl__fail(ZL_EINVAL, "executor, guard and callback must not be NULL");
    handle *h = next_handle(executor);
    if (h == NULL)
        return ZL_ELIMIT;
    size_t index;
    int rc = zl_waitset_attach_guard_condition(executor->waitset, guard, &index);
    if (rc != 0)
        return rc;
    h = append(executor, HANDLE_GUARD, index, arg);
    h->u.g.guard = guard;
    h->u.g.callback = callback;
    return 0;
}

int zl_executor_add_user_memory(zl_executor *executor, zl_user_memory *memory,
                                zl_user_memory_callback callback, void *arg)
{
    zl__clear_detail();
    if (executor == NULL || memory == NULL || callback == NULL)
        return zl__fail(ZL_EINVAL, "executor, memory and callback must not be NULL");
    handle *h = next_handle(executor);
    if (h == NULL)
        return ZL_ELIMIT;
    size_t index;
    int rc = zl_waitset_attach_user_memory(executor->waitset, memory, &index);
    if (rc != 0)
        return rc;
    h = append(executor, HANDLE_USER_MEMORY, index, arg);
    h->u.m.memory = memory;
    h->u.m.callback = callback;
    return 0;
}

int zl_executor_set_trigger(zl_executor *executor, zl_trigger trigger, size_t handle_index,
                            zl_trigger_function function, void *arg)
{
    zl__clear_detail();
    if (executor == NULL || trigger < ZL_TRIGGER_ANY || trigger > ZL_TRIGGER_CUSTOM ||
        (trigger == ZL_TRIGGER_CUSTOM && function == NULL))
        return zl__fail(ZL_EINVAL, "invalid trigger");
    executor->trigger = trigger;
    executor->trigger_handle = handle_index;
    executor->trigger_function = function;
    executor->trigger_arg = arg;
    return 0;
}

int zl_executor_keep_loan(zl_executor *executor, const void *message)
{
    zl__clear_detail();
    if (executor == NULL || message == NULL)
        return zl__fail(ZL_EINVAL, "executor and message must not be NULL");
    if (!executor->in_callback || executor->delivering != message)
        return zl__fail(ZL_ENOTLOAN, "%p is not the loan being delivered", message);
    executor->keep = true;
    return 0;
}

static bool triggered(const zl_executor *x, bool any_ready)
{
    switch (x->trigger) {
    case ZL_TRIGGER_ALL:
        for (size_t i = 0; i < x->count; i++)
            if (!x->ready[i])
                return false;
        return x->count > 0;
    case ZL_TRIGGER_ONE:
        return x->trigger_handle < x->count && x->ready[x->trigger_handle];
    case ZL_TRIGGER_ALWAYS:
        return true;
    case ZL_TRIGGER_CUSTOM:
        return x->trigger_function(x->ready, x->count, x->trigger_arg);
    default:
        return any_ready;
    }
}

/* Delivers one message of a subscription handle. Returns false when there
 * was nothing to take. */
static bool deliver_one(zl_executor *x, handle *h)
{
    zl_subscription *sub = h->u.s.subscription;
    zl_message_info info;
    if (h->u.s.mode == ZL_DELIVERY_LOAN) {
        const void *message;
        int rc = zl_subscription_take_loan(sub, &message, &info);
        if (rc != 0)
            /* A bad message (refusal path) was dropped and counted: look for
             * the next. Nothing, no loan left or no memory: next round. */
            return rc == ZL_ESERIALIZE;
        x->delivering = message;
        x->keep = false;
        x->in_callback = true;
        h->u.s.callback(message, &info, h->arg);
        x->in_callback = false;
        x->delivering = NULL;
        if (!x->keep)
            zl_subscription_return_loan(sub, message);
        return true;
    }
    int rc = zl_subscription_take(sub, h->u.s.storage, &info);
    if (rc == ZL_ENODATA)
        return false;
    if (rc != 0)
        return true; /* a bad message was dropped (and counted); look for the next */
    x->in_callback = true;
    h->u.s.callback(h->u.s.storage, &info, h->arg);
    x->in_callback = false;
    if (!h->u.s.type->plain && h->u.s.type->fini != NULL)
        h->u.s.type->fini(h->u.s.storage, &x->context->allocator);
    return true;
}

/* Runs the callbacks of ready handles, in order. drain: subscriptions
 * deliver until empty instead of one message. */
static void execute(zl_executor *x, bool drain)
{
    for (size_t i = 0; i < x->count; i++) {
        if (!x->ready[i])
            continue;
        handle *h = &x->handles[i];
        if (h->kind == HANDLE_SUBSCRIPTION) {
            while (deliver_one(x, h) && drain) {
            }
        } else if (h->kind == HANDLE_TIMER) {
            uint64_t expirations;
            if (zl_timer_take(h->u.t.timer, &expirations) == 0) {
                x->in_callback = true;
                h->u.t.callback(h->u.t.timer, expirations, h->arg);
                x->in_callback = false;
            }
        } else if (h->kind == HANDLE_USER_MEMORY) {
            /* The notices waiting now: a callback that publishes plain
             * memory queues the next one at once, for the next round. */
            const void *message;
            uint32_t n = zl__user_memory_notices(h->u.m.memory);
            while (n-- > 0 && zl_user_memory_take_completed(h->u.m.memory, &message) == 0) {
                x->in_callback = true;
                h->u.m.callback(h->u.m.memory, message, h->arg);
                x->in_callback = false;
            }
        } else {
            x->in_callback = true;
            h->u.g.callback(h->u.g.guard, h->arg);
            x->in_callback = false;
        }
    }
}

static int spin(zl_executor *x, int64_t timeout_ns, bool drain)
{
    if (x->in_callback)
        return zl__fail(ZL_EBUSY, "the executor cannot spin from its own callback");
    int rc = zl__waitset_wait(x->waitset, timeout_ns, x->pending, NULL);
    if (rc != 0 && rc != ZL_ETIMEOUT)
        return rc;
    bool any = false;
    for (size_t i = 0; i < x->count; i++) {
        x->ready[i] = zl_waitset_ready(x->waitset, x->handles[i].index);
        any |= x->ready[i];
    }
    if (!triggered(x, any)) {
        /* Keep what is ready for the next evaluation, without waiting on it
         * again (it stays ready): ZL_TRIGGER_ALL waits for the others. */
        for (size_t i = 0; i < x->count; i++)
            x->pending[x->handles[i].index] = x->ready[i];
        return rc;
    }
    for (size_t i = 0; i < x->count; i++)
        x->pending[x->handles[i].index] = false;
    execute(x, drain);
    return rc;
}

int zl_executor_spin_once(zl_executor *executor, int64_t timeout_ns)
{
    zl__clear_detail();
    if (executor == NULL)
        return zl__fail(ZL_EINVAL, "executor is NULL");
    return spin(executor, timeout_ns, false);
}

int zl_executor_spin_some(zl_executor *executor)
{
    zl__clear_detail();
    if (executor == NULL)
        return zl__fail(ZL_EINVAL, "executor is NULL");
    int rc = spin(executor, 0, true);
    return rc == ZL_ETIMEOUT ? 0 : rc;
}

static bool stopping(zl_executor *x)
{
    /* Acquire pairs with the release store in zl_executor_stop. */
    return zl__load_acquire(&x->stop) != 0;
}

int zl_executor_spin(zl_executor *executor)
{
    zl__clear_detail();
    if (executor == NULL)
        return zl__fail(ZL_EINVAL, "executor is NULL");
    int rc = 0;
    while (!stopping(executor)) {
        rc = spin(executor, -1, false);
        if (rc != 0 && rc != ZL_ETIMEOUT)
            break;
        rc = 0;
    }
    zl__store_relaxed(&executor->stop, 0);
    return rc;
}

int zl_executor_spin_period(zl_executor *executor, int64_t period_ns)
{
    zl__clear_detail();
    if (executor == NULL || period_ns <= 0)
        return zl__fail(ZL_EINVAL, "executor must not be NULL, the period positive");
    int64_t next = zl__monotonic_ns() + period_ns;
    int rc = 0;
    while (!stopping(executor)) {
        int64_t remaining = next - zl__monotonic_ns();
        rc = spin(executor, remaining > 0 ? remaining : 0, false);
        if (rc != 0 && rc != ZL_ETIMEOUT)
            break;
        rc = 0;
        /* Sleep out the period; a stop (its guard's word) cuts it short. */
        uint32_t word = zl__load_acquire(&executor->stop_guard->word);
        if (stopping(executor))
            break;
        struct timespec at = {(time_t)(next / 1000000000), (long)(next % 1000000000)};
        if (next > zl__monotonic_ns())
            zl__futex_wait_private_until(&executor->stop_guard->word, word, &at);
        next += period_ns;
    }
    zl__store_relaxed(&executor->stop, 0);
    return rc;
}

int zl_executor_stop(zl_executor *executor)
{
    if (executor == NULL)
        return ZL_EINVAL; /* async-signal-safe: no detail */
    /* Release: pairs with the acquire load in stopping(). */
    zl__store_release(&executor->stop, 1);
    return zl_guard_condition_trigger(executor->stop_guard);
}
