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
 * dtype is read through its itemsize and alignment attributes only, so the
 * extension does not need numpy to build; Loan.array() imports numpy.
 */
#include "module.h"

static int type_init(PyObject *object, PyObject *args, PyObject *kwargs)
{
    zlpy_type *self = (zlpy_type *)object;
    static char *keywords[] = {"name", "dtype", "size", "alignment", "layout", "layout_hash", NULL};
    const char *name;
    PyObject *dtype = Py_None, *size = Py_None, *alignment = Py_None;
    const char *layout = NULL;
    unsigned long long layout_hash = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|O$OOzK:Type", keywords, &name, &dtype, &size,
                                     &alignment, &layout, &layout_hash))
        return -1;
    if (self->name != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Type.__init__ called twice");
        return -1;
    }
    /* Explicit size and alignment win over the dtype's. */
    if (size == Py_None && dtype != Py_None)
        size = PyObject_GetAttrString(dtype, "itemsize");
    else
        Py_INCREF(size);
    if (size == NULL)
        return -1;
    if (alignment == Py_None && dtype != Py_None)
        alignment = PyObject_GetAttrString(dtype, "alignment");
    else
        Py_INCREF(alignment);
    if (alignment == NULL) {
        Py_DECREF(size);
        return -1;
    }
    size_t size_value = size == Py_None ? 0 : PyLong_AsSize_t(size);
    size_t alignment_value = alignment == Py_None ? 1 : PyLong_AsSize_t(alignment);
    Py_DECREF(size);
    Py_DECREF(alignment);
    if (PyErr_Occurred())
        return -1;
    self->name = PyBytes_FromString(name);
    self->layout = layout != NULL ? PyBytes_FromString(layout) : NULL;
    if (self->name == NULL || (layout != NULL && self->layout == NULL))
        return -1;
    self->dtype = Py_NewRef(dtype);
    self->type = (zl_type){
        .name = PyBytes_AS_STRING(self->name),
        .size = size_value,
        .alignment = alignment_value,
        .layout = self->layout != NULL ? PyBytes_AS_STRING(self->layout) : NULL,
        .layout_hash = layout_hash,
        .plain = true,
    };
    int rc = zl_type_validate(&self->type);
    if (rc != 0) {
        zlpy_raise(rc);
        return -1;
    }
    return 0;
}

static void type_dealloc(PyObject *object)
{
    zlpy_type *self = (zlpy_type *)object;
    Py_XDECREF(self->name);
    Py_XDECREF(self->layout);
    Py_XDECREF(self->dtype);
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

static PyObject *type_repr(PyObject *object)
{
    zlpy_type *self = (zlpy_type *)object;
    if (self->name == NULL)
        return PyUnicode_FromString("<zloan.Type (uninitialised)>");
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)zl_type_layout_hash(&self->type));
    return PyUnicode_FromFormat("<zloan.Type %s: %zu bytes, alignment %zu, layout hash %s>",
                                self->type.name, self->type.size, self->type.alignment, hash);
}

static PyGetSetDef type_getset[] = {
    {"name", type_name, NULL, "The type name, compared exactly with the other endpoints'.", NULL},
    {"size", type_size, NULL, "Bytes of one message.", NULL},
    {"alignment", type_alignment, NULL, "Alignment of a message in bytes.", NULL},
    {"layout", type_layout, NULL, "The layout text entering the hash, or None.", NULL},
    {"layout_hash", type_layout_hash, NULL, "The hash zloan compares (zl_type_layout_hash).", NULL},
    {"dtype", type_dtype, NULL, "The dtype given (None if none): Loan.array() uses it.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject zlpy_type_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zloan.Type",
    .tp_basicsize = sizeof(zlpy_type),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Type(name, dtype=None, *, size=None, alignment=None, layout=None, layout_hash=0)\n\n"
              "A plain message type: the bytes of a C struct without pointers. size and alignment "
              "come from dtype (a numpy dtype: use a structured dtype with align=True to match a "
              "C struct) unless given. name, size, alignment and layout must equal the C side's "
              "ZL_TYPE_PLAIN(T) (name is #T) or ZL_TYPE_PLAIN_LAYOUT(T, layout).",
    .tp_new = PyType_GenericNew,
    .tp_init = type_init,
    .tp_dealloc = type_dealloc,
    .tp_repr = type_repr,
    .tp_getset = type_getset,
};
