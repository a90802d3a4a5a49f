/** @file
 * rmw_zloan — what rmw_zloan offers beyond the rmw interface.
 *
 * rcl's rcl_borrow_loaned_message() lends a whole message with no size,
 * which suits a plain type; a message with a large sequence (the pixels of
 * a sensor_msgs/Image, the points of a PointCloud2) needs its size before
 * the loan. rmw_zloan_borrow_loaned_message_sized() lends such a message
 * with its tail sequence already in zloan's shared memory, at the place its
 * bytes take in the message as subscriptions receive it: the publisher
 * writes the elements there, and publishing serializes only the members
 * around them (a few hundred bytes) — the elements are never copied.
 *
 * The tail sequence of a type of the C type support is its last top-level
 * member that is a sequence of primitives, when every member after it has
 * a fixed size (no strings or sequences, at any depth): sensor_msgs/Image's
 * and PointCloud2's `data`. Other types have none.
 *
 * Call it from the thread that uses the publisher; the library is
 * librmw_zloan.so, which rcl loads when RMW_IMPLEMENTATION=rmw_zloan (a
 * program that calls this links it, or finds the symbol with dlsym).
 */
#ifndef RMW_ZLOAN_RMW_ZLOAN_H
#define RMW_ZLOAN_RMW_ZLOAN_H

#include <stddef.h>

#include <rmw/ret_types.h>
#include <rmw/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Lends a message of publisher's type whose tail sequence holds count
 * elements in shared memory: its data points at them (not initialised),
 * its size and capacity are count.
 *
 * The other members are rmw_zloan's memory, initialised with the type's
 * defaults at a loan's first use and otherwise holding what the previous
 * message lent from the same place held; set them as for any message
 * (rosidl's assign functions). The tail's data must not be replaced,
 * resized or finalised; its size may be lowered.
 *
 * Publish the message with rcl_publish_loaned_message() (or
 * rmw_publish_loaned_message()), or give it back unpublished with
 * rcl_return_loaned_message_from_publisher(); either ends the loan. At
 * publish the members before the tail are serialized in front of it, those
 * after it behind it; the members before it may take up to 4088 bytes of
 * CDR (strings included), else the publish fails with RMW_RET_ERROR and
 * the loan is still held.
 *
 * @retval RMW_RET_OK *ros_message (which must be NULL before) is the loan;
 *         the caller holds it.
 * @retval RMW_RET_INVALID_ARGUMENT an argument is NULL, *ros_message is not
 *         NULL, or count exceeds the tail's bound.
 * @retval RMW_RET_INCORRECT_RMW_IMPLEMENTATION publisher is not rmw_zloan's.
 * @retval RMW_RET_UNSUPPORTED the type has no tail sequence (or is of the
 *         C++ type support), or loans are disabled
 *         (ROS_DISABLE_LOANED_MESSAGES).
 * @retval RMW_RET_ERROR zloan lent no memory (every loan is held, or shared
 *         memory is short: the error says which).
 * @retval RMW_RET_BAD_ALLOC out of memory.
 * On error nothing changes and no loan is held. */
rmw_ret_t rmw_zloan_borrow_loaned_message_sized(const rmw_publisher_t *publisher, size_t count,
                                                void **ros_message);

#ifdef __cplusplus
}
#endif
#endif
