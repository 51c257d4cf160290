"""Face detection on every k-th sampled frame, with the frames between checked cheaply near their neighbours' faces.

Detection is the front end's most expensive step after decoding. Sampled frames of a talking head rarely differ
much, so the detector runs on every ``every``-th frame (and the last). A frame between two detected frames that show
the same faces (as many, each overlapping its partner) expects each face where the two boxes interpolate to; the
detector then looks only at a small square around each expected box (``CONFIRM_REACH`` x its side, shrunk to
``CONFIRM_SIDE`` px: about a tenth of a whole-frame detection's time) and the frame takes the boxes it finds there, real
detections. Anywhere else (a face appears, leaves, moves too far, or is not found again where expected) the frame is
detected in full, so no face a full detection would find is lost to the schedule, and a person gone for a moment
between two detected frames is not filled in.

With ``every`` = 3, any three consecutive sampled frames hold a detected one, so a person in view for
``MIN_PERSON_FRAMES`` = 3 frames in a row (the fewest ``people="all"`` keeps) is always met by a whole-frame detection;
a face shown only on frames between two detected frames that do not show it is missed, as with any ``every`` > 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

from .face_detection import box_iou
from .face_squares import CONFIRM_REACH, CONFIRM_SIDE, square_around

# Two boxes on neighbouring detected frames are taken for the same face when they overlap at least this much: loose,
# because every face expected between them is looked for again (a wrong pairing costs a whole-frame detection, not a
# wrong box), and a face moving a third of its width per sampled frame still pairs across three frames.
PAIR_IOU = 0.3
# A box found near an expected face confirms it when it overlaps the expected box at least this much.
SAME_FACE_IOU = 0.5
Detect = Callable[[Sequence[np.ndarray]], list[np.ndarray]]
DetectSized = Callable[[list[np.ndarray], float], list[np.ndarray]]


def detect_sparsely(
    detect: Detect, frames: Sequence[np.ndarray], every: int, detect_sized: DetectSized | None = None
) -> list[np.ndarray]:
    """``detect(frames)``'s answer, running ``detect`` on about one frame in ``every`` and on small squares.

    Args:
        detect: A detector's ``detect``: frames in, one (k, 5) array [x1, y1, x2, y2, score] per frame out.
        frames: The sampled frames, (T, H, W, 3) uint8 RGB (an array or a list).
        every: Detect on every ``every``-th frame; 1 detects on all.
        detect_sized: A detector's ``detect_sized``: the ``CONFIRM_SIDE`` squares around expected faces and the
            face side expected in them in, boxes out as ``detect``'s. Without it, ``detect`` gets the squares.

    Returns:
        One (k, 5) float64 array per frame.
    """
    count = len(frames)
    keys = whole_frame_detections(count, every)
    if len(keys) == count:
        return detect(frames)
    found: list[np.ndarray | None] = [None] * count
    for t, boxes in zip(keys, detect([frames[t] for t in keys]), strict=True):
        found[t] = boxes
    undecided, expected = [], {}
    for a, b in pairwise(keys):
        pairs = _same_faces(found[a], found[b])
        for t in range(a + 1, b):
            if pairs is None:
                undecided.append(t)
            else:
                weight = (t - a) / (b - a)
                expected[t] = np.array([_between(first, second, weight) for first, second in pairs]).reshape(-1, 5)
    if detect_sized is None:
        detect_sized = lambda images, face_side: detect(images)  # noqa: E731
    for t, boxes in _confirm(detect_sized, frames, expected).items():
        if boxes is None:
            undecided.append(t)
        else:
            found[t] = boxes
    if undecided:
        undecided.sort()
        for t, boxes in zip(undecided, detect([frames[t] for t in undecided]), strict=True):
            found[t] = boxes
    return found


def whole_frame_detections(count: int, every: int) -> list[int]:
    """The frames ``detect_sparsely`` always detects in full: every ``every``-th of ``count`` and the last."""
    if every <= 1 or count <= 2:
        return list(range(count))
    return sorted(set(range(0, count, every)) | {count - 1})


def fewest_whole_frame_detections(count: int, every: int) -> list[int]:
    """The fewest of ``count`` frames such that any ``every`` consecutive frames hold one (frames every-1,
    2*every-1, ...): what any schedule keeping ``whole_frame_detections``' guarantee must detect in full at least.
    The schedule detects frame 0 instead of frame every-1, so that the frames before its second detection lie between
    two, and the last frame: one or two detections more. A clip shorter than ``every`` frames still needs one."""
    if every <= 1:
        return list(range(count))
    return list(range(every - 1, count, every)) or list(range(count))[-1:]


def _confirm(detect_sized: DetectSized, frames: Sequence[np.ndarray], expected: dict[int, np.ndarray]) -> dict:
    """Frame -> the boxes found again near each of its expected faces, or None when any of them is not found.

    All squares go to ``detect_sized`` in one call (one batch for a detector that batches).
    """
    squares, places = [], []
    for t, boxes in expected.items():
        for i, box in enumerate(boxes):
            square, origin, scale = square_around(frames[t], box)
            squares.append(square)
            places.append((t, i, origin, scale))
    confirmed: dict[int, list | None] = {t: [None] * len(boxes) for t, boxes in expected.items()}
    answers = detect_sized(squares, CONFIRM_SIDE / CONFIRM_REACH) if squares else []
    for (t, i, origin, scale), hits in zip(places, answers, strict=True):
        if confirmed[t] is None:
            continue
        hits = np.asarray(hits, np.float64).reshape(-1, 5).copy()
        hits[:, :4] = hits[:, :4] / scale + np.tile(origin, 2)
        overlaps = [box_iou(hit, expected[t][i]) for hit in hits]
        if not overlaps or max(overlaps) < SAME_FACE_IOU:
            confirmed[t] = None  # not where the neighbours say: the whole frame is detected instead
        else:
            confirmed[t][i] = hits[int(np.argmax(overlaps))]
    return {t: None if rows is None else np.stack(rows) for t, rows in confirmed.items()}


def _same_faces(first: np.ndarray, second: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The faces of two detected frames paired up, or None unless both show the same (at least one) faces."""
    if len(first) == 0 or len(first) != len(second):
        return None
    pairs, taken = [], set()
    for box in first:
        overlaps = [(box_iou(box, other), j) for j, other in enumerate(second) if j not in taken]
        iou, j = max(overlaps)
        if iou < PAIR_IOU:
            return None
        taken.add(j)
        pairs.append((box, second[j]))
    return pairs


def _between(first: np.ndarray, second: np.ndarray, weight: float) -> np.ndarray:
    """The box ``weight`` of the way from ``first`` to ``second``, with the lower of their scores."""
    box = (1.0 - weight) * first[:4] + weight * second[:4]
    return np.append(box, min(first[4], second[4]))


__all__ = [
    "CONFIRM_REACH",
    "CONFIRM_SIDE",
    "PAIR_IOU",
    "SAME_FACE_IOU",
    "detect_sparsely",
    "fewest_whole_frame_detections",
    "whole_frame_detections",
]
