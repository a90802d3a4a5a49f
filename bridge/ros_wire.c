/* zloan-bridge: ROS 2's wire conventions (see ros_wire.h). */
#include "ros_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cyclone's operations for one type are bounded: a type whose inlined
 * description needs more is refused rather than half-mapped. */
#define OPS_MAX 16384
#define NESTING_MAX 16

typedef struct ops_builder {
    uint32_t *ops;
    size_t used;     /* words */
    uint32_t count;  /* instructions (the descriptor's m_nops) */
    const char *type_name;
    uint32_t *string_ends;
    size_t string_count;
} ops_builder;

static bool ops_emit(ops_builder *b, uint32_t instruction, const uint32_t *args, size_t nargs)
{
    if (b->used + 1 + nargs > OPS_MAX) {
        fprintf(stderr, "zloan-bridge: type '%s' needs more than %d DDS operations\n",
                b->type_name, OPS_MAX);
        return false;
    }
    b->ops[b->used++] = instruction;
    for (size_t i = 0; i < nargs; i++)
        b->ops[b->used++] = args[i];
    b->count++;
    return true;
}

static size_t kind_size(zl_field_kind kind)
{
    switch (kind) {
    case ZL_FIELD_BOOL: case ZL_FIELD_CHAR: case ZL_FIELD_I8: case ZL_FIELD_U8: return 1;
    case ZL_FIELD_I16: case ZL_FIELD_U16: return 2;
    case ZL_FIELD_I32: case ZL_FIELD_U32: case ZL_FIELD_F32: return 4;
    case ZL_FIELD_I64: case ZL_FIELD_U64: case ZL_FIELD_F64: return 8;
    default: return 0;
    }
}

/* The DDS value code of a scalar kind, and its sign/float flags. */
static uint32_t kind_value(zl_field_kind kind, uint32_t *flags)
{
    *flags = 0;
    switch (kind) {
    case ZL_FIELD_BOOL: return DDS_OP_VAL_BLN;
    case ZL_FIELD_CHAR: case ZL_FIELD_U8: return DDS_OP_VAL_1BY;
    case ZL_FIELD_I8: *flags = DDS_OP_FLAG_SGN; return DDS_OP_VAL_1BY;
    case ZL_FIELD_U16: return DDS_OP_VAL_2BY;
    case ZL_FIELD_I16: *flags = DDS_OP_FLAG_SGN; return DDS_OP_VAL_2BY;
    case ZL_FIELD_U32: return DDS_OP_VAL_4BY;
    case ZL_FIELD_I32: *flags = DDS_OP_FLAG_SGN; return DDS_OP_VAL_4BY;
    case ZL_FIELD_F32: *flags = DDS_OP_FLAG_FP; return DDS_OP_VAL_4BY;
    case ZL_FIELD_U64: return DDS_OP_VAL_8BY;
    case ZL_FIELD_I64: *flags = DDS_OP_FLAG_SGN; return DDS_OP_VAL_8BY;
    case ZL_FIELD_F64: *flags = DDS_OP_FLAG_FP; return DDS_OP_VAL_8BY;
    default: return 0;
    }
}

/* Operations for fields at base: nested structs inlined (arrays of them
 * unrolled), char arrays as bounded strings. */
static bool ops_fields(ops_builder *b, const zl_field *fields, size_t count, size_t base,
                       int depth)
{
    if (depth > NESTING_MAX)
        return false;
    for (size_t i = 0; i < count; i++) {
        const zl_field *f = &fields[i];
        if (f->kind == ZL_FIELD_STRUCT) {
            if (f->element_size == 0)
                return false;
            for (size_t at = 0; at < f->size; at += f->element_size)
                if (!ops_fields(b, f->fields, f->field_count, base + f->offset + at, depth + 1))
                    return false;
            continue;
        }
        size_t element = kind_size(f->kind);
        if (element == 0 || f->size % element != 0 || base + f->offset > UINT32_MAX)
            return false;
        size_t n = f->size / element;
        uint32_t offset = (uint32_t)(base + f->offset);
        uint32_t flags;
        uint32_t value = kind_value(f->kind, &flags);
        if (f->kind == ZL_FIELD_CHAR && n > 1) {
            uint32_t args[2] = {offset, (uint32_t)n};
            if (!ops_emit(b, DDS_OP_ADR | DDS_OP_TYPE_BST, args, 2))
                return false;
            b->string_ends[b->string_count++] = offset + (uint32_t)n - 1; /* < OPS_MAX */
        } else if (n > 1) {
            uint32_t args[2] = {offset, (uint32_t)n};
            if (!ops_emit(b, DDS_OP_ADR | DDS_OP_TYPE_ARR | (value << 8) | flags, args, 2))
                return false;
        } else if (!ops_emit(b, DDS_OP_ADR | (value << 16) | flags, &offset, 1)) {
            return false;
        }
    }
    return true;
}

