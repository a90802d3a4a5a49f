/* zloan for Python: Executor, a callback loop over a zloan wait set.
 *
 * Built on zl_waitset rather than zl_executor, so that the memory strategy
 * is Python's own: a subscription callback receives a Loan; if it keeps no
 * reference (and no view), the loan is returned when the callback returns;
 * if it keeps one, the loan stays held until that reference goes (what
 * zl_executor_keep_loan() does in C, without a call to forget).
 *
 * Waiting happens without the GIL, in slices of 100 ms between which
 * signals are checked. While it waits, its subscriptions are busy (module.h).
 * stop() raises a guard condition: it works from any thread and from a
 * signal handler.
 */
#include "module.h" /* Python.h first: it sets the feature macros */

#include <time.h>

#define WAIT_SLICE_NS 100000000LL

enum entry_kind { ENTRY_SUBSCRIPTION, ENTRY_TIMER };

typedef struct entry {
    enum entry_kind kind;
    zlpy_endpoint *subscription; /* a user of it (ENTRY_SUBSCRIPTION) */
    zl_timer *timer;             /* ENTRY_TIMER */
    PyObject *callback;          /* cleared by the garbage collector only */
    size_t index;                /* in the wait set */
} entry;

typedef struct zlpy_executor {
    zlpy_owner owner;
    zl_waitset *waitset;
    zl_guard_condition *guard;
    size_t guard_index;
    entry *entries;
    size_t count, capacity;
    bool spinning;
    bool stopped;
} zlpy_executor;

static void executor_destroy(zlpy_owner *owner)
{
    zlpy_executor *self = (zlpy_executor *)owner;
    zl_waitset_destroy(self->waitset); /* detaches everything */
    self->waitset = NULL;
    zl_guard_condition_destroy(self->guard);
    self->guard = NULL;
    for (size_t i = 0; i < self->count; i++) {
        entry *e = &self->entries[i];
        if (e->kind == ENTRY_TIMER)
            zl_timer_destroy(e->timer);
        else
            zlpy_owner_leave(&e->subscription->owner);
        e->subscription = NULL;
        e->timer = NULL;
    }
    self->count = 0;
}

static int executor_init(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_executor *self = (zlpy_executor *)object;
    static char *keywords[] = {"context", "capacity", NULL};
    PyObject *context;
    Py_ssize_t capacity = 16;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!|n:Executor", keywords, &zlpy_context_type,
                                     &context, &capacity))
        return -1;
    if (self->owner.parent != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Executor.__init__ called twice");
        return -1;
    }
    if (capacity < 1 || capacity >= ZL_WAITSET_CAPACITY_MAX) {
        zlpy_raise_text(ZL_EINVAL, "capacity must be 1..59");
        return -1;
    }
    zlpy_owner *parent = (zlpy_owner *)context;
    if (!zlpy_owner_usable(parent, "context"))
        return -1;
    self->entries = PyMem_Calloc((size_t)capacity, sizeof(entry));
    if (self->entries == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->capacity = (size_t)capacity;
    int rc = zl_waitset_create(parent->handle, (size_t)capacity + 1, &self->waitset);
    if (rc == 0) {
        rc = zl_guard_condition_create(parent->handle, &self->guard);
        if (rc == 0)
            rc = zl_waitset_attach_guard_condition(self->waitset, self->guard, &self->guard_index);
        if (rc != 0) {
            if (self->guard != NULL)
                zl_guard_condition_destroy(self->guard);
            zl_waitset_destroy(self->waitset);
            self->guard = NULL;
            self->waitset = NULL;
        }
    }
    if (rc != 0) {
        zlpy_raise(rc);
        return -1;
    }
    zlpy_owner_init(&self->owner, parent, executor_destroy);
    self->owner.handle = self->waitset;
    return 0;
}

static int executor_traverse(PyObject *object, visitproc visit, void *arg)
{
    zlpy_executor *self = (zlpy_executor *)object;
    for (size_t i = 0; i < self->count; i++)
        Py_VISIT(self->entries[i].callback);
    return 0;
}

/* Breaks cycles through callbacks only: the subscriptions and the context
 * stay referenced until the handles are destroyed, in order. */
