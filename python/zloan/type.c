/* zloan for Python: message types.
 *
 * A Python endpoint meets a C endpoint when both describe the message the
 * same way: the same name, size, alignment and layout text (the layout hash
 * is computed by the C library from exactly these, zl_type_layout_hash()).
 * A numpy structured dtype built with align=True has the size and alignment
 * of the C struct with the same fields, so
 *
 *     Type("image", numpy.dtype([("frame", "<u8"), ("pixels", "u1", (480, 640))], align=True))
 *
 * matches `static const zl_type image_type = ZL_TYPE_PLAIN(image);`. The
 * dtype is read through its itemsize, alignment and fields attributes only,
 * so the extension does not need numpy to build; Loan.array() imports numpy.
 *
 * A sized type (ZL_TYPE_SIZED) is a fixed part and a tail of elements:
 *
 *     Type("rgb_image", numpy.dtype([("frame", "<u8"), ("width", "<u4"), ("height", "<u4")],
 *          align=True), tail=numpy.dtype("u1"), max_count=3840 * 2160 * 3)
 *
 * matches `ZL_TYPE_SIZED(rgb_image, data, 3840 * 2160 * 3)`: the tail's
 * offset (the type's size) is computed as C places a flexible array member.
 */
#include "module.h"

/* An attribute of a dtype-like object as a size_t; -1 with an exception. */
static int dtype_size_attr(PyObject *dtype, const char *name, size_t *value)
{
    PyObject *attr = PyObject_GetAttrString(dtype, name);
    if (attr == NULL)
        return -1;
    *value = PyLong_AsSize_t(attr);
    Py_DECREF(attr);
    return PyErr_Occurred() ? -1 : 0;
}

/* Where the fields of a structured dtype end, before any padding after the
 * last one: offsetof a C flexible array member after those fields is this
 * rounded up to the element's alignment, where numpy's itemsize (align=True)
 * is rounded up to the whole struct's. A dtype without fields ends at its
 * itemsize. Returns 0, or -1 with an exception. */
static int dtype_fields_end(PyObject *dtype, size_t *end)
{
    PyObject *fields = PyObject_GetAttrString(dtype, "fields");
    if (fields == NULL)
        return -1;
    if (fields == Py_None || !PyMapping_Check(fields)) {
        Py_DECREF(fields);
        return dtype_size_attr(dtype, "itemsize", end);
    }
    PyObject *values = PyMapping_Values(fields);
    Py_DECREF(fields);
    if (values == NULL)
        return -1;
    size_t result = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(values); i++) {
        /* (field dtype, offset[, title]) */
        PyObject *entry = PyList_GET_ITEM(values, i);
        size_t field_size, offset;
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) < 2) {
            PyErr_SetString(PyExc_TypeError, "dtype.fields holds something other than (dtype, offset)");
            Py_DECREF(values);
            return -1;
        }
        offset = PyLong_AsSize_t(PyTuple_GET_ITEM(entry, 1));
        if (PyErr_Occurred() || dtype_size_attr(PyTuple_GET_ITEM(entry, 0), "itemsize", &field_size) < 0) {
            Py_DECREF(values);
            return -1;
        }
        if (offset + field_size > result)
            result = offset + field_size;
    }
    Py_DECREF(values);
    *end = result;
    return 0;
}

/* The size and alignment of a type from its arguments: explicit ones win
 * over the dtype's. A sized type's size is the offset of its tail, which C
 * places after the fixed part's fields at the element's alignment (the
 * rule for a flexible array member), and its alignment is the larger of the
 * two. Returns 0, or -1 with an exception. */
