/* A subscription process that joins after the publisher process published
 * receives the publisher's history. */
#include "spawn.h"

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *peer = argv[1];
    const char *topic = test_topic("late_joiner");
    peer_process pub, sub, plain;
    /* Publishes ten at once, keeps five, stays around for late joiners. */
    peer_start(&pub, peer, "pub", topic, "1", "10", "--history", "5", "--linger-ms", "4000", NULL);
    /* Let it publish first: its pool exists once its objects appear. */
    for (int i = 0; i < 500 && test_count_shm(test_shm_fragment(topic)) < 2; i++)
        test_sleep_ms(2);
    test_sleep_ms(100);
    peer_start(&sub, peer, "sub", topic, "5", "--history", "--timeout-ms", "3000", NULL);
    peer_start(&plain, peer, "sub", topic, "1", "--timeout-ms", "1000", NULL);
    CHECK_EQ(peer_finish(&sub), 0);
    long received, lost, bad;
    peer_counts(&sub, &received, &lost, &bad);
    CHECK_EQ(received, 5);
    CHECK_EQ(bad, 0);
    /* Without asking for history, nothing arrives. */
    CHECK_EQ(peer_finish(&plain), 1);
    peer_counts(&plain, &received, &lost, &bad);
    CHECK_EQ(received, 0);
    CHECK_EQ(peer_finish(&pub), 0);
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
