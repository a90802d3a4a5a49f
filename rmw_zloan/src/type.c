/* rmw_zloan — what a ROS message type becomes in zloan.
 *
 * rosidl's C or C++ introspection type support gives the members of a
 * message (the two describe them with structs of one layout).
 * A message whose members are all fixed-size (primitives other than strings,
 * fixed arrays of them, nested messages of the same kind) is "plain": its C
 * struct holds all of it, so zloan lends it from shared memory and a
 * subscription reads the publisher's bytes. Any other message travels as its
 * CDR form in a sized zloan message (zr_cdr_message), one byte per element.
 * Endpoints of one topic agree on the type name and layout text, so zloan
 * refuses a peer built from another definition of the type (ZL_ETYPE). The
 * layout text of a plain type has its members' offsets (the C and the C++
 * struct have the same ones); that of a CDR type has none (the C and the
 * C++ struct differ, their CDR does not), so a C and a C++ endpoint of one
 * type meet. */
#include "rmw_zloan.h"

#include <stdio.h>
#include <string.h>

#include <rosidl_runtime_c/message_type_support_struct.h>
#include <rosidl_runtime_c/service_type_support_struct.h>
#include <rosidl_typesupport_introspection_c/field_types.h>
#include <rosidl_typesupport_introspection_c/identifier.h>

/* rosidl_typesupport_introspection_cpp::typesupport_identifier, a C++
 * symbol; its dispatch compares the text. */
static const char introspection_cpp[] = "rosidl_typesupport_introspection_cpp";

static bool member_is_sequence(const zr_member *m)
{
    return m->is_array_ && (m->array_size_ == 0 || m->is_upper_bound_);
}

static const zr_members *nested_members(const zr_member *m)
{
    const rosidl_message_type_support_t *ts = m->members_;
    return ts != NULL ? (const zr_members *)ts->data : NULL;
}

/* Whether members is plain, and its C alignment (*alignment). */
static bool members_plain(const zr_members *members, size_t *alignment, int depth)
{
    bool plain = true;
    size_t align = 1;
    if (depth > 32)
        return false;
    for (uint32_t i = 0; i < members->member_count_; i++) {
        const zr_member *m = &members->members_[i];
        size_t a = 1;
        if (m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_STRING ||
            m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_WSTRING ||
            member_is_sequence(m)) {
            plain = false;
            a = _Alignof(void *);
        } else if (m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE) {
            const zr_members *n = nested_members(m);
            if (n == NULL || !members_plain(n, &a, depth + 1))
                plain = false;
        } else {
            a = zr_primitive_size(m->type_id_); /* each primitive's C alignment is its size */
        }
        if (a > align)
            align = a;
    }
    *alignment = align;
    return plain;
}

/* Appends the layout of members to out: name, kind, array size and (when
 * offsets) offset of each member, nested messages inline, so that two
 * definitions differ. */
static void layout_append(const zr_members *members, bool offsets, char *out, size_t cap,
                          int depth)
{
    size_t len = strlen(out);
    if (depth > 32)
        return;
    for (uint32_t i = 0; i < members->member_count_ && len + 1 < cap; i++) {
        const zr_member *m = &members->members_[i];
        int n = snprintf(out + len, cap - len, "%s:%u%s%zu@%u%s", m->name_, (unsigned)m->type_id_,
                         m->is_array_ ? (m->is_upper_bound_ ? "<" : "[") : "#", m->array_size_,
                         offsets ? (unsigned)m->offset_ : 0u,
                         m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE ? "{" : ";");
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
        if (m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE) {
            const zr_members *nm = nested_members(m);
            if (nm != NULL)
                layout_append(nm, offsets, out, cap, depth + 1);
            len = strlen(out);
            if (len + 2 < cap) {
                out[len++] = '}';
                out[len] = '\0';
            }
        }
    }
}

