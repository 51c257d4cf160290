"""Face detection on every k-th sampled frame, with the frames between filled in from their detected neighbours.

Detection is the front end's most expensive step after decoding. Sampled frames of a talking head rarely differ
much, so the detector runs on every ``every``-th frame (and the last); a frame between two detected frames takes
boxes interpolated between them when both neighbours show the same faces (as many, each overlapping its partner).
Anywhere else (a face appears, leaves, or moves too far) the frames between are detected as well, so no face a full
detection would find is lost to the schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

from .face_detection import box_iou

# Two boxes on neighbouring detected frames are the same face when they overlap at least this much.
SAME_FACE_IOU = 0.5

Detect = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


def detect_sparsely(detect: Detect, frames: Sequence[np.ndarray], every: int) -> list[np.ndarray]:
    """``detect(frames)``'s answer, running ``detect`` on about one frame in ``every``.

    Args:
        detect: A detector's ``detect``: frames in, one (k, 5) array [x1, y1, x2, y2, score] per frame out.
        frames: The sampled frames, (T, H, W, 3) uint8 RGB (an array or a list).
        every: Detect on every ``every``-th frame; 1 detects on all.

    Returns:
        One (k, 5) float64 array per frame.
    """
    count = len(frames)
    if every <= 1 or count <= 2:
        return detect(frames)
    keys = sorted(set(range(0, count, every)) | {count - 1})
    found: list[np.ndarray | None] = [None] * count
    for t, boxes in zip(keys, detect([frames[t] for t in keys]), strict=True):
        found[t] = boxes
    undecided = []
    for a, b in pairwise(keys):
        pairs = _same_faces(found[a], found[b])
        for t in range(a + 1, b):
            if pairs is None:
                undecided.append(t)
            else:
                weight = (t - a) / (b - a)
                found[t] = np.array([_between(first, second, weight) for first, second in pairs]).reshape(-1, 5)
    if undecided:
        for t, boxes in zip(undecided, detect([frames[t] for t in undecided]), strict=True):
            found[t] = boxes
    return found


def _same_faces(first: np.ndarray, second: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The faces of two detected frames paired up, or None unless both show the same (at least one) faces."""
    if len(first) == 0 or len(first) != len(second):
        return None
    pairs, taken = [], set()
    for box in first:
        overlaps = [(box_iou(box, other), j) for j, other in enumerate(second) if j not in taken]
        iou, j = max(overlaps)
        if iou < SAME_FACE_IOU:
            return None
        taken.add(j)
        pairs.append((box, second[j]))
    return pairs


def _between(first: np.ndarray, second: np.ndarray, weight: float) -> np.ndarray:
    """The box ``weight`` of the way from ``first`` to ``second``, with the lower of their scores."""
    box = (1.0 - weight) * first[:4] + weight * second[:4]
    return np.append(box, min(first[4], second[4]))


__all__ = ["SAME_FACE_IOU", "detect_sparsely"]
