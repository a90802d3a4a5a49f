/* Across processes: a slow subscription loses the oldest messages, counted
 * exactly; one that holds loans while the publisher publishes 10,000 more
 * sees them unchanged; both survive their publisher's exit. */
#include "spawn.h"

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *peer = argv[1];
    const char *topic = test_topic("overflow");
    peer_process slow, holder, pub;
    peer_start(&slow, peer, "sub", topic, "10004", "--exact", "--depth", "2", "--timeout-ms",
               "30000", NULL);
    CHECK(peer_wait_for(&slow, "ready"));
    peer_start(&holder, peer, "sub", topic, "10004", "--exact", "--depth", "4", "--hold", "4",
               "--timeout-ms", "30000", NULL);
    CHECK(peer_wait_for(&holder, "ready"));
    peer_start(&pub, peer, "pub", topic, "1", "10004", "--wait-subs", "2", NULL);
    CHECK_EQ(peer_finish(&pub), 0);
    long received, lost, bad;
    CHECK_EQ(peer_finish(&slow), 0);
    peer_counts(&slow, &received, &lost, &bad);
    CHECK_EQ(received + lost, 10004);
    CHECK(lost > 0); /* a depth of two cannot keep up with a publisher that never waits */
    CHECK_EQ(bad, 0);
    /* The holder took its four loans among the first messages and kept them
     * to the end, through 10,000 more publications and the publisher's exit;
     * the peer checks they did not change. */
    CHECK_EQ(peer_finish(&holder), 0);
    peer_counts(&holder, &received, &lost, &bad);
    CHECK_EQ(bad, 0);
    CHECK(received >= 4);
    CHECK_EQ(received + lost, 10004);
    printf("holder: %s", holder.text);
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
