/* zloan for Python: Subscription.
 *
 * Waiting releases the GIL. The C library lets one thread at a time take
 * from or wait on a subscription, so while a thread waits without the GIL
 * the subscription is marked busy and the other take and wait calls raise
 * BusyError instead of racing (returning loans stays allowed from any
 * thread, as in C). A wait without a deadline sleeps in slices of 100 ms
 * and checks for signals between them, so Ctrl-C interrupts it.
 */
#include "module.h" /* Python.h first: it sets the feature macros */

#include <time.h>

#define WAIT_SLICE_NS 100000000LL

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int zlpy_subscription_check_usable(zlpy_endpoint *sub)
{
    if (!zlpy_owner_usable(&sub->owner, "subscription"))
        return -1;
    if (sub->busy) {
        zlpy_raise_text(ZL_EBUSY, "another thread is waiting on this subscription");
        return -1;
    }
    return 0;
}

static void subscription_destroy(zlpy_owner *owner)
{
    zlpy_endpoint *self = (zlpy_endpoint *)owner;
    if (self->waitset != NULL) {
        zl_waitset_destroy(self->waitset);
        self->waitset = NULL;
    }
    zl_subscription_destroy(owner->handle);
}

static int subscription_init(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    PyObject *context, *topic, *type;
    /* Every member of zl_subscription_options is a keyword (fields.c). */
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    if (zlpy_endpoint_parse(args, kwargs, "Subscription", zlpy_subscription_option_fields,
                            sizeof options, &options, &context, &topic, &type) < 0 ||
        zlpy_endpoint_start(self, context, topic, type, subscription_destroy) < 0)
        return -1;
    zl_subscription *subscription;
    int rc = zl_subscription_create(((zlpy_owner *)context)->handle, PyUnicode_AsUTF8(topic),
                                    &((zlpy_type *)type)->type, &options, &subscription);
    if (rc != 0) {
        zlpy_raise(rc);
        return -1;
    }
    self->owner.handle = subscription;
    self->options.subscription = options;
    return 0;
}

/* Waits on the subscription's own wait set without the GIL. Returns 1 when
 * it may have data, 0 on timeout, -1 with an exception. The caller checked
 * that the subscription is usable. */
static int wait_for_data(zlpy_endpoint *self, int64_t timeout_ns)
{
    if (self->waitset == NULL) {
        zl_waitset *waitset;
        zl_context *context = self->owner.parent->handle;
        int rc = zl_waitset_create(context, 1, &waitset);
        if (rc == 0) {
            rc = zl_waitset_attach_subscription(waitset, self->owner.handle, NULL);
            if (rc != 0)
                zl_waitset_destroy(waitset);
        }
        if (rc != 0) {
            zlpy_raise(rc);
            return -1;
        }
        self->waitset = waitset;
    }
    /* The wait runs without the GIL: count it as a user, so that a close()
     * from another thread leaves the handle alone until it ends. */
    zlpy_owner_use(&self->owner);
    self->busy = true;
    zl_waitset *waitset = self->waitset;
    int64_t left = timeout_ns;
    int result;
    for (;;) {
        int64_t slice = left < 0 || left > WAIT_SLICE_NS ? WAIT_SLICE_NS : left;
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = zl_waitset_wait(waitset, slice, NULL);
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
        if (left >= 0) {
            left -= slice;
            if (left <= 0) {
                result = 0;
                break;
            }
        }
        if (PyErr_CheckSignals() < 0) {
            result = -1;
            break;
        }
    }
    self->busy = false;
    zlpy_owner_leave(&self->owner);
    return result;
}

static PyObject *subscription_wait(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    static char *keywords[] = {"timeout", NULL};
    PyObject *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:wait", keywords, &timeout))
        return NULL;
    int64_t timeout_ns;
    if (zlpy_timeout_ns(timeout, &timeout_ns) < 0 || zlpy_subscription_check_usable(self) < 0)
        return NULL;
    int ready = wait_for_data(self, timeout_ns);
    if (ready < 0)
        return NULL;
    return PyBool_FromLong(ready);
}

/* Takes one loan; *loan is NULL when there was nothing. */
static int take_one(zlpy_endpoint *self, PyObject **loan)
{
    const void *message;
    zl_message_info info;
    *loan = NULL;
    int rc = zl_subscription_take_loan(self->owner.handle, &message, &info);
    if (rc == ZL_ENODATA)
        return 0;
    if (rc != 0) {
        zlpy_raise(rc);
        return -1;
    }
    *loan = zlpy_loan_new_received(self, message, &info);
    if (*loan == NULL) {
        zl_subscription_return_loan(self->owner.handle, message);
        return -1;
    }
    return 0;
}

