/* zloan — see inside a running zloan system.
 *
 * Built on the public API alone (zloan/zloan.h, mostly zloan/introspection.h):
 * every command but `topic echo` and `topic pub` only reads shared memory and
 * never joins a topic; echo joins as an ordinary subscription of the topic's
 * own type (adopted from the registry), pub as an ordinary publisher.
 * `zloan --help` lists the commands and the exit codes.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "zloan/zloan.h"

#include "describe.h"

enum {
    EXIT_OK = 0,
    EXIT_FOUND_PROBLEMS = 1, /* doctor found problems; echo --once got nothing */
    EXIT_USAGE = 2,          /* bad command line */
    EXIT_ZLOAN = 3,          /* a zloan call failed (no such topic, corrupt registry, ...) */
};

static const char *usage_text =
    "usage: zloan [--domain N] [--json] COMMAND ...\n"
    "\n"
    "  topic list [-t] [-c]           topics of the domain (-t types, -c endpoint counts)\n"
    "  topic info [-v] TOPIC          a topic's type; -v every endpoint with its counters\n"
    "  topic echo TOPIC [--once] [--field F] [--count N] [--timeout S]\n"
    "                                 print messages (decoded when the type is described)\n"
    "  topic hz TOPIC... [--duration S] [--window N]\n"
    "                                 publishing rate, from the shared counters\n"
    "  topic bw TOPIC [--duration S]  bytes per second, from the shared counters\n"
    "  topic pub TOPIC FIELD=VALUE... [--rate HZ] [--count N]\n"
    "                                 publish messages of a described type\n"
    "                                 (N times, 1 by default; --count 0: until interrupted)\n"
    "  pool                           every publisher's pool: chunks in use, free, watermark\n"
    "  doctor                         check /dev/shm, leftovers, other users, RemoveIPC\n"
    "  clean [--dry-run]              remove what killed processes left in /dev/shm\n"
    "\n"
    "Options: --domain N (default ZLOAN_DOMAIN_ID or 0), --json (one JSON document per\n"
    "answer, for scripts; not doctor), --help (on any command).\n"
    "Exit codes: 0 done; 1 problems found (doctor) or nothing received (echo --once);\n"
    "2 bad command line; 3 a zloan call failed (no such topic, a registry that fails\n"
    "validation, ...), with the reason on stderr.\n";

static uint32_t domain;
static bool json;

/* What a command allocated, released at exit whichever way it leaves. */
static struct {
    void *memory[64];
    int memory_count;
    zl_topic_view *views[16];
    int view_count;
    zl_field *fields;
    size_t field_count;
} owned;

static void *keep(void *p)
{
    if (p != NULL && owned.memory_count < 64)
        owned.memory[owned.memory_count++] = p;
    return p;
}

