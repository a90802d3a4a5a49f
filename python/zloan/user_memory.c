/* zloan for Python: UserMemory, a memfd of the caller's registered with a
 * publisher (zloan/user_memory.h).
 *
 * UserMemory(publisher, length) makes a memfd of length bytes, seals it
 * against shrinking and growing, maps it read-write here and registers it
 * (zl_user_memory_create). The object is a buffer: array(dtype, shape) and
 * numpy.frombuffer are views of the mapping, no copy. publish(message)
 * publishes a message lying in it, by byte offset or by a view of it:
 * subscriptions in other processes map the memfd read-only and read those
 * very bytes. Completions come back as the offsets published
 * (take_completed()), since an address means nothing in Python.
 *
 * Lifetimes, as for loans (module.h): the memory uses its publisher, so the
 * C publisher outlives the registration (zl_publisher_destroy refuses while
 * memory is registered). close() unregisters it, and refuses with
 * BusyError, changing nothing, while messages from it are in flight. Views
 * keep the mapping: it is unmapped when the memory is closed and the last
 * view is gone. Collected with messages still in flight, the registration
 * (and with it the publisher) is kept for the life of the process, with a
 * ResourceWarning: a subscription may still be reading it.
 */
#include "module.h" /* Python.h first: it sets the feature macros (memfd_create) */

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct zlpy_user_memory {
    zlpy_owner owner; /* handle: the zl_user_memory; parent: the Publisher */
    PyObject *type;   /* the publisher's zloan.Type */
    int fd;           /* the memfd; -1 once closed */
    void *base;       /* the mapping; NULL once unmapped */
    size_t length;
    Py_ssize_t exports;
    zl_user_memory_options options;
} zlpy_user_memory;

static PyObject *user_memory_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *object = PyType_GenericNew(type, args, kwargs);
    if (object != NULL)
        ((zlpy_user_memory *)object)->fd = -1; /* not 0: nothing is open yet */
    return object;
}

static void user_memory_destroy(zlpy_owner *owner)
{
    zl_user_memory_destroy(owner->handle);
}

/* Lets go of the mapping and the memfd once nothing can use them. */
static void unmap_when_unused(zlpy_user_memory *self)
{
    if (self->exports > 0 || self->owner.handle != NULL)
        return;
    if (self->base != NULL)
        munmap(self->base, self->length);
    self->base = NULL;
    if (self->fd >= 0)
        close(self->fd);
    self->fd = -1;
}

/* Makes, seals and maps the memfd; -1 with OSError set, nothing left open. */
static int map_memfd(zlpy_user_memory *self, size_t length)
{
    int fd = memfd_create("zloan-user-memory", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    void *base = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, (off_t)length) == 0 &&
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0)
        base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        PyErr_SetFromErrno(PyExc_OSError);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    self->fd = fd;
    self->base = base;
    self->length = length;
    return 0;
}

static int user_memory_init(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    static char *keywords[] = {"publisher", "length", NULL};
    if (self->type != NULL || self->base != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "UserMemory.__init__ called twice");
        return -1;
    }
    zl_user_memory_options options;
    zl_user_memory_options_init(&options);
    PyObject *publisher, *rest;
    Py_ssize_t length;
    if (zlpy_fields_parse(zlpy_user_memory_option_fields, kwargs, sizeof options, &options,
                          &rest) < 0)
        return -1;
    int parsed = PyArg_ParseTupleAndKeywords(args, rest, "On:UserMemory", keywords, &publisher,
                                             &length);
    Py_DECREF(rest);
    if (!parsed)
        return -1;
    if (!PyObject_TypeCheck(publisher, &zlpy_publisher_type)) {
        PyErr_SetString(PyExc_TypeError, "publisher must be a zloan.Publisher");
        return -1;
    }
    zlpy_endpoint *endpoint = (zlpy_endpoint *)publisher;
    if (!zlpy_owner_usable(&endpoint->owner, "publisher"))
        return -1;
    if (length <= 0) {
        zlpy_raise_text(ZL_EINVAL, "length must be at least 1 byte");
        return -1;
    }
    if (map_memfd(self, (size_t)length) < 0)
        return -1;
    options.fd = self->fd;
    options.offset = 0;
    options.base = self->base;
    options.length = self->length;
    zl_user_memory *memory;
    int rc = zl_user_memory_create(endpoint->owner.handle, &options, &memory);
    if (rc != 0) {
        zlpy_raise(rc);
        unmap_when_unused(self);
        return -1;
    }
    zlpy_owner_init(&self->owner, &endpoint->owner, user_memory_destroy);
    self->owner.handle = memory;
    self->type = Py_NewRef(endpoint->type);
    self->options = options;
    return 0;
}

