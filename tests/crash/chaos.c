/* Chaos (docs/design.md I1, I5): publishers and subscriptions in separate
 * processes; each iteration kills one of them at a random moment (SIGKILL
 * mostly; sometimes it calls exit() or returns from main without destroying
 * anything) and then checks what a user would notice:
 *   - the survivors go on publishing and receiving: every live subscription
 *     gets the last message of every live publisher, contents intact, and a
 *     replacement of the victim's kind connects to everybody;
 *   - held loans never change while held (copies are compared on return);
 *   - once the subscriptions returned their loans, every publisher's pool
 *     is full again (whatever the victim held or had queued came back);
 *   - when everybody has left, the topic has nothing left in /dev/shm (the
 *     survivors reaped the victim, the last one out removed the rest).
 *
 *   crash_chaos [ITERATIONS=200] [SEED]
 *
 * Peers are forked from this process (before it creates any zloan object)
 * and take commands over a pipe: seq, stop, drain, full, exit, die-exit,
 * die-return. */
#include <fcntl.h>
#include <sys/prctl.h>
#include <stdarg.h>

#include "crash.h"
#include "peer.h"

#define MAX_PEERS 8
#define MAX_TAGS 64
#define REPLY_MS 10000

/* Peers told to die by exit() or by returning from main leave their
 * endpoints undestroyed on purpose: that is no leak for LeakSanitizer to
 * report in sanitizer builds (it would turn their exit status non-zero). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }

/* ---- peers ---------------------------------------------------------- */

typedef struct command_reader {
    int fd;
    char buffer[256];
    size_t length;
} command_reader;

/* Non-blocking: true with a command line in out when one arrived. */
static bool next_command(command_reader *r, char *out, size_t size)
{
    for (;;) {
        char *newline = memchr(r->buffer, '\n', r->length);
        if (newline != NULL) {
            size_t n = (size_t)(newline - r->buffer);
            snprintf(out, size, "%.*s", (int)n, r->buffer);
            memmove(r->buffer, newline + 1, r->length - n - 1);
            r->length -= n + 1;
            return true;
        }
        ssize_t got = read(r->fd, r->buffer + r->length, sizeof r->buffer - r->length);
        if (got <= 0)
            return false;
        r->length += (size_t)got;
    }
}

static int report_fd;

static void report(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    strcat(line, "\n");
    crash_write_line(report_fd, line);
}

