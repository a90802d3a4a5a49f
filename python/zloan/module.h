/* zloan for Python: what the extension's files share.
 *
 * Built on the public C API only (include/zloan/). Lifetimes, the part that
 * must not go wrong:
 *
 *   - Every object that owns a C handle (context, publisher, subscription,
 *     executor) is a zlpy_owner. Whatever needs that handle alive (an endpoint
 *     needs its context, a loan its endpoint, a wait that runs without the GIL
 *     its object) holds a strong Python reference to the owner and counts
 *     itself in owner->users. The C handle is destroyed only when nothing
 *     uses it: at once by close() when users is 0, otherwise by the last user
 *     to leave (close() then only stops new work). So the C layer's destroy
 *     order (loans before endpoints, endpoints before contexts) always holds,
 *     and a view into a loan never outlives the mapping it points into.
 *   - A loan is a buffer exporter; while exports (memoryviews, numpy arrays)
 *     exist it can neither be published nor returned (BufferError), and its
 *     Python object cannot be collected (a view references its exporter). The
 *     last reference to a held loan going away returns it.
 *   - A subscription is "busy" while a thread waits on it without the GIL;
 *     zloan's C rules allow one thread at a time to take from or wait on a
 *     subscription, so the other calls raise BusyError meanwhile.
 *
 * Sized types: Type(name, dtype, tail=element_dtype, max_count=...) is a
 * fixed part followed by a tail of elements (ZL_TYPE_SIZED in C). A loan
 * carries its byte count and its tail count: a publisher's from the count
 * asked (Publisher.loan(count)), a received one's from its MessageInfo (the
 * size and count published), so Loan.tail() is the 1-D numpy view of exactly
 * the elements published, and a subscription never views past them.
 */
#ifndef ZLOAN_PYTHON_MODULE_H
#define ZLOAN_PYTHON_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>

#include <zloan/zloan.h>

typedef struct zlpy_owner zlpy_owner;
struct zlpy_owner {
    PyObject_HEAD
    /* NULL once destroyed (or never created). */
    void *handle;
    /* The owner this one needs alive (a strong reference), or NULL. */
    zlpy_owner *parent;
    /* Loans, endpoints, executors and GIL-free waits that need handle alive. */
    Py_ssize_t users;
    /* close() was called: no new work; handle goes when users reaches 0. */
    bool closed;
    /* Destroys handle (kind-specific; runs with the GIL held). */
    void (*destroy)(zlpy_owner *self);
    /* zlpy_fork_generation when it was made: in a forked child the handle
     * belongs to the parent, and is neither used nor destroyed. */
    unsigned long generation;
};

/* Publisher and Subscription share this layout. */
typedef struct zlpy_endpoint {
    zlpy_owner owner;
    PyObject *type; /* zloan.Type */
    PyObject *topic; /* str */
    /* Subscriptions: the private wait set of Subscription.wait() (lazy), and
     * whether a thread waits on the subscription without the GIL. */
    zl_waitset *waitset;
    bool busy;
    /* The options it was created with (Publisher.options, Subscription.options). */
    union {
        zl_publisher_options publisher;
        zl_subscription_options subscription;
    } options;
} zlpy_endpoint;

typedef struct zlpy_type {
    PyObject_HEAD
    zl_type type;    /* name and layout point into the bytes objects below */
    PyObject *name;  /* bytes, UTF-8 */
    PyObject *layout; /* bytes or NULL */
    PyObject *dtype; /* what describes one message (or the fixed part) to numpy */
    /* What Loan.array() views: dtype, except for a sized type whose dtype's
     * itemsize is not the fixed part's size (numpy rounds a structured
     * dtype's itemsize up to its alignment, past where C puts the tail):
     * then the same fields with an itemsize of exactly the fixed part. */
    PyObject *fixed;
    PyObject *tail;  /* sized types: the dtype of one tail element; else None */
} zlpy_type;

extern PyTypeObject zlpy_context_type;
extern PyTypeObject zlpy_publisher_type;
extern PyTypeObject zlpy_subscription_type;
extern PyTypeObject zlpy_loan_type;
extern PyTypeObject zlpy_type_type;
extern PyTypeObject zlpy_executor_type;
extern PyTypeObject zlpy_user_memory_type;
extern PyTypeObject *zlpy_message_info_type;
extern PyTypeObject *zlpy_publisher_stats_type;
extern PyTypeObject *zlpy_subscription_stats_type;

/* Incremented in the child by every fork() (module.c, pthread_atfork):
 * zloan objects do not survive fork, and destroying an inherited endpoint
 * would remove the parent's shared memory. */
extern unsigned long zlpy_fork_generation;

/* Exception classes (module.c). */
extern PyObject *zlpy_error;        /* zloan.Error */
extern PyObject *zlpy_closed_error; /* zloan.ClosedError */

/* Raises the exception class of code, with zl_last_error_detail() of the
 * calling thread. Returns NULL (for `return zlpy_raise(rc);`). */
PyObject *zlpy_raise(int code);
/* Same, with a message of our own instead of the C detail. */
PyObject *zlpy_raise_text(int code, const char *detail);
/* Raises ClosedError naming what is closed; returns NULL. */
PyObject *zlpy_raise_closed(const char *what);

/* Converts a timeout in seconds (None: forever) to nanoseconds (-1: forever).
 * Returns 0, or -1 with an exception set. */
