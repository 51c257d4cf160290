"""The small square around a face box that the Haar cascade searches again, shared by the detection schedule (a face
expected between two detected frames) and ``HaarFaceDetector`` (a place the LBP cascade proposes)."""

from __future__ import annotations

import cv2
import numpy as np

# The square searched around a box: this many times the box's side, centred on it (the face may be a half side off),
# resized to this many pixels (the face then spans about 48 px, twice Haar's 24 px window, and one detector batch can
# hold every square).
CONFIRM_REACH = 2.0
CONFIRM_SIDE = 96


def square_around(image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The ``CONFIRM_SIDE`` px square showing ``CONFIRM_REACH`` x ``box``'s side around its centre, its top-left
    corner in image pixels and the scale from image pixels to the square's. ``image`` is RGB (H, W, 3) or grey (H, W);
    the square has as many channels.

    Beyond the image's edge the square repeats the edge's pixels. A black border was a strong edge the Haar cascade
    took for part of a face: it found one on the page's cat example, on a box reaching past the frame, which a scan of
    the whole frame never does.
    """
    side = int(np.ceil(CONFIRM_REACH * max(box[2] - box[0], box[3] - box[1], 1.0)))
    side += -side % max(side // CONFIRM_SIDE, 1)  # whole blocks for _area_resize's first step
    x0, y0 = int(np.floor((box[0] + box[2] - side) / 2)), int(np.floor((box[1] + box[3] - side) / 2))
    inside = np.asarray(image)[max(y0, 0) : max(y0 + side, 0), max(x0, 0) : max(x0 + side, 0)]
    origin = np.array([x0, y0], np.float64)
    if inside.size == 0:  # the box is wholly outside the image
        return np.zeros((CONFIRM_SIDE, CONFIRM_SIDE, *np.shape(image)[2:]), np.uint8), origin, CONFIRM_SIDE / side
    top, left = max(-y0, 0), max(-x0, 0)
    square = cv2.copyMakeBorder(
        inside, top, side - top - inside.shape[0], left, side - left - inside.shape[1], cv2.BORDER_REPLICATE
    )
    return _area_resize(square, CONFIRM_SIDE), origin, CONFIRM_SIDE / side


def _area_resize(square: np.ndarray, size: int) -> np.ndarray:
    """``square`` area-averaged to ``size`` px. OpenCV averages whole blocks several times faster than fractional
    ones, so a large shrink goes by a whole factor first (half the time of one step on the benchmark's faces)."""
    factor = square.shape[0] // size
    if factor >= 2 and square.shape[0] % factor == 0:
        square = cv2.resize(square, (square.shape[1] // factor,) * 2, interpolation=cv2.INTER_AREA)
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


__all__ = ["CONFIRM_REACH", "CONFIRM_SIDE", "square_around"]