#define PEER_MUST(call)                                                                      \
    do {                                                                                     \
        int must_rc_ = (call);                                                               \
        if (must_rc_ != 0) {                                                                 \
            report("fail %s: %s (%s)", #call, zl_strerror(must_rc_), zl_last_error_detail()); \
            _exit(3);                                                                        \
        }                                                                                    \
    } while (0)

typedef struct peer_args {
    bool publisher;
    const char *topic;
    uint64_t tag;      /* publishers */
    uint32_t expect;   /* peers of the other kind to wait for */
    uint32_t history;  /* publishers: kept; subscriptions: 1 to ask for it */
    uint32_t depth;    /* subscriptions */
    uint32_t hold;     /* loans kept at once */
    unsigned seed;
} peer_args;

/* Returns only for "die-return" (the caller returns from main). */
static int run_publisher(const peer_args *a, command_reader *commands)
{
    zl_context *context;
    zl_publisher *publisher;
    zl_publisher_options options;
    zl_publisher_options_init(&options);
    options.history = a->history;
    options.max_loans = 4;
    PEER_MUST(zl_context_create(NULL, &context));
    PEER_MUST(zl_publisher_create(context, a->topic, &test_msg_type, &options, &publisher));
    zl_publisher_stats stats;
    int64_t deadline = test_now_ns() + 10000000000LL;
    do {
        PEER_MUST(zl_publisher_update_connections(publisher));
        PEER_MUST(zl_publisher_get_stats(publisher, &stats));
        if (test_now_ns() > deadline) {
            report("fail only %u of %u subscriptions connected", stats.subscriptions, a->expect);
            _exit(3);
        }
        if (stats.subscriptions < a->expect)
            test_sleep_ms(1);
    } while (stats.subscriptions < a->expect);
    report("ready");
    unsigned seed = a->seed;
    void *held[4];
    uint32_t held_count = 0;
    uint64_t sequence = 0;
    bool publishing = true;
    char command[128];
    for (;;) {
        if (publishing) {
            void *loan;
            int rc = zl_publisher_loan(publisher, &loan);
            if (rc != 0) {
                report("fail loan: %s (%s)", zl_strerror(rc), zl_last_error_detail());
                _exit(3);
            }
            test_msg_fill(loan, a->tag, ++sequence);
            /* Sometimes keep a loan for a while (the victim may die
             * holding it), publish the oldest kept one instead. */
            if (held_count < a->hold && rand_r(&seed) % 4 == 0) {
                held[held_count++] = loan;
                --sequence;
            } else {
                PEER_MUST(zl_publisher_publish_loan(publisher, loan));
            }
            if (held_count > 0 && rand_r(&seed) % 8 == 0)
                PEER_MUST(zl_publisher_return_loan(publisher, held[--held_count]));
            if (rand_r(&seed) % 16 == 0) {
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
        } else {
            test_sleep_ms(1);
        }
        if (!next_command(commands, command, sizeof command))
            continue;
        if (strcmp(command, "seq") == 0) {
            report("seq %llu", (unsigned long long)sequence);
        } else if (strcmp(command, "stop") == 0) {
            publishing = false;
            while (held_count > 0)
                PEER_MUST(zl_publisher_return_loan(publisher, held[--held_count]));
            PEER_MUST(zl_publisher_get_stats(publisher, &stats));
            report("stopped %llu (subscriptions %u, peer errors %llu)",
                   (unsigned long long)sequence, stats.subscriptions,
                   (unsigned long long)stats.peer_errors);
        } else if (strcmp(command, "full") == 0) {
            uint32_t history = sequence < a->history ? (uint32_t)sequence : a->history;
            int64_t until = test_now_ns() + 5000000000LL;
            do {
                PEER_MUST(zl_publisher_update_connections(publisher));
                PEER_MUST(zl_publisher_get_stats(publisher, &stats));
                if (stats.chunks_free + history == stats.chunks_total)
                    break;
                test_sleep_ms(1);
            } while (test_now_ns() < until);
            if (stats.chunks_free + history == stats.chunks_total)
                report("full %u", stats.chunks_total);
            else
                report("notfull free %u + history %u of %u", stats.chunks_free, history,
                       stats.chunks_total);
        } else if (strcmp(command, "exit") == 0) {
            PEER_MUST(zl_publisher_destroy(publisher));
            PEER_MUST(zl_context_destroy(context));
            _exit(0);
        } else if (strcmp(command, "die-exit") == 0) {
            exit(0); /* mid-flight, nothing destroyed */
        } else if (strcmp(command, "die-return") == 0) {
            return 0;
        }
    }
}

typedef struct held_loan {
    const void *loan;
    test_msg copy;
} held_loan;

static char first_bad[160];

static int run_subscription(const peer_args *a, command_reader *commands)
{
    zl_context *context;
    zl_subscription *subscription;
    zl_subscription_options options;
    zl_subscription_options_init(&options);
    options.depth = a->depth;
    options.history = a->history != 0;
    options.max_loans = a->hold + 1;
    PEER_MUST(zl_context_create(NULL, &context));
    PEER_MUST(zl_subscription_create(context, a->topic, &test_msg_type, &options, &subscription));
    uint64_t last[MAX_TAGS] = {0};
    long bad = 0, received = 0;
    held_loan held[8];
    uint32_t held_count = 0;
    unsigned seed = a->seed;
    bool reported = false;
    int64_t deadline = test_now_ns() + 10000000000LL;
    char command[128];
    for (;;) {
        const void *loan;
        zl_message_info info;
        int rc = zl_subscription_take_loan(subscription, &loan, &info);
        if (rc == 0) {
            const test_msg *m = loan;
            received++;
            if (!test_msg_valid(m) || m->tag >= MAX_TAGS || m->sequence <= last[m->tag] ||
                info.publication_sequence != m->sequence) {
                if (bad++ == 0)
                    snprintf(first_bad, sizeof first_bad, "message tag %llu seq %llu after %llu",
                             (unsigned long long)m->tag, (unsigned long long)m->sequence,
                             (unsigned long long)(m->tag < MAX_TAGS ? last[m->tag] : 0));
            } else {
                last[m->tag] = m->sequence;
            }
            held[held_count].loan = loan;
            memcpy(&held[held_count].copy, loan, sizeof(test_msg));
            held_count++;
            /* Keep up to `hold` loans, returning the oldest ones at random. */
            while (held_count > a->hold || (held_count > 0 && rand_r(&seed) % 3 == 0)) {
                if (memcmp(held[0].loan, &held[0].copy, sizeof(test_msg)) != 0 && bad++ == 0)
                    snprintf(first_bad, sizeof first_bad,
                             "held loan tag %llu seq %llu changed to tag %llu seq %llu",
                             (unsigned long long)held[0].copy.tag,
                             (unsigned long long)held[0].copy.sequence,
                             (unsigned long long)((const test_msg *)held[0].loan)->tag,
                             (unsigned long long)((const test_msg *)held[0].loan)->sequence);
                PEER_MUST(zl_subscription_return_loan(subscription, held[0].loan));
                memmove(&held[0], &held[1], sizeof held[0] * --held_count);
            }
        } else if (rc == ZL_ENODATA) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        } else {
            report("fail take: %s (%s)", zl_strerror(rc), zl_last_error_detail());
            _exit(3);
        }
        if (!reported) {
            zl_subscription_stats stats;
            PEER_MUST(zl_subscription_get_stats(subscription, &stats));
            if (stats.publishers >= a->expect) {
                report("ready");
                reported = true;
            } else if (test_now_ns() > deadline) {
                report("fail only %u of %u publishers connected", stats.publishers, a->expect);
                _exit(3);
            }
        }
        if (!next_command(commands, command, sizeof command))
            continue;
        if (strcmp(command, "drain") == 0) {
            while ((rc = zl_subscription_take_loan(subscription, &loan, &info)) == 0) {
                const test_msg *m = loan;
                if (!test_msg_valid(m) || m->tag >= MAX_TAGS || m->sequence <= last[m->tag])
                    bad++;
                else
                    last[m->tag] = m->sequence;
                PEER_MUST(zl_subscription_return_loan(subscription, loan));
            }
            if (rc != ZL_ENODATA) {
                report("fail drain: %s (%s)", zl_strerror(rc), zl_last_error_detail());
                _exit(3);
            }
            for (uint32_t i = 0; i < held_count; i++) {
                if (memcmp(held[i].loan, &held[i].copy, sizeof(test_msg)) != 0)
                    bad++;
                PEER_MUST(zl_subscription_return_loan(subscription, held[i].loan));
            }
            held_count = 0;
            char line[400];
            zl_subscription_stats stats;
            PEER_MUST(zl_subscription_get_stats(subscription, &stats));
            int n = snprintf(line, sizeof line,
                             "drained %ld (publishers %u, peer errors %llu, first bad: %s)", bad,
                             stats.publishers, (unsigned long long)stats.peer_errors, first_bad);
            for (unsigned t = 0; t < MAX_TAGS && n < (int)sizeof line - 24; t++)
                if (last[t] != 0)
                    n += snprintf(line + n, sizeof line - (size_t)n, " %u:%llu", t,
                                  (unsigned long long)last[t]);
            report("%s", line);
        } else if (strcmp(command, "exit") == 0) {
            PEER_MUST(zl_subscription_destroy(subscription));
            PEER_MUST(zl_context_destroy(context));
            _exit(0);
        } else if (strcmp(command, "die-exit") == 0) {
            exit(0);
        } else if (strcmp(command, "die-return") == 0) {
            return 0;
        }
    }
}

/* ---- the controller ------------------------------------------------- */

typedef struct peer {
    pid_t pid;
    bool publisher;
    bool alive;
    uint64_t tag;
    int command_fd;
    int report_fd;
    uint64_t seq_at_kill;
    uint64_t final_seq;
} peer;

static peer peers[MAX_PEERS];
static int peer_count;
static int iteration;

#define FAIL(...)                                                         \
    do {                                                                  \
        fprintf(stderr, "iteration %d: ", iteration);                     \
        fprintf(stderr, __VA_ARGS__);                                     \
        fputc('\n', stderr);                                              \
        for (int k_ = 0; k_ < peer_count; k_++)                           \
            if (peers[k_].alive)                                          \
                crash_kill_wait(peers[k_].pid);                           \
        exit(1);                                                          \
    } while (0)

/* Forks a peer; in the child, *child_args is set and the caller returns
 * from main into it. */
static int spawn(const peer_args *args, peer_args *child_args, command_reader *child_reader)
{
    int command_pipe[2], report_pipe[2];
    CHECK(pipe(command_pipe) == 0 && pipe(report_pipe) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
        for (int k = 0; k < peer_count; k++) {
            close(peers[k].command_fd);
            close(peers[k].report_fd);
        }
        close(command_pipe[1]);
        close(report_pipe[0]);
        fcntl(command_pipe[0], F_SETFL, O_NONBLOCK);
        child_reader->fd = command_pipe[0];
        child_reader->length = 0;
        report_fd = report_pipe[1];
        *child_args = *args;
        return 1;
    }
    close(command_pipe[0]);
    close(report_pipe[1]);
    peer *p = &peers[peer_count++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->publisher = args->publisher;
    p->alive = true;
    p->tag = args->tag;
    p->command_fd = command_pipe[1];
    p->report_fd = report_pipe[0];
    return 0;
}

static void send_command(peer *p, const char *command)
{
    char line[64];
    snprintf(line, sizeof line, "%s\n", command);
    crash_write_line(p->command_fd, line);
}

static void expect_reply(peer *p, const char *word, char *line, size_t size)
{
    if (crash_read_line(p->report_fd, line, size, REPLY_MS) < 0)
        FAIL("%s %d gave no '%s' reply", p->publisher ? "publisher" : "subscription",
             (int)p->pid, word);
    if (strncmp(line, word, strlen(word)) != 0)
        FAIL("%s %d answered '%s' instead of '%s'", p->publisher ? "publisher" : "subscription",
             (int)p->pid, line, word);
}

static void reap_peer(peer *p, bool expect_clean)
{
    int status = 0;
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
    }
    p->alive = false;
    close(p->command_fd);
    close(p->report_fd);
    if (expect_clean && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        char line[256] = "";
        FAIL("peer %d ended with status %d: %s", (int)p->pid, status, line);
    }
}

static int count_kind(bool publisher)
{
    int n = 0;
    for (int k = 0; k < peer_count; k++)
        n += peers[k].alive && peers[k].publisher == publisher;
    return n;
}

int main(int argc, char **argv)
{
    int iterations = argc > 1 ? atoi(argv[1]) : 200;
    unsigned seed = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : (unsigned)getpid();
    printf("seed %u\n", seed);
    fflush(stdout);
    srand(seed);
    const char *topic = test_topic("crash_chaos");
    char needle[160];
    crash_shm_needle(topic, needle, sizeof needle);
    signal(SIGPIPE, SIG_IGN);
    peer_args child;
    command_reader reader;
    uint64_t next_tag = 1;
    int kills = 0, exits = 0, returns = 0, publisher_victims = 0;
    for (iteration = 0; iteration < iterations; iteration++) {
        peer_count = 0;
        int publishers = 1 + rand() % 2, subscriptions = 1 + rand() % 3;
        for (int i = 0; i < publishers + subscriptions; i++) {
            peer_args a = {0};
            a.publisher = i < publishers;
            a.topic = topic;
            a.tag = a.publisher ? next_tag++ % MAX_TAGS : 0;
            if (a.tag == 0 && a.publisher)
                a.tag = next_tag++ % MAX_TAGS;
            a.expect = (uint32_t)(a.publisher ? subscriptions : publishers);
            a.history = a.publisher ? (uint32_t)(rand() % 3) : (uint32_t)(rand() % 2);
            a.depth = 1 + (uint32_t)(rand() % 8);
            a.hold = (uint32_t)(rand() % 4);
            a.seed = (unsigned)rand();
            if (spawn(&a, &child, &reader))
                return child.publisher ? run_publisher(&child, &reader)
                                       : run_subscription(&child, &reader);
        }
        char line[512];
        for (int k = 0; k < peer_count; k++)
            expect_reply(&peers[k], "ready", line, sizeof line);

        /* Let them run, then pick a victim and a way to die. */
        struct timespec ts = {0, (long)(rand() % 15000) * 1000};
        nanosleep(&ts, NULL);
        int victim = rand() % peer_count;
        peer *v = &peers[victim];
        int how = rand() % 10;
        if (how < 8) {
            kill(v->pid, SIGKILL);
            kills++;
        } else {
            send_command(v, how == 8 ? "die-exit" : "die-return");
            if (how == 8)
                exits++;
            else
                returns++;
        }
        reap_peer(v, how >= 8);
        publisher_victims += v->publisher;

        /* The survivors go on; mark where the publishers were. */
        for (int k = 0; k < peer_count; k++)
            if (peers[k].alive && peers[k].publisher) {
                send_command(&peers[k], "seq");
                expect_reply(&peers[k], "seq", line, sizeof line);
                peers[k].seq_at_kill = strtoull(line + 4, NULL, 10);
            }
        /* A replacement of the victim's kind joins everybody left. */
        {
            peer_args a = {0};
            a.publisher = v->publisher;
            a.topic = topic;
            a.tag = a.publisher ? next_tag++ % MAX_TAGS : 0;
            if (a.tag == 0 && a.publisher)
                a.tag = next_tag++ % MAX_TAGS;
            a.expect = (uint32_t)count_kind(!a.publisher);
            a.history = (uint32_t)(rand() % 2);
            a.depth = 1 + (uint32_t)(rand() % 8);
            a.hold = (uint32_t)(rand() % 4);
            a.seed = (unsigned)rand();
            if (spawn(&a, &child, &reader))
                return child.publisher ? run_publisher(&child, &reader)
                                       : run_subscription(&child, &reader);
            expect_reply(&peers[peer_count - 1], "ready", line, sizeof line);
        }
        test_sleep_ms(5 + rand() % 10);

        /* Stop publishing, drain, check every publisher's last message
         * arrived everywhere, then that every pool is full again. */
        char stopped[MAX_PEERS][512];
        for (int k = 0; k < peer_count; k++)
            if (peers[k].alive && peers[k].publisher) {
                send_command(&peers[k], "stop");
                expect_reply(&peers[k], "stopped", line, sizeof line);
                snprintf(stopped[k], sizeof stopped[k], "%s", line);
                peers[k].final_seq = strtoull(line + 8, NULL, 10);
                if (peers[k].final_seq <= peers[k].seq_at_kill && k != peer_count - 1)
                    FAIL("publisher %d published nothing after the kill", (int)peers[k].pid);
            }
        for (int k = 0; k < peer_count; k++) {
            if (!peers[k].alive || peers[k].publisher)
                continue;
            send_command(&peers[k], "drain");
            expect_reply(&peers[k], "drained", line, sizeof line);
            char *cursor = line + 8;
            long bad = strtol(cursor, &cursor, 10);
            cursor = strchr(cursor, ')');
            if (bad != 0)
                FAIL("subscription %d saw %ld bad messages: %s", (int)peers[k].pid, bad, line);
            for (int p = 0; p < peer_count; p++) {
                if (!peers[p].alive || !peers[p].publisher || peers[p].final_seq == 0)
                    continue;
                char key[32];
                snprintf(key, sizeof key, " %llu:", (unsigned long long)peers[p].tag);
                const char *at = strstr(line, key);
                unsigned long long got = at ? strtoull(at + strlen(key), NULL, 10) : 0;
                if (got != peers[p].final_seq)
                    FAIL("subscription %d got up to %llu from publisher %d (tag %llu, victim "
                         "was %s tag %llu), which published %llu: %s; publisher: %s",
                         (int)peers[k].pid, got, (int)peers[p].pid,
                         (unsigned long long)peers[p].tag, v->publisher ? "publisher" : "sub",
                         (unsigned long long)v->tag, (unsigned long long)peers[p].final_seq,
                         line, stopped[p]);
            }
        }
        for (int k = 0; k < peer_count; k++)
            if (peers[k].alive && peers[k].publisher) {
                send_command(&peers[k], "full");
                expect_reply(&peers[k], "full", line, sizeof line);
            }
        for (int k = 0; k < peer_count; k++)
            if (peers[k].alive) {
                send_command(&peers[k], "exit");
                reap_peer(&peers[k], true);
            }
        int left = crash_shm_usage(needle, NULL);
        if (left != 0)
            FAIL("%d objects of the topic left in /dev/shm after everybody left", left);
        if ((iteration + 1) % 1000 == 0 && iteration + 1 < iterations) {
            printf("%d iterations passed\n", iteration + 1);
            fflush(stdout);
        }
    }
    printf("%d iterations: %d SIGKILL, %d exit(), %d return from main; %d publishers and %d "
           "subscriptions killed\n",
           iterations, kills, exits, returns, publisher_victims, iterations - publisher_victims);
    return 0;
}
