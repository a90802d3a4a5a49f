/* Parsing, printing and filling messages from a field description. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"

static const char *const kinds[] = {
    [ZL_FIELD_BOOL] = "bool", [ZL_FIELD_CHAR] = "char", [ZL_FIELD_I8] = "i8",
    [ZL_FIELD_U8] = "u8",     [ZL_FIELD_I16] = "i16",   [ZL_FIELD_U16] = "u16",
    [ZL_FIELD_I32] = "i32",   [ZL_FIELD_U32] = "u32",   [ZL_FIELD_I64] = "i64",
    [ZL_FIELD_U64] = "u64",   [ZL_FIELD_F32] = "f32",   [ZL_FIELD_F64] = "f64",
};

static size_t kind_size(zl_field_kind k)
{
    switch (k) {
    case ZL_FIELD_I16: case ZL_FIELD_U16: return 2;
    case ZL_FIELD_I32: case ZL_FIELD_U32: case ZL_FIELD_F32: return 4;
    case ZL_FIELD_I64: case ZL_FIELD_U64: case ZL_FIELD_F64: return 8;
    default: return 1;
    }
}

static size_t element_size(const zl_field *f)
{
    return f->kind == ZL_FIELD_STRUCT ? f->element_size : kind_size(f->kind);
}

/* Elements of field f: its array length, or for a sized type's tail (size
 * 0, at the top level only) the message's count, tail. */
static size_t elements(const zl_field *f, size_t tail)
{
    return f->size == 0 ? tail : f->size / element_size(f);
}

static bool parse_number(const char **p, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(*p, &end, 10);
    if (end == *p || errno != 0)
        return false;
    *out = (size_t)v;
    *p = end;
    return true;
}

static bool parse_list(const char **p, zl_field **fields, size_t *count, int depth);

void describe_free(zl_field *fields, size_t count)
{
    if (fields == NULL)
        return;
    for (size_t i = 0; i < count; i++) {
        free((char *)fields[i].name);
        describe_free((zl_field *)fields[i].fields, fields[i].field_count);
    }
    free(fields);
}

static bool parse_field(const char **p, zl_field *f, int depth)
{
    memset(f, 0, sizeof *f);
    if (**p == '{') {
        (*p)++;
        zl_field *nested;
        size_t n;
        if (!parse_list(p, &nested, &n, depth + 1))
            return false;
        f->kind = ZL_FIELD_STRUCT;
        f->fields = nested;
        f->field_count = n;
        if (**p != '}' || (*p)[1] != ':')
            return false;
        *p += 2;
        if (!parse_number(p, &f->element_size) || f->element_size == 0)
            return false;
    } else {
        size_t len = strcspn(*p, " ");
        f->kind = 0;
        for (int k = ZL_FIELD_BOOL; k <= ZL_FIELD_F64; k++)
            if (strlen(kinds[k]) == len && strncmp(*p, kinds[k], len) == 0)
                f->kind = (zl_field_kind)k;
        if (f->kind == 0)
            return false;
        *p += len;
    }
    if (**p != ' ')
        return false;
    (*p)++;
    size_t len = strcspn(*p, "[@");
    if (len == 0 || len > 63)
        return false;
    char *name = malloc(len + 1);
    if (name == NULL)
        return false;
    memcpy(name, *p, len);
    name[len] = '\0';
    f->name = name;
    *p += len;
    size_t n = 1;
    if ((*p)[0] == '[' && (*p)[1] == ']') {
        n = 0; /* a sized type's tail: size 0, as ZL_FIELD_TAIL writes it */
        *p += 2;
    } else if (**p == '[') {
        (*p)++;
        if (!parse_number(p, &n) || **p != ']' || n == 0)
            return false;
        (*p)++;
    }
    if (**p != '@')
        return false;
    (*p)++;
    if (!parse_number(p, &f->offset))
        return false;
    f->size = n * element_size(f);
    return true;
}