static void user_memory_dealloc(PyObject *object)
{
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    /* No view is left: each one references the memory. */
    if (self->owner.handle != NULL && self->owner.generation == zlpy_fork_generation &&
        zl_user_memory_in_flight_count(self->owner.handle) > 0) {
        /* A subscription may still read it: keep the registration, the
         * mapping and the publisher (never destroyed now) for the process's
         * life rather than pull the memory from under a reader. */
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback); /* a collection may run while one is raised */
        if (PyErr_WarnEx(PyExc_ResourceWarning,
                         "zloan.UserMemory collected with messages in flight: its memory and "
                         "its publisher are kept until the process exits (close() it after "
                         "its completions)", 1) < 0)
            PyErr_WriteUnraisable(object);
        PyErr_Restore(type, value, traceback);
    } else {
        zlpy_owner_finalize(&self->owner);
        unmap_when_unused(self);
    }
    Py_XDECREF(self->type);
    Py_TYPE(object)->tp_free(object);
}

/* The handle, or NULL with ClosedError set. */
static zl_user_memory *usable(zlpy_user_memory *self)
{
    if (self->owner.parent == NULL && self->owner.handle == NULL && !self->owner.closed) {
        zlpy_raise_text(ZL_EINVAL, "the UserMemory was not initialised");
        return NULL;
    }
    if (!zlpy_owner_usable(&self->owner, "user memory"))
        return NULL;
    return self->owner.handle;
}

static PyObject *user_memory_close(PyObject *object, PyObject *unused)
{
    (void)unused;
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    if (self->owner.closed)
        Py_RETURN_NONE;
    if (self->owner.handle != NULL && self->owner.generation == zlpy_fork_generation) {
        uint32_t in_flight = zl_user_memory_in_flight_count(self->owner.handle);
        if (in_flight > 0) {
            char detail[200];
            snprintf(detail, sizeof detail,
                     "%u message(s) from the memory are still in flight: a subscription may be "
                     "reading them; close it after their completions (take_completed)",
                     in_flight);
            return zlpy_raise_text(ZL_EBUSY, detail);
        }
        int rc = zl_user_memory_destroy(self->owner.handle);
        if (rc != 0)
            return zlpy_raise(rc);
    }
    self->owner.handle = NULL;
    zlpy_owner_close(&self->owner); /* leaves the publisher */
    unmap_when_unused(self);
    Py_RETURN_NONE;
}

static PyObject *user_memory_exit(PyObject *object, PyObject *args)
{
    PyObject *exc_type = PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : Py_None;
    PyObject *done = user_memory_close(object, NULL);
    if (done == NULL) {
        if (exc_type == Py_None)
            return NULL;
        /* The block's own exception goes on unmasked; the memory stays
         * registered until a later close() or its collection. */
        PyErr_Clear();
        Py_RETURN_FALSE;
    }
    Py_DECREF(done);
    Py_RETURN_FALSE;
}

/* The byte offset at as a place in the memory; -1 with InvalidArgumentError. */
static int locate_offset(zlpy_user_memory *self, PyObject *at_object, size_t *offset)
{
    Py_ssize_t at = PyNumber_AsSsize_t(at_object, NULL);
    if (at == -1 && PyErr_Occurred())
        return -1;
    if (at >= 0 && (size_t)at < self->length) {
        *offset = (size_t)at;
        return 0;
    }
    char detail[120];
    snprintf(detail, sizeof detail, "offset %zd is outside the memory (0..%zu)", at,
             self->length - 1);
    zlpy_raise_text(ZL_EINVAL, detail);
    return -1;
}

/* Where message lies in the memory: a buffer inside the mapping (a view of
 * it), or an integer (a byte offset; numpy's integers too, whose own buffer
 * lies elsewhere). *bytes is the view's length, or SIZE_MAX for an offset.
 * Returns 0, or -1 with InvalidArgumentError or TypeError. */
