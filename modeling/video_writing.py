"""Write RGB frames as a browser-playable H.264 MP4 (PyAV's libx264, yuv420p).

The one video writer of the project: the page's example clips, the face-fusion repo's widget example, annotated
videos and the test fixtures all go through it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np


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
    import av  # PyAV: only the writers need it

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