static int executor_clear(PyObject *object)
{
    zlpy_executor *self = (zlpy_executor *)object;
    for (size_t i = 0; i < self->count; i++)
        Py_CLEAR(self->entries[i].callback);
    return 0;
}

static void executor_dealloc(PyObject *object)
{
    zlpy_executor *self = (zlpy_executor *)object;
    PyObject_GC_UnTrack(object);
    executor_clear(object);
    zlpy_owner_finalize(&self->owner);
    PyMem_Free(self->entries);
    Py_TYPE(object)->tp_free(object);
}

/* 0 when the executor may get new handles or spin; -1 with an exception. */
static int check_usable(zlpy_executor *self)
{
    if (!zlpy_owner_usable(&self->owner, "executor"))
        return -1;
    if (self->spinning) {
        zlpy_raise_text(ZL_EBUSY, "the executor is spinning (called from its callback, or "
                                  "from another thread)");
        return -1;
    }
    return 0;
}

static entry *next_entry(zlpy_executor *self)
{
    if (self->count == self->capacity) {
        zlpy_raise_text(ZL_ELIMIT, "the executor is full (see its capacity)");
        return NULL;
    }
    return &self->entries[self->count];
}

static PyObject *executor_add_subscription(PyObject *object, PyObject *args)
{
    zlpy_executor *self = (zlpy_executor *)object;
    PyObject *subscription, *callback;
    if (!PyArg_ParseTuple(args, "O!O:add_subscription", &zlpy_subscription_type, &subscription,
                          &callback))
        return NULL;
    if (!PyCallable_Check(callback)) {
        PyErr_SetString(PyExc_TypeError, "callback must be callable");
        return NULL;
    }
    zlpy_endpoint *sub = (zlpy_endpoint *)subscription;
    entry *e;
    if (check_usable(self) < 0 || zlpy_subscription_check_usable(sub) < 0 ||
        (e = next_entry(self)) == NULL)
        return NULL;
    int rc = zl_waitset_attach_subscription(self->waitset, sub->owner.handle, &e->index);
    if (rc != 0)
        return zlpy_raise(rc);
    zlpy_owner_use(&sub->owner);
    e->kind = ENTRY_SUBSCRIPTION;
    e->subscription = sub;
    e->callback = Py_NewRef(callback);
    self->count++;
    Py_RETURN_NONE;
}

