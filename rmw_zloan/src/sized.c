/* rmw_zloan — a publisher's sized loans (rmw_zloan/rmw_zloan.h): a message
 * of a non-plain C type whose tail sequence lies in a zloan loan at the
 * place its elements will have when the message is published.
 *
 * The place of the tail in a CDR stream depends on the members before it
 * (strings), which the user sets after borrowing; so the stream's start is
 * left to publish time. A sized loan is a zloan loan of ROOM + the tail's
 * bytes + the most the members after it take; the tail's elements start at
 * ROOM (rounded up to the C alignment of an element: the user writes them
 * as C values), D bytes into the loan. Publishing computes where the tail's
 * elements fall in the message's stream (at), writes the whole stream at
 * S = D - at — every byte but the tail's, which are already in place — and
 * a head in the loan's first ZR_CDR_PLACED_HEAD bytes (cdr.c's magic and
 * S) that tells subscriptions where the stream starts (zloan publishes a
 * message from its first byte; nothing else would say it). The message is
 * S + the stream's length bytes. Subscriptions read the stream where the
 * head says (zr_cdr_locate), so rmw_take, rmw_take_serialized_message and
 * the loaned views all see an ordinary CDR stream.
 *
 * The slots' C structs are the publisher's: the members other than the tail
 * keep their rosidl memory from one loan to the next (freed when the
 * publisher is destroyed); the tail's sequence is pointed at the loan at
 * each borrow and never freed. */
#include "rmw_zloan.h"
#include "rmw_zloan/rmw_zloan.h"

#include <stdlib.h>
#include <string.h>

#include <rosidl_typesupport_introspection_c/field_types.h>

/* Bytes of a sized loan before its tail: the members before the tail may
 * take ROOM - ZR_CDR_PLACED_HEAD bytes of CDR. */
#define ROOM 4096u
#define ALIGN_MAX 16u /* the largest C alignment of a primitive (long double) */

typedef struct sized_slot {
    uint8_t *message; /* the C struct lent (the publisher's memory) */
    uint8_t *loan;    /* the zloan loan, NULL while the slot is free */
    size_t loan_bytes;
    uint8_t *data;    /* the tail's elements, in the loan */
    size_t count;
    bool initialised; /* the struct holds rosidl memory to finalise */
} sized_slot;

struct zr_sized {
    const zr_member *tail;
    size_t element_size;
    size_t element_align;
    size_t suffix_max;   /* the most CDR bytes of the members after the tail */
    uint8_t *structs;    /* ZR_PUBLISHER_LOANS structs, stride bytes apart */
    size_t stride;
    sized_slot slots[ZR_PUBLISHER_LOANS];
};

static bool is_sequence(const zr_member *m)
{
    return m->is_array_ && (m->array_size_ == 0 || m->is_upper_bound_);
}

/* The most CDR bytes the members of a fixed-size struct take, wherever they
 * start (each primitive run with 7 bytes of alignment slack), or SIZE_MAX
 * when one of them has no fixed size. */
static size_t fixed_cdr_max(const zr_members *members, uint32_t first, int depth)
{
    size_t total = 0;
    if (depth > ZR_CDR_DEPTH_MAX)
        return SIZE_MAX;
    for (uint32_t i = first; i < members->member_count_; i++) {
        const zr_member *m = &members->members_[i];
        size_t count = m->is_array_ ? m->array_size_ : 1;
        size_t one;
        if (is_sequence(m) || m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_STRING ||
            m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_WSTRING)
            return SIZE_MAX;
        if (m->type_id_ == rosidl_typesupport_introspection_c__ROS_TYPE_MESSAGE) {
            one = fixed_cdr_max((const zr_members *)m->members_->data, 0, depth + 1);
            if (one == SIZE_MAX)
                return SIZE_MAX;
        } else {
            one = zr_primitive_size(m->type_id_);
        }
        total += one * count + 7;
    }
    return total;
}

/* The publisher's sized loans, made at its first sized borrow; NULL (error
 * set) when its type has no tail or memory is short. */