static int type_geometry(PyObject *dtype, PyObject *tail, PyObject *size, PyObject *alignment,
                         zl_type *type)
{
    size_t size_value = 0, alignment_value = 1;
    if (dtype != Py_None) {
        if (dtype_size_attr(dtype, "alignment", &alignment_value) < 0)
            return -1;
        if (tail == Py_None ? dtype_size_attr(dtype, "itemsize", &size_value) < 0
                            : dtype_fields_end(dtype, &size_value) < 0)
            return -1;
    }
    if (tail != Py_None) {
        size_t element_alignment;
        if (dtype_size_attr(tail, "itemsize", &type->element_size) < 0 ||
            dtype_size_attr(tail, "alignment", &element_alignment) < 0)
            return -1;
        if (element_alignment == 0 || (element_alignment & (element_alignment - 1)) != 0) {
            PyErr_SetString(PyExc_ValueError, "the tail's alignment is not a power of two");
            return -1;
        }
        if (element_alignment > alignment_value)
            alignment_value = element_alignment;
        size_value = (size_value + element_alignment - 1) & ~(element_alignment - 1);
        if (type->element_size == 0) {
            PyErr_SetString(PyExc_ValueError, "the tail's elements have no bytes");
            return -1;
        }
    }
    if (size != Py_None) {
        size_value = PyLong_AsSize_t(size);
        if (PyErr_Occurred())
            return -1;
    }
    if (alignment != Py_None) {
        alignment_value = PyLong_AsSize_t(alignment);
        if (PyErr_Occurred())
            return -1;
    }
    type->size = size_value;
    type->alignment = alignment_value;
    return 0;
}

/* The dtype Loan.array() views for a sized type whose fixed part is size
 * bytes: the dtype itself when its itemsize is size; otherwise, for a
 * structured dtype, the same fields (names, formats, offsets, titles) with
 * an itemsize of size, so that the view of the fixed part ends where the
 * tail starts instead of overlapping its first element (numpy's align=True
 * rounds the itemsize up to the struct's alignment: 16 for a u8 and a u4,
 * whose tail of 4-byte elements starts at 12). A dtype whose fields run
 * past size (size= given smaller) is refused. Returns a new reference, or
 * NULL with an exception. */
static PyObject *fixed_part_dtype(PyObject *dtype, size_t size)
{
    size_t itemsize, end;
    if (dtype_size_attr(dtype, "itemsize", &itemsize) < 0 || dtype_fields_end(dtype, &end) < 0)
        return NULL;
    if (end > size) {
        PyErr_Format(PyExc_ValueError,
                     "the fixed part's dtype ends at byte %zu, past the tail's start at %zu", end,
                     size);
        return NULL;
    }
    PyObject *names = PyObject_GetAttrString(dtype, "names");
    if (names == NULL)
        return NULL;
    if (itemsize == size || names == Py_None || !PyTuple_Check(names)) {
        /* Not structured: its itemsize is where its bytes end (no further
         * than size, checked above), so its view cannot reach the tail. */
        Py_DECREF(names);
        return Py_NewRef(dtype);
    }
    PyObject *fields = PyObject_GetAttrString(dtype, "fields");
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    PyObject *formats = PyList_New(n), *offsets = PyList_New(n), *titles = PyList_New(n);
    PyObject *result = NULL;
    if (fields == NULL || formats == NULL || offsets == NULL || titles == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        /* fields[name] is (dtype, offset) or (dtype, offset, title). */
        PyObject *entry = PyObject_GetItem(fields, PyTuple_GET_ITEM(names, i));
        if (entry == NULL)
            goto done;
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) < 2) {
            Py_DECREF(entry);
            PyErr_SetString(PyExc_TypeError, "dtype.fields holds something other than (dtype, offset)");
            goto done;
        }
        PyList_SET_ITEM(formats, i, Py_NewRef(PyTuple_GET_ITEM(entry, 0)));
        PyList_SET_ITEM(offsets, i, Py_NewRef(PyTuple_GET_ITEM(entry, 1)));
        PyList_SET_ITEM(titles, i, Py_NewRef(PyTuple_GET_SIZE(entry) > 2 ? PyTuple_GET_ITEM(entry, 2)
                                                                          : Py_None));
        Py_DECREF(entry);
    }
    PyObject *numpy = PyImport_ImportModule("numpy");
    if (numpy == NULL)
        goto done;
    PyObject *spec = Py_BuildValue("{s:O,s:O,s:O,s:O,s:n}", "names", names, "formats", formats,
                                   "offsets", offsets, "titles", titles, "itemsize",
                                   (Py_ssize_t)size);
    if (spec != NULL)
        result = PyObject_CallMethod(numpy, "dtype", "O", spec);
    Py_XDECREF(spec);
    Py_DECREF(numpy);
