/* zloan for Python: Publisher, and what it shares with Subscription. */
#include "module.h"

/* Shared by both endpoints. */

int zlpy_endpoint_start(zlpy_endpoint *self, PyObject *context,
                        PyObject *topic, PyObject *type, void (*destroy)(zlpy_owner *))
{
    if (self->owner.handle != NULL || self->owner.parent != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "__init__ called twice");
        return -1;
    }
    if (!PyObject_TypeCheck(context, &zlpy_context_type)) {
        PyErr_SetString(PyExc_TypeError, "context must be a zloan.Context");
        return -1;
    }
    if (!PyObject_TypeCheck(type, &zlpy_type_type) || ((zlpy_type *)type)->name == NULL) {
        PyErr_SetString(PyExc_TypeError, "type must be a zloan.Type");
        return -1;
    }
    if (!PyUnicode_Check(topic)) {
        PyErr_SetString(PyExc_TypeError, "topic must be a str");
        return -1;
    }
    zlpy_owner *parent = (zlpy_owner *)context;
    if (!zlpy_owner_usable(parent, "context"))
        return -1;
    zlpy_owner_init(&self->owner, parent, destroy);
    self->type = Py_NewRef(type);
    self->topic = Py_NewRef(topic);
    return 0;
}

void zlpy_endpoint_dealloc(PyObject *object)
{
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    zlpy_owner_finalize(&self->owner);
    Py_XDECREF(self->type);
    Py_XDECREF(self->topic);
    Py_TYPE(object)->tp_free(object);
}

/* The handle, or NULL with ClosedError set. */
static zl_publisher *usable(zlpy_endpoint *self)
{
    if (!zlpy_owner_usable(&self->owner, "publisher"))
        return NULL;
    return self->owner.handle;
}

static void publisher_destroy(zlpy_owner *self)
{
    zl_publisher_destroy(self->handle);
}

static int publisher_init(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    static char *keywords[] = {"context", "topic", "type", "history", "max_loans",
                               "max_subscriptions", "chunks_per_subscription",
                               "pool_bytes_max", "disable_loans", NULL};
    PyObject *context, *topic, *type;
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    unsigned int history = options.history, max_loans = options.max_loans;
    unsigned int max_subscriptions = options.max_subscriptions;
    unsigned int chunks = options.chunks_per_subscription;
    unsigned long long pool_bytes_max = options.pool_bytes_max;
    int disable_loans = options.disable_loans;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OUO|$IIIIKp:Publisher", keywords, &context,
                                     &topic, &type, &history, &max_loans, &max_subscriptions,
                                     &chunks, &pool_bytes_max, &disable_loans))
        return -1;
    options.history = history;
    options.max_loans = max_loans;
    options.max_subscriptions = max_subscriptions;
    options.chunks_per_subscription = chunks;
    options.pool_bytes_max = pool_bytes_max;
    options.disable_loans = disable_loans;
    if (zlpy_endpoint_start(self, context, topic, type, publisher_destroy) < 0)
        return -1;
    zl_publisher *publisher;
    int rc = zl_publisher_create(((zlpy_owner *)context)->handle, PyUnicode_AsUTF8(topic),
                                 &((zlpy_type *)type)->type, &options, &publisher);
    if (rc != 0) {
        zlpy_raise(rc);
        return -1;
    }
    self->owner.handle = publisher;
    return 0;
}

static PyObject *publisher_loan(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    static char *keywords[] = {"count", NULL};
    Py_ssize_t count = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|n:loan", keywords, &count))
        return NULL;
    zl_publisher *publisher = usable(self);
    if (publisher == NULL)
        return NULL;
    if (count < 0)
        return zlpy_raise_text(ZL_EINVAL, "count must not be negative");
    /* The C layer checks count against the type (0 for a fixed size, at
     * most max_count) and lends that many elements' room. */
    void *message;
    int rc = zl_publisher_loan_sized(publisher, (size_t)count, &message);
    if (rc != 0)
        return zlpy_raise(rc);
    const zl_type *type = &((zlpy_type *)self->type)->type;
    PyObject *loan = zlpy_loan_new(self, message, type->size + (size_t)count * type->element_size,
                                   (size_t)count);
    if (loan == NULL)
        zl_publisher_return_loan(publisher, message);
    return loan;
}

