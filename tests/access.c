/* Access control and topic-name escapes.
 *
 * Shared objects are owner-only (0600), or 0660 with share_with_group. A
 * process of another user (a forked child that switched to nobody, 65534)
 * can neither open them nor reach the topic through zloan, whose names live
 * in a per-user namespace (zl.<uid>.*); and an object another user planted
 * under our name is refused (ZL_EPERM), never used. Topic names that try to
 * leave zloan's namespace are refused with ZL_ENAME.
 *
 * Switching users needs root (CI runs as root); otherwise those parts are
 * skipped (exit 77) after the name checks ran. */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "harness.h"
#include "hostile.h"
#include "peer.h"

#define NOBODY 65534

static void names(zl_context *context)
{
    static const char *const bad[] = {
        "", "/", "//", "..", "/..", "../x", "/a/../b", "/a/./b", "a/..", ".hidden", "a.b",
        "a:b", "a:p0000000000000001", "a b", "a\\b", "a//b", "a/", "/a/", "1a", "/a/1b", "~a",
        "a\n", "\xc3\xa9", "a\x7f", "a*", "a?",
    };
    zl_publisher *p;
    zl_subscription *s;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RC(zl_publisher_create(context, bad[i], &test_msg_type, NULL, &p), ZL_ENAME);
        CHECK_RC(zl_subscription_create(context, bad[i], &test_msg_type, NULL, &s), ZL_ENAME);
    }
    /* A name that looks like a path is a valid topic, and stays a file
     * name inside /dev/shm: its separators become dots. */
    CHECK_OK(zl_subscription_create(context, "/dev/shm/x", &test_msg_type, NULL, &s));
    char inside[300];
    hostile_registry_name(inside, sizeof inside, 0, "/dev/shm/x");
    CHECK(strchr(inside, '/') == NULL);
    char inside_path[400];
    snprintf(inside_path, sizeof inside_path, "/dev/shm/%s", inside);
    CHECK(access(inside_path, F_OK) == 0);
    CHECK_OK(zl_subscription_destroy(s));
    CHECK(access(inside_path, F_OK) != 0);
    /* A NUL byte ends a C string, so "a\0/../x" is the valid name "a": what
     * follows the NUL never reaches a file name. */
    static const char with_nul[] = "nul_topic\0/../../etc/passwd";
    CHECK_OK(zl_subscription_create(context, with_nul, &test_msg_type, NULL, &s));
    char name[300];
    hostile_registry_name(name, sizeof name, 0, "/nul_topic");
    char path[400];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    CHECK(access(path, F_OK) == 0);
    CHECK_OK(zl_subscription_destroy(s));
    CHECK(access(path, F_OK) != 0);
    /* Overlong, and unterminated: the scan stops at ZL_TOPIC_NAME_MAX + 1
     * bytes (ASan would catch a read past the buffer). */
    char longest[ZL_TOPIC_NAME_MAX + 1];
    memset(longest, 'a', sizeof longest);
    CHECK_RC(zl_subscription_create(context, longest, &test_msg_type, NULL, &s), ZL_ENAME);
    longest[0] = '/';
    longest[ZL_TOPIC_NAME_MAX] = '\0';
    CHECK_OK(zl_subscription_create(context, longest, &test_msg_type, NULL, &s));
    CHECK_OK(zl_subscription_destroy(s));
}

static mode_t mode_of(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "/dev/shm/%s", file);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    return st.st_mode & 0777;
}

/* In a forked child: become nobody (group `gid`) for good. */
static void become_nobody(gid_t gid)
{
    CHECK(setgroups(0, NULL) == 0);
    CHECK(setresgid(gid, gid, gid) == 0);
    CHECK(setresuid(NOBODY, NOBODY, NOBODY) == 0);
    CHECK(setresuid(0, 0, 0) != 0); /* really gone */
}

/* Expected errno when the child opens file: 0 for success. */
static void child_open(const char *file, int flags, int expected_errno)
{
    char path[512];
    snprintf(path, sizeof path, "/dev/shm/%s", file);
    int fd = open(path, flags | O_CLOEXEC);
    if (expected_errno == 0) {
        CHECK(fd >= 0);
        close(fd);
    } else {
        CHECK(fd < 0);
        CHECK_EQ(errno, expected_errno);
    }
}

/* The topic's registry, first pool and first queue, as file names. */
typedef struct objects {
    char registry[300], pool[300], queue[300];
} objects;

/* The name of the first /dev/shm entry that starts with prefix, then ':'
 * and kind. */
static bool find_entry(const char *prefix, char kind, char *out, size_t out_size)
{
    DIR *dir = opendir("/dev/shm");
    CHECK(dir != NULL);
    size_t len = strlen(prefix);
    bool found = false;
    struct dirent *entry;
    while (!found && (entry = readdir(dir)) != NULL)
        if (strncmp(entry->d_name, prefix, len) == 0 && entry->d_name[len] == ':' &&
            entry->d_name[len + 1] == kind) {
            snprintf(out, out_size, "%s", entry->d_name);
            found = true;
        }
    closedir(dir);
    return found;
}

