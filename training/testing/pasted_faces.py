"""Faces pasted on photos, and photos with no face, for comparing whole-frame face searches on more than a few clips.

Each frame is 320x180 RGB, the size the processor's default detection shrinks a 16:9 frame to, so a detector with
``max_side=320`` searches it as it is. Two sets of faces, each pasted on one of three faceless photos:

* the astronaut's face (``skimage.data.astronaut``) at 11 sides from 24 to 150 px, 6 places each, as it is, tilted 5-20
  degrees, blurred, noisy, with its lower half or one side covered, or darkened;
* the first 100 faces of ``skimage.data.lfw_subset`` (100 people's 25x25 crops, scaled up) at 40, 60 and 90 px, as
  they are, tilted or noisy.

``faceless_frames`` cuts 320x180 views out of scikit-image's photos without people, at two scales; a face found there
is a false one. Everything is drawn from a fixed seed, so two detectors see the same frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import cv2
import numpy as np
from skimage import data

from modeling.face_detection import box_iou
from training.testing.photo_faces import lfw_face

FRAME_SIZE = (320, 180)
ASTRONAUT_SIDES = (24, 30, 38, 46, 50, 60, 75, 90, 110, 130, 150)
ASTRONAUT_PLACES = 6
ASTRONAUT_KINDS = ("plain", "tilted", "blurred", "noisy", "lower half covered", "side covered", "dark")
LFW_FACES = 100  # lfw_subset's first 100 images are faces
LFW_SIDES = (40, 60, 90)
LFW_KINDS = ("plain", "tilted", "noisy")
# The backgrounds faces are pasted on, and the photos faceless views are cut from (skimage.data names).
BACKGROUNDS = ("coffee", "rocket", "chelsea")
FACELESS_PHOTOS = (
    "coffee", "rocket", "chelsea", "camera", "cat", "horse", "brick", "grass", "gravel", "hubble_deep_field",
    "immunohistochemistry", "moon", "page", "text", "coins", "clock", "logo", "colorwheel", "retina",
    "shepp_logan_phantom", "microaneurysms", "cell", "checkerboard",
)  # fmt: skip  (the photos scikit-image's wheel holds: others need a download)
# A box found is the pasted face when they overlap this much (loose: detectors frame a face differently).
MATCH_IOU = 0.2

Detect = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


def pasted_faces(every: int = 1) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(set and kind, frame, the face's [x1, y1, x2, y2]) for every ``every``-th pasted face of each kind."""
    rng = np.random.default_rng(2)
    backgrounds = [cv2.resize(_grey(name), FRAME_SIZE, interpolation=cv2.INTER_AREA) for name in BACKGROUNDS]
    astronaut = cv2.cvtColor(data.astronaut()[20:230, 150:330], cv2.COLOR_RGB2GRAY)
    for kind in ASTRONAUT_KINDS:
        count = 0
        for side in ASTRONAUT_SIDES:
            for place in range(ASTRONAUT_PLACES):
                height = int(side * astronaut.shape[0] / astronaut.shape[1])
                face = _altered(cv2.resize(astronaut, (side, height), interpolation=cv2.INTER_AREA), kind, rng)
                frame, box = _pasted(face, backgrounds[place % len(backgrounds)], rng)
                count += 1
                if count % every == 0:
                    yield f"astronaut, {kind}", frame, box
    for kind in LFW_KINDS:
        count = 0
        for index in range(LFW_FACES):
            for side in LFW_SIDES:
                face = _altered(lfw_face(index, side)[..., 0], kind, rng)
                frame, box = _pasted(face, backgrounds[index % len(backgrounds)], rng)
                count += 1
                if count % every == 0:
                    yield f"lfw, {kind}", frame, box


def faceless_frames() -> list[np.ndarray]:
    """320x180 RGB views of scikit-image's photos without people: every face found on them is a false one."""
    frames = []
    width, height = FRAME_SIZE
    for name in FACELESS_PHOTOS:
        grey = _grey(name)
        for longer in (320, 480):
            scale = longer / max(grey.shape)
            size = (max(24, round(grey.shape[1] * scale)), max(24, round(grey.shape[0] * scale)))
            scaled = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
            for top in range(0, max(1, scaled.shape[0] - height + 1), height // 2):
                for left in range(0, max(1, scaled.shape[1] - width + 1), width // 2):
                    frames.append(cv2.cvtColor(scaled[top : top + height, left : left + width], cv2.COLOR_GRAY2RGB))
    return frames


def count_found(detect: Detect, every: int = 1) -> dict:
    """Per set and kind, [faces found, faces pasted] by ``detect`` (a detector's ``detect``); and ``false faces``,
    the boxes it finds on ``faceless_frames``, [boxes, frames]."""
    counts: dict[str, list[int]] = {}
    for kind, frame, box in pasted_faces(every):
        found = detect([frame])[0]
        row = counts.setdefault(kind, [0, 0])
        row[0] += any(box_iou(hit, np.append(box, 1.0)) >= MATCH_IOU for hit in found)
        row[1] += 1
    faceless = faceless_frames()
    counts["false faces"] = [sum(len(boxes) for boxes in detect(faceless)), len(faceless)]
    return counts


def _grey(name: str) -> np.ndarray:
    image = np.asarray(getattr(data, name)())
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.dtype != np.uint8:
        image = cv2.normalize(image.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] not in (3, 4):  # a stack: its middle slice
        image = image[image.shape[0] // 2]
    return image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


def _altered(face: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    height, width = face.shape
    if kind == "tilted":
        angle = rng.choice([-1, 1]) * rng.uniform(5, 20)
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1)
        return cv2.warpAffine(face, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    if kind == "blurred":
        kernel = int(rng.integers(2, 4)) * 2 + 1
        return cv2.GaussianBlur(face, (kernel, kernel), 0)
    if kind == "noisy":
        return np.clip(face + rng.normal(0, rng.uniform(15, 30), face.shape), 0, 255).astype(np.uint8)
    if kind == "lower half covered":
        covered = face.copy()
        covered[int(height * rng.uniform(0.5, 0.65)) :] = rng.integers(0, 255)
        return covered
    if kind == "side covered":
        covered = face.copy()
        covered[:, int(width * rng.uniform(0.75, 0.85)) :] = rng.integers(0, 255)
        return covered
    if kind == "dark":
        return np.clip(face * rng.uniform(0.3, 0.5), 0, 255).astype(np.uint8)
    return face


def _pasted(face: np.ndarray, background: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    height, width = face.shape
    left, top = int(rng.integers(0, FRAME_SIZE[0] - width)), int(rng.integers(0, FRAME_SIZE[1] - height))
    grey = background.copy()
    grey[top : top + height, left : left + width] = face
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), np.array([left, top, left + width, top + height], np.float64)