static int locate(zlpy_user_memory *self, PyObject *message, size_t *offset, size_t *bytes)
{
    *bytes = SIZE_MAX;
    if (PyLong_Check(message) || !PyObject_CheckBuffer(message)) {
        if (PyIndex_Check(message))
            return locate_offset(self, message, offset);
        PyErr_Format(PyExc_TypeError,
                     "a message is a view of the memory (array()) or a byte offset, not %.100s",
                     Py_TYPE(message)->tp_name);
        return -1;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(message, &view, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    uintptr_t start = (uintptr_t)view.buf, base = (uintptr_t)self->base;
    size_t len = (size_t)view.len;
    bool scalar = view.ndim == 0;
    PyBuffer_Release(&view);
    if (start >= base && start - base < self->length && len <= self->length - (start - base)) {
        *offset = start - base;
        *bytes = len;
        return 0;
    }
    /* A scalar elsewhere (numpy.int64(1008)) is an offset. */
    if (scalar && PyIndex_Check(message))
        return locate_offset(self, message, offset);
    char detail[200];
    snprintf(detail, sizeof detail,
             "the message (%zu bytes) does not lie in this memory: publish a view of it "
             "(array()) or a byte offset", len);
    zlpy_raise_text(ZL_EINVAL, detail);
    return -1;
}

static PyObject *user_memory_publish(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    static char *keywords[] = {"message", "count", NULL};
    PyObject *message, *count_object = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:publish", keywords, &message, &count_object))
        return NULL;
    zl_user_memory *memory = usable(self);
    if (memory == NULL || !zlpy_owner_usable(self->owner.parent, "publisher"))
        return NULL;
    size_t offset, bytes, count = 0;
    if (locate(self, message, &offset, &bytes) < 0)
        return NULL;
    const zl_type *type = &((zlpy_type *)self->type)->type;
    if (count_object != Py_None) {
        count = PyLong_AsSize_t(count_object);
        if (PyErr_Occurred())
            return NULL;
    } else if (bytes != SIZE_MAX && zlpy_message_count(type, bytes, "message", false, &count) < 0) {
        return NULL;
    }
    int rc = zl_user_memory_publish(memory, (char *)self->base + offset, count);
    if (rc != 0)
        return zlpy_raise(rc);
    return PyLong_FromSize_t(offset);
}

static PyObject *user_memory_in_flight(PyObject *object, PyObject *message)
{
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    zl_user_memory *memory = usable(self);
    size_t offset, bytes;
    if (memory == NULL || locate(self, message, &offset, &bytes) < 0)
        return NULL;
    bool in_flight;
    int rc = zl_user_memory_in_flight(memory, (char *)self->base + offset, &in_flight);
    if (rc != 0)
        return zlpy_raise(rc);
    return PyBool_FromLong(in_flight);
}

static PyObject *user_memory_take_completed(PyObject *object, PyObject *unused)
{
    (void)unused;
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    zl_user_memory *memory = usable(self);
    if (memory == NULL)
        return NULL;
    const void *message;
    int rc = zl_user_memory_take_completed(memory, &message);
    if (rc == ZL_ENODATA)
        Py_RETURN_NONE;
    if (rc != 0)
        return zlpy_raise(rc);
    return PyLong_FromSize_t((size_t)((const char *)message - (const char *)self->base));
}

static PyObject *numpy_frombuffer, *numpy_dtype;

/* The items of shape (an int or a sequence of ints) in *count; -1 with an
 * exception. */
static int shape_items(PyObject *shape, Py_ssize_t *count)
{
    if (PyLong_Check(shape)) {
        *count = PyLong_AsSsize_t(shape);
        return *count == -1 && PyErr_Occurred() ? -1 : 0;
    }
    PyObject *items = PySequence_Fast(shape, "shape must be an int or a sequence of ints");
    if (items == NULL)
        return -1;
    Py_ssize_t product = 1;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items); i++) {
        Py_ssize_t n = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(items, i));
        if (n == -1 && PyErr_Occurred()) {
            Py_DECREF(items);
            return -1;
        }
        if (n < 0 || (n > 0 && product > PY_SSIZE_T_MAX / n)) {
            Py_DECREF(items);
            zlpy_raise_text(ZL_EINVAL, "the shape has a negative or too large dimension");
            return -1;
        }
        product *= n;
    }
    Py_DECREF(items);
    *count = product;
    return 0;
}

