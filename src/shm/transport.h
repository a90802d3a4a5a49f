/* The shared-memory transport's entry points, gathered into zl__shm_ops by
 * transport.c. See mw.h for what each one promises. */
#ifndef ZL_SHM_TRANSPORT_H
#define ZL_SHM_TRANSPORT_H

#include "../mw.h"

int zl__shm_publisher_create(const zl__mw_publisher_config *config, zl__mw_publisher **out);
void zl__shm_publisher_destroy(zl__mw_publisher *pub);
int zl__shm_publisher_loan(zl__mw_publisher *pub, size_t size, void **payload,
                           zl__mw_loan_handle *handle);
int zl__shm_publisher_publish_loan(zl__mw_publisher *pub, zl__mw_loan_handle handle, size_t size);
int zl__shm_publisher_publish_loans(zl__mw_publisher *pub, const zl__mw_loan_handle *handles,
                                    const size_t *sizes, size_t count, size_t *published);
int zl__shm_publisher_return_loan(zl__mw_publisher *pub, zl__mw_loan_handle handle);
int zl__shm_publisher_update_connections(zl__mw_publisher *pub);
void zl__shm_publisher_stats(const zl__mw_publisher *pub, zl_publisher_stats *stats);
uint64_t zl__shm_publisher_id(const zl__mw_publisher *pub);
int zl__shm_publisher_register_memory(zl__mw_publisher *pub, int fd, uint64_t offset,
                                      uint64_t length, uint32_t buffers, uint32_t *memory);
int zl__shm_publisher_unregister_memory(zl__mw_publisher *pub, uint32_t memory);
int zl__shm_publisher_publish_memory(zl__mw_publisher *pub, uint32_t memory, uint64_t offset,
                                     size_t size, zl__mw_ticket *ticket);
void zl__shm_publisher_refresh(zl__mw_publisher *pub);
bool zl__shm_publisher_memory_in_flight(zl__mw_publisher *pub, zl__mw_ticket ticket);
void zl__shm_publisher_memory_waitable(zl__mw_publisher *pub, uint32_t memory,
                                       zl__mw_waitable *waitable);
bool zl__shm_publisher_memory_ready(zl__mw_publisher *pub, uint32_t memory);
void zl__shm_publisher_waitable(zl__mw_publisher *pub, zl__mw_waitable *waitable);
bool zl__shm_publisher_ready(zl__mw_publisher *pub);

int zl__shm_subscription_create(const zl__mw_subscription_config *config,
                                zl__mw_subscription **out);
void zl__shm_subscription_destroy(zl__mw_subscription *sub);
int zl__shm_subscription_take_loan(zl__mw_subscription *sub, const void **payload, size_t *size,
                                   zl_message_info *info);
int zl__shm_subscription_take_loans(zl__mw_subscription *sub, const void **payloads,
                                    size_t *sizes, zl_message_info *infos, size_t capacity,
                                    size_t *count);
int zl__shm_subscription_return_loan(zl__mw_subscription *sub, const void *payload);
int zl__shm_subscription_return_loans(zl__mw_subscription *sub, const void *const *payloads,
                                      size_t count);
int zl__shm_subscription_is_consistent(zl__mw_subscription *sub, const void *payload,
                                       bool *consistent);
void zl__shm_subscription_waitable(zl__mw_subscription *sub, zl__mw_waitable *waitable);
bool zl__shm_subscription_ready(zl__mw_subscription *sub);
void zl__shm_subscription_stats(zl__mw_subscription *sub, zl_subscription_stats *stats);

int zl__shm_list_topics(uint32_t domain, zl_topic_summary *topics, size_t capacity,
                        size_t *count);
int zl__shm_topic_view_open(uint32_t domain, const char *topic, zl__mw_topic_view **view);
int zl__shm_topic_view_read(zl__mw_topic_view *view, zl_topic_info *info);
void zl__shm_topic_view_close(zl__mw_topic_view *view);

#endif
