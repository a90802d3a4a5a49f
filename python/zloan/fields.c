/* zloan for Python: the C API's option and statistics structs, field by field.
 *
 * Each struct Python mirrors has one table here: its fields in the header's
 * order, each with its Python name (the C member's), its offset and C type,
 * and a line of documentation. The same table parses an endpoint's keyword
 * arguments into the C options, gives the defaults and the options an
 * endpoint was made with back as a dict, and fills the statistics struct
 * sequences. A field the header gains is one line here;
 * python/tests/test_c_api.py parses the headers and fails while a table
 * lacks one.
 */
#include "module.h"

#include <stddef.h>
#include <string.h>

#define FIELD(S, member, kind, doc) {#member, offsetof(S, member), kind, doc}

const zlpy_field zlpy_publisher_option_fields[] = {
    FIELD(zl_publisher_options, history, ZLPY_U32,
          "last messages kept for subscriptions that join later and ask for history (0..64)"),
    FIELD(zl_publisher_options, max_loans, ZLPY_U32, "most loans held at once (1..1024)"),
    FIELD(zl_publisher_options, max_subscriptions, ZLPY_U32,
          "subscriptions the pool is sized for (1..16)"),
    FIELD(zl_publisher_options, chunks_per_subscription, ZLPY_U32,
          "chunks one subscription may keep in use: its queue and its loans (2..4096)"),
    FIELD(zl_publisher_options, pool_bytes_max, ZLPY_U64,
          "bound of the shared memory the pool reserves (0: a quarter of RAM or half of the "
          "free /dev/shm, whichever is less)"),
    FIELD(zl_publisher_options, disable_loans, ZLPY_BOOL, "never lend shared memory"),
    FIELD(zl_publisher_options, max_blocking_time_ns, ZLPY_I64,
          "longest a publish waits for a full lossless subscription, in nanoseconds "
          "(0..MAX_BLOCKING_TIME_MAX_NS; 0: TimeoutError at once)"),
    {NULL, 0, 0, NULL}};

const zlpy_field zlpy_subscription_option_fields[] = {
    FIELD(zl_subscription_options, depth, ZLPY_U32, "keep-last depth: messages queued per publisher (1..4096)"),
    FIELD(zl_subscription_options, max_loans, ZLPY_U32, "most loans held at once (1..1024)"),
    FIELD(zl_subscription_options, history, ZLPY_BOOL, "receive the history publishers keep for late joiners"),
    FIELD(zl_subscription_options, reliability, ZLPY_RELIABILITY,
          "KEEP_LAST (a full queue loses its oldest message) or LOSSLESS (the publisher waits, "
          "up to its max_blocking_time_ns)"),
    FIELD(zl_subscription_options, disable_loans, ZLPY_BOOL, "never borrow shared memory: take() copies"),
    {NULL, 0, 0, NULL}};

const zlpy_field zlpy_publisher_stats_fields[] = {
    FIELD(zl_publisher_stats, published, ZLPY_U64, "messages published"),
    FIELD(zl_publisher_stats, dropped, ZLPY_U64,
          "messages a subscription lost: queue entries reclaimed (keep-last), or not delivered "
          "to one holding its whole chunks_per_subscription"),
    FIELD(zl_publisher_stats, subscriptions, ZLPY_U32, "subscriptions connected now"),
    FIELD(zl_publisher_stats, chunks_total, ZLPY_U32, "chunks in the pool now, of every size"),
    FIELD(zl_publisher_stats, chunks_free, ZLPY_U32, "chunks neither lent, queued, kept nor held"),
    FIELD(zl_publisher_stats, loans_held, ZLPY_U32, "loans the user holds now"),
    FIELD(zl_publisher_stats, peer_errors, ZLPY_U64, "invalid values read from subscriptions' shared memory"),
    FIELD(zl_publisher_stats, other_owners, ZLPY_U32,
          "other users (or groups) with this topic in this domain, whose endpoints never connect to ours"),
    FIELD(zl_publisher_stats, segments, ZLPY_U32, "shared-memory segments of the pool now"),
    FIELD(zl_publisher_stats, shm_bytes, ZLPY_U64, "shared memory the pool reserves now"),
    FIELD(zl_publisher_stats, shm_bytes_high, ZLPY_U64, "the most it reserved at once"),
    FIELD(zl_publisher_stats, shm_bytes_max, ZLPY_U64, "its bound (pool_bytes_max or the default)"),
    FIELD(zl_publisher_stats, growths, ZLPY_U64, "segments added since creation"),
    FIELD(zl_publisher_stats, blocked, ZLPY_U64,
          "publishes that found a lossless subscription full (waited or timed out)"),
    FIELD(zl_publisher_stats, timeouts, ZLPY_U64, "publishes refused with TimeoutError"),
    FIELD(zl_publisher_stats, other_transport, ZLPY_U32,
          "endpoints of this topic in this context on another of its transports, which never meet this one"),
    {NULL, 0, 0, NULL}};