done:
    Py_DECREF(names);
    Py_XDECREF(fields);
    Py_XDECREF(formats);
    Py_XDECREF(offsets);
    Py_XDECREF(titles);
    return result;
}

static int type_init(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_type *self = (zlpy_type *)object;
    static char *keywords[] = {"name", "dtype", "size", "alignment", "layout", "layout_hash",
                               "tail", "max_count", NULL};
    const char *name;
    PyObject *dtype = Py_None, *size = Py_None, *alignment = Py_None, *tail = Py_None;
    const char *layout = NULL;
    unsigned long long layout_hash = 0;
    Py_ssize_t max_count = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|O$OOzKOn:Type", keywords, &name, &dtype, &size,
                                     &alignment, &layout, &layout_hash, &tail, &max_count))
        return -1;
    if (self->name != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Type.__init__ called twice");
        return -1;
    }
    if (max_count < 0 || (max_count > 0 && tail == Py_None)) {
        PyErr_SetString(PyExc_ValueError, "max_count must be >= 0, and needs a tail");
        return -1;
    }
    zl_type type = {.layout_hash = layout_hash, .max_count = (size_t)max_count, .plain = true};
    if (type_geometry(dtype, tail, size, alignment, &type) < 0)
        return -1;
    /* Built aside and kept only once everything succeeded: a failed
     * __init__ leaves the object uninitialised (name NULL), never half made. */
    PyObject *name_bytes = PyBytes_FromString(name);
    PyObject *layout_bytes = layout != NULL ? PyBytes_FromString(layout) : NULL;
    PyObject *fixed = NULL;
    if (name_bytes != NULL && (layout == NULL || layout_bytes != NULL))
        fixed = tail != Py_None && dtype != Py_None ? fixed_part_dtype(dtype, type.size)
                                                    : Py_NewRef(dtype);
    int rc = ZL_EINVAL;
    if (fixed != NULL) {
        type.name = PyBytes_AS_STRING(name_bytes);
        type.layout = layout_bytes != NULL ? PyBytes_AS_STRING(layout_bytes) : NULL;
        rc = zl_type_validate(&type);
        if (rc != 0)
            zlpy_raise(rc);
    }
    if (rc != 0) {
        Py_XDECREF(name_bytes);
        Py_XDECREF(layout_bytes);
        Py_XDECREF(fixed);
        return -1;
    }
    self->name = name_bytes;
    self->layout = layout_bytes;
    self->fixed = fixed;
    self->dtype = Py_NewRef(dtype);
    self->tail = Py_NewRef(tail);
    self->type = type;
    return 0;
}

static void type_dealloc(PyObject *object)
{
    zlpy_type *self = (zlpy_type *)object;
    Py_XDECREF(self->name);
    Py_XDECREF(self->layout);
    Py_XDECREF(self->dtype);
    Py_XDECREF(self->fixed);
    Py_XDECREF(self->tail);
    Py_TYPE(object)->tp_free(object);
}

static int type_ready(zlpy_type *self)
{
    if (self->name == NULL) {
        zlpy_raise_text(ZL_EINVAL, "the Type was not initialised");
        return -1;
    }
    return 0;
}

static PyObject *type_name(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_type *self = (zlpy_type *)object;
    if (type_ready(self) < 0)
        return NULL;
    return PyUnicode_FromString(self->type.name);
}

static PyObject *type_size(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_type *self = (zlpy_type *)object;
    if (type_ready(self) < 0)
        return NULL;
    return PyLong_FromSize_t(self->type.size);
}

static PyObject *type_alignment(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_type *self = (zlpy_type *)object;
    if (type_ready(self) < 0)
        return NULL;
    return PyLong_FromSize_t(self->type.alignment);
}

static PyObject *type_layout(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_type *self = (zlpy_type *)object;
    if (type_ready(self) < 0)
        return NULL;
    if (self->type.layout == NULL)
        Py_RETURN_NONE;
    return PyUnicode_FromString(self->type.layout);
}