static bool parse_list(const char **p, zl_field **fields, size_t *count, int depth)
{
    if (depth > 8)
        return false;
    size_t capacity = 8, n = 0;
    zl_field *list = malloc(capacity * sizeof *list);
    if (list == NULL)
        return false;
    for (;;) {
        if (n == capacity) {
            capacity *= 2;
            zl_field *grown = realloc(list, capacity * sizeof *list);
            if (grown == NULL) {
                describe_free(list, n);
                return false;
            }
            list = grown;
        }
        if (!parse_field(p, &list[n++], depth)) {
            describe_free(list, n); /* parse_field leaves its field freeable */
            return false;
        }
        if (**p != ';')
            break;
        (*p)++;
    }
    *fields = list;
    *count = n;
    return true;
}

bool describe_parse(const char *text, zl_field **fields, size_t *count)
{
    const char *p = text;
    return text[0] != '\0' && parse_list(&p, fields, count, 0) && *p == '\0';
}

static void print_scalar(FILE *out, zl_field_kind kind, const unsigned char *at)
{
    union {
        int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32;
        int64_t i64; uint64_t u64; float f32; double f64;
    } v;
    memcpy(&v, at, kind_size(kind));
    switch (kind) {
    case ZL_FIELD_BOOL: fprintf(out, "%s", v.u8 ? "true" : "false"); break;
    case ZL_FIELD_CHAR: fprintf(out, "%u", (unsigned)v.u8); break;
    case ZL_FIELD_I8: fprintf(out, "%d", (int)v.i8); break;
    case ZL_FIELD_U8: fprintf(out, "%u", (unsigned)v.u8); break;
    case ZL_FIELD_I16: fprintf(out, "%d", (int)v.i16); break;
    case ZL_FIELD_U16: fprintf(out, "%u", (unsigned)v.u16); break;
    case ZL_FIELD_I32: fprintf(out, "%" PRId32, v.i32); break;
    case ZL_FIELD_U32: fprintf(out, "%" PRIu32, v.u32); break;
    case ZL_FIELD_I64: fprintf(out, "%" PRId64, v.i64); break;
    case ZL_FIELD_U64: fprintf(out, "%" PRIu64, v.u64); break;
    case ZL_FIELD_F32: fprintf(out, "%.9g", (double)v.f32); break;
    case ZL_FIELD_F64: fprintf(out, "%.17g", v.f64); break;
    default: fprintf(out, "?"); break;
    }
}

static void print_string(FILE *out, const unsigned char *at, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n && at[i] != 0; i++) {
        if (at[i] == '"' || at[i] == '\\')
            fprintf(out, "\\%c", at[i]);
        else if (at[i] < 0x20 || at[i] > 0x7e)
            fprintf(out, "\\u%04x", at[i]);
        else
            fputc(at[i], out);
    }
    fputc('"', out);
}

static void print_fields(FILE *out, const zl_field *fields, size_t count,
                         const unsigned char *msg, size_t tail, int depth, bool json);

/* The value of f at `at`: n elements (a tail is always a list, as fixed
 * arrays of more than one element are). */
static void print_value(FILE *out, const zl_field *f, const unsigned char *at, size_t n,
                        int depth, bool json)
{
    bool list = n > 1 || f->size == 0;
    if (f->kind == ZL_FIELD_CHAR && n > 1) {
        print_string(out, at, n);
        return;
    }
    if (list)
        fputc('[', out);
    for (size_t i = 0; i < n; i++) {
        if (!json && i == 8 && n > 16) {
            fprintf(out, ", ... (%zu elements)", n);
            break;
        }
        if (i > 0)
            fputs(", ", out);
        const unsigned char *e = at + i * element_size(f);
        if (f->kind == ZL_FIELD_STRUCT)
            print_fields(out, f->fields, f->field_count, e, 0, depth + 1, true);
        else
            print_scalar(out, f->kind, e);
    }
    if (list)
        fputc(']', out);
}

/* json: one object {"a": 1, "b": [..]}; otherwise "a: 1" lines. tail: the
 * elements of a sized type's tail (top level; 0 below). */
