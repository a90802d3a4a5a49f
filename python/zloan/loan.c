/* zloan for Python: Loan, message memory zloan lends, as a buffer.
 *
 * A loan is held, then published (publisher loans) or returned, once. While
 * held it exports its memory through the buffer protocol without copying:
 * writable for a publisher's loan, read-only for a received one. Each export
 * (a memoryview, a numpy array made by numpy.frombuffer) references the loan
 * object, so the loan outlives every view into it; publishing or returning
 * while views exist raises BufferError, as mmap.close() does. A held loan
 * whose last reference goes away is returned. After it is published or
 * returned, every use raises NotLoanError: the object no longer points at
 * the memory.
 *
 * A loan counts as a user of its endpoint (module.h), so the endpoint's C
 * handle, and with it the mapping the memory lies in, outlives the loan.
 *
 * A loan of a sized type has a count: the tail elements lent (publisher) or
 * published (received, from MessageInfo). Its buffer is the fixed part and
 * exactly those elements, so no view reaches past what was published;
 * array() views the fixed part, tail() the elements.
 */
#include "module.h"

enum loan_state { LOAN_HELD, LOAN_PUBLISHED, LOAN_RETURNED };

typedef struct zlpy_loan {
    PyObject_HEAD
    zlpy_endpoint *endpoint; /* a user of it while held; NULL afterwards */
    PyObject *type;          /* the endpoint's zloan.Type, for array() */
    void *data;
    /* Bytes of the message: the fixed part and count tail elements. */
    size_t size;
    /* Sized types: tail elements lent (publisher) or published (received). */
    size_t count;
    bool writable;
    bool has_info;
    enum loan_state state;
    Py_ssize_t exports;
    zl_message_info info;
} zlpy_loan;

static PyObject *loan_make(zlpy_endpoint *endpoint, void *data, size_t size, size_t count,
                           bool writable, const zl_message_info *info)
{
    zlpy_loan *self = PyObject_New(zlpy_loan, &zlpy_loan_type);
    if (self == NULL)
        return NULL;
    zlpy_owner_use(&endpoint->owner);
    self->endpoint = endpoint;
    self->type = Py_NewRef(endpoint->type);
    self->data = data;
    self->size = size;
    self->count = count;
    self->writable = writable;
    self->has_info = info != NULL;
    if (info != NULL)
        self->info = *info;
    self->state = LOAN_HELD;
    self->exports = 0;
    return (PyObject *)self;
}

PyObject *zlpy_loan_new(zlpy_endpoint *endpoint, void *data, size_t size, size_t count)
{
    return loan_make(endpoint, data, size, count, true, NULL);
}

PyObject *zlpy_loan_new_received(zlpy_endpoint *endpoint, const void *data,
                                 const zl_message_info *info)
{
    /* The C layer checked info->size against the type (a fixed part and
     * whole elements, at most max_count) before lending it. The memory is
     * read-only: the buffer says so and no path writes it. */
    return loan_make(endpoint, (void *)data, info->size, info->count, false, info);
}

/* Gives the memory back to the C endpoint; the loan must be held. */
static int give_back(zlpy_loan *self)
{
    void *handle = self->endpoint->owner.handle;
    if (self->writable)
        return zl_publisher_return_loan(handle, self->data);
    return zl_subscription_return_loan(handle, self->data);
}

/* The loan stops being held: it no longer uses its endpoint. */
static void let_go(zlpy_loan *self, enum loan_state state)
{
    self->state = state;
    self->data = NULL;
    zlpy_endpoint *endpoint = self->endpoint;
    self->endpoint = NULL;
    zlpy_owner_leave(&endpoint->owner);
}

