/* zloan-bridge: ROS 2's wire conventions for a described zloan type.
 *
 * A topic "/name" travels as DDS topic "rt/name"; type "pkg/msg/Type" as
 * "pkg::msg::dds_::Type_" (any other name N as "zloan::msg::dds_::N_", its
 * non-identifier characters replaced by '_'); samples are XCDR1
 * little-endian, keyless. The DDS type is built at run time from the field
 * description: a Cyclone topic descriptor whose operations read and write
 * the zloan message in place (the rules are in zloan/ros_msgs.h), so that
 * the bridge hands Cyclone the loaned message itself and Cyclone
 * deserializes a remote sample straight into a loan. */
#ifndef ZLOAN_BRIDGE_ROS_WIRE_H
#define ZLOAN_BRIDGE_ROS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dds/dds.h>

#include "zloan/zloan.h"

#define ROS_WIRE_DDS_NAME_MAX 320

typedef struct ros_wire_type {
    dds_topic_descriptor_t descriptor; /* Cyclone's view */
    uint32_t *ops;
    char *dds_type_name;
    /* The message's size, and whether it ends in a sequence (X_length, X). */
    size_t message_size;
    bool has_tail;
    size_t tail_offset;        /* offset of X in the message */
    size_t tail_length_offset; /* offset of X_length */
    size_t tail_element_size;
    uint32_t tail_capacity;    /* elements X holds */
    /* With a tail, Cyclone sees a shadow sample: the message's bytes before
     * X, then a dds_sequence_t at sequence_offset pointing into X. */
    size_t sample_size;
    size_t sequence_offset;
    /* The last byte of every char array: Cyclone reads a bounded string up
     * to its NUL, and a local message may lack one, so the bridge writes a
     * copy with these bytes zeroed. */
    uint32_t *string_ends;
    size_t string_count;
} ros_wire_type;

/* "rt" + the zloan topic name ("/a/b" → "rt/a/b"); false when too long. */
bool ros_wire_topic_name(const char *zloan_topic, char *out, size_t out_size);

/* The DDS type name for a zloan type name; false when too long. */
bool ros_wire_type_name(const char *zloan_type, char *out, size_t out_size);

/* Builds the wire type of a described type (fields as zl_type_describe
 * writes them, parsed back). 0, or -1 with a message on stderr when a field
 * cannot be mapped. ros_wire_type_fini frees it. */
int ros_wire_type_init(ros_wire_type *wire, const char *zloan_type_name, size_t message_size,
                       const zl_field *fields, size_t field_count);
void ros_wire_type_fini(ros_wire_type *wire);

/* Writes message (a zloan message of this type) with writer: in place, or
 * through a copy in scratch (sample_size bytes) when it has a tail (only the
 * bytes before the tail are copied) or strings.
 * Returns dds_write's code; DDS_RETCODE_BAD_PARAMETER when the message's
 * X_length exceeds X. */
dds_return_t ros_wire_write(const ros_wire_type *wire, dds_entity_t writer, const void *message,
                            void *scratch);

/* Takes one sample from reader into message (a loan of message_size bytes).
 * 1: message holds a sample; 0: nothing to take; negative: Cyclone's error.
 * Invalid samples (disposals) are taken and skipped. */
int ros_wire_take(const ros_wire_type *wire, dds_entity_t reader, void *message, void *scratch);

/* The QoS of the bridge's endpoints (RELIABLE, KEEP_LAST depth, XCDR1,
 * never matching the bridge's own participant); TRANSIENT_LOCAL when
 * transient_local. The caller deletes it. */
dds_qos_t *ros_wire_qos(uint32_t depth, bool transient_local);

#endif
