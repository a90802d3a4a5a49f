/** @file
 * zloan — described types equivalent to three ROS 2 messages.
 *
 * These are plain C structs with field descriptions (zloan/type.h), named
 * the way ROS 2 names its types ("std_msgs/msg/String"), so that zloan-bridge
 * carries them to other hosts in ROS 2's wire form: a ROS 2 node there reads
 * and writes them as std_msgs/String, sensor_msgs/Image and
 * geometry_msgs/Vector3.
 *
 * The bridge maps fields to XCDR1 like this (docs/bridge.md):
 *   - an array of CHAR is a string (bounded by the array, its NUL included);
 *   - a U32 field "X_length" directly before an array "X" that ends the
 *     struct is not sent: it is the length of the sequence X (bounded by the
 *     array). This is the stand-in for a variable tail until loans can be
 *     sized: an Image always occupies ZL_ROS_IMAGE_DATA_MAX bytes in shared
 *     memory, whatever its data_length.
 *   - nested structs are inlined (XCDR1 puts nothing between members).
 * A string or sequence a remote writer sends beyond these bounds is dropped
 * by the bridge's DDS reader, never truncated.
 */
#ifndef ZLOAN_ROS_MSGS_H
#define ZLOAN_ROS_MSGS_H

#include <stddef.h>
#include <stdint.h>

#include "zloan/type.h"

/** Marks the descriptors below: a program may use one of these types and
 * not the others without a warning. */
#if defined(__GNUC__) || defined(__clang__)
#define ZL_ROS_MAYBE_UNUSED __attribute__((unused))
#else
#define ZL_ROS_MAYBE_UNUSED
#endif

#define ZL_ROS_STRING_MAX 256            /**< bytes of String.data, its NUL included */
#define ZL_ROS_FRAME_ID_MAX 64           /**< bytes of Header.frame_id, NUL included */
#define ZL_ROS_ENCODING_MAX 32           /**< bytes of Image.encoding, NUL included */
#define ZL_ROS_IMAGE_DATA_MAX (4u << 20) /**< bytes of Image.data: 4 MiB */

/** std_msgs/msg/String */
typedef struct zl_ros_string {
    char data[ZL_ROS_STRING_MAX]; /**< the string, NUL-terminated */
} zl_ros_string;

/** builtin_interfaces/msg/Time */
typedef struct zl_ros_time {
    int32_t sec;      /**< seconds */
    uint32_t nanosec; /**< nanoseconds, 0..999999999 */
} zl_ros_time;

/** std_msgs/msg/Header */
typedef struct zl_ros_header {
    zl_ros_time stamp;                  /**< acquisition time */
    char frame_id[ZL_ROS_FRAME_ID_MAX]; /**< coordinate frame, NUL-terminated */
} zl_ros_header;

/** sensor_msgs/msg/Image: data holds data_length bytes. */
typedef struct zl_ros_image {
    zl_ros_header header;               /**< time and frame of the image */
    uint32_t height;                    /**< rows */
    uint32_t width;                     /**< columns */
    char encoding[ZL_ROS_ENCODING_MAX]; /**< pixel encoding ("rgb8", ...), NUL-terminated */
    uint8_t is_bigendian;               /**< byte order of the pixel data */
    uint32_t step;                      /**< bytes of one row */
    uint32_t data_length;               /**< bytes used in data (the sequence's length) */
    uint8_t data[ZL_ROS_IMAGE_DATA_MAX]; /**< the pixels, step * height bytes */
} zl_ros_image;

/** geometry_msgs/msg/Vector3: a plain struct whose bytes are its wire form
 * but for the encapsulation header. */
typedef struct zl_ros_vector3 {
    double x; /**< x component */
    double y; /**< y component */
    double z; /**< z component */
} zl_ros_vector3;

/** Field descriptions of the types above (ZL_FIELD, zloan/type.h). */
static const zl_field ZL_ROS_MAYBE_UNUSED zl_ros_string_fields[] = {ZL_FIELD(zl_ros_string, CHAR, data)};
static const zl_field ZL_ROS_MAYBE_UNUSED zl_ros_time_fields[] = {ZL_FIELD(zl_ros_time, I32, sec),
                                              ZL_FIELD(zl_ros_time, U32, nanosec)};
static const zl_field ZL_ROS_MAYBE_UNUSED zl_ros_header_fields[] = {
    ZL_FIELD_NESTED(zl_ros_header, stamp, zl_ros_time, zl_ros_time_fields),
    ZL_FIELD(zl_ros_header, CHAR, frame_id)};
static const zl_field ZL_ROS_MAYBE_UNUSED zl_ros_image_fields[] = {
    ZL_FIELD_NESTED(zl_ros_image, header, zl_ros_header, zl_ros_header_fields),
    ZL_FIELD(zl_ros_image, U32, height),
    ZL_FIELD(zl_ros_image, U32, width),
    ZL_FIELD(zl_ros_image, CHAR, encoding),
    ZL_FIELD(zl_ros_image, U8, is_bigendian),
    ZL_FIELD(zl_ros_image, U32, step),
    ZL_FIELD(zl_ros_image, U32, data_length),
    ZL_FIELD(zl_ros_image, U8, data)};
static const zl_field ZL_ROS_MAYBE_UNUSED zl_ros_vector3_fields[] = {ZL_FIELD(zl_ros_vector3, F64, x),
                                                 ZL_FIELD(zl_ros_vector3, F64, y),
                                                 ZL_FIELD(zl_ros_vector3, F64, z)};

/** Descriptor of described type T under its ROS 2 name (as
 * ZL_TYPE_DESCRIBED, which names a type after T). */
#ifndef __cplusplus
#define ZL_ROS_TYPE(T, ros_name)                                                       \
    { .name = (ros_name), .size = sizeof(T), .alignment = _Alignof(T), .plain = true,  \
      .fields = T##_fields, .field_count = sizeof(T##_fields) / sizeof(T##_fields[0]) }
#else
/* The same in C++: every field of zl_type in declaration order (see
 * ZL_TYPE_DESCRIBED in zloan/type.h). */
#define ZL_ROS_TYPE(T, ros_name)                                                       \
    { (ros_name), sizeof(T), alignof(T), nullptr, 0, 0, 0, T##_fields,                 \
      sizeof(T##_fields) / sizeof(T##_fields[0]), true, 0, nullptr, nullptr, nullptr }
#endif

/** std_msgs/msg/String, sensor_msgs/msg/Image and geometry_msgs/msg/Vector3
 * as zloan types: publish and subscribe with these to meet ROS 2 nodes on
 * other hosts through zloan-bridge. */
static const zl_type ZL_ROS_MAYBE_UNUSED zl_ros_string_type = ZL_ROS_TYPE(zl_ros_string, "std_msgs/msg/String");
static const zl_type ZL_ROS_MAYBE_UNUSED zl_ros_image_type = ZL_ROS_TYPE(zl_ros_image, "sensor_msgs/msg/Image");
static const zl_type ZL_ROS_MAYBE_UNUSED zl_ros_vector3_type =
    ZL_ROS_TYPE(zl_ros_vector3, "geometry_msgs/msg/Vector3");

#endif