static PyObject *executor_add_timer(PyObject *object, PyObject *args)
{
    zlpy_executor *self = (zlpy_executor *)object;
    double period;
    PyObject *callback;
    if (!PyArg_ParseTuple(args, "dO:add_timer", &period, &callback))
        return NULL;
    if (!PyCallable_Check(callback)) {
        PyErr_SetString(PyExc_TypeError, "callback must be callable");
        return NULL;
    }
    if (!(period > 0 && period < 9e9))
        return zlpy_raise_text(ZL_EINVAL, "the period must be a positive number of seconds");
    entry *e;
    if (check_usable(self) < 0 || (e = next_entry(self)) == NULL)
        return NULL;
    zl_timer *timer;
    int rc = zl_timer_create(self->owner.parent->handle, (int64_t)(period * 1e9), &timer);
    if (rc == 0) {
        rc = zl_waitset_attach_timer(self->waitset, timer, &e->index);
        if (rc != 0)
            zl_timer_destroy(timer);
    }
    if (rc != 0)
        return zlpy_raise(rc);
    e->kind = ENTRY_TIMER;
    e->timer = timer;
    e->subscription = NULL;
    e->callback = Py_NewRef(callback);
    self->count++;
    Py_RETURN_NONE;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Marks the subscriptions busy, or fails when one cannot be waited on. */
static int hold_subscriptions(zlpy_executor *self, bool busy)
{
    for (size_t i = 0; i < self->count; i++) {
        zlpy_endpoint *sub = self->entries[i].subscription;
        if (sub == NULL)
            continue;
        if (busy && sub->busy) {
            for (size_t k = 0; k < i; k++)
                if (self->entries[k].subscription != NULL)
                    self->entries[k].subscription->busy = false;
            zlpy_raise_text(ZL_EBUSY, "another thread is waiting on one of the subscriptions");
            return -1;
        }
        sub->busy = busy;
    }
    return 0;
}

/* Waits without the GIL until something is ready (1), the deadline passed
 * (0) or an error or signal (-1). */
static int wait_ready(zlpy_executor *self, int64_t deadline)
{
    if (hold_subscriptions(self, true) < 0)
        return -1;
    int result;
    for (;;) {
        int64_t slice = WAIT_SLICE_NS;
        if (deadline >= 0) {
            int64_t left = deadline - monotonic_ns();
            slice = left < 0 ? 0 : left < slice ? left : slice;
        }
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = zl_waitset_wait(self->waitset, slice, NULL);
        Py_END_ALLOW_THREADS
        if (rc == 0) {
            result = 1;
            break;
        }
        if (rc != ZL_ETIMEOUT) {
            zlpy_raise(rc);
            result = -1;
            break;
        }
        if (deadline >= 0 && monotonic_ns() >= deadline) {
            result = 0;
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            result = -1;
            break;
        }
    }
    hold_subscriptions(self, false);
    return result;
}

/* Runs the callback of a ready entry. drain: take until nothing is left.
 * Returns callbacks run, or -1 with an exception. */
static Py_ssize_t dispatch(entry *e, bool drain)
{
    Py_ssize_t ran = 0;
    if (e->kind == ENTRY_TIMER) {
        uint64_t expirations;
        if (zl_timer_take(e->timer, &expirations) != 0 || e->callback == NULL)
            return 0;
        PyObject *result = PyObject_CallFunction(e->callback, "K", (unsigned long long)expirations);
        if (result == NULL)
            return -1;
        Py_DECREF(result);
        return 1;
    }
    do {
        zlpy_endpoint *sub = e->subscription;
        /* Closed by a callback, or waited on by another thread meanwhile
         * (a callback let go of the GIL): leave it for the next spin. */
        if (sub->owner.closed || sub->busy || e->callback == NULL)
            return ran;
        const void *message;
        zl_message_info info;
        int rc = zl_subscription_take_loan(sub->owner.handle, &message, &info);
        if (rc == ZL_ENODATA)
            return ran;
        if (rc != 0) {
            zlpy_raise(rc);
            return -1;
        }
        PyObject *loan =
            zlpy_loan_new(sub, (void *)message, ((zlpy_type *)sub->type)->type.size, false, &info);
        if (loan == NULL) {
            zl_subscription_return_loan(sub->owner.handle, message);
            return -1;
        }
        PyObject *callback = Py_NewRef(e->callback);
        PyObject *result = PyObject_CallOneArg(callback, loan);
        Py_DECREF(callback);
        /* Returned here unless the callback kept a reference or a view. */
        Py_DECREF(loan);
        if (result == NULL)
            return -1;
        Py_DECREF(result);
        ran++;
    } while (drain);
    return ran;
}

/* Runs the ready entries, in the order added. */
static Py_ssize_t dispatch_ready(zlpy_executor *self, bool all, bool drain)
{
    Py_ssize_t ran = 0;
    /* A callback may add entries; run only those that were there. */
    size_t count = self->count;
    for (size_t i = 0; i < count; i++) {
        entry *e = &self->entries[i];
        if (!all && !zl_waitset_ready(self->waitset, e->index))
            continue;
        Py_ssize_t n = dispatch(e, drain);
        if (n < 0)
            return -1;
        ran += n;
    }
    return ran;
}

/* One wait (up to deadline) and the callbacks of what is ready. */
static Py_ssize_t spin_once(zlpy_executor *self, int64_t deadline)
{
    int ready = wait_ready(self, deadline);
    if (ready <= 0)
        return ready;
    if (zl_waitset_ready(self->waitset, self->guard_index))
        self->stopped = true;
    return dispatch_ready(self, false, false);
}

/* Spins (some: spin_some; loop: spin) with the executor marked spinning
 * and counted as a user, so that close() from a callback waits for it. */
static PyObject *spinning(zlpy_executor *self, int64_t timeout_ns, bool loop, bool some)
{
    if (check_usable(self) < 0)
        return NULL;
    int64_t deadline = timeout_ns < 0 ? -1 : monotonic_ns() + timeout_ns;
    zlpy_owner_use(&self->owner);
    self->spinning = true;
    Py_ssize_t total = 0, ran;
    if (some) {
        ran = dispatch_ready(self, true, true);
        total = ran;
    } else {
        self->stopped = false;
        do {
            ran = spin_once(self, deadline);
            if (ran > 0)
                total += ran;
        } while (loop && ran >= 0 && !self->stopped && !self->owner.closed &&
                 (deadline < 0 || monotonic_ns() < deadline));
    }
    self->spinning = false;
    zlpy_owner_leave(&self->owner);
    if (ran < 0)
        return NULL;
    return PyLong_FromSsize_t(total);
}

static PyObject *executor_spin_once(PyObject *object, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"timeout", NULL};
    PyObject *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:spin_once", keywords, &timeout))
        return NULL;
    int64_t timeout_ns;
    if (zlpy_timeout_ns(timeout, &timeout_ns) < 0)
        return NULL;
    return spinning((zlpy_executor *)object, timeout_ns, false, false);
}