static void find_objects(const char *topic, bool group, objects *o)
{
    if (group) {
        /* The group's namespace: zl.g<gid>.<domain>.<topic>. */
        int n = snprintf(o->registry, sizeof o->registry, "zl.g%u.0.", (unsigned)getegid());
        for (size_t i = 0; topic[i] != '\0'; i++)
            o->registry[n++] = topic[i] == '/' ? '.' : topic[i];
        o->registry[n] = '\0';
    } else {
        hostile_registry_name(o->registry, sizeof o->registry, 0, topic);
    }
    CHECK(find_entry(o->registry, 'p', o->pool, sizeof o->pool));
    CHECK(find_entry(o->registry, 's', o->queue, sizeof o->queue));
}

/* Another user against a topic of ours: no open, no attach. With
 * share_with_group and the child in our group, both work: the objects live
 * in the group's namespace (zl.g<gid>.*), 0660, and the child's subscription
 * receives our messages. */
static void other_user(bool share_with_group)
{
    zl_context_options options;
    zl_context_options_init(&options);
    options.share_with_group = share_with_group;
    zl_context *context;
    CHECK_OK(zl_context_create(&options, &context));
    const char *topic = test_topic(share_with_group ? "access_group" : "access_owner");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    CHECK_OK(zl_publisher_update_connections(pub));
    objects o;
    find_objects(topic, share_with_group, &o);
    mode_t expected = share_with_group ? 0660 : 0600;
    CHECK_EQ(mode_of(o.registry), expected);
    CHECK_EQ(mode_of(o.pool), expected);
    CHECK_EQ(mode_of(o.queue), expected);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        become_nobody(share_with_group ? getgid() : NOBODY);
        int expected_errno = share_with_group ? 0 : EACCES;
        const char *files[] = {o.registry, o.pool, o.queue};
        for (int i = 0; i < 3; i++) {
            child_open(files[i], O_RDONLY, expected_errno);
            child_open(files[i], O_RDWR, expected_errno);
        }
        zl_context *child_context;
        zl_subscription *child_sub;
        CHECK_OK(zl_context_create(&options, &child_context));
        CHECK_OK(zl_subscription_create(child_context, topic, &test_msg_type, NULL, &child_sub));
        if (share_with_group) {
            /* A member of the group attaches to our topic and receives. */
            long received = 0;
            for (int i = 0; i < 2000 && received == 0; i++) {
                test_msg m;
                int rc = zl_subscription_take(child_sub, &m, NULL);
                if (rc == 0) {
                    CHECK(test_msg_valid(&m));
                    received++;
                } else {
                    CHECK_RC(rc, ZL_ENODATA);
                    test_sleep_ms(1);
                }
            }
            CHECK(received > 0);
        } else {
            /* Through zloan, the child's names are its own (zl.65534.*): its
             * subscription never meets our publisher. */
            char child_registry[400];
            snprintf(child_registry, sizeof child_registry, "/dev/shm/zl.%d.0.", NOBODY);
            for (size_t at = strlen(child_registry), i = 0; topic[i] != '\0'; i++, at++) {
                child_registry[at] = topic[i] == '/' ? '.' : topic[i];
                child_registry[at + 1] = '\0';
            }
            CHECK(access(child_registry, F_OK) == 0);
            for (int i = 0; i < 20; i++) {
                test_msg m;
                CHECK_RC(zl_subscription_take(child_sub, &m, NULL), ZL_ENODATA);
                test_sleep_ms(5);
            }
            zl_subscription_stats stats;
            CHECK_OK(zl_subscription_get_stats(child_sub, &stats));
            CHECK_EQ(stats.publishers, 0);
        }
        CHECK_OK(zl_subscription_destroy(child_sub));
        CHECK_OK(zl_context_destroy(child_context));
        _exit(0);
    }
    /* Meanwhile we publish: the child sees it only as a group member. */
    for (uint64_t i = 1; i <= (share_with_group ? 400u : 20u); i++) {
        test_msg m;
        test_msg_fill(&m, 1, i);
        CHECK_OK(zl_publisher_publish(pub, &m));
        test_sleep_ms(5);
    }
    test_wait_child_ok(pid, "other user");
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK(stats.subscriptions >= 1); /* ours, and the child's until it left */
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
}

/* Another user plants an object under the name of our topic's registry:
 * zloan refuses it (ZL_EPERM) instead of trusting memory that user controls. */
static void planted_registry(void)
{
    const char *topic = test_topic("access_planted");
    char name[300];
    hostile_registry_name(name, sizeof name, 0, topic);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        become_nobody(NOBODY);
        char path[400];
        snprintf(path, sizeof path, "/dev/shm/%s", name);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        CHECK(fd >= 0);
        CHECK(fchmod(fd, 0666) == 0);
        close(fd);
        _exit(0);
    }
    test_wait_child_ok(pid, "planter");
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_RC(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub), ZL_EPERM);
    CHECK_RC(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub), ZL_EPERM);
    CHECK_OK(zl_context_destroy(context));
    char path[400];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    CHECK(unlink(path) == 0);
}

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    names(context);
    CHECK_OK(zl_context_destroy(context));
    if (geteuid() != 0) {
        printf("not root: the other-user checks are skipped\n");
        return 77;
    }
    other_user(false);
    other_user(true);
    planted_registry();
    char needle[64];
    snprintf(needle, sizeof needle, "_%d", (int)getpid());
    CHECK_EQ(test_count_shm(needle), 0);
    return 0;
}
