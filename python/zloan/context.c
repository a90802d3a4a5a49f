/* zloan for Python: the lifecycle every handle owner shares, and Context.
 *
 * An owner's C handle is destroyed by whichever comes last: close() (or
 * leaving its `with` block, or its garbage collection) and the departure of
 * its last user (module.h says who uses what). Everything here runs with the
 * GIL held, so users and closed need no atomics.
 */
#include "module.h"

void zlpy_owner_init(zlpy_owner *self, zlpy_owner *parent,
                     void (*destroy)(zlpy_owner *))
{
    self->handle = NULL;
    self->parent = parent;
    self->users = 0;
    self->closed = false;
    self->destroy = destroy;
    self->generation = zlpy_fork_generation;
    if (parent != NULL)
        zlpy_owner_use(parent);
}

void zlpy_owner_use(zlpy_owner *owner)
{
    Py_INCREF(owner);
    owner->users++;
}

/* Destroys the handle and lets go of the parent. */
static void owner_destroy(zlpy_owner *self)
{
    /* An inherited handle is the parent process's: left alone. */
    if (self->handle != NULL && self->generation == zlpy_fork_generation)
        self->destroy(self);
    self->handle = NULL;
    zlpy_owner *parent = self->parent;
    self->parent = NULL;
    if (parent != NULL)
        zlpy_owner_leave(parent);
}

void zlpy_owner_leave(zlpy_owner *owner)
{
    owner->users--;
    if (owner->users == 0 && owner->closed)
        owner_destroy(owner);
    Py_DECREF(owner);
}

void zlpy_owner_close(zlpy_owner *self)
{
    self->closed = true;
    if (self->users == 0)
        owner_destroy(self);
}

void zlpy_owner_finalize(zlpy_owner *self)
{
    /* Users hold references, so none is left when the object is collected. */
    self->closed = true;
    owner_destroy(self);
}

PyObject *zlpy_owner_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (((zlpy_owner *)self)->closed)
        return zlpy_raise_closed(Py_TYPE(self)->tp_name);
    return Py_NewRef(self);
}

PyObject *zlpy_owner_exit(PyObject *self, PyObject *args)
{
    (void)args;
    zlpy_owner_close((zlpy_owner *)self);
    Py_RETURN_FALSE;
}

PyObject *zlpy_owner_close_method(PyObject *self, PyObject *unused)
{
    (void)unused;
    zlpy_owner_close((zlpy_owner *)self);
    Py_RETURN_NONE;
}

PyObject *zlpy_owner_closed_get(PyObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((zlpy_owner *)self)->closed);
}

/* Context */

static void context_destroy(zlpy_owner *self)
{
    /* Cannot fail with ZL_EBUSY: every endpoint counts as a user. */
    zl_context_destroy(self->handle);
}

/* Members of zl_context_options Python does not take: the allocator (the
 * C default serves the module), and the log callback with its state (it
 * may run on zloan's own threads, which hold no GIL). python/tests/test_c_api.py
 * checks that these and the keywords below are every member. */
static int context_init(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_owner *self = (zlpy_owner *)object;
    static char *keywords[] = {"domain_id", "disable_loans", "share_with_group", "name",
                               "log_level", "transports", NULL};
    zl_context_options options;
    zl_context_options_init(&options);
    PyObject *domain = Py_None;
    int disable_loans = options.disable_loans, share_with_group = options.share_with_group;
    int log_level = (int)options.log_level;
    const char *name = NULL, *transports = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$ppziz:Context", keywords, &domain,
                                     &disable_loans, &share_with_group, &name, &log_level,
                                     &transports))
        return -1;
    if (self->handle != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Context.__init__ called twice");
        return -1;
    }
    if (domain != Py_None) {
        unsigned long id = PyLong_AsUnsignedLong(domain);
        if (PyErr_Occurred())
            return -1;
        if (id > ZL_DOMAIN_ID_MAX) {
            zlpy_raise_text(ZL_EINVAL, "domain_id must be 0..232");
            return -1;
        }
        options.domain_id = (uint32_t)id;
    }
    options.disable_loans = disable_loans;
    options.share_with_group = share_with_group;
    /* name and transports are copied or read by zl_context_create; the
     * level is checked there (ZL_LOG_ERROR..ZL_LOG_DEBUG). */
    options.name = name;
    options.log_level = (zl_log_level)log_level;
    options.transports = transports;
    zl_context *context;
    int rc = zl_context_create(&options, &context);
    if (rc != 0) {
        zlpy_raise(rc);
        return -1;
    }
    zlpy_owner_init(self, NULL, context_destroy);
    self->handle = context;
    return 0;
}