static PyObject *subscription_take(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    static char *keywords[] = {"timeout", NULL};
    PyObject *timeout = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:take", keywords, &timeout))
        return NULL;
    int64_t timeout_ns = 0;
    if ((timeout != NULL && zlpy_timeout_ns(timeout, &timeout_ns) < 0) ||
        zlpy_subscription_check_usable(self) < 0)
        return NULL;
    PyObject *loan;
    if (take_one(self, &loan) < 0)
        return NULL;
    if (loan != NULL || timeout_ns == 0)
        return loan != NULL ? loan : Py_NewRef(Py_None);
    /* Readiness is a hint (keep-last may reclaim a message before the take):
     * wait again until the deadline. */
    int64_t start = monotonic_ns();
    for (;;) {
        int64_t left = timeout_ns;
        if (timeout_ns > 0) {
            left = timeout_ns - (monotonic_ns() - start);
            if (left <= 0)
                Py_RETURN_NONE;
        }
        int ready = wait_for_data(self, left);
        if (ready < 0)
            return NULL;
        if (ready == 0)
            Py_RETURN_NONE;
        if (zlpy_subscription_check_usable(self) < 0 || take_one(self, &loan) < 0)
            return NULL;
        if (loan != NULL)
            return loan;
    }
}

static PyObject *subscription_take_sequence(PyObject *object, PyObject *args)
{
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    Py_ssize_t capacity;
    if (!PyArg_ParseTuple(args, "n:take_sequence", &capacity))
        return NULL;
    if (capacity < 1 || capacity > 1024)
        return zlpy_raise_text(ZL_EINVAL, "take_sequence needs a capacity of 1..1024");
    if (zlpy_subscription_check_usable(self) < 0)
        return NULL;
    const void **messages = PyMem_Malloc(sizeof *messages * (size_t)capacity);
    zl_message_info *infos = PyMem_Malloc(sizeof *infos * (size_t)capacity);
    PyObject *list = PyList_New(0);
    if (messages == NULL || infos == NULL || list == NULL) {
        PyMem_Free(messages);
        PyMem_Free(infos);
        Py_XDECREF(list);
        return PyErr_NoMemory();
    }
    size_t count = 0;
    int rc = zl_subscription_take_loan_sequence(self->owner.handle, messages, infos,
                                                (size_t)capacity, &count);
    size_t i = 0;
    if (rc == 0) {
        for (; i < count; i++) {
            PyObject *loan = zlpy_loan_new_received(self, messages[i], &infos[i]);
            if (loan == NULL)
                break;
            /* If appending fails, dropping the loan object returns its loan. */
            int appended = PyList_Append(list, loan);
            Py_DECREF(loan);
            if (appended < 0) {
                i++;
                break;
            }
        }
        /* What could not be wrapped goes back. */
        for (size_t k = i; k < count; k++)
            zl_subscription_return_loan(self->owner.handle, messages[k]);
    }
    PyMem_Free(messages);
    PyMem_Free(infos);
    if (rc != 0 && rc != ZL_ENODATA) {
        Py_DECREF(list);
        return zlpy_raise(rc);
    }
    if (PyErr_Occurred()) {
        Py_DECREF(list);
        return NULL;
    }
    return list;
}

