/* The shared-memory transport's table of operations. */
#include "discovery.h"
#include "transport.h"

const zl__mw_ops zl__shm_ops = {
    .name = "shm",
    /* Lends chunks of shared memory to every process of the host, of any
     * size (segmented pools), keeps history for late joiners, wakes through
     * futex words in shared memory. */
    .capabilities = {.lends = true, .shared_memory = true, .variable_size = true,
                     .history = true, .lossless = true, .wake = ZL__MW_WAKE_FUTEX},
    .sweep = zl__shm_sweep,
    .publisher_create = zl__shm_publisher_create,
    .publisher_destroy = zl__shm_publisher_destroy,
    .publisher_loan = zl__shm_publisher_loan,
    .publisher_publish_loan = zl__shm_publisher_publish_loan,
    .publisher_publish_loans = zl__shm_publisher_publish_loans,
    .publisher_return_loan = zl__shm_publisher_return_loan,
    .publisher_publish_copy = NULL, /* it lends: the client copies into a loan */
    .publisher_update_connections = zl__shm_publisher_update_connections,
    .publisher_stats = zl__shm_publisher_stats,
    .publisher_id = zl__shm_publisher_id,
    .publisher_register_memory = zl__shm_publisher_register_memory,
    .publisher_unregister_memory = zl__shm_publisher_unregister_memory,
    .publisher_publish_memory = zl__shm_publisher_publish_memory,
    .publisher_refresh = zl__shm_publisher_refresh,
    .publisher_memory_in_flight = zl__shm_publisher_memory_in_flight,
    .publisher_memory_waitable = zl__shm_publisher_memory_waitable,
    .publisher_memory_ready = zl__shm_publisher_memory_ready,
    .publisher_waitable = zl__shm_publisher_waitable,
    .publisher_ready = zl__shm_publisher_ready,
    .subscription_create = zl__shm_subscription_create,
    .subscription_destroy = zl__shm_subscription_destroy,
    .subscription_take_loan = zl__shm_subscription_take_loan,
    .subscription_take_loans = zl__shm_subscription_take_loans,
    .subscription_return_loan = zl__shm_subscription_return_loan,
    .subscription_return_loans = zl__shm_subscription_return_loans,
    .subscription_is_consistent = zl__shm_subscription_is_consistent,
    .subscription_stats = zl__shm_subscription_stats,
    .subscription_waitable = zl__shm_subscription_waitable,
    .subscription_ready = zl__shm_subscription_ready,
    .list_topics = zl__shm_list_topics,
    .topic_view_open = zl__shm_topic_view_open,
    .topic_view_read = zl__shm_topic_view_read,
    .topic_view_close = zl__shm_topic_view_close,
};
