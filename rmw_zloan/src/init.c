/* rmw_zloan — init options, contexts, and the thread that watches the graph. */
#include "rmw_zloan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rcutils/logging_macros.h>
#include <rcutils/strdup.h>
#include <rmw/features.h>
#include <rmw/init_options.h>
#include <rmw/security_options.h>

#define GRAPH_PERIOD_MS 50

const char *rmw_get_implementation_identifier(void)
{
    return zr_identifier;
}

const char *rmw_get_serialization_format(void)
{
    return "cdr";
}

bool rmw_feature_supported(rmw_feature_t feature)
{
    switch (feature) {
    case RMW_FEATURE_MESSAGE_INFO_PUBLICATION_SEQUENCE_NUMBER:
    case RMW_FEATURE_MESSAGE_INFO_RECEPTION_SEQUENCE_NUMBER:
        return true;
    default:
        return false;
    }
}

rmw_ret_t rmw_init_options_init(rmw_init_options_t *init_options, rcutils_allocator_t allocator)
{
    ZR_CHECK_ARG(init_options);
    if (!rcutils_allocator_is_valid(&allocator)) {
        RMW_SET_ERROR_MSG("allocator is invalid");
        return RMW_RET_INVALID_ARGUMENT;
    }
    if (init_options->implementation_identifier != NULL) {
        RMW_SET_ERROR_MSG("init_options is not zero-initialized");
        return RMW_RET_INVALID_ARGUMENT;
    }
    init_options->instance_id = 0;
    init_options->implementation_identifier = zr_identifier;
    init_options->allocator = allocator;
    init_options->impl = NULL;
    init_options->enclave = NULL;
    init_options->domain_id = RMW_DEFAULT_DOMAIN_ID;
    init_options->security_options = rmw_get_default_security_options();
    init_options->localhost_only = RMW_LOCALHOST_ONLY_DEFAULT;
    return RMW_RET_OK;
}

rmw_ret_t rmw_init_options_copy(const rmw_init_options_t *src, rmw_init_options_t *dst)
{
    ZR_CHECK_ARG(src);
    ZR_CHECK_ARG(dst);
    if (src->implementation_identifier == NULL) {
        RMW_SET_ERROR_MSG("src is zero-initialized");
        return RMW_RET_INVALID_ARGUMENT;
    }
    ZR_CHECK_ID(src);
    if (dst->implementation_identifier != NULL) {
        RMW_SET_ERROR_MSG("dst is not zero-initialized");
        return RMW_RET_INVALID_ARGUMENT;
    }
    const rcutils_allocator_t *a = &src->allocator;
    rmw_init_options_t tmp = *src;
    tmp.enclave = NULL;
    if (src->enclave != NULL) {
        tmp.enclave = rcutils_strdup(src->enclave, *a);
        if (tmp.enclave == NULL) {
            RMW_SET_ERROR_MSG("failed to copy the enclave");
            return RMW_RET_BAD_ALLOC;
        }
    }
    tmp.security_options = rmw_get_zero_initialized_security_options();
    rmw_ret_t ret = rmw_security_options_copy(&src->security_options, a, &tmp.security_options);
    if (ret != RMW_RET_OK) {
        a->deallocate(tmp.enclave, a->state);
        return ret;
    }
    *dst = tmp;
    return RMW_RET_OK;
}

rmw_ret_t rmw_init_options_fini(rmw_init_options_t *init_options)
{
    ZR_CHECK_ARG(init_options);
    if (init_options->implementation_identifier == NULL) {
        RMW_SET_ERROR_MSG("init_options is zero-initialized");
        return RMW_RET_INVALID_ARGUMENT;
    }
    ZR_CHECK_ID(init_options);
    rcutils_allocator_t *a = &init_options->allocator;
    if (!rcutils_allocator_is_valid(a)) {
        RMW_SET_ERROR_MSG("allocator is invalid");
        return RMW_RET_INVALID_ARGUMENT;
    }
    a->deallocate(init_options->enclave, a->state);
    rmw_ret_t ret = rmw_security_options_fini(&init_options->security_options, a);
    *init_options = rmw_get_zero_initialized_init_options();
    return ret;
}

/* zloan's log lines go to rcutils logging, under the logger "rmw_zloan". */
static void log_to_rcutils(zl_log_level level, const char *message, void *state)
{
    (void)state;
    switch (level) {
    case ZL_LOG_ERROR:
        RCUTILS_LOG_ERROR_NAMED("rmw_zloan", "%s", message);
        break;
    case ZL_LOG_WARN:
        RCUTILS_LOG_WARN_NAMED("rmw_zloan", "%s", message);
        break;
    case ZL_LOG_INFO:
        RCUTILS_LOG_INFO_NAMED("rmw_zloan", "%s", message);
        break;
    default:
        RCUTILS_LOG_DEBUG_NAMED("rmw_zloan", "%s", message);
        break;
    }
}

