/* The messages of the Python example: 1920x1080 rgb8 frames from a camera,
 * and the mean brightness a Python process computes back. brightness.py
 * describes the same two structs with numpy dtypes (align=True). */
#ifndef ZLOAN_EXAMPLE_CAMERA_H
#define ZLOAN_EXAMPLE_CAMERA_H

#include <stdint.h>

#include <zloan/zloan.h>

#define FRAME_WIDTH 1920
#define FRAME_HEIGHT 1080

typedef struct rgb_frame {
    uint64_t frame;
    int64_t stamp_ns; /* CLOCK_MONOTONIC when the camera published it */
    uint8_t pixels[FRAME_HEIGHT][FRAME_WIDTH][3];
} rgb_frame;

typedef struct brightness {
    uint64_t frame;
    int64_t stamp_ns; /* the frame's, sent back */
    double mean;      /* mean of every pixel byte */
} brightness;

static const zl_type rgb_frame_type = ZL_TYPE_PLAIN(rgb_frame);
static const zl_type brightness_type = ZL_TYPE_PLAIN(brightness);

#define FRAME_TOPIC "/camera/rgb8"
#define BRIGHTNESS_TOPIC "/camera/brightness"

#endif
