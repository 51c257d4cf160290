"""Frames with several real people, composed from photos: the astronaut (``skimage.data.astronaut``) and faces of
``skimage.data.lfw_subset`` (Labeled Faces in the Wild, 25x25 grey crops of different people, scaled up)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from skimage import data

from training.testing.videos import GREY, paste

# lfw_subset's first 100 images are faces; these two are different people whose faces look least alike to the eye.
LFW_PEOPLE = (5, 40)


def lfw_face(index: int, side: int = 150) -> np.ndarray:
    """Face ``index`` of lfw_subset as an RGB uint8 square of ``side`` pixels (the photo is a tight face crop)."""
    face = (data.lfw_subset()[index] * 255).round().astype(np.uint8)
    return np.repeat(cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)[..., None], 3, axis=2)


def compose(size: tuple[int, int], people: Sequence[tuple[np.ndarray, tuple[float, float], float]]) -> np.ndarray:
    """One (H, W, 3) frame of ``size`` (width, height): each (image, centre, height) pasted on grey, in order."""
    width, height = size
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = GREY
    for image, center, image_height in people:
        paste(canvas, image, center, image_height)
    return canvas