static void loan_dealloc(PyObject *object)
{
    zlpy_loan *self = (zlpy_loan *)object;
    /* No export is left: each one references the loan. A loan inherited
     * through fork() is the parent's to give back. */
    if (self->state == LOAN_HELD) {
        if (self->endpoint->owner.generation == zlpy_fork_generation)
            (void)give_back(self);
        let_go(self, LOAN_RETURNED);
    }
    Py_XDECREF(self->type);
    PyObject_Free(object);
}

static const char *state_name(const zlpy_loan *self)
{
    return self->state == LOAN_HELD ? "held" : self->state == LOAN_PUBLISHED ? "published" : "returned";
}

/* 0 when the loan may be published or returned now; -1 with an exception. */
static int check_releasable(zlpy_loan *self, const char *verb)
{
    if (self->state != LOAN_HELD) {
        char detail[96];
        snprintf(detail, sizeof detail, "the loan was already %s", state_name(self));
        zlpy_raise_text(ZL_ENOTLOAN, detail);
        return -1;
    }
    if (self->exports > 0) {
        PyErr_Format(PyExc_BufferError,
                     "cannot %s a loan while %zd view(s) of it exist (memoryview, numpy array): "
                     "release or delete them first",
                     verb, self->exports);
        return -1;
    }
    return 0;
}

static PyObject *loan_publish(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_loan *self = (zlpy_loan *)object;
    static char *keywords[] = {"count", NULL};
    PyObject *count_object = Py_None;
    if (args != NULL && !PyArg_ParseTupleAndKeywords(args, kwargs, "|O:publish", keywords, &count_object))
        return NULL;
    if (self->state == LOAN_HELD && !self->writable)
        return zlpy_raise_text(ZL_EINVAL, "a received loan cannot be published (release() it)");
    if (check_releasable(self, "publish") < 0 ||
        !zlpy_owner_usable(&self->endpoint->owner, "publisher"))
        return NULL;
    /* None: every element lent. Fewer may be sent (the tail filled); more
     * than lent is the C layer's ZL_EINVAL, and the loan stays held. */
    size_t count = self->count;
    if (count_object != Py_None) {
        count = PyLong_AsSize_t(count_object);
        if (PyErr_Occurred())
            return NULL;
    }
    int rc = zl_publisher_publish_loan_sized(self->endpoint->owner.handle, self->data, count);
    if (rc != 0)
        return zlpy_raise(rc);
    let_go(self, LOAN_PUBLISHED);
    Py_RETURN_NONE;
}

static PyObject *loan_release(PyObject *object, PyObject *unused)
{
    (void)unused;
    zlpy_loan *self = (zlpy_loan *)object;
    if (check_releasable(self, "return") < 0)
        return NULL;
    if (self->endpoint->owner.generation != zlpy_fork_generation) {
        (void)zlpy_owner_usable(&self->endpoint->owner, "loan's endpoint"); /* raises */
        return NULL;
    }
    int rc = give_back(self);
    if (rc != 0)
        return zlpy_raise(rc);
    let_go(self, LOAN_RETURNED);
    Py_RETURN_NONE;
}

static PyObject *loan_enter(PyObject *object, PyObject *unused)
{
    (void)unused;
    zlpy_loan *self = (zlpy_loan *)object;
    if (self->state != LOAN_HELD)
        return zlpy_raise_text(ZL_ENOTLOAN, "the loan is no longer held");
    return Py_NewRef(object);
}

/* Normal exit: a publisher's loan is published, a received one returned.
 * Exit by an exception: the loan is returned, unless views of it still
 * exist; then it stays held until the last view and the loan object are
 * gone (and the original exception goes on, unmasked). */
static PyObject *loan_exit(PyObject *object, PyObject *args)
{
    zlpy_loan *self = (zlpy_loan *)object;
    PyObject *exc_type = PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : Py_None;
    if (self->state != LOAN_HELD)
        Py_RETURN_FALSE; /* published or returned inside the block */
    if (exc_type == Py_None) {
        PyObject *done = self->writable ? loan_publish(object, NULL, NULL) : loan_release(object, NULL);
        if (done == NULL)
            return NULL;
        Py_DECREF(done);
        Py_RETURN_FALSE;
    }
    if (self->exports == 0 && self->endpoint->owner.generation == zlpy_fork_generation &&
        give_back(self) == 0)
        let_go(self, LOAN_RETURNED);
    Py_RETURN_FALSE;
}