static void release_owned(void)
{
    for (int i = 0; i < owned.memory_count; i++)
        free(owned.memory[i]);
    for (int i = 0; i < owned.view_count; i++)
        zl_topic_view_close(owned.views[i]);
    describe_free(owned.fields, owned.field_count);
}
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int usage(const char *message)
{
    if (message != NULL)
        fprintf(stderr, "zloan: %s\n", message);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

static int failed(const char *what, int rc)
{
    /* ZL_ENODATA from a lookup is a topic that does not exist: the detail
     * says so, and zl_strerror's "nothing to take" would mislead. */
    if (rc == ZL_ENODATA)
        fprintf(stderr, "zloan: %s\n", zl_last_error_detail()); /* names the topic */
    else
        fprintf(stderr, "zloan: %s: %s (%s)\n", what, zl_strerror(rc), zl_last_error_detail());
    return EXIT_ZLOAN;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static bool has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return true;
    return false;
}

static const char *option(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

/* A number option's value: *out = fallback when it is absent; false (after
 * a usage message naming it) when it is no number or below min (above it,
 * when strictly). */
static bool number_option(int argc, char **argv, const char *name, double min, bool strictly,
                          double fallback, double *out)
{
    const char *text = option(argc, argv, name);
    *out = fallback;
    if (text == NULL)
        return true;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || v != v || v > 1e15 || v < min ||
        (strictly && v == min)) {
        char message[160];
        snprintf(message, sizeof message, "%s '%.40s': a number %s %g expected", name, text,
                 strictly ? "above" : "of at least", min);
        usage(message);
        return false;
    }
    *out = v;
    return true;
}

/* Positional arguments: those not starting with '-' and not an option's value. */
static int positionals(int argc, char **argv, const char **out, int max)
{
    static const char *const valued[] = {"--field", "--count", "--timeout", "--duration",
                                         "--window", "--rate", NULL};
    int n = 0;
    for (int i = 0; i < argc; i++) {
        bool value = false;
        for (int v = 0; valued[v] != NULL; v++)
            if (strcmp(argv[i], valued[v]) == 0)
                value = true;
        if (value) {
            i++;
            continue;
        }
        if (argv[i][0] != '-' && n < max)
            out[n++] = argv[i];
    }
    return n;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static zl_topic_info *topic_info_or_fail(const char *topic, int *code)
{
    zl_topic_info *info = malloc(sizeof *info);
    if (info == NULL) {
        *code = failed("allocating", ZL_ENOMEM);
        return NULL;
    }
    int rc = zl_introspection_topic_info(domain, topic, info);
    if (rc != 0) {
        free(info);
        char what[300];
        snprintf(what, sizeof what, "topic %s", topic);
        *code = failed(what, rc);
        return NULL;
    }
    return info;
}

/* ---- topic list ------------------------------------------------------ */

static int topic_list(int argc, char **argv)
{
    bool types = has_flag(argc, argv, "-t"), counts = has_flag(argc, argv, "-c");
    size_t count = 0;
    int rc = zl_introspection_list_topics(domain, NULL, 0, &count);
    if (rc != 0)
        return failed("listing topics", rc);
    zl_topic_summary *topics = keep(calloc(count + 1, sizeof *topics));
    if (topics == NULL)
        return failed("allocating", ZL_ENOMEM);
    size_t found = 0;
    rc = zl_introspection_list_topics(domain, topics, count + 1, &found);
    if (rc != 0)
        return failed("listing topics", rc);
    if (found > count + 1)
        found = count + 1;
    int corrupt = 0;
    for (size_t i = 0; i < found; i++)
        if (topics[i].corrupt) {
            fprintf(stderr, "zloan: topic %s: its registry failed validation\n", topics[i].name);
            corrupt++;
        }
    if (json) {
        printf("[");
        for (size_t i = 0; i < found; i++) {
            printf("%s{\"name\": ", i ? ", " : "");
            json_string(topics[i].name);
            printf(", \"type\": ");
            json_string(topics[i].type_name);
            printf(", \"group\": %s, \"publishers\": %u, \"subscriptions\": %u, "
                   "\"dead_publishers\": %u, \"dead_subscriptions\": %u, \"corrupt\": %s}",
                   topics[i].group ? "true" : "false", topics[i].publishers,
                   topics[i].subscriptions, topics[i].dead_publishers,
                   topics[i].dead_subscriptions, topics[i].corrupt ? "true" : "false");
        }
        printf("]\n");
    } else {
        for (size_t i = 0; i < found; i++) {
            printf("%s", topics[i].name);
            if (types)
                printf(" [%s]", topics[i].type_name[0] ? topics[i].type_name : "-");
            if (counts) {
                /* Live endpoints; the dead wait for the sweep and are named apart. */
                uint32_t pubs = topics[i].publishers - topics[i].dead_publishers;
                uint32_t subs = topics[i].subscriptions - topics[i].dead_subscriptions;
                uint32_t dead = topics[i].dead_publishers + topics[i].dead_subscriptions;
                printf(" %u publisher%s, %u subscription%s", pubs, pubs == 1 ? "" : "s", subs,
                       subs == 1 ? "" : "s");
                if (dead != 0)
                    printf(" (and %u dead)", dead);
            }
            if (topics[i].group)
                printf(" (group)");
            if (topics[i].corrupt)
                printf(" (registry failed validation)");
            printf("\n");
        }
    }
    return corrupt != 0 ? EXIT_ZLOAN : EXIT_OK;
}

/* ---- topic info ------------------------------------------------------ */

static const char *kind_name(zl_endpoint_kind kind)
{
    return kind == ZL_ENDPOINT_PUBLISHER ? "publisher" : "subscription";
}

static void print_endpoint_json(const zl_endpoint_info *e)
{
    printf("{\"kind\": \"%s\", \"id\": \"%016" PRIx64 "\", \"pid\": %u, \"executable\": ",
           kind_name(e->kind), e->id, e->pid);
    json_string(e->executable);
    printf(", \"context\": ");
    json_string(e->context_name);
    printf(", \"alive\": %s, \"depth\": %u, \"history\": %u, \"max_loans\": %u, "
           "\"messages\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"loans_held\": %u",
           e->alive ? "true" : "false", e->depth, e->history, e->max_loans, e->messages,
           e->bytes, e->loans_held);
    if (e->kind == ZL_ENDPOINT_PUBLISHER) {
        printf(", \"chunks_total\": %u, \"chunks_free\": %u, \"chunks_used_max\": %u, "
               "\"chunk_bytes\": %" PRIu64 ", \"pool_bytes\": %" PRIu64,
               e->chunks_total, e->chunks_free, e->chunks_used_max, e->chunk_bytes,
               e->pool_bytes);
    } else {
        printf(", \"lossless\": %s, \"lost\": %" PRIu64 ", \"queues\": [",
               e->lossless ? "true" : "false", e->lost);
        for (uint32_t q = 0; q < e->queue_count; q++)
            printf("%s{\"publisher\": \"%016" PRIx64 "\", \"fill\": %u, \"capacity\": %u, "
                   "\"lost\": %" PRIu64 ", \"held_back\": %" PRIu64 "}",
                   q ? ", " : "", e->queues[q].publisher_id, e->queues[q].fill,
                   e->queues[q].capacity, e->queues[q].lost, e->queues[q].held_back);
        printf("]");
    }
    printf("}");
}

static void print_endpoint(const zl_endpoint_info *e)
{
    printf("  %-12s %016" PRIx64 "  pid %-7u %-16s context %-12s %s\n", kind_name(e->kind),
           e->id, e->pid, e->executable, e->context_name[0] ? e->context_name : "-",
           e->alive ? "alive" : "DEAD");
    if (e->kind == ZL_ENDPOINT_PUBLISHER) {
        printf("      history %u, max loans %u; published %" PRIu64 " (%" PRIu64
               " bytes), loans held %u\n",
               e->history, e->max_loans, e->messages, e->bytes, e->loans_held);
        printf("      pool: %u chunks of up to %" PRIu64 " bytes, %u free, at most %u in use "
               "(watermark), %" PRIu64 " bytes reserved\n",
               e->chunks_total, e->chunk_bytes, e->chunks_free, e->chunks_used_max,
               e->pool_bytes);
    } else {
        printf("      depth %u, max loans %u%s%s; taken %" PRIu64 " (%" PRIu64
               " bytes), lost %" PRIu64 ", loans held %u\n",
               e->depth, e->max_loans, e->wants_history ? ", wants history" : "",
               e->lossless ? ", lossless" : "", e->messages, e->bytes, e->lost, e->loans_held);
        /* A lossless queue is never reclaimed from: what tells is how often
         * a publisher found it full and waited (held back). */
        for (uint32_t q = 0; q < e->queue_count; q++)
            if (e->lossless)
                printf("      queue from %016" PRIx64 ": %u of %u queued, held back %" PRIu64
                       "\n",
                       e->queues[q].publisher_id, e->queues[q].fill, e->queues[q].capacity,
                       e->queues[q].held_back);
            else
                printf("      queue from %016" PRIx64 ": %u of %u queued, lost %" PRIu64 "\n",
                       e->queues[q].publisher_id, e->queues[q].fill, e->queues[q].capacity,
                       e->queues[q].lost);
    }
}

/* "Tail: data, u16 elements of 2 bytes, at most 20": a sized type's tail,
 * named from its field description when it has one. */
static void print_tail(const zl_topic_info *info)
{
    zl_field *fields = NULL;
    size_t count = 0;
    const zl_field *tail = NULL;
    if (info->description[0] != '\0' && describe_parse(info->description, &fields, &count))
        tail = describe_tail(fields, count);
    printf("Tail: ");
    if (tail != NULL)
        printf("%s, %s elements", tail->name, describe_kind_name(tail));
    else
        printf("elements");
    printf(" of %" PRIu64 " byte%s, ", info->element_size, info->element_size == 1 ? "" : "s");
    if (info->max_count != 0)
        printf("at most %" PRIu64 "\n", info->max_count);
    else
        printf("no maximum count\n");
    describe_free(fields, count);
}

static int topic_info(int argc, char **argv)
{
    const char *pos[2];
    if (positionals(argc, argv, pos, 2) != 1)
        return usage("topic info takes one TOPIC");
    bool verbose = has_flag(argc, argv, "-v") || has_flag(argc, argv, "--verbose");
    int code;
    zl_topic_info *info = topic_info_or_fail(pos[0], &code);
    if (info == NULL)
        return code;
    uint32_t pubs = 0, subs = 0;
    for (uint32_t i = 0; i < info->endpoint_count; i++)
        if (info->endpoints[i].kind == ZL_ENDPOINT_PUBLISHER)
            pubs++;
        else
            subs++;
    if (json) {
        printf("{\"name\": ");
        json_string(info->name);
        printf(", \"domain\": %u, \"type\": ", info->domain_id);
        json_string(info->type_name);
        printf(", \"size\": %" PRIu64 ", \"alignment\": %" PRIu64 ", \"layout_hash\": \"%016" PRIx64
               "\", \"plain\": %s, \"sized\": %s, \"element_size\": %" PRIu64
               ", \"max_count\": %" PRIu64 ", \"description\": ",
               info->type_size, info->alignment, info->layout_hash,
               info->plain ? "true" : "false", info->sized ? "true" : "false",
               info->element_size, info->max_count);
        json_string(info->description);
        printf(", \"endpoints\": [");
        for (uint32_t i = 0; i < info->endpoint_count; i++) {
            printf("%s", i ? ", " : "");
            print_endpoint_json(&info->endpoints[i]);
        }
        printf("]}\n");
    } else {
        printf("Topic: %s (domain %u%s)\n", info->name, info->domain_id,
               info->group ? ", group" : "");
        printf("Type: %s, %" PRIu64 " bytes", info->type_name[0] ? info->type_name : "-",
               info->type_size);
        /* A plain type whose messages may be larger than it is sized
         * (ZL_TYPE_SIZED): its size is the fixed part, a tail follows. */
        if (info->plain && info->payload_size > info->type_size) {
            if (info->payload_size >= (uint64_t)1 << 40) /* ZL__PAYLOAD_UNBOUNDED */
                printf(" then a tail (sized; no maximum)");
            else
                printf(" then a tail (sized; messages up to %" PRIu64 " bytes)",
                       info->payload_size);
        }
        printf(", layout hash %016" PRIx64 "%s\n", info->layout_hash,
               info->plain ? "" : ", not plain (serialized)");
        if (info->description[0] != '\0')
            printf("Fields: %s\n", info->description);
        if (info->sized)
            print_tail(info);
        printf("Publishers: %u\nSubscriptions: %u\n", pubs, subs);
        if (verbose)
            for (uint32_t i = 0; i < info->endpoint_count; i++)
                print_endpoint(&info->endpoints[i]);
    }
    free(info);
    return EXIT_OK;
}

/* ---- adopting a topic's type (echo, pub) ----------------------------- */

typedef struct adopted {
    zl_type type;
    zl_field *fields;
    size_t field_count;
} adopted;

static int adopt(const char *topic, adopted *a, bool need_description)
{
    int code;
    zl_topic_info *info = topic_info_or_fail(topic, &code);
    if (info == NULL)
        return code;
    memset(a, 0, sizeof *a);
    if (info->type_name[0] == '\0') {
        fprintf(stderr, "zloan: topic %s has no endpoint to learn its type from\n", topic);
        free(info);
        return EXIT_ZLOAN;
    }
    if (!info->plain) {
        fprintf(stderr, "zloan: topic %s has a serialized (not plain) type %s: not supported\n",
                topic, info->type_name);
        free(info);
        return EXIT_ZLOAN;
    }
    if (info->description[0] != '\0' &&
        !describe_parse(info->description, &owned.fields, &owned.field_count)) {
        fprintf(stderr, "zloan: cannot parse the field description of %s: %s\n", topic,
                info->description);
        free(info);
        return EXIT_ZLOAN;
    }
    a->fields = owned.fields;
    a->field_count = owned.field_count;
    if (need_description && a->fields == NULL) {
        fprintf(stderr, "zloan: topic %s has type %s without a field description "
                        "(ZL_TYPE_DESCRIBED): cannot fill its fields\n",
                topic, info->type_name);
        free(info);
        return EXIT_ZLOAN;
    }
    static char name[ZL_TYPE_NAME_MAX];
    snprintf(name, sizeof name, "%s", info->type_name);
    a->type.name = name;
    a->type.size = (size_t)info->type_size;
    a->type.alignment = (size_t)info->alignment;
    a->type.element_size = (size_t)info->element_size;
    a->type.max_count = (size_t)info->max_count;
    a->type.layout_hash = info->layout_hash;
    a->type.plain = true;
    a->type.fields = a->fields;
    a->type.field_count = a->field_count;
    free(info);
    return EXIT_OK;
}

static zl_context *make_context(const char *name, int *code)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.domain_id = domain;
    options.name = name;
    zl_context *ctx;
    int rc = zl_context_create(&options, &ctx);
    if (rc != 0) {
        *code = failed("creating a context", rc);
        return NULL;
    }
    return ctx;
}

/* ---- topic echo ------------------------------------------------------ */

/* The first 256 bytes of a message in hex (a type without a description). */
static void print_hex(const unsigned char *msg, size_t size)
{
    size_t shown = size < 256 ? size : 256;
    for (size_t i = 0; i < shown; i++)
        printf("%02x%s", msg[i], (i % 32 == 31 || i + 1 == shown) ? "\n" : " ");
    if (shown < size)
        printf("... (%zu bytes)\n", size);
}

static int topic_echo(int argc, char **argv)
{
    const char *pos[2];
    if (positionals(argc, argv, pos, 2) != 1)
        return usage("topic echo takes one TOPIC");
    bool once = has_flag(argc, argv, "--once");
    const char *field = option(argc, argv, "--field");
    double count_value, timeout;
    if (!number_option(argc, argv, "--count", 1, false, -1, &count_value) ||
        !number_option(argc, argv, "--timeout", 0, false, -1, &timeout))
        return EXIT_USAGE;
    if (count_value != floor(count_value))
        return usage("--count takes a whole number");
    long limit = once ? 1 : (long)count_value;
    adopted a;
    int code = adopt(pos[0], &a, false);
    if (code != EXIT_OK)
        return code;
    if (field != NULL && a.fields == NULL)
        return usage("--field needs a described type");
    zl_context *ctx = make_context("zloan_echo", &code);
    if (ctx == NULL)
        return code;
    zl_subscription *sub;
    int rc = zl_subscription_create(ctx, pos[0], &a.type, NULL, &sub);
    if (rc != 0)
        return failed("subscribing", rc);
    zl_waitset *ws;
    rc = zl_waitset_create(ctx, 1, &ws);
    if (rc == 0)
        rc = zl_waitset_attach_subscription(ws, sub, NULL);
    if (rc != 0)
        return failed("waiting", rc);
    double deadline = timeout >= 0 ? now_s() + timeout : -1;
    long received = 0;
    while (!stop && (limit < 0 || received < limit) && (deadline < 0 || now_s() < deadline)) {
        const void *msg;
        zl_message_info mi;
        rc = zl_subscription_take_loan(sub, &msg, &mi);
        if (rc == ZL_ENODATA) {
            size_t ready;
            zl_waitset_wait(ws, 100 * 1000000LL, &ready);
            continue;
        }
        if (rc != 0)
            return failed("taking", rc);
        received++;
        if (a.fields != NULL) {
            if (!describe_print(stdout, a.fields, a.field_count, msg, mi.count, field, json)) {
                fprintf(stderr, "zloan: the type has no field %s\n", field);
                return EXIT_USAGE;
            }
        } else if (json) {
            printf("{\"sequence\": %" PRIu64 ", \"hex\": \"", mi.publication_sequence);
            for (size_t i = 0; i < mi.size; i++)
                printf("%02x", ((const unsigned char *)msg)[i]);
            printf("\"}\n");
        } else {
            print_hex(msg, mi.size); /* a sized type's tail too */
        }
        if (!json && limit != 1)
            printf("---\n");
        fflush(stdout);
        zl_subscription_return_loan(sub, msg);
    }
    zl_waitset_destroy(ws);
    zl_subscription_destroy(sub);
    zl_context_destroy(ctx);
    return once && received == 0 ? EXIT_FOUND_PROBLEMS : EXIT_OK;
}

/* ---- topic hz, topic bw ---------------------------------------------- */

/* What hz remembers of one publisher between samples. */
typedef struct watched {
    uint64_t id;
    uint64_t messages;
    int64_t last_ns;
} watched;

typedef struct rate {
    const char *topic;
    zl_topic_view *view;
    watched publishers[ZL_TOPIC_PUBLISHERS_MAX];
    uint32_t publisher_count;
    double *intervals; /* seconds, a ring of `window` */
    size_t window, filled, next;
} rate;

/* New intervals since the last sample: a counter that moved by k over the
 * time between the two last-message stamps gives k intervals of that mean. */
static void rate_sample(rate *r, const zl_topic_info *info)
{
    for (uint32_t i = 0; i < info->endpoint_count; i++) {
        const zl_endpoint_info *e = &info->endpoints[i];
        if (e->kind != ZL_ENDPOINT_PUBLISHER)
            continue;
        watched *w = NULL;
        for (uint32_t k = 0; k < r->publisher_count; k++)
            if (r->publishers[k].id == e->id)
                w = &r->publishers[k];
        if (w == NULL) {
            if (r->publisher_count == ZL_TOPIC_PUBLISHERS_MAX)
                continue;
            w = &r->publishers[r->publisher_count++];
            w->id = e->id;
            w->messages = e->messages;
            w->last_ns = e->last_ns;
            continue;
        }
        if (e->messages > w->messages && e->last_ns > w->last_ns && w->last_ns != 0) {
            uint64_t k = e->messages - w->messages;
            double each = (double)(e->last_ns - w->last_ns) * 1e-9 / (double)k;
            for (uint64_t n = 0; n < k && n < r->window; n++) {
                r->intervals[r->next] = each;
                r->next = (r->next + 1) % r->window;
                if (r->filled < r->window)
                    r->filled++;
            }
        }
        w->messages = e->messages;
        w->last_ns = e->last_ns;
    }
}

static void rate_report(const rate *r)
{
    double sum = 0, min = INFINITY, max = 0;
    for (size_t i = 0; i < r->filled; i++) {
        sum += r->intervals[i];
        if (r->intervals[i] < min)
            min = r->intervals[i];
        if (r->intervals[i] > max)
            max = r->intervals[i];
    }
    double mean = r->filled ? sum / (double)r->filled : 0, var = 0;
    for (size_t i = 0; i < r->filled; i++)
        var += (r->intervals[i] - mean) * (r->intervals[i] - mean);
    double sd = r->filled ? sqrt(var / (double)r->filled) : 0;
    double hz = mean > 0 ? 1.0 / mean : 0;
    if (json) {
        printf("{\"topic\": ");
        json_string(r->topic);
        printf(", \"rate_hz\": %.3f, \"min_s\": %.6f, \"max_s\": %.6f, \"std_dev_s\": %.6f, "
               "\"window\": %zu}\n",
               hz, r->filled ? min : 0, max, sd, r->filled);
    } else if (r->filled == 0) {
        printf("%s: no new messages\n", r->topic);
    } else {
        /* The counters tell how many messages came between two samples,
         * not when each came: min, max and std dev are of each sample's
         * mean interval, not of single messages' intervals. */
        printf("%s: average rate: %.3f\n\tmean interval per sample: min: %.6fs max: %.6fs "
               "std dev: %.6fs window: %zu\n",
               r->topic, hz, min, max, sd, r->filled);
    }
    fflush(stdout);
}

static int topic_hz(int argc, char **argv)
{
    const char *pos[16];
    int n = positionals(argc, argv, pos, 16);
    if (n < 1)
        return usage("topic hz takes one or more TOPICs");
    double duration, window_value;
    if (!number_option(argc, argv, "--duration", 0, true, -1, &duration) ||
        !number_option(argc, argv, "--window", 1, false, 10000, &window_value))
        return EXIT_USAGE;
    if (window_value != floor(window_value) || window_value > 1e7)
        return usage("--window takes a whole number up to 10000000");
    size_t window = (size_t)window_value;
    rate rates[16];
    zl_topic_info *info = keep(malloc(sizeof *info));
    if (info == NULL)
        return failed("allocating", ZL_ENOMEM);
    for (int i = 0; i < n; i++) {
        memset(&rates[i], 0, sizeof rates[i]);
        rates[i].topic = pos[i];
        rates[i].window = window;
        rates[i].intervals = keep(calloc(window, sizeof(double)));
        if (rates[i].intervals == NULL)
            return failed("allocating", ZL_ENOMEM);
        int rc = zl_topic_view_open(domain, pos[i], &rates[i].view);
        if (rc == 0)
            owned.views[owned.view_count++] = rates[i].view;
        if (rc != 0) {
            char what[300];
            snprintf(what, sizeof what, "topic %s", pos[i]);
            return failed(what, rc);
        }
    }
    double start = now_s(), next_report = start + 1.0;
    while (!stop && (duration < 0 || now_s() - start < duration)) {
        for (int i = 0; i < n; i++) {
            int rc = zl_topic_view_read(rates[i].view, info);
            if (rc != 0)
                return failed(rates[i].topic, rc);
            rate_sample(&rates[i], info);
        }
        if (now_s() >= next_report) {
            next_report += 1.0;
            for (int i = 0; i < n; i++)
                rate_report(&rates[i]);
        }
        sleep_s(0.0005);
    }
    /* A last report for what came after the last one (--duration). */
    bool tail = duration >= 0 && now_s() - (next_report - 1.0) > 0.25;
    for (int i = 0; i < n; i++)
        if (tail)
            rate_report(&rates[i]);
    return EXIT_OK;
}

static uint64_t published_bytes(const zl_topic_info *info, uint64_t *messages)
{
    uint64_t bytes = 0;
    *messages = 0;
    for (uint32_t i = 0; i < info->endpoint_count; i++)
        if (info->endpoints[i].kind == ZL_ENDPOINT_PUBLISHER) {
            bytes += info->endpoints[i].bytes;
            *messages += info->endpoints[i].messages;
        }
    return bytes;
}

static int topic_bw(int argc, char **argv)
{
    const char *pos[2];
    if (positionals(argc, argv, pos, 2) != 1)
        return usage("topic bw takes one TOPIC");
    double duration;
    if (!number_option(argc, argv, "--duration", 0, true, -1, &duration))
        return EXIT_USAGE;
    zl_topic_view *view;
    int rc = zl_topic_view_open(domain, pos[0], &view);
    if (rc != 0)
        return failed(pos[0], rc);
    owned.views[owned.view_count++] = view;
    zl_topic_info *info = keep(malloc(sizeof *info));
    if (info == NULL)
        return failed("allocating", ZL_ENOMEM);
    if ((rc = zl_topic_view_read(view, info)) != 0)
        return failed(pos[0], rc);
    uint64_t messages0, bytes0 = published_bytes(info, &messages0);
    double start = now_s(), last = start;
    while (!stop && (duration < 0 || now_s() - start < duration)) {
        sleep_s(duration >= 0 && duration < 1.0 ? duration : 1.0);
        if ((rc = zl_topic_view_read(view, info)) != 0)
            return failed(pos[0], rc);
        double t = now_s();
        uint64_t messages, bytes = published_bytes(info, &messages);
        double bps = (double)(bytes - bytes0) / (t - last);
        uint64_t dm = messages - messages0;
        double mean = dm ? (double)(bytes - bytes0) / (double)dm : 0;
        if (json)
            printf("{\"topic\": \"%s\", \"bytes_per_s\": %.1f, \"messages\": %" PRIu64
                   ", \"mean_bytes\": %.1f}\n",
                   pos[0], bps, dm, mean);
        else {
            /* ros2 topic bw's units: the largest that keeps the figure >= 1. */
            const char *unit = "B/s";
            double scaled = bps;
            if (bps >= 1e6) {
                unit = "MB/s";
                scaled = bps / 1e6;
            } else if (bps >= 1e3) {
                unit = "KB/s";
                scaled = bps / 1e3;
            }
            printf("%s: %.2f %s from %" PRIu64 " messages\n\tmean size: %.0f B\n", pos[0],
                   scaled, unit, dm, mean);
        }
        fflush(stdout);
        bytes0 = bytes;
        messages0 = messages;
        last = t;
    }
    return EXIT_OK;
}

/* ---- topic pub ------------------------------------------------------- */

static int topic_pub(int argc, char **argv)
{
    const char *pos[64];
    int n = positionals(argc, argv, pos, 64);
    if (n < 1)
        return usage("topic pub takes a TOPIC and FIELD=VALUE pairs");
    double hz, count_value;
    if (!number_option(argc, argv, "--rate", 0, true, 0, &hz) ||
        !number_option(argc, argv, "--count", 0, false, 1, &count_value))
        return EXIT_USAGE;
    if (count_value != floor(count_value))
        return usage("--count takes a whole number");
    long count = (long)count_value; /* 0: until interrupted */
    adopted a;
    int code = adopt(pos[0], &a, true);
    if (code != EXIT_OK)
        return code;
    /* A sized type: the tail's count is the number of values given it
     * (TAIL=[1,2,3]); none given, 0. */
    size_t tail_count = 0;
    const zl_field *tail = a.type.element_size != 0 ? describe_tail(a.fields, a.field_count)
                                                    : NULL;
    for (int i = 1; i < n && tail != NULL; i++) {
        size_t len = strlen(tail->name);
        if (strncmp(pos[i], tail->name, len) == 0 && pos[i][len] == '=')
            tail_count = describe_count_values(tail, pos[i] + len + 1);
    }
    if (a.type.max_count != 0 && tail_count > a.type.max_count) {
        fprintf(stderr, "zloan: %s: %zu elements, more than the type's maximum of %zu\n",
                tail->name, tail_count, a.type.max_count);
        return EXIT_USAGE;
    }
    size_t size = a.type.element_size != 0 ? zl_type_message_size(&a.type, tail_count)
                                           : a.type.size;
    unsigned char *msg = keep(calloc(1, size));
    if (msg == NULL)
        return failed("allocating", ZL_ENOMEM);
    for (int i = 1; i < n; i++) {
        char path[256];
        const char *eq = strchr(pos[i], '=');
        if (eq == NULL || (size_t)(eq - pos[i]) >= sizeof path)
            return usage("values are FIELD=VALUE");
        memcpy(path, pos[i], (size_t)(eq - pos[i]));
        path[eq - pos[i]] = '\0';
        if (!describe_set(a.fields, a.field_count, msg, tail_count, path, eq + 1))
            return EXIT_USAGE;
    }
    /* How many subscriptions to wait for: those alive now. */
    int info_code;
    zl_topic_info *info = topic_info_or_fail(pos[0], &info_code);
    if (info == NULL)
        return info_code;
    uint32_t subscriptions = 0;
    for (uint32_t i = 0; i < info->endpoint_count; i++)
        subscriptions += info->endpoints[i].kind == ZL_ENDPOINT_SUBSCRIPTION &&
                         info->endpoints[i].alive;
    free(info);
    zl_context *ctx = make_context("zloan_pub", &code);
    if (ctx == NULL)
        return code;
    zl_publisher *pub;
    int rc = zl_publisher_create(ctx, pos[0], &a.type, NULL, &pub);
    if (rc != 0)
        return failed("publishing", rc);
    zl_publisher_stats stats;
    double wait_until = now_s() + 2.0;
    do {
        zl_publisher_update_connections(pub);
        zl_publisher_get_stats(pub, &stats);
    } while (stats.subscriptions < subscriptions && now_s() < wait_until && (sleep_s(0.001), 1));
    for (long i = 0; !stop && (count <= 0 || i < count); i++) {
        rc = a.type.element_size != 0 ? zl_publisher_publish_sized(pub, msg, tail_count)
                                      : zl_publisher_publish(pub, msg);
        if (rc != 0)
            return failed("publishing", rc);
        if (!json)
            printf("published #%ld\n", i + 1);
        fflush(stdout);
        if (hz > 0 && (count <= 0 || i + 1 < count))
            sleep_s(1.0 / hz);
    }
    zl_publisher_destroy(pub);
    zl_context_destroy(ctx);
    return EXIT_OK;
}

/* ---- pool ------------------------------------------------------------ */

static int pool(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    size_t count = 0;
    int rc = zl_introspection_list_topics(domain, NULL, 0, &count);
    if (rc != 0)
        return failed("listing topics", rc);
    zl_topic_summary *topics = keep(calloc(count + 1, sizeof *topics));
    zl_introspection_list_topics(domain, topics, count + 1, &count);
    zl_topic_info *info = keep(malloc(sizeof *info));
    if (topics == NULL || info == NULL)
        return failed("allocating", ZL_ENOMEM);
    if (json)
        printf("[");
    else
        printf("%-24s %-7s %-14s %10s %7s %7s %7s %9s %12s\n", "TOPIC", "PID", "EXECUTABLE",
               "MAX CHUNK", "CHUNKS", "IN USE", "FREE", "MAX USED", "RESERVED B");
    bool first = true;
    uint64_t total = 0;
    int code = EXIT_OK;
    for (size_t t = 0; t < count; t++) {
        rc = zl_introspection_topic_info(domain, topics[t].name, info);
        if (rc == ZL_ENODATA)
            continue; /* its last endpoint left since the listing */
        if (rc != 0) {
            code = failed(topics[t].name, rc);
            continue;
        }
        for (uint32_t i = 0; i < info->endpoint_count; i++) {
            const zl_endpoint_info *e = &info->endpoints[i];
            if (e->kind != ZL_ENDPOINT_PUBLISHER)
                continue;
            total += e->pool_bytes;
            if (json) {
                printf("%s{\"topic\": ", first ? "" : ", ");
                json_string(info->name);
                printf(", \"pid\": %u, \"executable\": ", e->pid);
                json_string(e->executable);
                printf(", \"alive\": %s", e->alive ? "true" : "false");
                printf(", \"size_classes\": [{\"chunk_bytes\": %" PRIu64 ", \"chunks\": %u, "
                       "\"in_use\": %u, \"free\": %u, \"max_in_use\": %u}], "
                       "\"reserved_bytes\": %" PRIu64 "}",
                       e->chunk_bytes, e->chunks_total, e->chunks_total - e->chunks_free,
                       e->chunks_free, e->chunks_used_max, e->pool_bytes);
            } else {
                /* A dead publisher's pool stays until a sweep reclaims it. */
                printf("%-24s %-7u %-14s %10" PRIu64 " %7u %7u %7u %9u %12" PRIu64 "%s\n",
                       info->name, e->pid, e->executable, e->chunk_bytes, e->chunks_total,
                       e->chunks_total - e->chunks_free, e->chunks_free, e->chunks_used_max,
                       e->pool_bytes, e->alive ? "" : "  DEAD");
            }
            first = false;
        }
    }
    if (json)
        printf("]\n");
    else
        printf("total reserved: %" PRIu64 " bytes\n"
               "IN USE is as of the publisher's last call: chunks returned since are "
               "counted until its next one\n", total);
    return code;
}

/* ---- doctor, clean --------------------------------------------------- */

/* What the sweep would remove: this user's zloan objects in /dev/shm that
 * no live endpoint uses (a topic none of whose endpoints is alive, a
 * segment whose registry is gone). Calls visit for each. */
static int leftovers(void (*visit)(const char *name, uint64_t bytes))
{
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return 0;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "zl.%u.", (unsigned)geteuid());
    zl_topic_info *info = malloc(sizeof *info);
    int found = 0;
    struct dirent *d;
    while ((d = readdir(dir)) != NULL) {
        if (strncmp(d->d_name, prefix, strlen(prefix)) != 0)
            continue;
        /* zl.<uid>.<domain>.<topic>[:<kind><id>] */
        const char *rest = d->d_name + strlen(prefix);
        char *end;
        unsigned long dom = strtoul(rest, &end, 10);
        if (*end != '.')
            continue;
        end++; /* ".camera.image" for /camera/image */
        char topic[ZL_TOPIC_NAME_MAX + 2];
        size_t len = strcspn(end, ":");
        if (len >= sizeof topic)
            continue;
        for (size_t i = 0; i < len; i++)
            topic[i] = end[i] == '.' ? '/' : end[i];
        topic[len] = '\0';
        bool dead = false;
        int rc = zl_introspection_topic_info((uint32_t)dom, topic, info);
        if (rc == ZL_ENODATA) {
            dead = end[len] == ':'; /* a segment without its registry */
        } else if (rc == 0) {
            dead = true;
            for (uint32_t i = 0; i < info->endpoint_count; i++)
                dead &= !info->endpoints[i].alive;
        }
        if (dead) {
            char path[300];
            snprintf(path, sizeof path, "/dev/shm/%s", d->d_name);
            struct stat st;
            visit(d->d_name, stat(path, &st) == 0 ? (uint64_t)st.st_size : 0);
            found++;
        }
    }
    closedir(dir);
    free(info);
    return found;
}

