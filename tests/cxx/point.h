/* A message type shared by the C and C++ halves of the cxx_headers test. */
#ifndef ZLOAN_TEST_CXX_POINT_H
#define ZLOAN_TEST_CXX_POINT_H

#include <stdint.h>

typedef struct point {
    int32_t x;
    double y;
} point;

#ifdef __cplusplus
#define POINT_ALIGNAS(n) alignas(n)
#else
#define POINT_ALIGNAS(n) _Alignas(n)
#endif

/* Over-aligned: alignof must give 32 in both languages. */
typedef struct wide {
    POINT_ALIGNAS(32) uint8_t bytes[40];
} wide;

/* A described type: a nested struct and arrays (ZL_TYPE_DESCRIBED). */
typedef struct vec {
    double x;
    float y;
} vec;

typedef struct sample {
    vec where[2];
    char label[8];
    uint16_t flags;
} sample;

#ifdef __cplusplus
extern "C" {
#endif
/* The described sample, made in C with ZL_FIELD, ZL_FIELD_NESTED and
 * ZL_TYPE_DESCRIBED. */
const struct zl_type *c_sample_type(void);
/* Descriptors made in C with ZL_TYPE_PLAIN and ZL_TYPE_PLAIN_LAYOUT. */
const struct zl_type *c_point_type(void);
const struct zl_type *c_wide_type(void);
#ifdef __cplusplus
}
#endif
#endif