static PyObject *numpy_frombuffer;

/* numpy.frombuffer(loan, dtype, count, offset): a view of the loan. */
static PyObject *view_of(zlpy_loan *self, PyObject *dtype, size_t count, size_t offset)
{
    if (self->state != LOAN_HELD)
        return zlpy_raise_text(ZL_ENOTLOAN, "the loan is no longer held");
    if (numpy_frombuffer == NULL) {
        PyObject *numpy = PyImport_ImportModule("numpy");
        if (numpy == NULL)
            return NULL;
        numpy_frombuffer = PyObject_GetAttrString(numpy, "frombuffer");
        Py_DECREF(numpy);
        if (numpy_frombuffer == NULL)
            return NULL;
    }
    PyObject *args = Py_BuildValue("(O)", (PyObject *)self);
    PyObject *kwargs = Py_BuildValue("{s:O,s:n,s:n}", "dtype", dtype, "count", (Py_ssize_t)count,
                                     "offset", (Py_ssize_t)offset);
    PyObject *array = NULL;
    if (args != NULL && kwargs != NULL)
        array = PyObject_Call(numpy_frombuffer, args, kwargs);
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    return array;
}

static PyObject *loan_array(PyObject *object, PyObject *unused)
{
    (void)unused;
    zlpy_loan *self = (zlpy_loan *)object;
    zlpy_type *type = (zlpy_type *)self->type;
    PyObject *dtype = type->dtype;
    bool sized = type->type.element_size != 0;
    if (dtype == NULL || dtype == Py_None) {
        PyObject *bytes = PyUnicode_FromString("u1");
        if (bytes == NULL)
            return NULL;
        /* Raw bytes: the whole message, or a sized type's fixed part. */
        PyObject *array = view_of(self, bytes, sized ? type->type.size : self->size, 0);
        Py_DECREF(bytes);
        return array;
    }
    /* A fixed-size message is one record of the dtype; a sized one's fixed
     * part is one record of the dtype cut to the fixed part's bytes
     * (type.c), so that it never overlaps the tail (tail()'s). */
    return view_of(self, type->fixed, 1, 0);
}

static PyObject *loan_tail(PyObject *object, PyObject *unused)
{
    (void)unused;
    zlpy_loan *self = (zlpy_loan *)object;
    zlpy_type *type = (zlpy_type *)self->type;
    if (type->type.element_size == 0)
        return zlpy_raise_text(ZL_EINVAL, "the loan's type has no tail (it is not sized)");
    return view_of(self, type->tail, self->count, type->type.size);
}

static int loan_getbuffer(PyObject *object, Py_buffer *view, int flags)
{
    zlpy_loan *self = (zlpy_loan *)object;
    if (self->state != LOAN_HELD) {
        view->obj = NULL;
        zlpy_raise_text(ZL_ENOTLOAN, "the loan is no longer held: its memory is not ours to view");
        return -1;
    }
    if (PyBuffer_FillInfo(view, object, self->data, (Py_ssize_t)self->size, !self->writable, flags) < 0)
        return -1;
    self->exports++;
    return 0;
}

static void loan_releasebuffer(PyObject *object, Py_buffer *view)
{
    (void)view;
    ((zlpy_loan *)object)->exports--;
}

static PyBufferProcs loan_buffer = {loan_getbuffer, loan_releasebuffer};

static PyObject *loan_info(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_loan *self = (zlpy_loan *)object;
    if (!self->has_info)
        Py_RETURN_NONE;
    return zlpy_message_info_new(&self->info);
}