static PyObject *subscription_take_into(PyObject *object, PyObject *buffer)
{
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    if (zlpy_subscription_check_usable(self) < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(buffer, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        return NULL;
    /* A sized type's buffer holds the fixed part and as many elements as
     * fit: a longer message is dropped by the C layer (ZL_ESERIALIZE). */
    const zl_type *type = &((zlpy_type *)self->type)->type;
    size_t capacity;
    if (zlpy_message_count(type, (size_t)view.len, "buffer", type->element_size != 0,
                           &capacity) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    zl_message_info info;
    int rc = type->element_size != 0
                 ? zl_subscription_take_sized(self->owner.handle, view.buf, capacity, &info)
                 : zl_subscription_take(self->owner.handle, view.buf, &info);
    PyBuffer_Release(&view);
    if (rc == ZL_ENODATA)
        Py_RETURN_NONE;
    if (rc != 0)
        return zlpy_raise(rc);
    return zlpy_message_info_new(&info);
}

static PyObject *subscription_stats(PyObject *object, PyObject *unused)
{
    (void)unused;
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    if (zlpy_subscription_check_usable(self) < 0)
        return NULL;
    zl_subscription_stats stats;
    int rc = zl_subscription_get_stats(self->owner.handle, &stats);
    if (rc != 0)
        return zlpy_raise(rc);
    return zlpy_fields_struct_sequence(zlpy_subscription_stats_type,
                                       zlpy_subscription_stats_fields, &stats);
}

static PyObject *subscription_options(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    if (!zlpy_owner_usable(&self->owner, "subscription"))
        return NULL;
    return zlpy_fields_dict(zlpy_subscription_option_fields, &self->options.subscription);
}

static PyObject *subscription_default_options(PyObject *cls, PyObject *unused)
{
    (void)cls;
    (void)unused;
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    return zlpy_fields_dict(zlpy_subscription_option_fields, &options);
}

static PyObject *subscription_can_loan(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    if (!zlpy_owner_usable(&self->owner, "subscription"))
        return NULL;
    return PyBool_FromLong(zl_subscription_can_loan(self->owner.handle));
}

static PyMethodDef subscription_methods[] = {
    {"take", (PyCFunction)(void (*)(void))subscription_take, METH_VARARGS | METH_KEYWORDS,
     "take(timeout=0) -> Loan or None\n\nBorrows the oldest message: a read-only buffer over the "
     "publisher's memory (zero copy), with .info. Waits up to timeout seconds (None: forever) "
     "when nothing is queued, without the GIL. Give it back with loan.release(), a `with` "
     "block, or by dropping the last reference."},
    {"take_sequence", subscription_take_sequence, METH_VARARGS,
     "take_sequence(capacity) -> list of Loan\n\nBorrows up to capacity messages, oldest first."},
    {"take_into", subscription_take_into, METH_O,
     "take_into(buffer) -> MessageInfo or None\n\nCopies the oldest message into buffer (a "
     "writable, C-contiguous buffer of the type's size: bytearray, numpy array). A sized "
     "type's buffer holds the fixed part and room for elements; info.size says how many "
     "bytes were written."},
    {"wait", (PyCFunction)(void (*)(void))subscription_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(timeout=None) -> bool\n\nSleeps, without the GIL, until a message may be there (True) "
     "or timeout seconds passed (False). True is a hint: take until it returns None."},
    {"stats", subscription_stats, METH_NOARGS,
     "stats() -> SubscriptionStats\n\nEvery field of zl_subscription_stats: received, lost, "
     "publishers, loans_held, peer_errors, other_owners, held_back (LOSSLESS: publishes that "
     "found its queue full), other_transport."},
    {"default_options", subscription_default_options, METH_NOARGS | METH_CLASS,
     "default_options() -> dict\n\nThe keyword options and their defaults, one per member of "
     "zl_subscription_options (zl_subscription_options_init)."},
    {"close", zlpy_owner_close_method, METH_NOARGS,
     "Closes the subscription: nothing more is taken. The C subscription is destroyed once "
     "its loans are returned or collected and no wait is running (at once if so already)."},
    {"__enter__", zlpy_owner_enter, METH_NOARGS, NULL},
    {"__exit__", zlpy_owner_exit, METH_VARARGS, "Closes the subscription."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef subscription_getset[] = {
    {"can_loan", subscription_can_loan, NULL, "True when take() lends the publisher's memory.", NULL},
    {"options", subscription_options, NULL, "The options it was created with, as a dict.", NULL},
    {"topic", zlpy_endpoint_topic, NULL, "The topic name given.", NULL},
    {"type", zlpy_endpoint_type, NULL, "The zloan.Type.", NULL},
    {"closed", zlpy_owner_closed_get, NULL, "Whether close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject zlpy_subscription_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zloan.Subscription",
    .tp_basicsize = sizeof(zlpy_endpoint),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Subscription(context, topic, type, *, depth=8, max_loans=8, history=False, "
              "reliability=KEEP_LAST, disable_loans=False)\n\nA subscription of type on topic. "
              "The keywords are the members of zl_subscription_options (default_options() lists "
              "them with their defaults). reliability=zloan.LOSSLESS never loses a message: a "
              "publish that would overflow its queue waits for it, up to the publisher's "
              "max_blocking_time_ns. A context manager: leaving the block closes it.",
    .tp_new = PyType_GenericNew,
    .tp_init = subscription_init,
    .tp_dealloc = zlpy_endpoint_dealloc,
    .tp_methods = subscription_methods,
    .tp_getset = subscription_getset,
};