int zlpy_timeout_ns(PyObject *timeout, int64_t *ns);

/* owner lifecycle (context.c). */
void zlpy_owner_init(zlpy_owner *self, zlpy_owner *parent,
                     void (*destroy)(zlpy_owner *));
/* Counts a user of owner and takes a reference. */
void zlpy_owner_use(zlpy_owner *owner);
/* Undoes zlpy_owner_use; destroys the handle of a closed owner nobody uses. */
void zlpy_owner_leave(zlpy_owner *owner);
/* Whether owner's handle can be used here: neither closed, destroyed, nor
 * inherited through fork(). Otherwise raises ClosedError naming what. */
bool zlpy_owner_usable(zlpy_owner *owner, const char *what);
/* close(): marks it closed, destroys the handle now if nobody uses it. */
void zlpy_owner_close(zlpy_owner *self);
/* For tp_dealloc: destroys the handle and leaves the parent. */
void zlpy_owner_finalize(zlpy_owner *self);
/* The shared context-manager and close methods. */
PyObject *zlpy_owner_enter(PyObject *self, PyObject *unused);
PyObject *zlpy_owner_exit(PyObject *self, PyObject *args);
PyObject *zlpy_owner_close_method(PyObject *self, PyObject *unused);
PyObject *zlpy_owner_closed_get(PyObject *self, void *unused);

/* The C API's option and statistics structs, field by field (fields.c). */
typedef enum zlpy_field_kind {
    ZLPY_U32,
    ZLPY_U64,
    ZLPY_I64,
    ZLPY_BOOL,
    ZLPY_RELIABILITY, /* zl_reliability: KEEP_LAST or LOSSLESS */
} zlpy_field_kind;

typedef struct zlpy_field {
    const char *name; /* the C member's name, which is the Python one; NULL ends a table */
    size_t offset;
    zlpy_field_kind kind;
    const char *doc;
} zlpy_field;

extern const zlpy_field zlpy_publisher_option_fields[];
extern const zlpy_field zlpy_subscription_option_fields[];
extern const zlpy_field zlpy_publisher_stats_fields[];
extern const zlpy_field zlpy_subscription_stats_fields[];
/* The options zloan.UserMemory takes as keywords (it makes fd, offset,
 * base and length itself). */
extern const zlpy_field zlpy_user_memory_option_fields[];

/* Stores the keywords of kwargs (may be NULL) that name fields into out (a
 * struct of size bytes), converting and range-checking each; *rest is a new
 * dict of the other keywords. Returns 0, or -1 with an exception (a wrong
 * type: TypeError; out of range: InvalidArgumentError) and out unchanged. */
int zlpy_fields_parse(const zlpy_field *fields, PyObject *kwargs, size_t size, void *out,
                      PyObject **rest);
/* A dict of the fields of in, by name. */
PyObject *zlpy_fields_dict(const zlpy_field *fields, const void *in);
/* A struct sequence of type (made by zlpy_fields_struct_sequence_type from
 * fields) holding the fields of in. */
PyObject *zlpy_fields_struct_sequence(PyTypeObject *type, const zlpy_field *fields, const void *in);
PyTypeObject *zlpy_fields_struct_sequence_type(const char *name, const char *doc,
                                               const zlpy_field *fields);

/* Makes a loan object (loan.c): a publisher's loan of size bytes with room
 * for count tail elements. */
PyObject *zlpy_loan_new(zlpy_endpoint *endpoint, void *data, size_t size, size_t count);
/* Makes a received loan object (loan.c): its size and count come from info. */
PyObject *zlpy_loan_new_received(zlpy_endpoint *endpoint, const void *data,
                                 const zl_message_info *info);
/* A zloan.MessageInfo from info. */
PyObject *zlpy_message_info_new(const zl_message_info *info);

/* Shared by Publisher and Subscription (publisher.c): parses (context,
 * topic, type, *, options...) of the endpoint called name, the options into
 * *options (a struct of size bytes described by fields, filled with its
 * defaults by the caller). Returns 0, or -1 with an exception. */
int zlpy_endpoint_parse(PyObject *args, PyObject *kwargs, const char *name,
                        const zlpy_field *fields, size_t size, void *options, PyObject **context,
                        PyObject **topic, PyObject **type);
/* Shared by Publisher and Subscription (publisher.c): checks the arguments,
 * uses the context, keeps type and topic. Returns 0 or -1 with an exception. */
int zlpy_endpoint_start(zlpy_endpoint *self, PyObject *context,
                        PyObject *topic, PyObject *type, void (*destroy)(zlpy_owner *));
void zlpy_endpoint_dealloc(PyObject *object);
PyObject *zlpy_endpoint_topic(PyObject *object, void *unused);
PyObject *zlpy_endpoint_type(PyObject *object, void *unused);

/* The tail count of a message of bytes bytes of type (publisher.c): a
 * fixed-size type's must be its size, a sized type's its fixed part and
 * whole elements (at_most: a buffer of at least the fixed part, count the
 * elements that fit). Returns 0, or -1 with ZL_EINVAL raised naming what. */
int zlpy_message_count(const zl_type *type, size_t bytes, const char *what, bool at_most,
                       size_t *count);

/* Subscription helpers the executor shares (subscription.c). */
/* Fails with BusyError or ClosedError when sub cannot be taken from now. */
int zlpy_subscription_check_usable(zlpy_endpoint *sub);

#endif
