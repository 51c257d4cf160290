"""The annotated clip: the sampled frames with each tracked person's box, id and current top emotion drawn on them.

Written as a browser-playable H.264 MP4 (``video_writing.write_video``) at the sampling rate, so it plays in the
video's own time: one picture per sampled frame, as the model saw the video.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .video_writing import write_video

# One colour per person (RGB), by person id.
PERSON_COLORS = [(255, 196, 0), (0, 200, 255), (255, 64, 160), (120, 230, 80), (180, 120, 255), (255, 128, 64)]


def frame_emotions(timeline: Sequence[dict[str, Any]] | None, timestamps: Sequence[float]) -> list[str | None]:
    """The top emotion at each sampled frame: from the timeline window centred nearest to it (None without one)."""
    if not timeline:
        return [None] * len(timestamps)
    centres = np.array([point["timestamp"] for point in timeline])
    labels = [max(point["emotions"], key=point["emotions"].get) for point in timeline]
    return [labels[int(np.argmin(np.abs(centres - t)))] for t in timestamps]


def annotate_frames(frames: np.ndarray, people: Sequence[dict[str, Any]], frame_scale: float) -> Iterator[np.ndarray]:
    """Copies of ``frames`` with each person's box and "person <id>: <emotion>" where that person was seen.

    Args:
        frames: (T, H, W, 3) uint8 RGB, the sampled frames (shrunk by ``frame_scale`` from the video's size).
        people: Each with ``id``, ``boxes`` (T, 4) in the video's pixels, ``face_found`` (T,) and ``labels`` (T,
            the top emotion per frame, or None).
        frame_scale: The frames' size over the video's (boxes are scaled by it).
    """
    height, width = (frames.shape[1] // 2) * 2, (frames.shape[2] // 2) * 2  # H.264 (yuv420p) needs even sides
    thickness = max(2, round(min(height, width) / 200))
    font_scale = max(0.4, min(height, width) / 600)
    for t, frame in enumerate(frames):
        canvas = np.ascontiguousarray(frame[:height, :width]).copy()
        for person in people:
            if not person["face_found"][t]:
                continue  # not in frame: nothing drawn, nothing carried over
            color = PERSON_COLORS[int(person["id"]) % len(PERSON_COLORS)]
            x1, y1, x2, y2 = (int(round(float(v) * frame_scale)) for v in person["boxes"][t])
            cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness)
            text = f"person {person['id']}" + (f": {person['labels'][t]}" if person["labels"][t] else "")
            (text_w, text_h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
            top = max(y1 - text_h - base - 4, 0)
            cv2.rectangle(canvas, (x1, top), (x1 + text_w + 6, top + text_h + base + 4), color, -1)
            cv2.putText(canvas, text, (x1 + 3, top + text_h + 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), 1,
                        cv2.LINE_AA)
        yield canvas


def write_annotated_video(
    path: str | os.PathLike,
    frames: np.ndarray,
    people: Sequence[dict[str, Any]],
    frame_scale: float,
    duration: float,
) -> Path:
    """``annotate_frames`` written as an H.264 MP4 whose length is the video's ``duration`` (one picture per frame)."""
    rate = Fraction(len(frames) / duration).limit_denominator(1000) if duration > 0 else Fraction(1)
    return write_video(path, annotate_frames(frames, people, frame_scale), rate)


__all__ = ["annotate_frames", "frame_emotions", "write_annotated_video"]