static PyObject *type_layout_hash(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_type *self = (zlpy_type *)object;
    if (type_ready(self) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(zl_type_layout_hash(&self->type));
}

static PyObject *type_dtype(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_type *self = (zlpy_type *)object;
    if (type_ready(self) < 0)
        return NULL;
    return Py_NewRef(self->dtype);
}

static PyObject *type_tail(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_type *self = (zlpy_type *)object;
    if (type_ready(self) < 0)
        return NULL;
    return Py_NewRef(self->tail);
}

static PyObject *type_element_size(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_type *self = (zlpy_type *)object;
    if (type_ready(self) < 0)
        return NULL;
    return PyLong_FromSize_t(self->type.element_size);
}

static PyObject *type_max_count(PyObject *object, void *unused)
{
    (void)unused;
    zlpy_type *self = (zlpy_type *)object;
    if (type_ready(self) < 0)
        return NULL;
    return PyLong_FromSize_t(self->type.max_count);
}

static PyObject *type_repr(PyObject *object)
{
    zlpy_type *self = (zlpy_type *)object;
    if (self->name == NULL)
        return PyUnicode_FromString("<zloan.Type (uninitialised)>");
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)zl_type_layout_hash(&self->type));
    if (self->type.element_size != 0 && self->type.max_count != 0)
        return PyUnicode_FromFormat("<zloan.Type %s: %zu bytes then at most %zu elements of %zu, "
                                    "alignment %zu, layout hash %s>",
                                    self->type.name, self->type.size, self->type.max_count,
                                    self->type.element_size, self->type.alignment, hash);
    if (self->type.element_size != 0)
        return PyUnicode_FromFormat("<zloan.Type %s: %zu bytes then elements of %zu, alignment "
                                    "%zu, layout hash %s>",
                                    self->type.name, self->type.size, self->type.element_size,
                                    self->type.alignment, hash);
    return PyUnicode_FromFormat("<zloan.Type %s: %zu bytes, alignment %zu, layout hash %s>",
                                self->type.name, self->type.size, self->type.alignment, hash);
}

static PyGetSetDef type_getset[] = {
    {"name", type_name, NULL, "The type name, compared exactly with the other endpoints'.", NULL},
    {"size", type_size, NULL, "Bytes of one message; of a sized type, the offset of the tail.", NULL},
    {"alignment", type_alignment, NULL, "Alignment of a message in bytes.", NULL},
    {"layout", type_layout, NULL, "The layout text entering the hash, or None.", NULL},
    {"layout_hash", type_layout_hash, NULL, "The hash zloan compares (zl_type_layout_hash).", NULL},
    {"dtype", type_dtype, NULL, "The dtype given (None if none): Loan.array() uses it.", NULL},
    {"tail", type_tail, NULL, "Sized types: the dtype of one tail element (Loan.tail()); else None.", NULL},
    {"element_size", type_element_size, NULL, "Bytes of one tail element (0: not a sized type).", NULL},
    {"max_count", type_max_count, NULL, "Most tail elements a message may have (0: no maximum).", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject zlpy_type_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zloan.Type",
    .tp_basicsize = sizeof(zlpy_type),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Type(name, dtype=None, *, size=None, alignment=None, layout=None, layout_hash=0, "
              "tail=None, max_count=0)\n\n"
              "A plain message type: the bytes of a C struct without pointers. size and alignment "
              "come from dtype (a numpy dtype: use a structured dtype with align=True to match a "
              "C struct) unless given. name, size, alignment and layout must equal the C side's "
              "ZL_TYPE_PLAIN(T) (name is #T) or ZL_TYPE_PLAIN_LAYOUT(T, layout).\n\n"
              "With tail (the dtype of one element), a sized type as ZL_TYPE_SIZED(T, member, "
              "max_count): dtype is the fixed part, and the tail starts where C puts the "
              "flexible array member (after the fixed fields, at the element's alignment).",
    .tp_new = PyType_GenericNew,
    .tp_init = type_init,
    .tp_dealloc = type_dealloc,
    .tp_repr = type_repr,
    .tp_getset = type_getset,
};