static bool first_item = true;

static void print_leftover(const char *name, uint64_t bytes)
{
    if (json) {
        printf("%s{\"name\": ", first_item ? "" : ", ");
        json_string(name);
        printf(", \"bytes\": %" PRIu64 "}", bytes);
    } else {
        printf("  /dev/shm/%s (%" PRIu64 " bytes)\n", name, bytes);
    }
    first_item = false;
}

static void capture_removed(zl_log_level level, const char *message, void *state)
{
    (void)level;
    int *removed = state;
    if (sscanf(message, "removed %d", removed) != 1 && !json)
        fprintf(stderr, "zloan: %s\n", message);
}

static int clean(int argc, char **argv)
{
    bool dry = has_flag(argc, argv, "--dry-run");
    if (json)
        printf("{\"dry_run\": %s, \"objects\": [", dry ? "true" : "false");
    else
        printf(dry ? "would remove (no live endpoint uses them):\n"
                   : "unused objects (no live endpoint uses them):\n");
    int found = leftovers(print_leftover);
    if (dry) {
        if (json)
            printf("]}\n");
        else if (found == 0)
            printf("  none\n");
        return EXIT_OK;
    }
    /* Creating a context runs the sweep, which removes only what it can
     * prove dead; its log line says how many. */
    int removed = 0;
    zl_context_options options;
    zl_context_options_init(&options);
    options.log_level = ZL_LOG_INFO;
    options.log_callback = capture_removed;
    options.log_state = &removed;
    zl_context *ctx;
    int rc = zl_context_create(&options, &ctx);
    if (rc != 0)
        return failed("sweeping", rc);
    zl_context_destroy(ctx);
    if (json)
        printf("], \"removed\": %d}\n", removed);
    else
        printf("removed %d object%s\n", removed, removed == 1 ? "" : "s");
    return EXIT_OK;
}