static void print_fields(FILE *out, const zl_field *fields, size_t count,
                         const unsigned char *msg, size_t tail, int depth, bool json)
{
    if (json)
        fputc('{', out);
    for (size_t i = 0; i < count; i++) {
        const zl_field *f = &fields[i];
        size_t n = elements(f, tail);
        if (json) {
            fprintf(out, "%s\"%s\": ", i > 0 ? ", " : "", f->name);
            print_value(out, f, msg + f->offset, n, depth, true);
        } else {
            fprintf(out, "%*s%s: ", 2 * depth, "", f->name);
            if (f->kind == ZL_FIELD_STRUCT && f->size == f->element_size) {
                fputc('\n', out);
                print_fields(out, f->fields, f->field_count, msg + f->offset, 0, depth + 1,
                             false);
                continue;
            }
            print_value(out, f, msg + f->offset, n, depth, false);
            fputc('\n', out);
        }
    }
    if (json)
        fputc('}', out);
}

/* Resolves path to a field, the address of its first selected element and
 * how many elements; false when it names none. */
static bool resolve(const zl_field *fields, size_t count, const unsigned char *msg,
                    size_t tail, const char *path, const zl_field **field,
                    const unsigned char **at, bool *whole)
{
    size_t len = strcspn(path, "[.");
    for (size_t i = 0; i < count; i++) {
        const zl_field *f = &fields[i];
        if (strlen(f->name) != len || strncmp(f->name, path, len) != 0)
            continue;
        const unsigned char *base = msg + f->offset;
        const char *rest = path + len;
        *whole = true;
        if (*rest == '[') {
            char *end;
            unsigned long index = strtoul(rest + 1, &end, 10);
            if (*end != ']' || index >= elements(f, tail))
                return false;
            base += index * element_size(f);
            rest = end + 1;
            *whole = false;
        }
        if (*rest == '.') {
            if (f->kind != ZL_FIELD_STRUCT || (*whole && f->size != f->element_size))
                return false;
            return resolve(f->fields, f->field_count, base, 0, rest + 1, field, at, whole);
        }
        if (*rest != '\0')
            return false;
        *field = f;
        *at = base;
        return true;
    }
    return false;
}

bool describe_print(FILE *out, const zl_field *fields, size_t count, const unsigned char *msg,
                    size_t tail, const char *path, bool json)
{
    if (path == NULL) {
        print_fields(out, fields, count, msg, tail, 0, json);
        if (json)
            fputc('\n', out);
        return true;
    }
    const zl_field *f;
    const unsigned char *at;
    bool whole;
    if (!resolve(fields, count, msg, tail, path, &f, &at, &whole))
        return false;
    if (whole) {
        print_value(out, f, at, elements(f, tail), 0, json);
    } else if (f->kind == ZL_FIELD_STRUCT) {
        print_fields(out, f->fields, f->field_count, at, 0, 0, true);
    } else {
        print_scalar(out, f->kind, at);
    }
    fputc('\n', out);
    return true;
}

static bool set_scalar(zl_field_kind kind, unsigned char *at, const char *text)
{
    char *end;
    errno = 0;
    union {
        int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32;
        int64_t i64; uint64_t u64; float f32; double f64;
    } v;
    if (kind == ZL_FIELD_BOOL) {
        bool t = strcmp(text, "true") == 0 || strcmp(text, "1") == 0;
        if (!t && strcmp(text, "false") != 0 && strcmp(text, "0") != 0)
            return false;
        v.u8 = t;
        end = (char *)text + strlen(text);
    } else if (kind == ZL_FIELD_F32 || kind == ZL_FIELD_F64) {
        double d = strtod(text, &end);
        if (kind == ZL_FIELD_F32)
            v.f32 = (float)d;
        else
            v.f64 = d;
    } else if (kind == ZL_FIELD_I8 || kind == ZL_FIELD_I16 || kind == ZL_FIELD_I32 ||
               kind == ZL_FIELD_I64) {
        long long x = strtoll(text, &end, 0);
        long long hi = kind == ZL_FIELD_I8 ? INT8_MAX : kind == ZL_FIELD_I16 ? INT16_MAX
                     : kind == ZL_FIELD_I32 ? INT32_MAX : INT64_MAX;
        if (x > hi || x < -hi - 1)
            return false;
        v.i64 = x;
        if (kind == ZL_FIELD_I8) v.i8 = (int8_t)x;
        if (kind == ZL_FIELD_I16) v.i16 = (int16_t)x;
        if (kind == ZL_FIELD_I32) v.i32 = (int32_t)x;
    } else {
        /* strtoull takes "-1" as its maximum: a sign is no unsigned value. */
        if (strchr(text, '-') != NULL)
            return false;
        unsigned long long x = strtoull(text, &end, 0);
        unsigned long long hi = kind == ZL_FIELD_U16 ? UINT16_MAX : kind == ZL_FIELD_U32
                              ? UINT32_MAX : kind == ZL_FIELD_U64 ? UINT64_MAX : UINT8_MAX;
        if (x > hi)
            return false;
        v.u64 = x;
        if (kind == ZL_FIELD_U8 || kind == ZL_FIELD_CHAR) v.u8 = (uint8_t)x;
        if (kind == ZL_FIELD_U16) v.u16 = (uint16_t)x;
        if (kind == ZL_FIELD_U32) v.u32 = (uint32_t)x;
    }
    if (end == text || *end != '\0' || errno != 0)
        return false;
    memcpy(at, &v, kind_size(kind));
    return true;
}

