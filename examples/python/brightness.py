"""Mean brightness of the camera's frames, computed with numpy on the loan
itself (the frame is never copied), sent back to the camera.

    PYTHONPATH=build/gcc/python python3 examples/python/brightness.py [frames]

Runs until `frames` frames were answered, or no frame came for two seconds
after the first (default: until Ctrl-C). The dtypes
mirror camera.h; align=True gives them the C structs' size and alignment, and
the type names are the structs' names (ZL_TYPE_PLAIN), so the endpoints match.
"""
import sys
import time

import numpy as np

import zloan

FRAME = zloan.Type("rgb_frame", np.dtype(
    [("frame", "<u8"), ("stamp_ns", "<i8"), ("pixels", "u1", (1080, 1920, 3))], align=True))
BRIGHTNESS = zloan.Type("brightness", np.dtype(
    [("frame", "<u8"), ("stamp_ns", "<i8"), ("mean", "<f8")], align=True))


def main(frames):
    answered = 0
    last_frame = None
    with zloan.Context() as ctx, \
            zloan.Subscription(ctx, "/camera/rgb8", FRAME, depth=2, max_loans=2) as images, \
            zloan.Publisher(ctx, "/camera/brightness", BRIGHTNESS) as answers, \
            zloan.Executor(ctx) as executor:

        def on_frame(loan):
            nonlocal answered, last_frame
            last_frame = time.monotonic()
            frame = loan.array()[0]  # a view of the camera's memory
            with answers.loan() as answer:
                answer.array()[0] = (frame["frame"], frame["stamp_ns"], frame["pixels"].mean())
            answered += 1
            if answered == frames:
                executor.stop()
            # Returning drops the last view: the frame goes back to the camera.

        def on_tick(expirations):
            if frames and last_frame is not None and time.monotonic() - last_frame > 2:
                executor.stop()  # the camera is done; some frames were lost (keep-last)

        executor.add_subscription(images, on_frame)
        executor.add_timer(0.5, on_tick)
        print("brightness: waiting for frames on /camera/rgb8", flush=True)
        try:
            executor.spin(timeout=60 if frames else None)
        except KeyboardInterrupt:
            pass
        lost = images.stats().lost
    print(f"brightness: answered {answered} frames ({lost} lost: keep-last, depth 2)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
