/* The message type of the image examples: one 4 MiB camera frame. */
#ifndef ZLOAN_EXAMPLE_IMAGE_H
#define ZLOAN_EXAMPLE_IMAGE_H

#include <stdint.h>

#include <zloan/zloan.h>

#define IMAGE_WIDTH 1024
#define IMAGE_HEIGHT 1024

typedef struct image {
    uint64_t frame;
    uint32_t width, height;
    uint32_t pixels[IMAGE_WIDTH * IMAGE_HEIGHT]; /* RGBA, 4 MiB */
} image;

static const zl_type image_type =
    ZL_TYPE_PLAIN_LAYOUT(image, "u64 frame;u32 width;u32 height;u32 pixels[1048576]");

#define IMAGE_TOPIC "/camera/image"

#endif
