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

/* Described field by field, so that `zloan topic echo` decodes frames and a
 * peer built with another layout is refused naming the field. */
static const zl_field image_fields[] = {
    ZL_FIELD(image, U64, frame),
    ZL_FIELD(image, U32, width),
    ZL_FIELD(image, U32, height),
    ZL_FIELD(image, U32, pixels),
};
static const zl_type image_type = ZL_TYPE_DESCRIBED(image, image_fields);

#define IMAGE_TOPIC "/camera/image"

#endif