static int doctor(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (json)
        return usage("doctor has no --json output: it prints text only");
    int problems = 0;
    struct statvfs vfs;
    uint64_t shm_size = 0, shm_free = 0;
    if (statvfs("/dev/shm", &vfs) == 0) {
        shm_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
        shm_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    }
    /* What this domain's pools hold now. */
    uint64_t reserved = 0;
    size_t count = 0;
    zl_introspection_list_topics(domain, NULL, 0, &count);
    zl_topic_summary *topics = calloc(count + 1, sizeof *topics);
    zl_introspection_list_topics(domain, topics, count + 1, &count);
    zl_topic_info *info = malloc(sizeof *info);
    int corrupt = 0;
    for (size_t t = 0; t < count; t++) {
        int rc = zl_introspection_topic_info(domain, topics[t].name, info);
        if (rc == ZL_ECORRUPT) {
            printf("problem: topic %s: %s\n", topics[t].name, zl_last_error_detail());
            corrupt++;
            continue;
        }
        if (rc == 0)
            for (uint32_t i = 0; i < info->endpoint_count; i++)
                reserved += info->endpoints[i].pool_bytes;
    }
    problems += corrupt;
    printf("/dev/shm: %" PRIu64 " MiB, %" PRIu64 " MiB free; pools of domain %u reserve %" PRIu64
           " MiB in %zu topics\n",
           shm_size >> 20, shm_free >> 20, domain, reserved >> 20, count);
    if (shm_size != 0 && shm_size < ((uint64_t)256 << 20)) {
        printf("problem: /dev/shm is smaller than 256 MiB%s; a 4 MiB type with default options "
               "needs about 800 MiB (docker: --shm-size)\n",
               access("/.dockerenv", F_OK) == 0 ? " (running in a container)" : "");
        problems++;
    }
    /* Leftovers. */
    printf("leftovers (objects no live endpoint uses; `zloan clean` removes them):\n");
    first_item = true;
    json = false;
    int left = leftovers(print_leftover);
    if (left == 0)
        printf("  none\n");
    problems += left > 0;
    /* Other users' objects on topic names this user has. */
    DIR *dir = opendir("/dev/shm");
    int foreign = 0;
    struct dirent *d;
    while (dir != NULL && (d = readdir(dir)) != NULL) {
        unsigned uid;
        unsigned dom;
        int at = 0;
        if (sscanf(d->d_name, "zl.%u.%u.%n", &uid, &dom, &at) != 2 || at == 0 ||
            uid == (unsigned)geteuid() || strchr(d->d_name, ':') != NULL || dom != domain)
            continue;
        for (size_t t = 0; t < count; t++) {
            char encoded[ZL_TOPIC_NAME_MAX + 2];
            size_t len = strlen(topics[t].name);
            for (size_t i = 0; i <= len; i++)
                encoded[i] = topics[t].name[i] == '/' ? '.' : topics[t].name[i];
            if (strcmp(d->d_name + at, encoded) == 0) {
                printf("problem: topic %s also exists for uid %u: their endpoints and yours "
                       "never meet\n",
                       topics[t].name, uid);
                foreign++;
            }
        }
    }
    if (dir != NULL)
        closedir(dir);
    problems += foreign;
    /* systemd-logind removes a user's IPC objects at logout (RemoveIPC=yes,
     * the default) for non-system users. */
    FILE *f = fopen("/etc/systemd/logind.conf", "r");
    bool remove_ipc = f != NULL && geteuid() >= 1000;
    char line[256];
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "RemoveIPC=", 10) == 0)
            remove_ipc = strncmp(line + 10, "yes", 3) == 0 && geteuid() >= 1000;
    if (f != NULL)
        fclose(f);
    if (remove_ipc) {
        printf("problem: systemd-logind removes your /dev/shm objects when you log out "
               "(RemoveIPC=yes); set RemoveIPC=no in /etc/systemd/logind.conf for long-running "
               "zloan processes\n");
        problems++;
    }
    printf("%s\n", problems == 0 ? "no problem found" : "problems found");
    free(info);
    free(topics);
    return problems == 0 ? EXIT_OK : EXIT_FOUND_PROBLEMS;
}