static PyObject *user_memory_array(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    static char *keywords[] = {"dtype", "shape", "offset", NULL};
    PyObject *dtype = NULL, *shape = Py_None;
    Py_ssize_t offset = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OO$n:array", keywords, &dtype, &shape, &offset))
        return NULL;
    if (usable(self) == NULL)
        return NULL;
    if (offset < 0 || (size_t)offset > self->length)
        return zlpy_raise_text(ZL_EINVAL, "offset is outside the memory");
    if (numpy_frombuffer == NULL) {
        PyObject *numpy = PyImport_ImportModule("numpy");
        if (numpy == NULL)
            return NULL;
        numpy_frombuffer = PyObject_GetAttrString(numpy, "frombuffer");
        numpy_dtype = PyObject_GetAttrString(numpy, "dtype");
        Py_DECREF(numpy);
        if (numpy_frombuffer == NULL || numpy_dtype == NULL) {
            Py_CLEAR(numpy_frombuffer);
            Py_CLEAR(numpy_dtype);
            return NULL;
        }
    }
    PyObject *d = dtype != NULL ? PyObject_CallOneArg(numpy_dtype, dtype)
                                : PyObject_CallFunction(numpy_dtype, "s", "u1");
    if (d == NULL)
        return NULL;
    PyObject *attr = PyObject_GetAttrString(d, "itemsize");
    Py_ssize_t itemsize = attr != NULL ? PyLong_AsSsize_t(attr) : -1;
    Py_XDECREF(attr);
    Py_ssize_t count = 0;
    if (!PyErr_Occurred() && itemsize <= 0)
        zlpy_raise_text(ZL_EINVAL, "the dtype has no bytes");
    else if (!PyErr_Occurred() && shape == Py_None)
        count = ((Py_ssize_t)self->length - offset) / itemsize; /* every whole item */
    else if (!PyErr_Occurred() && shape_items(shape, &count) == 0 &&
             count > ((Py_ssize_t)self->length - offset) / itemsize)
        zlpy_raise_text(ZL_EINVAL, "the shape does not fit in the memory after offset");
    /* numpy.frombuffer keeps an export of the memory for as long as the
     * array (and every view of it) lives: the mapping stays until then. */
    PyObject *array = NULL;
    if (!PyErr_Occurred()) {
        PyObject *call_args = Py_BuildValue("(O)", object);
        PyObject *call_kwargs = Py_BuildValue("{s:O,s:n,s:n}", "dtype", d, "count", count,
                                              "offset", offset);
        if (call_args != NULL && call_kwargs != NULL)
            array = PyObject_Call(numpy_frombuffer, call_args, call_kwargs);
        Py_XDECREF(call_args);
        Py_XDECREF(call_kwargs);
        if (array != NULL && shape != Py_None) {
            PyObject *shaped = PyObject_CallMethod(array, "reshape", "(O)", shape);
            Py_SETREF(array, shaped);
        }
    }
    Py_DECREF(d);
    return array;
}

static int user_memory_getbuffer(PyObject *object, Py_buffer *view, int flags)
{
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    if (usable(self) == NULL) {
        view->obj = NULL;
        return -1;
    }
    if (PyBuffer_FillInfo(view, object, self->base, (Py_ssize_t)self->length, 0, flags) < 0)
        return -1;
    self->exports++;
    return 0;
}

static void user_memory_releasebuffer(PyObject *object, Py_buffer *view)
{
    (void)view;
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    self->exports--;
    if (self->owner.closed)
        unmap_when_unused(self);
}

static PyBufferProcs user_memory_buffer = {user_memory_getbuffer, user_memory_releasebuffer};

static PyObject *user_memory_default_options(PyObject *cls, PyObject *unused)
{
    (void)cls;
    (void)unused;
    zl_user_memory_options options;
    zl_user_memory_options_init(&options);
    return zlpy_fields_dict(zlpy_user_memory_option_fields, &options);
}

static PyObject *user_memory_options(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    if (usable(self) == NULL)
        return NULL;
    return zlpy_fields_dict(zlpy_user_memory_option_fields, &self->options);
}

static PyObject *user_memory_in_flight_count(PyObject *object, void *unused)
{
    (void)unused;
    zl_user_memory *memory = usable((zlpy_user_memory *)object);
    if (memory == NULL)
        return NULL;
    return PyLong_FromUnsignedLong(zl_user_memory_in_flight_count(memory));
}

static PyObject *user_memory_is_shared(PyObject *object, void *unused)
{
    (void)unused;
    zl_user_memory *memory = usable((zlpy_user_memory *)object);
    if (memory == NULL)
        return NULL;
    return PyBool_FromLong(zl_user_memory_is_shared(memory));
}