static rmw_ret_t type_name(const zr_members *members, const char *suffix, char *out, size_t cap)
{
    /* "std_msgs__msg" (C) or "std_msgs::msg" (C++) + "String"
     * -> "std_msgs/msg/String" */
    size_t len = 0;
    for (const char *p = members->message_namespace_; *p != '\0'; p++) {
        if (len + 2 >= cap)
            goto too_long;
        if ((p[0] == '_' && p[1] == '_') || (p[0] == ':' && p[1] == ':')) {
            out[len++] = '/';
            p++;
        } else {
            out[len++] = *p;
        }
    }
    int n = snprintf(out + len, cap - len, "/%s%s", members->message_name_, suffix);
    if (n < 0 || (size_t)n >= cap - len)
        goto too_long;
    return RMW_RET_OK;
too_long:
    RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("type name of %s::%s is longer than zloan's %d bytes",
                                         members->message_namespace_, members->message_name_,
                                         ZL_TYPE_NAME_MAX - 1);
    return RMW_RET_INVALID_ARGUMENT;
}

rmw_ret_t zr_type_init_members(zr_type *type, const zr_members *members, bool cpp,
                               const char *suffix, bool service)
{
    memset(type, 0, sizeof *type);
    type->members = members;
    type->cpp = cpp;
    rmw_ret_t ret = type_name(members, suffix, type->name, sizeof type->name);
    if (ret != RMW_RET_OK)
        return ret;
    size_t alignment = 1;
    type->plain = members_plain(members, &alignment, 0) && !service;
    layout_append(members, type->plain, type->layout, sizeof type->layout, 0);
    type->zl.name = type->name;
    type->zl.layout = type->layout;
    type->zl.plain = true;
    if (type->plain) {
        type->zl.size = members->size_of_;
        type->zl.alignment = alignment;
    } else if (service) {
        type->zl.size = offsetof(zr_service_message, cdr);
        type->zl.alignment = _Alignof(zr_service_message);
        type->zl.element_size = 1;
    } else {
        type->zl.size = offsetof(zr_cdr_message, data);
        type->zl.alignment = _Alignof(zr_cdr_message);
        type->zl.element_size = 1;
    }
    return RMW_RET_OK;
}

/* A C dispatch (rosidl_typesupport_c) lends the C introspection, a C++ one
 * (rosidl_typesupport_cpp, rclcpp's) the C++ introspection. */
static bool wants_cpp(const char *identifier)
{
    return strstr(identifier, "_cpp") != NULL;
}

rmw_ret_t zr_type_init(zr_type *type, const rosidl_message_type_support_t *ts)
{
    bool cpp = wants_cpp(ts->typesupport_identifier);
    const rosidl_message_type_support_t *h = get_message_typesupport_handle(
        ts, cpp ? introspection_cpp : rosidl_typesupport_introspection_c__identifier);
    if (h == NULL) {
        rcutils_reset_error();
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
            "type support '%s' has no %s: rmw_zloan needs it to know the message's layout",
            ts->typesupport_identifier,
            cpp ? introspection_cpp : rosidl_typesupport_introspection_c__identifier);
        return RMW_RET_UNSUPPORTED;
    }
    return zr_type_init_members(type, (const zr_members *)h->data, cpp, "", false);
}

const rosidl_typesupport_introspection_c__ServiceMembers *
zr_service_members(const rosidl_service_type_support_t *ts, bool *cpp)
{
    *cpp = wants_cpp(ts->typesupport_identifier);
    /* The C++ ServiceMembers has the C one's layout. */
    const rosidl_service_type_support_t *h = get_service_typesupport_handle(
        ts, *cpp ? introspection_cpp : rosidl_typesupport_introspection_c__identifier);
    if (h == NULL) {
        rcutils_reset_error();
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
            "service type support '%s' has no %s", ts->typesupport_identifier,
            *cpp ? introspection_cpp : rosidl_typesupport_introspection_c__identifier);
        return NULL;
    }
    return (const rosidl_typesupport_introspection_c__ServiceMembers *)h->data;
}