const zlpy_field zlpy_subscription_stats_fields[] = {
    FIELD(zl_subscription_stats, received, ZLPY_U64, "messages taken"),
    FIELD(zl_subscription_stats, lost, ZLPY_U64,
          "messages dropped: keep-last overflow, a bad value, a failed deserialization"),
    FIELD(zl_subscription_stats, publishers, ZLPY_U32, "publishers connected now"),
    FIELD(zl_subscription_stats, loans_held, ZLPY_U32, "loans held now"),
    FIELD(zl_subscription_stats, peer_errors, ZLPY_U64, "invalid values read from publishers' shared memory"),
    FIELD(zl_subscription_stats, other_owners, ZLPY_U32,
          "other users (or groups) with this topic in this domain, whose endpoints never connect to ours"),
    FIELD(zl_subscription_stats, held_back, ZLPY_U64,
          "lossless: publishes that found this queue full (the publisher waited or timed out)"),
    FIELD(zl_subscription_stats, other_transport, ZLPY_U32,
          "endpoints of this topic in this context on another of its transports, which never meet this one"),
    {NULL, 0, 0, NULL}};

const zlpy_field zlpy_user_memory_option_fields[] = {
    FIELD(zl_user_memory_options, max_in_flight, ZLPY_U32,
          "messages from the memory that may be in flight at once (1..1024)"),
    {NULL, 0, 0, NULL}};

static const zlpy_field *find(const zlpy_field *fields, PyObject *name)
{
    for (const zlpy_field *f = fields; f->name != NULL; f++)
        if (PyUnicode_CompareWithASCIIString(name, f->name) == 0)
            return f;
    return NULL;
}

/* Stores value into the field of out; -1 with an exception, out unchanged. */
static int store(const zlpy_field *f, PyObject *value, void *out)
{
    /* Members are written with memcpy: out is the struct, but its address
     * plus an offset is only a char pointer to the compiler. */
    char *p = (char *)out + f->offset;
    if (f->kind == ZLPY_BOOL) {
        int truth = PyObject_IsTrue(value);
        if (truth < 0)
            return -1;
        bool b = truth;
        memcpy(p, &b, sizeof b);
        return 0;
    }
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", f->name, Py_TYPE(value)->tp_name);
        return -1;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    unsigned long long u = 0;
    if (f->kind == ZLPY_U64 && overflow > 0) {
        u = PyLong_AsUnsignedLongLong(value);
        if (PyErr_Occurred()) {
            PyErr_Clear();
            overflow = 1;
        } else {
            overflow = 0;
        }
    } else if (overflow == 0 && v >= 0) {
        u = (unsigned long long)v;
    }
    char detail[160];
    switch (f->kind) {
    case ZLPY_U32:
        if (overflow == 0 && v >= 0 && v <= UINT32_MAX) {
            uint32_t x = (uint32_t)v;
            memcpy(p, &x, sizeof x);
            return 0;
        }
        snprintf(detail, sizeof detail, "%s must be 0..4294967295", f->name);
        break;
    case ZLPY_U64:
        if (overflow == 0 && (v >= 0 || u > (unsigned long long)INT64_MAX)) {
            uint64_t x = u;
            memcpy(p, &x, sizeof x);
            return 0;
        }
        snprintf(detail, sizeof detail, "%s must be 0..18446744073709551615", f->name);
        break;
    case ZLPY_I64:
        if (overflow == 0) {
            int64_t x = v;
            memcpy(p, &x, sizeof x);
            return 0;
        }
        snprintf(detail, sizeof detail, "%s must fit in 64 bits (signed)", f->name);
        break;
    case ZLPY_RELIABILITY:
        if (overflow == 0 && (v == ZL_KEEP_LAST || v == ZL_LOSSLESS)) {
            zl_reliability x = (zl_reliability)v;
            memcpy(p, &x, sizeof x);
            return 0;
        }
        snprintf(detail, sizeof detail, "%s must be zloan.KEEP_LAST (%d) or zloan.LOSSLESS (%d)",
                 f->name, ZL_KEEP_LAST, ZL_LOSSLESS);
        break;
    default:
        snprintf(detail, sizeof detail, "%s has an unknown kind", f->name);
        break;
    }
    zlpy_raise_text(ZL_EINVAL, detail);
    return -1;
}