/* Whether the struct ends in a sequence: "X_length" (U32) then array X. */
static bool find_tail(const zl_field *fields, size_t count)
{
    if (count < 2)
        return false;
    const zl_field *length = &fields[count - 2], *tail = &fields[count - 1];
    size_t element = kind_size(tail->kind);
    if (length->kind != ZL_FIELD_U32 || length->size != 4 || element == 0 ||
        tail->kind == ZL_FIELD_CHAR || tail->size / element < 2)
        return false;
    size_t n = strlen(tail->name);
    return strncmp(length->name, tail->name, n) == 0 && strcmp(length->name + n, "_length") == 0;
}

bool ros_wire_topic_name(const char *zloan_topic, char *out, size_t out_size)
{
    int n = snprintf(out, out_size, "rt%s", zloan_topic);
    return n > 0 && (size_t)n < out_size;
}

bool ros_wire_type_name(const char *zloan_type, char *out, size_t out_size)
{
    const char *first = strchr(zloan_type, '/');
    const char *last = strrchr(zloan_type, '/');
    int n;
    if (first != NULL && last != first && strncmp(first, "/msg/", 5) == 0 && last == first + 4) {
        n = snprintf(out, out_size, "%.*s::msg::dds_::%s_", (int)(first - zloan_type), zloan_type,
                     last + 1);
    } else {
        n = snprintf(out, out_size, "zloan::msg::dds_::%s_", zloan_type);
        if (n > 0 && (size_t)n < out_size)
            for (char *c = out + strlen("zloan::msg::dds_::"); *c != '\0'; c++)
                if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9')))
                    *c = '_';
    }
    return n > 0 && (size_t)n < out_size;
}

int ros_wire_type_init(ros_wire_type *wire, const char *zloan_type_name, size_t message_size,
                       const zl_field *fields, size_t field_count)
{
    memset(wire, 0, sizeof *wire);
    char dds_name[ROS_WIRE_DDS_NAME_MAX];
    if (fields == NULL || field_count == 0 || message_size > UINT32_MAX / 2 ||
        !ros_wire_type_name(zloan_type_name, dds_name, sizeof dds_name)) {
        fprintf(stderr, "zloan-bridge: type '%s' has no field description or is too large\n",
                zloan_type_name);
        return -1;
    }
    ops_builder b = {.ops = calloc(OPS_MAX, sizeof(uint32_t)), .type_name = zloan_type_name,
                     .string_ends = calloc(OPS_MAX, sizeof(uint32_t))};
    wire->dds_type_name = strdup(dds_name);
    if (b.ops == NULL || b.string_ends == NULL || wire->dds_type_name == NULL)
        goto fail;
    wire->message_size = message_size;
    wire->sample_size = message_size;
    wire->has_tail = find_tail(fields, field_count);
    size_t plain_count = wire->has_tail ? field_count - 2 : field_count;
    if (!ops_fields(&b, fields, plain_count, 0, 0))
        goto unmappable;
    if (wire->has_tail) {
        const zl_field *length = &fields[field_count - 2], *tail = &fields[field_count - 1];
        wire->tail_offset = tail->offset;
        wire->tail_length_offset = length->offset;
        wire->tail_element_size = kind_size(tail->kind);
        wire->tail_capacity = (uint32_t)(tail->size / wire->tail_element_size);
        wire->sequence_offset = (tail->offset + 7) & ~(size_t)7;
        wire->sample_size = wire->sequence_offset + sizeof(dds_sequence_t);
        if (wire->tail_offset + tail->size != message_size &&
            message_size - (wire->tail_offset + tail->size) >= 8)
            goto unmappable; /* X must end the struct (padding aside) */
        uint32_t flags;
        uint32_t value = kind_value(tail->kind, &flags);
        uint32_t args[2] = {(uint32_t)wire->sequence_offset, wire->tail_capacity};
        if (!ops_emit(&b, DDS_OP_ADR | DDS_OP_TYPE_BSQ | (value << 8) | flags, args, 2))
            goto unmappable;
    }
    if (!ops_emit(&b, DDS_OP_RTS, NULL, 0))
        goto unmappable;
    wire->ops = b.ops;
    wire->string_ends = b.string_ends;
    wire->string_count = b.string_count;
    /* The descriptor's members are const: fill a prototype and copy it. */
    dds_topic_descriptor_t prototype = {
        .m_size = (uint32_t)wire->sample_size,
        .m_align = 8,
        .m_flagset = 0,
        .m_nkeys = 0,
        .m_typename = wire->dds_type_name,
        .m_keys = NULL,
        .m_nops = b.count,
        .m_ops = wire->ops,
        .m_meta = "",
    };
    memcpy(&wire->descriptor, &prototype, sizeof prototype);
    return 0;
unmappable:
    fprintf(stderr, "zloan-bridge: type '%s' cannot be mapped to DDS (a field kind, an offset "
            "or its size)\n", zloan_type_name);
fail:
    free(b.ops);
    free(b.string_ends);
    free(wire->dds_type_name);
    memset(wire, 0, sizeof *wire);
    return -1;
}

