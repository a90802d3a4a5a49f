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

int zlpy_endpoint_parse(PyObject *args, PyObject *kwargs, const char *name,
                        const zlpy_field *fields, size_t size, void *options, PyObject **context,
                        PyObject **topic, PyObject **type)
{
    static char *keywords[] = {"context", "topic", "type", NULL};
    PyObject *rest;
    if (zlpy_fields_parse(fields, kwargs, size, options, &rest) < 0)
        return -1;
    /* A keyword that is neither an option nor an argument is named, not
     * counted as one more positional argument. */
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(rest, &pos, &key, &value)) {
        bool known = false;
        for (char **k = keywords; *k != NULL; k++)
            known = known || (PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, *k) == 0);
        if (!known) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", name, key);
            Py_DECREF(rest);
            return -1;
        }
    }
    char format[64];
    snprintf(format, sizeof format, "OUO:%s", name);
    int parsed = PyArg_ParseTupleAndKeywords(args, rest, format, keywords, context, topic, type);
    Py_DECREF(rest);
    return parsed ? 0 : -1;
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
    PyObject *context, *topic, *type;
    /* Every member of zl_publisher_options is a keyword (fields.c). */
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    if (zlpy_endpoint_parse(args, kwargs, "Publisher", zlpy_publisher_option_fields, sizeof options,
                            &options, &context, &topic, &type) < 0 ||
        zlpy_endpoint_start(self, context, topic, type, publisher_destroy) < 0)
        return -1;
    zl_publisher *publisher;
    int rc = zl_publisher_create(((zlpy_owner *)context)->handle, PyUnicode_AsUTF8(topic),
                                 &((zlpy_type *)type)->type, &options, &publisher);
    if (rc != 0) {
        zlpy_raise(rc);
        return -1;
    }
    self->owner.handle = publisher;
    self->options.publisher = options;
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
    return zlpy_fields_struct_sequence(zlpy_publisher_stats_type, zlpy_publisher_stats_fields,
                                       &stats);
}

static PyObject *publisher_options(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_endpoint *self = (zlpy_endpoint *)object;
    if (usable(self) == NULL)
        return NULL;
    return zlpy_fields_dict(zlpy_publisher_option_fields, &self->options.publisher);
}

static PyObject *publisher_default_options(PyObject *cls, PyObject *unused)
{
    (void)cls;
    (void)unused;
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    return zlpy_fields_dict(zlpy_publisher_option_fields, &options);
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
    {"stats", publisher_stats, METH_NOARGS,
     "stats() -> PublisherStats\n\nTakes back what subscriptions returned, then gives every "
     "field of zl_publisher_stats: published, dropped, chunks, the pool's segments and bytes "
     "(shm_bytes, shm_bytes_high, shm_bytes_max, growths), lossless waits (blocked, timeouts), "
     "other_owners, other_transport."},
    {"default_options", publisher_default_options, METH_NOARGS | METH_CLASS,
     "default_options() -> dict\n\nThe keyword options and their defaults, one per member of "
     "zl_publisher_options (zl_publisher_options_init)."},
    {"close", zlpy_owner_close_method, METH_NOARGS,
     "Closes the publisher: no new loans or publications. The C publisher is destroyed once "
     "the loans it lent are published, returned or collected (at once if there are none)."},
    {"__enter__", zlpy_owner_enter, METH_NOARGS, NULL},
    {"__exit__", zlpy_owner_exit, METH_VARARGS, "Closes the publisher."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef publisher_getset[] = {
    {"can_loan", publisher_can_loan, NULL, "True when loans come from shared memory (zero copy).", NULL},
    {"options", publisher_options, NULL, "The options it was created with, as a dict.", NULL},
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
              "chunks_per_subscription=24, pool_bytes_max=0, disable_loans=False, "
              "max_blocking_time_ns=MAX_BLOCKING_TIME_DEFAULT_NS)\n\n"
              "A publisher of type on topic. The keywords are the members of "
              "zl_publisher_options (default_options() lists them with their defaults; "
              "max_blocking_time_ns bounds a publish's wait for a full LOSSLESS subscription, "
              "then TimeoutError with nothing published). One thread at a time (Python's GIL "
              "sees to it). A context manager: leaving the block closes it.",
    .tp_new = PyType_GenericNew,
    .tp_init = publisher_init,
    .tp_dealloc = zlpy_endpoint_dealloc,
    .tp_methods = publisher_methods,
    .tp_getset = publisher_getset,
};
