/* Two publisher processes, three subscription processes: every message
 * reaches every subscription intact and in order per publisher, or is
 * counted lost (keep-last), never both and never neither. */
#include "spawn.h"

#define PER_PUBLISHER "3000"

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *peer = argv[1];
    const char *topic = test_topic("pubsub_2x3");
    peer_process subs[3], pubs[2];
    for (int i = 0; i < 3; i++) {
        peer_start(&subs[i], peer, "sub", topic, "6000", "--exact", "--depth", "64",
                   "--timeout-ms", "30000", NULL);
        CHECK(peer_wait_for(&subs[i], "ready"));
    }
    peer_start(&pubs[0], peer, "pub", topic, "1", PER_PUBLISHER, "--wait-subs", "3",
               "--interval-us", "20", "--budget", "80", NULL);
    peer_start(&pubs[1], peer, "pub", topic, "2", PER_PUBLISHER, "--wait-subs", "3",
               "--interval-us", "20", "--budget", "80", "--copy", NULL);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(peer_finish(&pubs[i]), 0);
    long total_received = 0;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(peer_finish(&subs[i]), 0);
        long received, lost, bad;
        peer_counts(&subs[i], &received, &lost, &bad);
        CHECK_EQ(received + lost, 6000);
        CHECK_EQ(bad, 0);
        total_received += received;
    }
    printf("received %ld of %d\n", total_received, 3 * 6000);
    CHECK(total_received > 0);
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