rmw_ret_t zr_context_options(uint32_t domain_id, const char *name, bool disable_loans,
                             zl_context_options *o)
{
    zl_context_options_init(o);
    o->domain_id = domain_id;
    o->name = name;
    o->disable_loans = disable_loans;
    o->log_callback = log_to_rcutils;
    o->log_level = ZL_LOG_DEBUG; /* rcutils filters by severity (rmw_set_log_severity) */
    return RMW_RET_OK;
}

rmw_ret_t rmw_set_log_severity(rmw_log_severity_t severity)
{
    int ret = rcutils_logging_set_logger_level("rmw_zloan", (int)severity);
    if (ret != RCUTILS_RET_OK) {
        RMW_SET_ERROR_MSG("failed to set the level of the logger rmw_zloan");
        return RMW_RET_ERROR;
    }
    return RMW_RET_OK;
}

rmw_ret_t rmw_init(const rmw_init_options_t *options, rmw_context_t *context)
{
    ZR_CHECK_ARG(options);
    ZR_CHECK_ARG(context);
    if (options->implementation_identifier == NULL) {
        RMW_SET_ERROR_MSG("options is zero-initialized");
        return RMW_RET_INVALID_ARGUMENT;
    }
    ZR_CHECK_ID(options);
    if (options->enclave == NULL) {
        RMW_SET_ERROR_MSG("options->enclave is NULL");
        return RMW_RET_INVALID_ARGUMENT;
    }
    if (context->implementation_identifier != NULL) {
        RMW_SET_ERROR_MSG("context is not zero-initialized");
        return RMW_RET_INVALID_ARGUMENT;
    }
    size_t domain = options->domain_id == RMW_DEFAULT_DOMAIN_ID ? 0 : options->domain_id;
    if (domain > ZL_DOMAIN_ID_MAX) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("domain id %zu is out of zloan's range 0..%d", domain,
                                             ZL_DOMAIN_ID_MAX);
        return RMW_RET_INVALID_ARGUMENT;
    }
    rmw_context_impl_t *impl = calloc(1, sizeof *impl);
    if (impl == NULL) {
        RMW_SET_ERROR_MSG("out of memory for the context");
        return RMW_RET_BAD_ALLOC;
    }
    impl->domain_id = (uint32_t)domain;
    impl->loans = !zr_loans_disabled_by_env();
    pthread_mutex_init(&impl->lock, NULL);
    pthread_cond_init(&impl->graph_cond, NULL);
    zl_context_options zo;
    zr_context_options(impl->domain_id, "rmw_zloan", false, &zo);
    int rc = zl_context_create(&zo, &impl->zl);
    if (rc != 0) {
        rmw_ret_t ret = zr_fail_zl(rc, "zl_context_create");
        pthread_cond_destroy(&impl->graph_cond);
        pthread_mutex_destroy(&impl->lock);
        free(impl);
        return ret;
    }
    context->instance_id = options->instance_id;
    context->implementation_identifier = zr_identifier;
    context->actual_domain_id = domain;
    context->impl = impl;
    context->options = rmw_get_zero_initialized_init_options();
    rmw_ret_t ret = rmw_init_options_copy(options, &context->options);
    if (ret == RMW_RET_OK)
        ret = zr_graph_thread_start(context);
    if (ret != RMW_RET_OK) {
        if (context->options.implementation_identifier != NULL &&
            rmw_init_options_fini(&context->options) != RMW_RET_OK)
            rmw_reset_error();
        zl_context_destroy(impl->zl);
        pthread_cond_destroy(&impl->graph_cond);
        pthread_mutex_destroy(&impl->lock);
        free(impl);
        *context = rmw_get_zero_initialized_context();
        return ret;
    }
    return RMW_RET_OK;
}

rmw_ret_t rmw_shutdown(rmw_context_t *context)
{
    ZR_CHECK_ARG(context);
    if (context->impl == NULL) {
        RMW_SET_ERROR_MSG("context is zero-initialized");
        return RMW_RET_INVALID_ARGUMENT;
    }
    ZR_CHECK_ID(context);
    zr_graph_thread_stop(context);
    context->impl->shut_down = true;
    return RMW_RET_OK;
}

rmw_ret_t rmw_context_fini(rmw_context_t *context)
{
    ZR_CHECK_ARG(context);
    if (context->impl == NULL) {
        RMW_SET_ERROR_MSG("context is zero-initialized");
        return RMW_RET_INVALID_ARGUMENT;
    }
    ZR_CHECK_ID(context);
    rmw_context_impl_t *impl = context->impl;
    if (!impl->shut_down) {
        RMW_SET_ERROR_MSG("context has not been shut down (rmw_shutdown)");
        return RMW_RET_INVALID_ARGUMENT;
    }
    if (impl->node_count > 0) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("context still has %zu nodes: destroy them first",
                                             impl->node_count);
        return RMW_RET_ERROR;
    }
    int rc = zl_context_destroy(impl->zl);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_context_destroy (guard conditions or wait sets remain)");
    pthread_cond_destroy(&impl->graph_cond);
    pthread_mutex_destroy(&impl->lock);
    free(impl);
    rmw_ret_t ret = rmw_init_options_fini(&context->options);
    *context = rmw_get_zero_initialized_context();
    return ret;
}