/* ---- main ------------------------------------------------------------ */

int main(int argc, char **argv)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    atexit(release_owned);
    const char *env = getenv("ZLOAN_DOMAIN_ID");
    if (env != NULL && env[0] != '\0')
        domain = (uint32_t)strtoul(env, NULL, 10);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc) {
            char *end;
            unsigned long d = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || d > ZL_DOMAIN_ID_MAX)
                return usage("--domain takes 0..232");
            domain = (uint32_t)d;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else {
            return usage("unknown option");
        }
    }
    if (i >= argc)
        return usage(NULL);
    /* --json and --help may also follow the command. */
    for (int k = i; k < argc; k++)
        if (strcmp(argv[k], "--json") == 0)
            json = true;
    if (has_flag(argc - i, argv + i, "--help") || has_flag(argc - i, argv + i, "-h")) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    /* An option no command knows is a bad command line (exit 2). */
    static const char *const known[] = {"--json", "--help", "-h", "--verbose", "-v", "-t", "-c",
                                        "--once", "--dry-run", "--field", "--count",
                                        "--timeout", "--duration", "--window", "--rate",
                                        "--domain", "-", NULL};
    for (int k = i; k < argc; k++) {
        if (argv[k][0] != '-')
            continue;
        bool ok = false;
        for (int n = 0; known[n] != NULL; n++)
            if (strcmp(argv[k], known[n]) == 0)
                ok = true;
        if (!ok) {
            fprintf(stderr, "zloan: unknown option %s\n", argv[k]);
            return usage(NULL);
        }
        static const char *const valued[] = {"--field", "--count", "--timeout", "--duration",
                                             "--window", "--rate", "--domain", NULL};
        for (int v = 0; valued[v] != NULL; v++)
            if (strcmp(argv[k], valued[v]) == 0)
                k++;
    }
    const char *command = argv[i];
    int rest_argc = argc - i - 1;
    char **rest = argv + i + 1;
    if (strcmp(command, "topic") == 0) {
        if (rest_argc < 1)
            return usage("topic needs a subcommand");
        const char *sub = rest[0];
        rest_argc--;
        rest++;
        if (strcmp(sub, "list") == 0)
            return topic_list(rest_argc, rest);
        if (strcmp(sub, "info") == 0)
            return topic_info(rest_argc, rest);
        if (strcmp(sub, "echo") == 0)
            return topic_echo(rest_argc, rest);
        if (strcmp(sub, "hz") == 0)
            return topic_hz(rest_argc, rest);
        if (strcmp(sub, "bw") == 0)
            return topic_bw(rest_argc, rest);
        if (strcmp(sub, "pub") == 0)
            return topic_pub(rest_argc, rest);
        return usage("unknown topic subcommand");
    }
    if (strcmp(command, "pool") == 0)
        return pool(rest_argc, rest);
    if (strcmp(command, "doctor") == 0)
        return doctor(rest_argc, rest);
    if (strcmp(command, "clean") == 0)
        return clean(rest_argc, rest);
    return usage("unknown command");
}
