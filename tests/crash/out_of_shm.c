/* Out of shared memory (docs/design.md I6): with /dev/shm small, then full,
 *   - creating a publisher whose first chunks do not fit the default bound
 *     (half of what /dev/shm has free) fails with ZL_ENOSHM and a detail
 *     naming the cause (/dev/shm) and the size asked for, and leaves
 *     nothing behind;
 *   - a loan that needs the pool to grow when /dev/shm is full fails with
 *     ZL_ENOSHM (the same detail), nothing else changes, and the same loan
 *     succeeds once space is back;
 *   - a publisher and a subscription created before /dev/shm filled up go
 *     on lending, publishing, taking and holding loans: no SIGBUS ever;
 *   - new endpoints (a new topic's registry, a queue, a pool) fail cleanly
 *     with ZL_ENOSHM and work again once space is back.
 *
 * The test runs in a child with a private mount namespace and a 1 MiB tmpfs
 * over /dev/shm (as root, or through a user namespace). Where neither is
 * allowed it exits 77, which CTest reports as skipped. */
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "crash.h"
#include "peer.h"

#define SHM_SIZE "1m"

static bool write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return false;
    bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    return ok;
}

/* A private mount namespace with a small tmpfs on /dev/shm. */
static bool small_shm(void)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWNS) != 0) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
            return false;
        char map[64];
        snprintf(map, sizeof map, "%u %u 1", (unsigned)uid, (unsigned)uid);
        if (!write_file("/proc/self/setgroups", "deny") || !write_file("/proc/self/uid_map", map))
            return false;
        snprintf(map, sizeof map, "%u %u 1", (unsigned)gid, (unsigned)gid);
        if (!write_file("/proc/self/gid_map", map))
            return false;
    }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return false;
    return mount("zloan-test", "/dev/shm", "tmpfs", 0, "size=" SHM_SIZE ",mode=1777") == 0;
}

static unsigned long long shm_free(void)
{
    struct statvfs vfs;
    CHECK(statvfs("/dev/shm", &vfs) == 0);
    return (unsigned long long)vfs.f_bavail * vfs.f_frsize;
}

static void expect_enoshm_detail(void)
{
    const char *detail = zl_last_error_detail();
    printf("ZL_ENOSHM detail: %s\n", detail);
    CHECK(strstr(detail, "/dev/shm") != NULL);
    CHECK(strstr(detail, "bytes") != NULL);
}

static void publish_and_take(zl_publisher *publisher, zl_subscription *subscription,
                             uint64_t *sequence, int count)
{
    const void *held[2] = {NULL, NULL};
    test_msg copies[2];
    for (int i = 0; i < count; i++) {
        void *loan;
        CHECK_OK(zl_publisher_loan(publisher, &loan));
        test_msg_fill(loan, 1, ++*sequence);
        CHECK_OK(zl_publisher_publish_loan(publisher, loan));
        const void *taken;
        CHECK_OK(zl_subscription_take_loan(subscription, &taken, NULL));
        const test_msg *m = taken;
        CHECK(test_msg_valid(m));
        CHECK_EQ(m->sequence, *sequence);
        int slot = i % 2;
        if (held[slot] != NULL) {
            CHECK(memcmp(held[slot], &copies[slot], sizeof copies[slot]) == 0);
            CHECK_OK(zl_subscription_return_loan(subscription, held[slot]));
        }
        held[slot] = taken;
        memcpy(&copies[slot], taken, sizeof copies[slot]);
    }
    for (int slot = 0; slot < 2; slot++)
        if (held[slot] != NULL)
            CHECK_OK(zl_subscription_return_loan(subscription, held[slot]));
}

typedef struct big_msg {
    uint8_t bytes[2u << 20];
} big_msg;
static const zl_type big_type = ZL_TYPE_PLAIN(big_msg);

typedef struct blob {
    uint64_t sequence;
    uint8_t data[];
} blob;
static const zl_type blob_type = ZL_TYPE_SIZED(blob, data, 0);

