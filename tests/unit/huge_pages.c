/* Pool segments of large messages on huge pages: a 4 MiB message is loaned,
 * written, published, taken and checked with /dev/shm mounted huge=never
 * and huge=advise, each case in a child of its own in a private mount
 * namespace (when the test may make one: root and unshare; otherwise once
 * in the /dev/shm it finds). Where the mount gives huge pages, both the
 * publisher's mapping of the segment and the subscription's must be mapped
 * with them (ShmemPmdMapped or FilePmdMapped in /proc/self/smaps); on
 * huge=never, with none. The huge-page check is skipped, saying why, when a
 * control mapping made by the test itself in the same mount does not get
 * what the mount promises either (the kernel had no huge page to give, or
 * THP is off or forced). */
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>

#include "harness.h"

#define HUGE_PAGE (2u << 20)

typedef struct frame {
    uint64_t sequence;
    uint8_t pixels[(4u << 20) - 8];
} frame;
static const zl_type frame_type = ZL_TYPE_PLAIN(frame);

/* Kilobytes of PMD-mapped (huge) pages in the mapping of /proc/self/smaps
 * that contains address; -1 when no mapping does. */
static long pmd_mapped_kb(const void *address)
{
    FILE *smaps = fopen("/proc/self/smaps", "r");
    CHECK(smaps != NULL);
    char line[1024];
    bool inside = false, found = false;
    long kb = 0;
    while (fgets(line, sizeof line, smaps) != NULL) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = (uintptr_t)address >= start && (uintptr_t)address < end;
            found = found || inside;
            continue;
        }
        long value;
        if (inside && (sscanf(line, "ShmemPmdMapped: %ld kB", &value) == 1 ||
                       sscanf(line, "FilePmdMapped: %ld kB", &value) == 1))
            kb += value;
    }
    fclose(smaps);
    return found ? kb : -1;
}

/* Whether the kernel gives this process huge pages in /dev/shm at all: a
 * file of our own, mapped, advised and touched as zloan does. */
static bool control_gets_huge_pages(void)
{
    char name[64];
    snprintf(name, sizeof name, "/zl_test_huge_control_%d", (int)getpid());
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    shm_unlink(name);
    size_t size = 2 * HUGE_PAGE;
    CHECK(ftruncate(fd, (off_t)size) == 0);
    uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    CHECK(base != MAP_FAILED);
    (void)madvise(base, size, MADV_HUGEPAGE);
    for (size_t i = 0; i < size; i += 4096)
        base[i] = 1;
    long kb = pmd_mapped_kb(base);
    munmap(base, size);
    return kb > 0;
}

/* The huge= option of the /dev/shm mount ("never" when it has none). */
static void shm_huge_option(char *out, size_t size)
{
    snprintf(out, size, "never");
    FILE *mounts = fopen("/proc/self/mounts", "r");
    CHECK(mounts != NULL);
    char line[1024];
    while (fgets(line, sizeof line, mounts) != NULL) {
        char device[256], point[256], type[64], options[512];
        if (sscanf(line, "%255s %255s %63s %511s", device, point, type, options) != 4 ||
            strcmp(point, "/dev/shm") != 0)
            continue;
        const char *huge = strstr(options, "huge=");
        snprintf(out, size, "never");
        if (huge != NULL)
            snprintf(out, size, "%.*s", (int)strcspn(huge + 5, ","), huge + 5);
    }
    fclose(mounts);
}

/* Loans, fills, publishes, takes and checks one 4 MiB message, then checks
 * both mappings' huge pages against what the mount gives. */
static void case_round(void)
{
    char huge[32];
    shm_huge_option(huge, sizeof huge);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("huge_pages");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, topic, &frame_type, NULL, &sub));
    CHECK_OK(zl_publisher_create(context, topic, &frame_type, NULL, &pub));
    void *loan;
    CHECK_OK(zl_publisher_loan(pub, &loan));
    frame *f = loan;
    f->sequence = 7;
    memset(f->pixels, 0x5a, sizeof f->pixels);
    CHECK_OK(zl_publisher_publish_loan(pub, loan));
    const void *message;
    CHECK_OK(zl_subscription_take_loan(sub, &message, NULL));
    const frame *g = message;
    CHECK_EQ(g->sequence, 7);
    for (size_t i = 0; i < sizeof g->pixels; i += 4093)
        CHECK_EQ(g->pixels[i], 0x5a);
    CHECK_EQ(g->pixels[sizeof g->pixels - 1], 0x5a);
    CHECK((const void *)g != (const void *)f); /* two mappings of the segment */
    long published = pmd_mapped_kb(f), taken = pmd_mapped_kb(g);
    printf("/dev/shm huge=%s: PMD-mapped kB, publisher's mapping %ld, subscription's %ld\n",
           huge, published, taken);
    CHECK(published >= 0 && taken >= 0);
    bool expected = strcmp(huge, "never") != 0;
    if (control_gets_huge_pages() != expected) {
        printf("SKIP the huge-page check: a mapping of our own in /dev/shm (huge=%s), advised "
               "and touched, got %s (THP off or forced, or no huge page free)\n",
               huge, expected ? "no huge page" : "huge pages");
    } else if (expected) {
        /* The 4 MiB payload spans at least one whole aligned huge page. */
        CHECK(published >= HUGE_PAGE / 1024);
        CHECK(taken >= HUGE_PAGE / 1024);
    } else {
        CHECK_EQ(published, 0);
        CHECK_EQ(taken, 0);
    }
    CHECK_OK(zl_subscription_return_loan(sub, message));
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_context_destroy(context));
}

/* Runs case_round in a child with /dev/shm a fresh tmpfs mounted with
 * option, in a mount namespace of its own; false when the child cannot
 * make one (not root, no unshare). */
static bool run_in_private_shm(const char *option)
{
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(ready[0]);
        char mounted = 0;
        if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
            mount("tmpfs", "/dev/shm", "tmpfs", 0, option) == 0)
            mounted = 1;
        CHECK(write(ready[1], &mounted, 1) == 1);
        close(ready[1]);
        if (!mounted)
            _exit(0);
        case_round();
        fflush(stdout);
        _exit(0);
    }
    close(ready[1]);
    char mounted = 0;
    CHECK(read(ready[0], &mounted, 1) == 1);
    close(ready[0]);
    char what[64];
    snprintf(what, sizeof what, "case_round (%s)", option);
    test_wait_child_ok(child, what);
    return mounted == 1;
}

int main(void)
{
    bool never = run_in_private_shm("size=64m,huge=never");
    bool advise = run_in_private_shm("size=64m,huge=advise");
    if (!never || !advise) {
        printf("cannot mount a private /dev/shm (needs root and unshare): one round in the "
               "/dev/shm of this process\n");
        case_round();
    }
    printf("ok\n");
    return 0;
}
