/* Across processes: the refusal path (ZLOAN_DISABLE_LOANS) delivers the
 * same messages; a subscription of another type is refused while a
 * publisher process of the first type lives. */
#include "spawn.h"
#include "peer.h"

typedef struct other {
    uint32_t x;
} other;

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *peer = argv[1];
    const char *topic = test_topic("refusal_types");
    setenv(ZL_ENV_DISABLE_LOANS, "1", 1);
    peer_process sub, pub;
    peer_start(&sub, peer, "sub", topic, "500", "--exact", "--depth", "600", "--timeout-ms",
               "20000", NULL);
    CHECK(peer_wait_for(&sub, "ready"));
    peer_start(&pub, peer, "pub", topic, "3", "500", "--wait-subs", "1", "--budget", "700",
               "--linger-ms", "1500", NULL);
    /* While the publisher lives, another type is refused, naming both. */
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    zl_type other_type = ZL_TYPE_PLAIN(other);
    zl_subscription *wrong;
    CHECK_RC(zl_subscription_create(context, topic, &other_type, NULL, &wrong), ZL_ETYPE);
    CHECK(strstr(zl_last_error_detail(), "test_msg") && strstr(zl_last_error_detail(), "other"));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(peer_finish(&pub), 0);
    CHECK_EQ(peer_finish(&sub), 0);
    long received, lost, bad;
    peer_counts(&sub, &received, &lost, &bad);
    CHECK_EQ(received, 500); /* deep enough: nothing lost */
    CHECK_EQ(bad, 0);
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