static int run(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = "/crash/out_of_shm";
    const char *other = "/crash/out_of_shm_other";

    /* Too small from the start: a pool whose first chunk is 2 MiB. */
    zl_publisher *publisher;
    CHECK_RC(zl_publisher_create(context, topic, &big_type, NULL, &publisher), ZL_ENOSHM);
    expect_enoshm_detail();
    CHECK(strstr(zl_last_error_detail(), "needs") != NULL);
    CHECK_EQ(test_count_shm(NULL), 0);

    /* A sized type reserves nothing but its control object at creation. */
    zl_publisher *sized;
    CHECK_OK(zl_publisher_create(context, "/crash/out_of_shm_sized", &blob_type, NULL, &sized));

    /* A system that fits, running. */
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &publisher));
    zl_subscription *subscription;
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &subscription));
    uint64_t sequence = 0;
    publish_and_take(publisher, subscription, &sequence, 100);

    /* Fill /dev/shm to the last byte. */
    int filler = open("/dev/shm/filler", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    CHECK(filler >= 0);
    static char block[4096];
    while (write(filler, block, sizeof block) > 0) {
    }
    while (write(filler, block, 1) > 0) {
    }
    CHECK_EQ(errno, ENOSPC);
    printf("/dev/shm full: %llu bytes free\n", shm_free());

    /* The running system goes on, without a SIGBUS. */
    publish_and_take(publisher, subscription, &sequence, 2000);

    /* A loan that needs a new segment fails, and changes nothing. */
    void *grown;
    zl_publisher_stats sized_stats;
    CHECK_RC(zl_publisher_loan_sized(sized, 100000, &grown), ZL_ENOSHM);
    expect_enoshm_detail();
    CHECK_OK(zl_publisher_get_stats(sized, &sized_stats));
    CHECK_EQ(sized_stats.segments, 0);
    CHECK_EQ(sized_stats.loans_held, 0);

    /* New objects fail cleanly and leave nothing behind. */
    zl_publisher *second;
    CHECK_RC(zl_publisher_create(context, other, &test_msg_type, NULL, &second), ZL_ENOSHM);
    expect_enoshm_detail();
    CHECK_EQ(test_count_shm("out_of_shm_other"), 0);
    zl_subscription *late;
    CHECK_RC(zl_subscription_create(context, topic, &test_msg_type, NULL, &late), ZL_ENOSHM);
    expect_enoshm_detail();
    CHECK_RC(zl_publisher_create(context, topic, &test_msg_type, NULL, &second), ZL_ENOSHM);
    expect_enoshm_detail();
    /* The registry, the pool, its segment, the queue; the sized topic's
     * registry and pool. */
    CHECK_EQ(test_count_shm(NULL), 6);
    publish_and_take(publisher, subscription, &sequence, 100);

    /* Space is back: new endpoints work and join the running ones. */
    close(filler);
    CHECK(unlink("/dev/shm/filler") == 0);
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &late));
    CHECK_OK(zl_publisher_create(context, other, &test_msg_type, NULL, &second));
    publish_and_take(publisher, subscription, &sequence, 100);
    const void *loan;
    CHECK_OK(zl_subscription_take_loan(late, &loan, NULL));
    CHECK_OK(zl_subscription_return_loan(late, loan));
    CHECK_OK(zl_publisher_loan_sized(sized, 100000, &grown));
    ((blob *)grown)->sequence = 1;
    CHECK_OK(zl_publisher_publish_loan(sized, grown));
    CHECK_OK(zl_publisher_get_stats(sized, &sized_stats));
    CHECK_EQ(sized_stats.segments, 1);
    CHECK_OK(zl_publisher_destroy(sized));

    CHECK_OK(zl_subscription_destroy(late));
    CHECK_OK(zl_publisher_destroy(second));
    CHECK_OK(zl_subscription_destroy(subscription));
    CHECK_OK(zl_publisher_destroy(publisher));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(NULL), 0);
    return 0;
}

int main(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (!small_shm()) {
            fprintf(stderr, "cannot mount a small tmpfs on /dev/shm in a private mount "
                            "namespace (%s): skipped\n", strerror(errno));
            _exit(77);
        }
        int rc = run();
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "the test process died of signal %d (%s)\n", WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        return 1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
