/* zloan for Python: the module, its exceptions and small shared types.
 *
 * Each ZL_E* code has its exception class under zloan.Error; the classes
 * that mean what a built-in exception means also derive from it (an invalid
 * argument is a ValueError, a timeout a TimeoutError), so generic handlers
 * keep working. Every instance carries .code (the ZL_E* value) and .detail
 * (zl_last_error_detail() of the failed call).
 */
#include "module.h" /* Python.h first: it sets the feature macros */

#include <math.h>
#include <pthread.h>

unsigned long zlpy_fork_generation;
PyObject *zlpy_error;
PyObject *zlpy_closed_error;
PyTypeObject *zlpy_message_info_type;
PyTypeObject *zlpy_publisher_stats_type;
PyTypeObject *zlpy_subscription_stats_type;

typedef struct error_class {
    int code;
    const char *name;
    const char *doc;
    PyObject **builtin; /* a built-in base besides zloan.Error, or NULL */
    PyObject *object;
} error_class;

static error_class error_classes[] = {
    {ZL_EINVAL, "InvalidArgumentError", "An argument is invalid (ZL_EINVAL).", &PyExc_ValueError, NULL},
    {ZL_ENODATA, "NoDataError", "Nothing to take (ZL_ENODATA).", NULL, NULL},
    {ZL_ETOOMANYLOANS, "TooManyLoansError", "As many loans are held as allowed (ZL_ETOOMANYLOANS).", NULL, NULL},
    {ZL_EEXHAUSTED, "ExhaustedError", "The publisher's pool has no free chunk (ZL_EEXHAUSTED).", NULL, NULL},
    {ZL_ETYPE, "TypeMismatchError", "The topic has endpoints of another type (ZL_ETYPE).", NULL, NULL},
    {ZL_ENAME, "TopicNameError", "The topic name is invalid (ZL_ENAME).", &PyExc_ValueError, NULL},
    {ZL_ENOSHM, "NoSharedMemoryError", "Out of shared memory (ZL_ENOSHM).", NULL, NULL},
    {ZL_ENOMEM, "NoMemoryError", "The allocator failed (ZL_ENOMEM).", &PyExc_MemoryError, NULL},
    {ZL_ENOTLOAN, "NotLoanError", "Not a loan held from this endpoint: already published or returned (ZL_ENOTLOAN).", NULL, NULL},
    {ZL_ELIMIT, "LimitError", "A fixed limit was reached (ZL_ELIMIT).", NULL, NULL},
    {ZL_ESERIALIZE, "SerializeError", "Serialization failed (ZL_ESERIALIZE).", NULL, NULL},
    {ZL_ECORRUPT, "CorruptError", "Shared memory written by a peer failed validation (ZL_ECORRUPT).", NULL, NULL},
    {ZL_EPERM, "PermissionDeniedError", "The operating system refused access (ZL_EPERM).", &PyExc_PermissionError, NULL},
    {ZL_EBUSY, "BusyError", "The object is in use (ZL_EBUSY).", NULL, NULL},
    {ZL_ETIMEOUT, "TimeoutError", "A wait ended before anything was ready (ZL_ETIMEOUT).", &PyExc_TimeoutError, NULL},
    {ZL_ESYSTEM, "SystemCallError", "An unexpected operating-system error (ZL_ESYSTEM).", &PyExc_OSError, NULL},
    {ZL_ENOTSUP, "NotSupportedError", "Not supported for this endpoint (ZL_ENOTSUP).", NULL, NULL},
};

#define ERROR_CLASS_COUNT (sizeof error_classes / sizeof error_classes[0])

static PyObject *error_class_of(int code)
{
    for (size_t i = 0; i < ERROR_CLASS_COUNT; i++)
        if (error_classes[i].code == code)
            return error_classes[i].object;
    return zlpy_error;
}

static PyObject *raise_class(PyObject *cls, int code, const char *detail)
{
    PyObject *message = detail[0] != '\0'
                            ? PyUnicode_FromFormat("%s: %s", zl_strerror(code), detail)
                            : PyUnicode_FromString(zl_strerror(code));
    if (message == NULL)
        return NULL;
    PyObject *error = PyObject_CallOneArg(cls, message);
    Py_DECREF(message);
    if (error == NULL)
        return NULL;
    PyObject *code_object = PyLong_FromLong(code);
    PyObject *detail_object = PyUnicode_DecodeUTF8(detail, (Py_ssize_t)strlen(detail), "replace");
    if (code_object != NULL && detail_object != NULL) {
        PyObject_SetAttrString(error, "code", code_object);
        PyObject_SetAttrString(error, "detail", detail_object);
    }
    Py_XDECREF(code_object);
    Py_XDECREF(detail_object);
    if (!PyErr_Occurred())
        PyErr_SetObject(cls, error);
    Py_DECREF(error);
    return NULL;
}

PyObject *zlpy_raise_text(int code, const char *detail)
{
    return raise_class(error_class_of(code), code, detail);
}