static PyObject *executor_spin(PyObject *object, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"timeout", NULL};
    PyObject *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:spin", keywords, &timeout))
        return NULL;
    int64_t timeout_ns;
    if (zlpy_timeout_ns(timeout, &timeout_ns) < 0)
        return NULL;
    return spinning((zlpy_executor *)object, timeout_ns, true, false);
}

static PyObject *executor_spin_some(PyObject *object, PyObject *unused)
{
    (void)unused;
    return spinning((zlpy_executor *)object, 0, false, true);
}

static PyObject *executor_stop(PyObject *object, PyObject *unused)
{
    (void)unused;
    zlpy_executor *self = (zlpy_executor *)object;
    if (self->guard != NULL && self->owner.generation == zlpy_fork_generation)
        zl_guard_condition_trigger(self->guard);
    Py_RETURN_NONE;
}

static PyMethodDef executor_methods[] = {
    {"add_subscription", executor_add_subscription, METH_VARARGS,
     "add_subscription(subscription, callback)\n\ncallback(loan) runs for each message. The "
     "loan is returned after the callback unless it keeps a reference or a view."},
    {"add_timer", executor_add_timer, METH_VARARGS,
     "add_timer(period, callback)\n\ncallback(expirations) runs every period seconds."},
    {"spin_once", (PyCFunction)(void (*)(void))executor_spin_once, METH_VARARGS | METH_KEYWORDS,
     "spin_once(timeout=None) -> int\n\nWaits (without the GIL) up to timeout seconds (None: "
     "forever) for ready handles, then runs one callback per ready handle. Returns how many "
     "ran. An exception from a callback propagates."},
    {"spin", (PyCFunction)(void (*)(void))executor_spin, METH_VARARGS | METH_KEYWORDS,
     "spin(timeout=None) -> int\n\nspin_once until stop(), close(), or timeout seconds. "
     "Returns the callbacks run."},
    {"spin_some", executor_spin_some, METH_NOARGS,
     "spin_some() -> int\n\nRuns what is ready now, without waiting: every subscription until "
     "it is empty, and due timers."},
    {"stop", executor_stop, METH_NOARGS,
     "Makes a running spin() return (or the next one, at once). Any thread, signal handlers too."},
    {"close", zlpy_owner_close_method, METH_NOARGS,
     "Closes the executor; its wait set goes when no spin is running."},
    {"__enter__", zlpy_owner_enter, METH_NOARGS, NULL},
    {"__exit__", zlpy_owner_exit, METH_VARARGS, "Closes the executor."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef executor_getset[] = {
    {"closed", zlpy_owner_closed_get, NULL, "Whether close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject zlpy_executor_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zloan.Executor",
    .tp_basicsize = sizeof(zlpy_executor),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Executor(context, capacity=16)\n\nRuns callbacks for subscriptions and timers on "
              "the thread that spins it, in the order they were added.",
    .tp_new = PyType_GenericNew,
    .tp_init = executor_init,
    .tp_dealloc = executor_dealloc,
    .tp_traverse = executor_traverse,
    .tp_clear = executor_clear,
    .tp_methods = executor_methods,
    .tp_getset = executor_getset,
};
