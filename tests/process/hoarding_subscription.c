/* Across processes: a subscription that takes and never returns (max_loans
 * 1000, far above the publisher's budget of 24 chunks per subscription)
 * cannot starve the publisher or another subscription. The publisher never
 * runs out of chunks (its peer exits 2 on ZL_EEXHAUSTED); the honest
 * subscription gets every message, received or counted lost (keep-last, if
 * it falls behind);
 * the hoarder gets at most its budget and every other message is counted
 * lost on its side. */
#include "spawn.h"

#define COUNT "1000"
#define BUDGET 24

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *peer = argv[1];
    const char *topic = test_topic("hoarding");
    peer_process honest, hoarder, pub;
    peer_start(&honest, peer, "sub", topic, COUNT, "--exact", "--timeout-ms", "60000", NULL);
    CHECK(peer_wait_for(&honest, "ready"));
    peer_start(&hoarder, peer, "sub", topic, COUNT, "--exact", "--hold", "1000", "--timeout-ms",
               "60000", NULL);
    CHECK(peer_wait_for(&hoarder, "ready"));
    /* Paced, so that both subscriptions take as they go: the hoarder would
     * hold far more than the pool has (197 chunks) if nothing stopped it. */
    peer_start(&pub, peer, "pub", topic, "1", COUNT, "--wait-subs", "2", "--budget", "24",
               "--interval-us", "500", NULL);
    CHECK_EQ(peer_finish(&pub), 0);
    long received, lost, bad;
    CHECK_EQ(peer_finish(&honest), 0);
    peer_counts(&honest, &received, &lost, &bad);
    printf("honest: %s", honest.text + strlen("ready\n"));
    CHECK_EQ(received + lost, atol(COUNT));
    CHECK_EQ(bad, 0);
    CHECK_EQ(peer_finish(&hoarder), 0);
    peer_counts(&hoarder, &received, &lost, &bad);
    printf("hoarder: %s", hoarder.text + strlen("ready\n"));
    CHECK(received <= BUDGET);
    CHECK_EQ(received + lost, atol(COUNT));
    CHECK_EQ(bad, 0);
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
