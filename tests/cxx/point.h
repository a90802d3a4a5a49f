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

/* A sized type (ZL_TYPE_SIZED): a header and a tail of uint16_t. ISO C++
 * has no flexible array member, so the tail is declared with one element;
 * the descriptor only takes its offset and its element size. */
typedef struct samples {
    uint32_t count;
    uint16_t values[1];
} samples;
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
/* Descriptors made in C with ZL_TYPE_PLAIN, ZL_TYPE_PLAIN_LAYOUT and
 * ZL_TYPE_SIZED. */
const struct zl_type *c_point_type(void);
const struct zl_type *c_wide_type(void);
const struct zl_type *c_samples_type(void);
#ifdef __cplusplus
}
#endif
#endif