/* ---- graph watching ------------------------------------------------------- */

void zr_graph_changed(rmw_context_t *context)
{
    if (context == NULL || context->impl == NULL)
        return; /* an endpoint that outlived its node (node.c) */
    rmw_context_impl_t *impl = context->impl;
    pthread_mutex_lock(&impl->lock);
    for (zr_node *n = impl->nodes; n != NULL; n = n->next)
        zl_guard_condition_trigger(n->graph_guard->data);
    pthread_mutex_unlock(&impl->lock);
}

/* Every GRAPH_PERIOD_MS, the fingerprint of the domain's topics (names,
 * types, live endpoints); when it changes, the graph guard condition of
 * every node fires. This is how other processes' nodes and endpoints, and
 * a process killed with its endpoints, reach rcl's graph events. */
static void *graph_thread(void *arg)
{
    rmw_context_t *context = arg;
    rmw_context_impl_t *impl = context->impl;
    pthread_mutex_lock(&impl->lock);
    while (!atomic_load(&impl->graph_stop)) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += GRAPH_PERIOD_MS * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&impl->graph_cond, &impl->lock, &deadline);
        if (atomic_load(&impl->graph_stop))
            break;
        pthread_mutex_unlock(&impl->lock);
        uint64_t sig = zr_graph_signature(impl->domain_id);
        pthread_mutex_lock(&impl->lock);
        if (sig != impl->graph_signature) {
            impl->graph_signature = sig;
            for (zr_node *n = impl->nodes; n != NULL; n = n->next)
                zl_guard_condition_trigger(n->graph_guard->data);
        }
        zr_serve_history(impl);
    }
    pthread_mutex_unlock(&impl->lock);
    return NULL;
}

/* Contexts whose graph thread runs: a process that exits without shutting
 * its contexts down (a failed test, an exit from a callback) must not have
 * the thread reading shared memory while the process tears down. */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static rmw_context_impl_t *running[64];
static pid_t running_pid; /* the process whose threads these are */
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

static void stop_all_at_exit(void)
{
    /* A forked child inherits the list but none of the threads: it must
     * not join its parent's (that would wait forever). */
    if (running_pid != getpid())
        return;
    pthread_mutex_lock(&running_lock);
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
        rmw_context_impl_t *impl = running[i];
        if (impl == NULL)
            continue;
        pthread_mutex_lock(&impl->lock);
        atomic_store(&impl->graph_stop, true);
        pthread_cond_signal(&impl->graph_cond);
        pthread_mutex_unlock(&impl->lock);
        pthread_join(impl->graph_thread, NULL);
        impl->graph_thread_started = false;
        running[i] = NULL;
    }
    pthread_mutex_unlock(&running_lock);
}

static void register_atexit(void)
{
    atexit(stop_all_at_exit);
}

static void set_running(rmw_context_impl_t *impl, bool on)
{
    pthread_mutex_lock(&running_lock);
    if (running_pid != getpid()) { /* a forked child: its parent's are not its own */
        memset(running, 0, sizeof running);
        running_pid = getpid();
    }
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
        if (on && running[i] == NULL) {
            running[i] = impl;
            break;
        }
        if (!on && running[i] == impl) {
            running[i] = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&running_lock);
}

rmw_ret_t zr_graph_thread_start(rmw_context_t *context)
{
    rmw_context_impl_t *impl = context->impl;
    pthread_once(&atexit_once, register_atexit);
    impl->graph_signature = zr_graph_signature(impl->domain_id);
    atomic_store(&impl->graph_stop, false);
    int rc = pthread_create(&impl->graph_thread, NULL, graph_thread, context);
    if (rc != 0) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("cannot start the graph thread: %s", strerror(rc));
        return RMW_RET_ERROR;
    }
    impl->graph_thread_started = true;
    set_running(impl, true);
    return RMW_RET_OK;
}

void zr_graph_thread_stop(rmw_context_t *context)
{
    rmw_context_impl_t *impl = context->impl;
    set_running(impl, false);
    if (impl->graph_thread_started) {
        pthread_mutex_lock(&impl->lock);
        atomic_store(&impl->graph_stop, true);
        pthread_cond_signal(&impl->graph_cond);
        pthread_mutex_unlock(&impl->lock);
        pthread_join(impl->graph_thread, NULL);
        impl->graph_thread_started = false;
    }
    pthread_mutex_lock(&impl->lock);
    zr_serve_stop(impl);
    pthread_mutex_unlock(&impl->lock);
}