static zr_sized *sized_of(zr_publisher *p, rmw_ret_t *ret)
{
    if (p->sized != NULL)
        return p->sized;
    const zr_members *members = p->type.members;
    *ret = RMW_RET_UNSUPPORTED;
    if (p->type.plain || p->type.cpp || members->member_count_ == 0) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
            "%s has no tail sequence for a sized loan: it is %s", p->type.name,
            p->type.plain ? "plain (rcl_borrow_loaned_message lends it whole)"
                          : "of the C++ type support");
        return NULL;
    }
    /* The last member that is not fixed must be a sequence of primitives. */
    uint32_t i = members->member_count_;
    while (i > 0 && fixed_cdr_max(members, i - 1, 0) != SIZE_MAX)
        i--;
    const zr_member *tail = i > 0 ? &members->members_[i - 1] : NULL;
    if (tail == NULL || !is_sequence(tail) || zr_primitive_size(tail->type_id_) == 0) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
            "%s has no tail sequence for a sized loan (a sequence of primitives after which "
            "every member has a fixed size)", p->type.name);
        return NULL;
    }
    zr_sized *z = calloc(1, sizeof *z);
    size_t stride = (members->size_of_ + 15) & ~(size_t)15;
    uint8_t *structs = calloc(ZR_PUBLISHER_LOANS, stride);
    if (z == NULL || structs == NULL) {
        free(z);
        free(structs);
        *ret = RMW_RET_BAD_ALLOC;
        RMW_SET_ERROR_MSG("out of memory for the publisher's sized loans");
        return NULL;
    }
    z->tail = tail;
    z->element_size = zr_primitive_size(tail->type_id_);
    z->element_align = zr_primitive_alignment(tail->type_id_);
    z->suffix_max = fixed_cdr_max(members, i, 0);
    z->structs = structs;
    z->stride = stride;
    for (size_t k = 0; k < ZR_PUBLISHER_LOANS; k++)
        z->slots[k].message = structs + k * stride;
    p->sized = z;
    return z;
}

static zr_sequence *tail_of(const zr_sized *z, const sized_slot *slot)
{
    return (zr_sequence *)(void *)(slot->message + z->tail->offset_);
}

/* Lends slot a zloan loan with room for count elements of the tail. */
static rmw_ret_t slot_lend(zr_publisher *p, zr_sized *z, sized_slot *slot, size_t count)
{
    size_t bytes = ROOM + ALIGN_MAX + count * z->element_size + z->suffix_max;
    void *loan;
    int rc = zl_publisher_loan_sized(p->zl, bytes - offsetof(zr_cdr_message, data), &loan);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_publisher_loan_sized");
    if (!slot->initialised) {
        /* The defaults (introspection's init reports no failure). It gives
         * the tail an empty sequence, which is pointed at each loan from
         * now on. */
        p->type.members->init_function(slot->message, ROSIDL_RUNTIME_C_MSG_INIT_ALL);
        slot->initialised = true;
    }
    size_t d = ROOM;
    while (((uintptr_t)loan + d) % z->element_align != 0)
        d++;
    slot->loan = loan;
    slot->loan_bytes = bytes;
    slot->data = (uint8_t *)loan + d;
    slot->count = count;
    *tail_of(z, slot) = (zr_sequence){slot->data, count, count};
    return RMW_RET_OK;
}

rmw_ret_t rmw_zloan_borrow_loaned_message_sized(const rmw_publisher_t *publisher, size_t count,
                                                void **ros_message)
{
    ZR_CHECK_ARG(publisher);
    ZR_CHECK_ID(publisher);
    ZR_CHECK_ARG(ros_message);
    if (*ros_message != NULL) {
        RMW_SET_ERROR_MSG("*ros_message must be NULL");
        return RMW_RET_INVALID_ARGUMENT;
    }
    zr_publisher *p = publisher->data;
    if (!p->node->context->impl->loans) {
        RMW_SET_ERROR_MSG("loans are disabled (ROS_DISABLE_LOANED_MESSAGES)");
        return RMW_RET_UNSUPPORTED;
    }
    zr_publisher_enter(p);
    rmw_ret_t ret = RMW_RET_OK;
    zr_sized *z = sized_of(p, &ret);
    if (z == NULL)
        goto out;
    if ((z->tail->is_upper_bound_ && count > z->tail->array_size_) ||
        count > (SIZE_MAX / 2) / z->element_size) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING("count %zu exceeds the bound of %s.%s", count,
                                             p->type.name, z->tail->name_);
        ret = RMW_RET_INVALID_ARGUMENT;
        goto out;
    }
    sized_slot *slot = NULL;
    for (size_t k = 0; k < ZR_PUBLISHER_LOANS && slot == NULL; k++)
        if (z->slots[k].loan == NULL)
            slot = &z->slots[k];
    if (slot == NULL) {
        ret = zr_fail_zl(ZL_ETOOMANYLOANS, "rmw_zloan_borrow_loaned_message_sized");
        goto out;
    }
    ret = slot_lend(p, z, slot, count);
    if (ret == RMW_RET_OK)
        *ros_message = slot->message;