/* The tail count of a message of bytes bytes of type: 0 for a fixed-size
 * type of exactly its size; for a sized type, the whole elements after the
 * fixed part. Without at_most the bytes must end within the padding after
 * those elements: from the fixed part and count elements up to
 * zl_type_message_size(type, count), that rounded up to the type's
 * alignment (a numpy structured array with align=True of the fixed part and
 * count elements has the rounded size). With at_most (a buffer to fill),
 * any length from the fixed part on. Returns 0, or -1 with ZL_EINVAL raised
 * naming both sizes. */
int zlpy_message_count(const zl_type *type, size_t bytes, const char *what, bool at_most,
                       size_t *count)
{
    char detail[240];
    if (type->element_size == 0) {
        *count = 0;
        if (bytes == type->size)
            return 0;
        snprintf(detail, sizeof detail, "the %s has %zu bytes; the type has %zu", what, bytes,
                 type->size);
    } else {
        *count = bytes >= type->size ? (bytes - type->size) / type->element_size : 0;
        if (bytes >= type->size && (at_most || bytes <= zl_type_message_size(type, *count)))
            return 0;
        snprintf(detail, sizeof detail,
                 "the %s has %zu bytes; the type has a fixed part of %zu then elements of %zu "
                 "(a message of n elements has %zu + %zu n bytes, or that rounded up to the "
                 "alignment of %zu)",
                 what, bytes, type->size, type->element_size, type->size, type->element_size,
                 type->alignment);
    }
    zlpy_raise_text(ZL_EINVAL, detail);
    return -1;
}