int zlpy_fields_parse(const zlpy_field *fields, PyObject *kwargs, size_t size, void *out,
                      PyObject **rest)
{
    *rest = NULL;
    /* Filled on a copy: an invalid keyword leaves out as it was. */
    char copy[256];
    if (size > sizeof copy) {
        PyErr_SetString(PyExc_SystemError, "zloan: an options struct outgrew its parser");
        return -1;
    }
    memcpy(copy, out, size);
    PyObject *others = PyDict_New();
    if (others == NULL)
        return -1;
    if (kwargs != NULL) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kwargs, &pos, &key, &value)) {
            const zlpy_field *f = PyUnicode_Check(key) ? find(fields, key) : NULL;
            if ((f == NULL ? PyDict_SetItem(others, key, value) : store(f, value, copy)) < 0) {
                Py_DECREF(others);
                return -1;
            }
        }
    }
    memcpy(out, copy, size);
    *rest = others;
    return 0;
}

/* The field of in as a Python object (new reference), or NULL. */
static PyObject *load(const zlpy_field *f, const void *in)
{
    const char *p = (const char *)in + f->offset;
    uint32_t u32;
    uint64_t u64;
    int64_t i64;
    bool b;
    zl_reliability r;
    switch (f->kind) {
    case ZLPY_U32:
        memcpy(&u32, p, sizeof u32);
        return PyLong_FromUnsignedLong(u32);
    case ZLPY_U64:
        memcpy(&u64, p, sizeof u64);
        return PyLong_FromUnsignedLongLong(u64);
    case ZLPY_I64:
        memcpy(&i64, p, sizeof i64);
        return PyLong_FromLongLong(i64);
    case ZLPY_BOOL:
        memcpy(&b, p, sizeof b);
        return PyBool_FromLong(b);
    case ZLPY_RELIABILITY:
        memcpy(&r, p, sizeof r);
        return PyLong_FromLong(r);
    }
    PyErr_SetString(PyExc_SystemError, "zloan: a field of an unknown kind");
    return NULL;
}

PyObject *zlpy_fields_dict(const zlpy_field *fields, const void *in)
{
    PyObject *dict = PyDict_New();
    if (dict == NULL)
        return NULL;
    for (const zlpy_field *f = fields; f->name != NULL; f++) {
        PyObject *value = load(f, in);
        if (value == NULL || PyDict_SetItemString(dict, f->name, value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(dict);
            return NULL;
        }
        Py_DECREF(value);
    }
    return dict;
}

PyObject *zlpy_fields_struct_sequence(PyTypeObject *type, const zlpy_field *fields, const void *in)
{
    PyObject *result = PyStructSequence_New(type);
    if (result == NULL)
        return NULL;
    for (Py_ssize_t i = 0; fields[i].name != NULL; i++) {
        PyObject *value = load(&fields[i], in);
        if (value == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyStructSequence_SetItem(result, i, value); /* steals value */
    }
    return result;
}

PyTypeObject *zlpy_fields_struct_sequence_type(const char *name, const char *doc,
                                               const zlpy_field *fields)
{
    /* The type keeps pointers into the description: it lives as long as the
     * module (which is never unloaded: m_size is -1). */
    Py_ssize_t n = 0;
    while (fields[n].name != NULL)
        n++;
    PyStructSequence_Field *members = PyMem_Calloc((size_t)n + 1, sizeof *members);
    PyStructSequence_Desc *desc = PyMem_Calloc(1, sizeof *desc);
    if (members == NULL || desc == NULL) {
        PyMem_Free(members);
        PyMem_Free(desc);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        members[i] = (PyStructSequence_Field){fields[i].name, fields[i].doc};
    *desc = (PyStructSequence_Desc){name, doc, members, (int)n};
    PyTypeObject *type = PyStructSequence_NewType(desc);
    if (type == NULL) {
        PyMem_Free(members);
        PyMem_Free(desc);
    }
    return type;
}