out:
    zr_publisher_leave(p);
    return ret;
}

/* The slot lent as message, or NULL. */
static sized_slot *slot_of(const zr_publisher *p, const void *message)
{
    const zr_sized *z = p->sized;
    if (z == NULL || (const uint8_t *)message < z->structs)
        return NULL;
    size_t at = (size_t)((const uint8_t *)message - z->structs);
    if (at % z->stride != 0 || at / z->stride >= ZR_PUBLISHER_LOANS)
        return NULL;
    sized_slot *slot = (sized_slot *)&z->slots[at / z->stride];
    return slot->loan != NULL ? slot : NULL;
}

bool zr_sized_lent(const zr_publisher *p, const void *message)
{
    return slot_of(p, message) != NULL;
}

/* Where the stream starts in slot's loan (*start) and its length; an
 * error when the members before the tail do not fit ROOM. */
static rmw_ret_t slot_place(zr_publisher *p, zr_sized *z, sized_slot *slot, size_t *start,
                            size_t *len)
{
    const zr_sequence *tail = tail_of(z, slot);
    if (tail->data != slot->data || tail->capacity != slot->count || tail->size > slot->count) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
            "the sized loan's %s was replaced or grown (it must keep its data and capacity, "
            "%zu elements at most)", z->tail->name_, slot->count);
        return RMW_RET_INVALID_ARGUMENT;
    }
    size_t at;
    *len = zr_cdr_size_at(&p->type, slot->message, slot->data, &at);
    size_t d = (size_t)(slot->data - slot->loan);
    if (at == SIZE_MAX) /* an empty tail: its place does not matter */
        at = d - ZR_CDR_PLACED_HEAD;
    if (at > d - ZR_CDR_PLACED_HEAD || d - at + *len > slot->loan_bytes) {
        RMW_SET_ERROR_MSG_WITH_FORMAT_STRING(
            "the members of %s before %s take %zu bytes of CDR, more than the %zu a sized loan "
            "reserves for them", p->type.name, z->tail->name_, at, d - ZR_CDR_PLACED_HEAD);
        return RMW_RET_ERROR;
    }
    *start = d - at;
    return RMW_RET_OK;
}

rmw_ret_t zr_sized_publish(zr_publisher *p, void *message)
{
    zr_sized *z = p->sized;
    sized_slot *slot = slot_of(p, message);
    size_t start, len;
    rmw_ret_t ret = slot_place(p, z, slot, &start, &len);
    if (ret != RMW_RET_OK)
        return ret;
    /* Every byte but the tail's, which are in place already. */
    if (zr_cdr_serialize(&p->type, slot->message, slot->loan + start,
                         slot->loan_bytes - start) != len) {
        RMW_SET_ERROR_MSG("CDR serialization did not fit the size it computed");
        return RMW_RET_ERROR;
    }
    uint32_t at = (uint32_t)start;
    memcpy(slot->loan, zr_cdr_placed_magic, 4);
    memcpy(slot->loan + 4, &at, 4);
    int rc = zl_publisher_publish_loan_sized(p->zl, slot->loan,
                                             start + len - offsetof(zr_cdr_message, data));
    if (rc != 0)
        return zr_fail_zl(rc, "zl_publisher_publish_loan_sized"); /* still lent */
    slot->loan = NULL;
    return RMW_RET_OK;
}

rmw_ret_t zr_sized_return(zr_publisher *p, void *message)
{
    sized_slot *slot = slot_of(p, message);
    int rc = zl_publisher_return_loan(p->zl, slot->loan);
    if (rc != 0)
        return zr_fail_zl(rc, "zl_publisher_return_loan");
    slot->loan = NULL;
    return RMW_RET_OK;
}

void zr_sized_destroy(zr_publisher *p)
{
    zr_sized *z = p->sized;
    if (z == NULL)
        return;
    for (size_t k = 0; k < ZR_PUBLISHER_LOANS; k++) {
        sized_slot *slot = &z->slots[k];
        if (!slot->initialised)
            continue;
        /* The tail points into shared memory, which rosidl must not free. */
        *tail_of(z, slot) = (zr_sequence){NULL, 0, 0};
        p->type.members->fini_function(slot->message);
    }
    free(z->structs);
    free(z);
    p->sized = NULL;
}
