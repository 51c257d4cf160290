"""The example clip shipped in the face-fusion Hub repo (widget example) and the Space: a real face, written here.

The clip is made at export time from scikit-image's astronaut photo (Eileen Collins, public domain, NASA) rather than
kept as a binary in git: it is small, deterministic, browser-playable H.264 (PyAV, libx264, yuv420p), and needs
nothing that cannot be installed.
"""

from __future__ import annotations

import os
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
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        for i in range(num_frames):
            t = i / max(num_frames - 1, 1)
            frame = np.full((height, width, 3), 96, np.uint8)
            _paste(frame, head, center=(width * (0.35 + 0.3 * t), height * 0.5), height=height * (0.6 + 0.2 * t))
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _paste(canvas: np.ndarray, image: np.ndarray, center: tuple[float, float], height: float) -> None:
    """Paste `image` scaled to `height` pixels, centred at `center` (x, y), clipped at the canvas borders."""
    scale = height / image.shape[0]
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = resized.shape[:2]
    x1, y1 = round(center[0] - w / 2), round(center[1] - h / 2)
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x1 + w, canvas.shape[1]), min(y1 + h, canvas.shape[0])
    if cx2 > cx1 and cy2 > cy1:
        canvas[cy1:cy2, cx1:cx2] = resized[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1]
