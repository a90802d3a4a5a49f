/* The type check of a registration: whether two records describe the same
 * type, and, when they do not, the detail that names both sides (the type
 * of each, and the first field of their descriptions that differs, or
 * their largest messages).
 *
 * Invariants
 *   I7 (docs/design.md). Endpoints of one topic agree on the type (name,
 *       size, layout hash); a later endpoint of another type is refused
 *       with ZL_ETYPE, and the detail names both types. (G4, in slots.c,
 *       makes the check atomic.)
 */
#include <stdio.h>
#include <string.h>

#include "zloan/error.h"

#include "../../error_detail.h"
#include "internal.h"

bool zl__record_same_type(const zl__endpoint_record *a, const zl__endpoint_record *b)
{
    return a->type_size == b->type_size && a->layout_hash == b->layout_hash &&
           a->plain == b->plain && a->payload_size == b->payload_size &&
           a->description_hash == b->description_hash && strcmp(a->type_name, b->type_name) == 0;
}

/* Names the first field where descriptions a (ours) and b (the topic's)
 * differ, into out ("" when either is missing). */
static void describe_difference(const char *a, const char *b, char *out, size_t out_size)
{
    out[0] = '\0';
    if (a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0')
        return;
    for (int field = 0;; field++) {
        size_t na = strcspn(a, ";"), nb = strcspn(b, ";");
        if (na != nb || strncmp(a, b, na) != 0) {
            snprintf(out, out_size, "; field %d is '%.*s' here but '%.*s' on the topic", field,
                     (int)(na > 60 ? 60 : na), a, (int)(nb > 60 ? 60 : nb), b);
            return;
        }
        if (a[na] == '\0' || b[nb] == '\0')
            return;
        a += na + 1;
        b += nb + 1;
    }
}

/* When two types agree on name, size and layout hash but not on their
 * largest message (a sized type's element size or max_count, a serialized
 * type's bound, or a sized type against a fixed one), says so: the rest of
 * the detail would show two identical types. */
static void describe_payload(uint64_t here, uint64_t there, char *out, size_t out_size)
{
    char a[32] = "unbounded", b[32] = "unbounded";
    const uint64_t unbounded = (uint64_t)1 << 40; /* ZL__PAYLOAD_UNBOUNDED */
    if (here < unbounded)
        snprintf(a, sizeof a, "%llu bytes", (unsigned long long)here);
    if (there < unbounded)
        snprintf(b, sizeof b, "%llu bytes", (unsigned long long)there);
    snprintf(out, out_size,
             "; its largest message is %s here but %s on the topic (the element size or "
             "max_count of a sized type, or the bound of a serialized one, differs)",
             a, b);
}

int zl__registry_type_mismatch(const zl__registry *registry, const zl__endpoint_record *record,
                               const zl__endpoint_record *other, uint32_t kind)
{
    char theirs[ZL__DESCRIPTION_MAX], difference[200];
    uint64_t hash;
    if (zl__registry_read_description(registry, theirs, sizeof theirs, &hash) != 0 ||
        hash != other->description_hash)
        theirs[0] = '\0';
    describe_difference(registry->description, theirs, difference, sizeof difference);
    /* Only when the sizes agree: else the sizes printed say why. */
    if (difference[0] == '\0' && record->type_size == other->type_size &&
        record->payload_size != other->payload_size)
        describe_payload(record->payload_size, other->payload_size, difference,
                         sizeof difference);
    return zl__fail(ZL_ETYPE,
                    "topic %s has a %s of type '%s' (size %llu, layout hash %016llx%s) "
                    "but this %s has type '%s' (size %llu, layout hash %016llx%s)%s",
                    registry->topic, zl__registry_kind_name(kind), other->type_name,
                    (unsigned long long)other->type_size,
                    (unsigned long long)other->layout_hash, other->plain ? "" : ", not plain",
                    zl__registry_kind_name(record->kind), record->type_name,
                    (unsigned long long)record->type_size,
                    (unsigned long long)record->layout_hash, record->plain ? "" : ", not plain",
                    difference);
}