static PyObject *publisher_publish(PyObject *object, PyObject *message)
{
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    zl_publisher *publisher = usable(self);
    if (publisher == NULL)
        return NULL;
    if (PyObject_TypeCheck(message, &zlpy_loan_type)) {
        PyErr_SetString(PyExc_TypeError,
                        "publish() copies a message the caller owns; publish a loan with loan.publish()");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(message, &view, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    /* A sized message's count follows from its length: the fixed part and
     * the whole elements, maybe followed by the padding up to the type's
     * alignment; the C layer copies the fixed part and those elements. */
    size_t count;
    if (zlpy_message_count(&((zlpy_type *)self->type)->type, (size_t)view.len, "message", false,
                           &count) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    int rc = zl_publisher_publish_sized(publisher, view.buf, count);
    PyBuffer_Release(&view);
    if (rc != 0)
        return zlpy_raise(rc);
    Py_RETURN_NONE;
}

static PyObject *publisher_update_connections(PyObject *object, PyObject *unused)
{
    (void)unused;
    zl_publisher *publisher = usable((zlpy_endpoint *)object);
    if (publisher == NULL)
        return NULL;
    int rc = zl_publisher_update_connections(publisher);
    if (rc != 0)
        return zlpy_raise(rc);
    Py_RETURN_NONE;
}

static PyObject *publisher_stats(PyObject *object, PyObject *unused)
{
    (void)unused;
    zl_publisher *publisher = usable((zlpy_endpoint *)object);
    if (publisher == NULL)
        return NULL;
    zl_publisher_stats stats;
    int rc = zl_publisher_get_stats(publisher, &stats);
    if (rc != 0)
        return zlpy_raise(rc);
    PyObject *result = PyStructSequence_New(zlpy_publisher_stats_type);
    if (result == NULL)
        return NULL;
    PyStructSequence_SetItem(result, 0, PyLong_FromUnsignedLongLong(stats.published));
    PyStructSequence_SetItem(result, 1, PyLong_FromUnsignedLongLong(stats.dropped));
    PyStructSequence_SetItem(result, 2, PyLong_FromUnsignedLong(stats.subscriptions));
    PyStructSequence_SetItem(result, 3, PyLong_FromUnsignedLong(stats.chunks_total));
    PyStructSequence_SetItem(result, 4, PyLong_FromUnsignedLong(stats.chunks_free));
    PyStructSequence_SetItem(result, 5, PyLong_FromUnsignedLong(stats.loans_held));
    PyStructSequence_SetItem(result, 6, PyLong_FromUnsignedLongLong(stats.peer_errors));
    if (PyErr_Occurred()) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
}

static PyObject *publisher_can_loan(PyObject *object, void *unused)
{
    (void)unused;
    zl_publisher *publisher = usable((zlpy_endpoint *)object);
    if (publisher == NULL)
        return NULL;
    return PyBool_FromLong(zl_publisher_can_loan(publisher));
}

static PyObject *publisher_id(PyObject *object, void *unused)
{
    (void)unused;
    zl_publisher *publisher = usable((zlpy_endpoint *)object);
    if (publisher == NULL)
        return NULL;
    return PyLong_FromUnsignedLongLong(zl_publisher_id(publisher));
}

PyObject *zlpy_endpoint_topic(PyObject *object, void *unused)
{
    (void)unused;
    PyObject *topic = ((zlpy_endpoint *)object)->topic;
    return Py_NewRef(topic != NULL ? topic : Py_None);
}

PyObject *zlpy_endpoint_type(PyObject *object, void *unused)
{
    (void)unused;
    PyObject *type = ((zlpy_endpoint *)object)->type;
    return Py_NewRef(type != NULL ? type : Py_None);
}

static PyMethodDef publisher_methods[] = {
    {"loan", (PyCFunction)(void (*)(void))publisher_loan, METH_VARARGS | METH_KEYWORDS,
     "loan(count=0) -> Loan\n\nLends memory for one message from the publisher's pool (zero copy): a "
     "writable buffer. Publish it with loan.publish() or give it back with loan.release(); "
     "`with pub.loan() as m:` publishes on normal exit and gives it back on an exception. "
     "A sized type's loan has room for count tail elements (loan.tail()); loan.publish(n) "
     "may send fewer."},
    {"publish", publisher_publish, METH_O,
     "publish(message)\n\nPublishes a copy of message, any C-contiguous buffer of the type's "
     "size (bytes, bytearray, a numpy array or scalar); the caller keeps it. A sized type's "
     "message is its fixed part and whole elements, maybe followed by the padding up to the "
     "type's alignment (zl_type_message_size(type, n) bytes, as a numpy structured array "
     "with align=True has); the count is the whole elements that fit."},
    {"update_connections", publisher_update_connections, METH_NOARGS,
     "Connects new subscriptions and serves their history (an idle publisher calls it)."},
    {"stats", publisher_stats, METH_NOARGS, "stats() -> PublisherStats"},
    {"close", zlpy_owner_close_method, METH_NOARGS,
     "Closes the publisher: no new loans or publications. The C publisher is destroyed once "
     "the loans it lent are published, returned or collected (at once if there are none)."},
    {"__enter__", zlpy_owner_enter, METH_NOARGS, NULL},
    {"__exit__", zlpy_owner_exit, METH_VARARGS, "Closes the publisher."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef publisher_getset[] = {
    {"can_loan", publisher_can_loan, NULL, "True when loans come from shared memory (zero copy).", NULL},
    {"id", publisher_id, NULL, "The publisher's id, as in MessageInfo.publisher_id.", NULL},
    {"topic", zlpy_endpoint_topic, NULL, "The topic name given.", NULL},
    {"type", zlpy_endpoint_type, NULL, "The zloan.Type.", NULL},
    {"closed", zlpy_owner_closed_get, NULL, "Whether close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject zlpy_publisher_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zloan.Publisher",
    .tp_basicsize = sizeof(zlpy_endpoint),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Publisher(context, topic, type, *, history=0, max_loans=4, max_subscriptions=8, "
              "chunks_per_subscription=24, pool_bytes_max=0, disable_loans=False)\n\n"
              "A publisher of type on topic; options as zl_publisher_options. One thread at a "
              "time (Python's GIL sees to it). A context manager: leaving the block closes it.",
    .tp_new = PyType_GenericNew,
    .tp_init = publisher_init,
    .tp_dealloc = zlpy_endpoint_dealloc,
    .tp_methods = publisher_methods,
    .tp_getset = publisher_getset,
};