PyObject *zlpy_raise(int code)
{
    /* Copied first: building the exception may call zloan again (never
     * today, but the detail is only valid until the next call). */
    char detail[512];
    snprintf(detail, sizeof detail, "%s", zl_last_error_detail());
    return zlpy_raise_text(code, detail);
}

PyObject *zlpy_raise_closed(const char *what)
{
    char detail[128];
    snprintf(detail, sizeof detail, "the %s is closed", what);
    return raise_class(zlpy_closed_error, ZL_EINVAL, detail);
}

bool zlpy_owner_usable(zlpy_owner *owner, const char *what)
{
    if (owner->generation != zlpy_fork_generation) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "the %s was made before fork(): zloan objects belong to the process that made "
                 "them (a child makes its own)", what);
        raise_class(zlpy_closed_error, ZL_EINVAL, detail);
        return false;
    }
    if (owner->closed || owner->handle == NULL) {
        zlpy_raise_closed(what);
        return false;
    }
    return true;
}

static void after_fork_in_child(void) { zlpy_fork_generation++; }

int zlpy_timeout_ns(PyObject *timeout, int64_t *ns)
{
    if (timeout == NULL || timeout == Py_None) {
        *ns = -1;
        return 0;
    }
    double seconds = PyFloat_AsDouble(timeout);
    if (seconds == -1.0 && PyErr_Occurred())
        return -1;
    if (isnan(seconds) || seconds < 0) {
        PyErr_SetString(PyExc_ValueError, "timeout must be a non-negative number of seconds or None");
        return -1;
    }
    *ns = seconds >= 9.2e9 ? -1 : (int64_t)(seconds * 1e9);
    return 0;
}

/* Struct sequences: message info and statistics. */

static PyStructSequence_Field message_info_fields[] = {
    {"source_timestamp_ns", "CLOCK_REALTIME when it was published"},
    {"publication_sequence", "per publisher, from 1"},
    {"reception_sequence", "per subscription, from 1"},
    {"publisher_id", "the id of its publisher (Publisher.id)"},
    {"from_this_process", "published by this process"},
    {"size", "bytes of the message as published (a sized type's fixed part and tail)"},
    {"count", "sized types: tail elements published (0 otherwise)"},
    {NULL, NULL}};
static PyStructSequence_Desc message_info_desc = {
    "zloan.MessageInfo", "What zloan knows about a message beside its payload.",
    message_info_fields, 7};

PyObject *zlpy_message_info_new(const zl_message_info *info)
{
    PyObject *result = PyStructSequence_New(zlpy_message_info_type);
    if (result == NULL)
        return NULL;
    PyStructSequence_SetItem(result, 0, PyLong_FromLongLong(info->source_timestamp_ns));
    PyStructSequence_SetItem(result, 1, PyLong_FromUnsignedLongLong(info->publication_sequence));
    PyStructSequence_SetItem(result, 2, PyLong_FromUnsignedLongLong(info->reception_sequence));
    PyStructSequence_SetItem(result, 3, PyLong_FromUnsignedLongLong(info->publisher_id));
    PyStructSequence_SetItem(result, 4, PyBool_FromLong(info->from_this_process));
    PyStructSequence_SetItem(result, 5, PyLong_FromSize_t(info->size));
    PyStructSequence_SetItem(result, 6, PyLong_FromSize_t(info->count));
    if (PyErr_Occurred()) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
}

static int add_error_classes(PyObject *module)
{
    zlpy_error = PyErr_NewExceptionWithDoc(
        "zloan.Error",
        "Base of zloan's exceptions: .code is the ZL_E* code, .detail what the C layer said.",
        PyExc_Exception, NULL);
    if (zlpy_error == NULL || PyModule_AddObjectRef(module, "Error", zlpy_error) < 0)
        return -1;
    for (size_t i = 0; i < ERROR_CLASS_COUNT; i++) {
        error_class *c = &error_classes[i];
        PyObject *bases = c->builtin != NULL ? PyTuple_Pack(2, zlpy_error, *c->builtin)
                                             : PyTuple_Pack(1, zlpy_error);
        if (bases == NULL)
            return -1;
        char qualified[64];
        snprintf(qualified, sizeof qualified, "zloan.%s", c->name);
        c->object = PyErr_NewExceptionWithDoc(qualified, c->doc, bases, NULL);
        Py_DECREF(bases);
        if (c->object == NULL || PyModule_AddObjectRef(module, c->name, c->object) < 0)
            return -1;
    }
    PyObject *bases = PyTuple_Pack(1, error_class_of(ZL_EINVAL));
    if (bases == NULL)
        return -1;
    zlpy_closed_error = PyErr_NewExceptionWithDoc(
        "zloan.ClosedError", "The object was closed (code ZL_EINVAL).", bases, NULL);
    Py_DECREF(bases);
    if (zlpy_closed_error == NULL ||
        PyModule_AddObjectRef(module, "ClosedError", zlpy_closed_error) < 0)
        return -1;
    return 0;
}

