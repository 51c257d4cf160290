"""The example clips: the page's three examples and the face-fusion repo's widget example, drawn from scikit-image's
sample photos rather than kept as binaries in git.

The photos are the astronaut Eileen Collins (NASA, public domain), Chelsea the cat and a coffee cup. Every clip is
small, deterministic, browser-playable H.264 written by `modeling.video_writing`.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from modeling.video_writing import write_video

# The face-fusion Hub repo's example (its widget and card), written by training/export_hub.py.
EXAMPLE_NAME = "astronaut.mp4"
EXAMPLE_TITLE = "Astronaut (scikit-image sample photo), head moving across the frame"

PAGE_EXAMPLES = {  # file name -> caption shown under the example on the page
    "astronaut_close_up.mp4": "Close-up: a slow zoom onto a face",
    "astronaut_steps_out.mp4": "The face leaves the frame for a moment",
    "cat_no_face.mp4": "No human face (a cat)",
}


def astronaut_head() -> np.ndarray:
    """The astronaut's head and shoulders (220 x 180 RGB)."""
    from skimage import data  # face-alignment already depends on scikit-image

    return np.ascontiguousarray(data.astronaut()[30:250, 140:320])


def paste(canvas: np.ndarray, image: np.ndarray, center: tuple[float, float], height: float) -> None:
    """Paste `image` scaled to `height` pixels, centred at `center` (x, y), clipped at the canvas borders."""
    scale = height / image.shape[0]
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = resized.shape[:2]
    x1, y1 = round(center[0] - w / 2), round(center[1] - h / 2)
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x1 + w, canvas.shape[1]), min(y1 + h, canvas.shape[0])
    if cx2 > cx1 and cy2 > cy1:
        canvas[cy1:cy2, cx1:cx2] = resized[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1]


def write_example_video(
    path: str | os.PathLike, size: tuple[int, int] = (640, 480), seconds: float = 3.0, fps: int = 15
) -> Path:
    """Write the repo's example: the astronaut's head drifting left to right and growing, on a grey background.

    Args:
        path: Output `.mp4` file.
        size: (width, height), both even.
        seconds: Duration.
        fps: Frame rate.

    Returns:
        The output path.
    """
    head = astronaut_head()
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


def make_example_videos(folder: str | os.PathLike, size: tuple[int, int] = (480, 360), fps: int = 15) -> list[Path]:
    """Write the page's example clips (3 s each), if absent.

    Each file is written under a temporary name and renamed when complete, so an interrupted start never leaves a
    broken example behind.

    Returns:
        The example files, in the order of `PAGE_EXAMPLES`.
    """
    from skimage import data

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    photo, cat, head = data.astronaut(), data.chelsea(), astronaut_head()

    def close_up(t: float) -> np.ndarray:  # zoom from the upper photo (4:3) onto the face, near x=224, y=113
        crop_w = 512 - 272 * t
        cx, cy = 256 - 32 * t, 192 - 79 * t
        x1, y1 = int(cx - crop_w / 2), int(cy - crop_w * 0.375)
        window = photo[y1 : y1 + int(crop_w * 0.75), x1 : x1 + int(crop_w)]
        return cv2.resize(window, size, interpolation=cv2.INTER_AREA)

    def steps_out(t: float) -> np.ndarray:  # slides out of the frame on the right, waits, and comes back
        canvas = np.full((height, width, 3), 96, np.uint8)
        x = width * (0.5 + 5.2 * np.clip(min(t, 1 - t) - 0.25, 0.0, 0.15))
        paste(canvas, head, (x, height * 0.5), height * 0.7)
        return canvas

    def no_face(t: float) -> np.ndarray:
        canvas = cv2.resize(data.coffee(), size, interpolation=cv2.INTER_AREA)
        paste(canvas, cat, (width * (0.35 + 0.3 * t), height * 0.5), height * 0.7)
        return canvas

    paths = []
    for name, draw in zip(PAGE_EXAMPLES, (close_up, steps_out, no_face), strict=True):
        path = folder / name
        if not path.exists():
            partial = path.with_suffix(".partial.mp4")
            write_video(partial, (draw(i / (3 * fps - 1)) for i in range(3 * fps)), fps)
            partial.replace(path)
        paths.append(path)
    return paths
