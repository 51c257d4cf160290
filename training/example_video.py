"""The example clip shipped in the face-fusion Hub repo (widget example) and the Space: a real face, written here.

The clip is made at export time from scikit-image's astronaut photo (Eileen Collins, public domain, NASA) rather than
kept as a binary in git: it is small, deterministic, browser-playable H.264 (PyAV, libx264, yuv420p), and needs
nothing that cannot be installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

EXAMPLE_NAME = "astronaut.mp4"
EXAMPLE_TITLE = "Astronaut (scikit-image sample photo), head moving across the frame"


def write_example_video(
    path: str | os.PathLike, size: tuple[int, int] = (640, 480), seconds: float = 3.0, fps: int = 15
) -> Path:
    """Write the astronaut's head drifting left to right and growing, on a grey background.

    Args:
        path: Output `.mp4` file.
        size: (width, height), both even.
        seconds: Duration.
        fps: Frame rate.

    Returns:
        The output path.
    """
    from skimage import data  # only needed here; face-alignment already depends on scikit-image

    head = np.ascontiguousarray(data.astronaut()[30:250, 140:320])  # head and shoulders, 220 x 180
    width, height = size
    num_frames = max(1, round(seconds * fps))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def frame_at(i: int) -> np.ndarray:
        t = i / max(num_frames - 1, 1)
        frame = np.full((height, width, 3), 96, np.uint8)
        paste(frame, head, center=(width * (0.35 + 0.3 * t), height * 0.5), height=height * (0.6 + 0.2 * t))
        return frame

    return write_video(path, (frame_at(i) for i in range(num_frames)), fps=fps)


def write_video(
    path: str | os.PathLike, frames: Iterable[np.ndarray], fps: int = 15, crf: int = 23, rotation: int = 0
) -> Path:
    """Encode RGB uint8 frames as a browser-playable H.264 MP4 (PyAV's libx264, yuv420p).

    Args:
        path: Output file.
        frames: RGB uint8 arrays of one shape (height and width even, as yuv420p needs).
        fps: Frame rate.
        crf: x264 quality (lower is better).
        rotation: Display rotation stored in the file (degrees counter-clockwise), as phones write it.

    Returns:
        The output path.
    """
    path = Path(path)
    with av.open(str(path), mode="w") as container:  # the container follows the file name (.mp4)
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps))
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": "veryfast"}
                if rotation:
                    stream.set_display_rotation(rotation)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path


def paste(canvas: np.ndarray, image: np.ndarray, center: tuple[float, float], height: float) -> None:
    """Paste `image` scaled to `height` pixels, centred at `center` (x, y), clipped at the canvas borders."""
    scale = height / image.shape[0]
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = resized.shape[:2]
    x1, y1 = round(center[0] - w / 2), round(center[1] - h / 2)
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x1 + w, canvas.shape[1]), min(y1 + h, canvas.shape[0])
    if cx2 > cx1 and cy2 > cy1:
        canvas[cy1:cy2, cx1:cx2] = resized[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1]