static int add_struct_sequence(PyObject *module, PyTypeObject **type, PyStructSequence_Desc *desc,
                               const char *name)
{
    *type = PyStructSequence_NewType(desc);
    if (*type == NULL)
        return -1;
    return PyModule_AddObjectRef(module, name, (PyObject *)*type);
}

static int add_stats_type(PyObject *module, PyTypeObject **type, const char *name,
                          const char *doc, const zlpy_field *fields)
{
    char qualified[64];
    snprintf(qualified, sizeof qualified, "zloan.%s", name);
    *type = zlpy_fields_struct_sequence_type(qualified, doc, fields);
    if (*type == NULL)
        return -1;
    return PyModule_AddObjectRef(module, name, (PyObject *)*type);
}

/* The C API's constants, without the ZL_ prefix. */
static int add_constants(PyObject *module)
{
    if (PyModule_AddIntConstant(module, "KEEP_LAST", ZL_KEEP_LAST) < 0 ||
        PyModule_AddIntConstant(module, "LOSSLESS", ZL_LOSSLESS) < 0 ||
        PyModule_AddIntConstant(module, "TOPIC_PUBLISHERS_MAX", ZL_TOPIC_PUBLISHERS_MAX) < 0 ||
        PyModule_AddIntConstant(module, "TOPIC_SUBSCRIPTIONS_MAX", ZL_TOPIC_SUBSCRIPTIONS_MAX) < 0 ||
        PyModule_AddIntConstant(module, "DOMAIN_ID_MAX", ZL_DOMAIN_ID_MAX) < 0 ||
        PyModule_AddIntConstant(module, "LOG_ERROR", ZL_LOG_ERROR) < 0 ||
        PyModule_AddIntConstant(module, "LOG_WARN", ZL_LOG_WARN) < 0 ||
        PyModule_AddIntConstant(module, "LOG_INFO", ZL_LOG_INFO) < 0 ||
        PyModule_AddIntConstant(module, "LOG_DEBUG", ZL_LOG_DEBUG) < 0)
        return -1;
    PyObject *values[] = {PyLong_FromLongLong(ZL_MAX_BLOCKING_TIME_DEFAULT_NS),
                          PyLong_FromLongLong(ZL_MAX_BLOCKING_TIME_MAX_NS)};
    const char *names[] = {"MAX_BLOCKING_TIME_DEFAULT_NS", "MAX_BLOCKING_TIME_MAX_NS"};
    int rc = 0;
    for (size_t i = 0; i < 2; i++)
        if (values[i] == NULL || PyModule_AddObjectRef(module, names[i], values[i]) < 0)
            rc = -1;
    Py_XDECREF(values[0]);
    Py_XDECREF(values[1]);
    return rc;
}

static int add_type(PyObject *module, PyTypeObject *type, const char *name)
{
    if (PyType_Ready(type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, name, (PyObject *)type);
}

static struct PyModuleDef zloan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "zloan",
    .m_doc = "Zero-copy loaned messages between threads and processes (Python binding of the "
             "zloan C library). Received loans are read-only buffers, publisher loans writable "
             "ones: numpy.frombuffer(loan, dtype) and memoryview(loan) copy nothing.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit_zloan(void);

PyMODINIT_FUNC PyInit_zloan(void)
{
    if (pthread_atfork(NULL, NULL, after_fork_in_child) != 0) {
        PyErr_SetString(PyExc_ImportError, "zloan: pthread_atfork failed");
        return NULL;
    }
    PyObject *module = PyModule_Create(&zloan_module);
    if (module == NULL)
        return NULL;
    if (add_error_classes(module) < 0 ||
        add_struct_sequence(module, &zlpy_message_info_type, &message_info_desc, "MessageInfo") < 0 ||
        add_stats_type(module, &zlpy_publisher_stats_type, "PublisherStats",
                       "Statistics of a publisher: every field of zl_publisher_stats.",
                       zlpy_publisher_stats_fields) < 0 ||
        add_stats_type(module, &zlpy_subscription_stats_type, "SubscriptionStats",
                       "Statistics of a subscription: every field of zl_subscription_stats.",
                       zlpy_subscription_stats_fields) < 0 ||
        add_constants(module) < 0 ||
        add_type(module, &zlpy_type_type, "Type") < 0 ||
        add_type(module, &zlpy_context_type, "Context") < 0 ||
        add_type(module, &zlpy_publisher_type, "Publisher") < 0 ||
        add_type(module, &zlpy_subscription_type, "Subscription") < 0 ||
        add_type(module, &zlpy_loan_type, "Loan") < 0 ||
        add_type(module, &zlpy_executor_type, "Executor") < 0 ||
        add_type(module, &zlpy_user_memory_type, "UserMemory") < 0 ||
        PyModule_AddStringConstant(module, "__version__", "0.1.0") < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