static PyObject *context_default_options(PyObject *cls, PyObject *unused)
{
    (void)cls;
    (void)unused;
    zl_context_options o;
    zl_context_options_init(&o);
    return Py_BuildValue("{s:I,s:O,s:O,s:O,s:i,s:O}", "domain_id", (unsigned)o.domain_id,
                         "disable_loans", o.disable_loans ? Py_True : Py_False, "share_with_group",
                         o.share_with_group ? Py_True : Py_False, "name", Py_None, "log_level",
                         (int)o.log_level, "transports", Py_None);
}

static PyObject *context_name(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_owner *self = (zlpy_owner *)object;
    if (!zlpy_owner_usable(self, "context"))
        return NULL;
    const char *name = zl_context_name(self->handle);
    if (name == NULL || name[0] == '\0')
        Py_RETURN_NONE;
    return PyUnicode_FromString(name);
}

static void context_dealloc(PyObject *object)
{
    zlpy_owner_finalize((zlpy_owner *)object);
    Py_TYPE(object)->tp_free(object);
}

static PyObject *context_domain_id(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_owner *self = (zlpy_owner *)object;
    if (!zlpy_owner_usable(self, "context"))
        return NULL;
    return PyLong_FromUnsignedLong(zl_context_domain_id(self->handle));
}

static PyMethodDef context_methods[] = {
    {"default_options", context_default_options, METH_NOARGS | METH_CLASS,
     "default_options() -> dict\n\nThe keyword options and their defaults, as "
     "zl_context_options_init gives them (domain_id and log_level from ZLOAN_DOMAIN_ID and "
     "ZLOAN_LOG)."},
    {"close", zlpy_owner_close_method, METH_NOARGS,
     "Closes the context: no new endpoints. Its C context is destroyed once its endpoints "
     "and executors are gone (at once if there are none)."},
    {"__enter__", zlpy_owner_enter, METH_NOARGS, NULL},
    {"__exit__", zlpy_owner_exit, METH_VARARGS, "Closes the context."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef context_getset[] = {
    {"domain_id", context_domain_id, NULL, "The domain id (0..232).", NULL},
    {"name", context_name, NULL, "The name given (shown by the zloan tool), or None.", NULL},
    {"closed", zlpy_owner_closed_get, NULL, "Whether close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject zlpy_context_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zloan.Context",
    .tp_basicsize = sizeof(zlpy_owner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Context(domain_id=None, *, disable_loans=False, share_with_group=False, name=None, "
              "log_level=LOG_WARN, transports=None)\n\n"
              "What a process's endpoints share: the domain id (default 0 or ZLOAN_DOMAIN_ID) "
              "that isolates groups of processes. The keywords are the members of "
              "zl_context_options but the allocator and the log callback: name (shown by the "
              "zloan tool beside each endpoint), log_level (LOG_ERROR..LOG_DEBUG; default "
              "LOG_WARN or ZLOAN_LOG; lines go to stderr), transports (\"shm\", "
              "\"loopback\" or both, comma-separated; default ZLOAN_TRANSPORT or \"shm\"). "
              "A context manager: leaving the block closes it.",
    .tp_new = PyType_GenericNew,
    .tp_init = context_init,
    .tp_dealloc = context_dealloc,
    .tp_methods = context_methods,
    .tp_getset = context_getset,
};