const char *describe_kind_name(const zl_field *f)
{
    return f->kind == ZL_FIELD_STRUCT ? "struct" : kinds[f->kind];
}

const zl_field *describe_tail(const zl_field *fields, size_t count)
{
    return count > 0 && fields[count - 1].size == 0 ? &fields[count - 1] : NULL;
}

size_t describe_count_values(const zl_field *f, const char *text)
{
    if (f->kind == ZL_FIELD_CHAR && text[0] != '[')
        return strlen(text); /* a string: its characters */
    const char *p = text[0] == '[' ? text + 1 : text;
    if (*p == '\0' || *p == ']')
        return 0;
    size_t n = 1;
    for (; *p != '\0' && *p != ']'; p++)
        n += *p == ',';
    return n;
}

bool describe_set(const zl_field *fields, size_t count, unsigned char *msg, size_t tail,
                  const char *path, const char *text)
{
    const zl_field *f;
    const unsigned char *at;
    bool whole;
    if (!resolve(fields, count, msg, tail, path, &f, &at, &whole)) {
        fprintf(stderr, "zloan: the type has no field %s\n", path);
        return false;
    }
    unsigned char *w = msg + (at - msg);
    size_t n = elements(f, tail);
    if (f->size == 0 && whole && f->kind == ZL_FIELD_CHAR && text[0] != '[') {
        memcpy(w, text, n); /* a tail of characters: exactly its count, no NUL */
        return true;
    }
    if (f->kind == ZL_FIELD_CHAR && whole && n > 1) {
        if (strlen(text) >= n) {
            fprintf(stderr, "zloan: %s: '%s' is longer than its %zu characters\n", path, text,
                    n - 1);
            return false;
        }
        memset(w, 0, n);
        memcpy(w, text, strlen(text));
        return true;
    }
    if (f->kind == ZL_FIELD_STRUCT) {
        fprintf(stderr, "zloan: %s is a struct: set its fields (%s.NAME=VALUE)\n", path, path);
        return false;
    }
    if (whole && (n > 1 || f->size == 0)) {
        /* "[1,2,3]" or "1,2,3": as many elements as given. */
        const char *p = text[0] == '[' ? text + 1 : text;
        for (size_t i = 0; i < n && *p != '\0' && *p != ']'; i++) {
            char item[64];
            size_t len = strcspn(p, ",]");
            if (len >= sizeof item)
                return false;
            memcpy(item, p, len);
            item[len] = '\0';
            if (!set_scalar(f->kind, w + i * element_size(f), item)) {
                fprintf(stderr, "zloan: %s: '%s' is not a %s\n", path, item, kinds[f->kind]);
                return false;
            }
            p += len;
            if (*p == ',')
                p++;
        }
        if (*p != '\0' && *p != ']') {
            fprintf(stderr, "zloan: %s: more than its %zu values\n", path, n);
            return false;
        }
        return true;
    }
    if (!set_scalar(f->kind, w, text)) {
        fprintf(stderr, "zloan: %s: '%s' is not a %s\n", path, text, kinds[f->kind]);
        return false;
    }
    return true;
}
