/* The message type of the point-cloud examples: a cloud of a random number
 * of points, from 1 KiB to 16 MiB a message (a sized type: a header, then
 * the points). */
#ifndef ZLOAN_EXAMPLE_POINT_CLOUD_H
#define ZLOAN_EXAMPLE_POINT_CLOUD_H

#include <stdint.h>
#include <stdlib.h>

#include <zloan/zloan.h>

typedef struct point {
    float x, y, z, intensity;
} point;

typedef struct point_cloud {
    uint64_t scan;
    uint64_t seed;   /* the points follow from it */
    point points[];
} point_cloud;

#define POINT_CLOUD_MAX_POINTS ((16u << 20) / sizeof(point))
static const zl_type point_cloud_type = ZL_TYPE_SIZED(point_cloud, points, POINT_CLOUD_MAX_POINTS);

#define POINT_CLOUD_TOPIC "/lidar/points"

/* The points of a cloud of random size (rand()): 1 KiB << (0..14) bytes,
 * then anywhere up to the next power of two, at most 16 MiB. */
static inline size_t point_cloud_random_count(void)
{
    size_t low = (size_t)1024 << (rand() % 15);
    size_t bytes = low + (size_t)rand() % low;
    if (bytes > 16u << 20)
        bytes = 16u << 20;
    return (bytes - sizeof(point_cloud)) / sizeof(point);
}

/* Point i of a cloud with this seed (xorshift: cheap and never constant). */
static inline point point_cloud_point(uint64_t seed, uint64_t i)
{
    uint64_t x = seed ^ (i * 0x9e3779b97f4a7c15ull);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    point p = {(float)(x & 0xffff), (float)((x >> 16) & 0xffff), (float)((x >> 32) & 0xffff),
               (float)(x >> 48)};
    return p;
}

#endif