static PyObject *loan_nbytes(PyObject *object, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(((zlpy_loan *)object)->size);
}

static PyObject *loan_count(PyObject *object, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(((zlpy_loan *)object)->count);
}

static PyObject *loan_readonly(PyObject *object, void *unused)
{
    (void)unused;
    return PyBool_FromLong(!((zlpy_loan *)object)->writable);
}

static PyObject *loan_state(PyObject *object, void *unused)
{
    (void)unused;
    return PyUnicode_FromString(state_name((zlpy_loan *)object));
}

static PyObject *loan_exports(PyObject *object, void *unused)
{
    (void)unused;
    return PyLong_FromSsize_t(((zlpy_loan *)object)->exports);
}

static PyObject *loan_repr(PyObject *object)
{
    zlpy_loan *self = (zlpy_loan *)object;
    if (((zlpy_type *)self->type)->type.element_size != 0)
        return PyUnicode_FromFormat("<zloan.Loan %s, %zu bytes (%zu elements), %s>", state_name(self),
                                    self->size, self->count, self->writable ? "writable" : "read-only");
    return PyUnicode_FromFormat("<zloan.Loan %s, %zu bytes, %s>", state_name(self), self->size,
                                self->writable ? "writable" : "read-only");
}

static PyMethodDef loan_methods[] = {
    {"publish", (PyCFunction)(void (*)(void))loan_publish, METH_VARARGS | METH_KEYWORDS,
     "publish(count=None)\n\nPublishes a publisher's loan and hands it over. A sized type's "
     "loan sends count tail elements (None: every one lent; fewer may be sent, never more). "
     "BufferError while views exist."},
    {"release", loan_release, METH_NOARGS,
     "Gives the loan back unpublished (publisher) or returns it (subscription). BufferError "
     "while views exist."},
    {"array", loan_array, METH_NOARGS,
     "array() -> numpy.ndarray\n\nnumpy.frombuffer(loan, type.dtype): a view, no copy "
     "(shape (1,) plus any subarray shape of the dtype); of a sized type, its fixed part: "
     "the dtype's fields with an itemsize of exactly Type.size (numpy's align=True may round "
     "the dtype's itemsize past the tail's start), so it never overlaps the tail. It keeps "
     "the loan held while it lives."},
    {"tail", loan_tail, METH_NOARGS,
     "tail() -> numpy.ndarray\n\nA sized type's tail: a 1-D view of count elements of "
     "type.tail, no copy (read-only for a received loan). It keeps the loan held while it lives."},
    {"__enter__", loan_enter, METH_NOARGS, NULL},
    {"__exit__", loan_exit, METH_VARARGS,
     "Normal exit: publishes a publisher's loan, returns a received one. On an exception: "
     "returns it (kept held while views of it exist; then dropping them returns it)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef loan_getset[] = {
    {"info", loan_info, NULL, "MessageInfo of a received loan; None for a publisher's.", NULL},
    {"nbytes", loan_nbytes, NULL, "Bytes of the message (a sized type's: fixed part and tail).", NULL},
    {"count", loan_count, NULL, "Tail elements: lent (publisher) or published (received); 0 "
     "for a fixed-size type.", NULL},
    {"readonly", loan_readonly, NULL, "True for a received loan.", NULL},
    {"state", loan_state, NULL, "'held', 'published' or 'returned'.", NULL},
    {"exports", loan_exports, NULL, "Views of the loan that exist now.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject zlpy_loan_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zloan.Loan",
    .tp_basicsize = sizeof(zlpy_loan),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = "Message memory zloan lends (from Publisher.loan() or Subscription.take()); a "
              "buffer: memoryview(loan) and numpy.frombuffer(loan, dtype) copy nothing.",
    .tp_dealloc = loan_dealloc,
    .tp_repr = loan_repr,
    .tp_as_buffer = &loan_buffer,
    .tp_methods = loan_methods,
    .tp_getset = loan_getset,
};
