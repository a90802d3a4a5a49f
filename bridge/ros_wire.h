/* zloan-bridge: ROS 2's wire conventions for a described zloan type.
 *
 * A topic "/name" travels as DDS topic "rt/name"; type "pkg/msg/Type" as
 * "pkg::msg::dds_::Type_" (any other name N as "zloan::msg::dds_::N_", its
 * non-identifier characters replaced by '_'); samples are XCDR1
 * little-endian, keyless. The DDS type is built at run time from the field
 * description: a Cyclone topic descriptor whose operations read and write
 * the zloan message in place (the rules are in zloan/ros_msgs.h), so that
 * the bridge hands Cyclone the loaned message itself and Cyclone
 * deserializes a remote sample straight into a loan. A sized type's tail
 * (zloan/type.h) is a CDR sequence whose length is the message's count:
 * inbound, the bridge reads that length from the CDR first, asks for a
 * loan of that many elements, then has Cyclone deserialize into it. */
#ifndef ZLOAN_BRIDGE_ROS_WIRE_H
#define ZLOAN_BRIDGE_ROS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dds/dds.h>
#include <dds/ddsi/ddsi_serdata.h>

#include "zloan/zloan.h"

#define ROS_WIRE_DDS_NAME_MAX 320

typedef struct ros_wire_type {
    dds_topic_descriptor_t descriptor; /* Cyclone's view */
    uint32_t *ops;
    char *dds_type_name;
    /* The message's size; for a sized type (a tail, ZL_FIELD_TAIL) the size
     * of its fixed part, which is the tail's offset. */
    size_t fixed_size;
    bool has_tail;
    size_t tail_element_size;
    /* With a tail, Cyclone sees a shadow sample: the message's fixed part,
     * then a dds_sequence_t at sequence_offset pointing into the tail. */
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
 * writes them, parsed back; a last field of size 0 is a sized type's tail)
 * whose messages (fixed part, for a sized type) have fixed_size bytes.
 * 0, or -1 with a message on stderr when a field cannot be mapped.
 * ros_wire_type_fini frees it. */
int ros_wire_type_init(ros_wire_type *wire, const char *zloan_type_name, size_t fixed_size,
                       const zl_field *fields, size_t field_count);
void ros_wire_type_fini(ros_wire_type *wire);

/* Writes message (a zloan message of this type with count tail elements)
 * with writer: in place, or through a copy of its fixed part in scratch
 * (sample_size bytes) when it has a tail or strings; the tail itself is
 * serialized from the message. Returns dds_write's code;
 * DDS_RETCODE_BAD_PARAMETER when count does not fit a CDR sequence. */
dds_return_t ros_wire_write(const ros_wire_type *wire, dds_entity_t writer, const void *message,
                            size_t count, void *scratch);

/* Takes one valid sample from reader, serialized (invalid samples, such as
 * disposals, are taken and skipped). 1: *sample holds it (the caller
 * releases it with ddsi_serdata_unref); 0: nothing to take; negative:
 * Cyclone's error. */
int ros_wire_take_serialized(dds_entity_t reader, struct ddsi_serdata **sample);

/* The length of sample's tail sequence, read from its CDR without
 * deserializing it, so that a loan of the right size can be asked for
 * first. false when the CDR is shorter than the type (never for a sample
 * Cyclone accepted). */
bool ros_wire_tail_count(const ros_wire_type *wire, const struct ddsi_serdata *sample,
                         uint32_t *count);

/* Deserializes sample into message (a loan with room for count tail
 * elements, count as ros_wire_tail_count gave it; 0 without a tail): the
 * tail straight into the loan, the fixed part through scratch. false when
 * Cyclone refuses the sample. */
bool ros_wire_deserialize(const ros_wire_type *wire, const struct ddsi_serdata *sample,
                          void *message, uint32_t count, void *scratch);

/* The QoS of the bridge's endpoints (RELIABLE, KEEP_LAST depth, XCDR1,
 * never matching the bridge's own participant); TRANSIENT_LOCAL when
 * transient_local. The caller deletes it. */
dds_qos_t *ros_wire_qos(uint32_t depth, bool transient_local);

#endif
