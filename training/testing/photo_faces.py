"""Frames with several real people, composed from photos: the astronaut (``skimage.data.astronaut``) and faces of
``skimage.data.lfw_subset`` (Labeled Faces in the Wild, 25x25 grey crops of different people, scaled up)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import cv2
import numpy as np
from skimage import data

from training.testing.videos import GREY, paste

# lfw_subset's first 100 images are faces; these two are different people whose faces look least alike to the eye.
LFW_PEOPLE = (5, 40)


def lfw_face(index: int, side: int = 150) -> np.ndarray:
    """Face ``index`` of lfw_subset as an RGB uint8 square of ``side`` pixels (the photo is a tight face crop)."""
    face = _lfw_photos()[index]
    return np.repeat(cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)[..., None], 3, axis=2)


@cache
def _lfw_photos() -> np.ndarray:
    """lfw_subset as uint8, read once (the pasted-faces set asks for 900 faces)."""
    return (data.lfw_subset() * 255).round().astype(np.uint8)


def compose(size: tuple[int, int], people: Sequence[tuple[np.ndarray, tuple[float, float], float]]) -> np.ndarray:
    """One (H, W, 3) frame of ``size`` (width, height): each (image, centre, height) pasted on grey, in order."""
    width, height = size
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = GREY
    for image, center, image_height in people:
        paste(canvas, image, center, image_height)
    return canvas



def two_people_video(path, size: tuple[int, int] = (320, 240), seconds: float = 2.0, fps: int = 15):
    """The astronaut on the left for the first 60% of the clip; an LFW face on the right from 40% to the end.

    The two are in frame together in the middle fifth; each is alone at one end (see ``two_people_presence``).
    """
    from modeling.video_writing import write_video
    from training.testing.videos import astronaut_head

    width, height = size
    head, other = astronaut_head(), lfw_face(LFW_PEOPLE[0])

    def frame(t: float) -> np.ndarray:
        people = []
        astronaut_there, other_there = two_people_presence(t)
        if astronaut_there:
            people.append((head, (width * 0.27, height * 0.5), height * 0.7))
        if other_there:
            people.append((other, (width * 0.73, height * 0.45), height * 0.5))
        return compose(size, people)

    count = round(seconds * fps)
    return write_video(path, (frame(i / max(count - 1, 1)) for i in range(count)), fps)


def two_people_presence(t: float) -> tuple[bool, bool]:
    """Whether the astronaut and the LFW face are in ``two_people_video`` at time fraction ``t`` (0 -> 1)."""
    return t <= 0.6, t >= 0.4