void ros_wire_type_fini(ros_wire_type *wire)
{
    free(wire->ops);
    free(wire->string_ends);
    free(wire->dds_type_name);
    memset(wire, 0, sizeof *wire);
}

dds_return_t ros_wire_write(const ros_wire_type *wire, dds_entity_t writer, const void *message,
                            void *scratch)
{
    const unsigned char *bytes = message;
    if (!wire->has_tail && wire->string_count == 0)
        return dds_write(writer, message);
    if (!wire->has_tail) {
        memcpy(scratch, bytes, wire->message_size);
        for (size_t i = 0; i < wire->string_count; i++)
            ((unsigned char *)scratch)[wire->string_ends[i]] = 0;
        return dds_write(writer, scratch);
    }
    uint32_t length;
    memcpy(&length, bytes + wire->tail_length_offset, sizeof length);
    if (length > wire->tail_capacity)
        return DDS_RETCODE_BAD_PARAMETER;
    memcpy(scratch, bytes, wire->tail_offset);
    for (size_t i = 0; i < wire->string_count; i++)
        ((unsigned char *)scratch)[wire->string_ends[i]] = 0;
    /* The sequence points into the message: Cyclone serializes the tail from
     * the loan itself and never frees it (_release false). */
    dds_sequence_t seq = {._maximum = length, ._length = length,
                          ._buffer = (uint8_t *)(uintptr_t)(bytes + wire->tail_offset),
                          ._release = false};
    memcpy((unsigned char *)scratch + wire->sequence_offset, &seq, sizeof seq);
    return dds_write(writer, scratch);
}

int ros_wire_take(const ros_wire_type *wire, dds_entity_t reader, void *message, void *scratch)
{
    unsigned char *bytes = message;
    for (;;) {
        dds_sample_info_t info;
        void *samples[1] = {wire->has_tail ? scratch : message};
        dds_sequence_t *seq = NULL;
        if (wire->has_tail) {
            memset(scratch, 0, wire->sequence_offset);
            seq = (dds_sequence_t *)(void *)((unsigned char *)scratch + wire->sequence_offset);
            /* Cyclone deserializes the tail straight into the loan: the
             * bound (tail_capacity) was checked when the sample arrived. */
            *seq = (dds_sequence_t){._maximum = wire->tail_capacity, ._length = 0,
                                    ._buffer = bytes + wire->tail_offset, ._release = false};
        }
        dds_return_t n = dds_take(reader, samples, &info, 1, 1);
        if (n <= 0)
            return n;
        if (!info.valid_data)
            continue;
        if (!wire->has_tail)
            return 1;
        uint32_t length = seq->_length;
        if (seq->_buffer != bytes + wire->tail_offset) {
            /* Cyclone chose its own buffer after all: copy, then free it. */
            if (length <= wire->tail_capacity && seq->_buffer != NULL)
                memcpy(bytes + wire->tail_offset, seq->_buffer,
                       (size_t)length * wire->tail_element_size);
            if (seq->_release)
                dds_free(seq->_buffer);
            if (length > wire->tail_capacity)
                continue;
        }
        memcpy(bytes, scratch, wire->tail_offset);
        memcpy(bytes + wire->tail_length_offset, &length, sizeof length);
        return 1;
    }
}

dds_qos_t *ros_wire_qos(uint32_t depth, bool transient_local)
{
    dds_qos_t *qos = dds_create_qos();
    if (qos == NULL)
        return NULL;
    dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_MSECS(100));
    dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, depth > 0 ? (int32_t)depth : 1);
    dds_qset_durability(qos, transient_local ? DDS_DURABILITY_TRANSIENT_LOCAL
                                             : DDS_DURABILITY_VOLATILE);
    /* The bridge's own writer and reader of one topic must never match: what
     * it injected locally is not sent back (no echo). */
    dds_qset_ignorelocal(qos, DDS_IGNORELOCAL_PARTICIPANT);
    dds_data_representation_id_t xcdr1 = DDS_DATA_REPRESENTATION_XCDR1;
    dds_qset_data_representation(qos, 1, &xcdr1);
    return qos;
}