static PyObject *user_memory_length(PyObject *object, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(((zlpy_user_memory *)object)->length);
}

static PyObject *user_memory_fileno(PyObject *object, PyObject *unused)
{
    (void)unused;
    zlpy_user_memory *self = (zlpy_user_memory *)object;
    if (usable(self) == NULL)
        return NULL;
    return PyLong_FromLong(self->fd);
}

static PyMethodDef user_memory_methods[] = {
    {"array", (PyCFunction)(void (*)(void))user_memory_array, METH_VARARGS | METH_KEYWORDS,
     "array(dtype='u1', shape=None, *, offset=0) -> numpy.ndarray\n\nA writable view of the "
     "memory from byte offset on (no copy); without a shape, every whole item that fits. It "
     "keeps the mapping alive while it lives. Change no message while it is in flight."},
    {"publish", (PyCFunction)(void (*)(void))user_memory_publish, METH_VARARGS | METH_KEYWORDS,
     "publish(message, count=None) -> int\n\nPublishes the message lying in the memory, given "
     "as a view of it (array()[i:i+1], a slice) or a byte offset (an int, numpy's too); "
     "returns its offset. A sized "
     "type's count is count, else from the view's length (as Publisher.publish), 0 for an "
     "offset. No copy: subscriptions read these bytes, and the message is in flight until "
     "every one that received it returned it (take_completed() then gives its offset). "
     "InvalidArgumentError when it does not lie in the memory or is misaligned; BusyError "
     "when it overlaps a message in flight or max_in_flight are; TimeoutError as "
     "Publisher.publish for a full LOSSLESS subscription. On error nothing is published."},
    {"in_flight", user_memory_in_flight, METH_O,
     "in_flight(message) -> bool\n\nWhether the message last published there (a view or an "
     "offset) is still in flight."},
    {"take_completed", user_memory_take_completed, METH_NOARGS,
     "take_completed() -> int or None\n\nThe offset of the oldest message that completed (no "
     "subscription holds it any more: its bytes may change), or None. Up to max_in_flight "
     "notices are kept; older ones are forgotten."},
    {"fileno", user_memory_fileno, METH_NOARGS, "The memfd (sealed against shrinking and growing)."},
    {"default_options", user_memory_default_options, METH_NOARGS | METH_CLASS,
     "default_options() -> dict\n\nThe keyword options and their defaults: the members of "
     "zl_user_memory_options that UserMemory does not make itself (fd, offset, base and "
     "length are its memfd and mapping)."},
    {"close", user_memory_close, METH_NOARGS,
     "Unregisters the memory. BusyError, nothing changed, while messages from it are in "
     "flight. Views made earlier stay valid (ordinary memory now) until they go."},
    {"__enter__", zlpy_owner_enter, METH_NOARGS, NULL},
    {"__exit__", user_memory_exit, METH_VARARGS,
     "Closes the memory (BusyError on a normal exit while messages are in flight; on an "
     "exception it stays registered and the exception goes on)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef user_memory_getset[] = {
    {"in_flight_count", user_memory_in_flight_count, NULL, "Messages from it in flight now.", NULL},
    {"is_shared", user_memory_is_shared, NULL,
     "True when its messages reach subscriptions without a copy (False when the publisher "
     "cannot lend: publishing copies and completes at once).", NULL},
    {"length", user_memory_length, NULL, "Bytes of the memory.", NULL},
    {"options", user_memory_options, NULL, "The options it was created with, as a dict.", NULL},
    {"closed", zlpy_owner_closed_get, NULL, "Whether close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject zlpy_user_memory_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zloan.UserMemory",
    .tp_basicsize = sizeof(zlpy_user_memory),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "UserMemory(publisher, length, *, max_in_flight=8)\n\n"
              "length bytes of the caller's memory registered with publisher "
              "(zl_user_memory_create): a memfd sealed against shrinking and growing, mapped "
              "here read-write. A buffer: array(dtype, shape) gives numpy views of it. "
              "publish() sends a message lying in it without a copy; take_completed() tells "
              "when subscriptions are done with it. One thread at a time with its publisher. "
              "A context manager: leaving the block closes it.",
    .tp_new = user_memory_new,
    .tp_init = user_memory_init,
    .tp_dealloc = user_memory_dealloc,
    .tp_as_buffer = &user_memory_buffer,
    .tp_methods = user_memory_methods,
    .tp_getset = user_memory_getset,
};
