/* The message type of the resizing image examples: an rgb8 image whose
 * resolution changes from frame to frame (a sized type, the shape of
 * sensor_msgs/Image: a header, then width × height × 3 bytes). */
#ifndef ZLOAN_EXAMPLE_RGB_IMAGE_H
#define ZLOAN_EXAMPLE_RGB_IMAGE_H

#include <stdint.h>

#include <zloan/zloan.h>

typedef struct rgb_image {
    uint64_t frame;
    uint32_t width, height;
    uint8_t data[]; /* width * height * 3 bytes, row by row, r g b */
} rgb_image;

#define RGB_IMAGE_MAX_BYTES (3840u * 2160u * 3u)
static const zl_type rgb_image_type = ZL_TYPE_SIZED(rgb_image, data, RGB_IMAGE_MAX_BYTES);

#define RGB_IMAGE_TOPIC "/camera/image_rgb8"

/* The value of byte i of frame: every byte differs from its neighbours and
 * from the same byte of the previous frame. */
static inline uint8_t rgb_image_byte(uint64_t frame, uint64_t i)
{
    return (uint8_t)(frame * 31u + i * 7u + (i >> 11));
}

#endif
