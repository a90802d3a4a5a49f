/* The liveness monitor thread (src/shm/discovery.c) against endpoints that
 * are created, used and destroyed on other threads (run it under
 * ThreadSanitizer): a slot that looks dead (a record whose lock nobody
 * holds, planted here as a crashed process would leave it, without telling
 * anyone) is noticed by the monitor alone, and reaped by the publisher on
 * its own thread, while other threads register and unregister endpoints of
 * another topic (the monitor walks their registries meanwhile). */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "hostile.h"
#include "peer.h"
#include "shm/layout.h"

static const char *topic, *churn_topic;
static zl_context *context;
static atomic_bool stop;

static void *churn(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        zl_subscription *s;
        CHECK_OK(zl_subscription_create(context, churn_topic, &test_msg_type, NULL, &s));
        test_msg m;
        (void)zl_subscription_take(s, &m, NULL);
        CHECK_OK(zl_subscription_destroy(s));
    }
    return NULL;
}

/* Writes a subscription record into the last slot, as a process that died
 * right after registering would leave it (its lock died with it). */
static uint64_t plant_dead_subscription(void)
{
    hostile_map map;
    CHECK(hostile_map_object(0, topic, 'r', 0, &map));
    zl__registry_shm *registry = map.base;
    zl__slot *slot = &registry->subscriptions[ZL__SUB_SLOTS - 1];
    zl__endpoint_record record;
    memset(&record, 0, sizeof record);
    record.id = 0x5eadbeefcafef00dull;
    record.kind = ZL__KIND_SUBSCRIPTION;
    record.depth = 1;
    record.max_loans = 1;
    snprintf(record.type_name, sizeof record.type_name, "%s", test_msg_type.name);
    uint64_t words[sizeof record / 8];
    memcpy(words, &record, sizeof record);
    uint32_t seq = zl__load_relaxed(&slot->seq) | 1u;
    zl__store_relaxed(&slot->seq, seq);
    zl__fence_release();
    for (size_t i = 0; i < sizeof words / 8; i++)
        __atomic_store_n(&slot->words[i], words[i], __ATOMIC_RELAXED);
    zl__store_release(&slot->seq, seq + 1);
    /* No generation bump: nothing but the monitor tells the publisher. */
    hostile_unmap(&map);
    return record.id;
}

static bool slot_cleared(void)
{
    hostile_map map;
    CHECK(hostile_map_object(0, topic, 'r', 0, &map));
    zl__registry_shm *registry = map.base;
    uint64_t id = __atomic_load_n(&registry->subscriptions[ZL__SUB_SLOTS - 1].words[0],
                                  __ATOMIC_RELAXED);
    hostile_unmap(&map);
    return id == 0;
}

int main(void)
{
    setenv("ZLOAN_LIVENESS_PERIOD_MS", "2", 1);
    topic = test_topic("monitor");
    churn_topic = test_topic("monitor_churn");
    CHECK_OK(zl_context_create(NULL, &context));
    zl_publisher *pub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, churn, NULL), 0);
    for (int round = 0; round < 20; round++) {
        plant_dead_subscription();
        /* Publishing only: the monitor's poke makes the publisher reap. */
        int64_t deadline = test_now_ns() + 5000000000LL;
        while (!slot_cleared()) {
            test_msg m;
            test_msg_fill(&m, 1, 1);
            CHECK_OK(zl_publisher_publish(pub, &m));
            CHECK(test_now_ns() < deadline);
            test_sleep_ms(1);
        }
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_join(threads[i], NULL), 0);
    zl_publisher_stats stats;
    CHECK_OK(zl_publisher_get_stats(pub, &stats));
    CHECK_EQ(stats.chunks_free, stats.chunks_total);
    CHECK_OK(zl_publisher_destroy(pub));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    CHECK_EQ(test_count_shm(test_shm_fragment(churn_topic)), 0);
    return 0;
}
