"""Fixture videos for tests and benchmarks: real H.264 files made from scikit-image photos.

Every writer takes an output path and returns it, so tests can do
``path = moving_face_video(tmp_path / "clip.mp4")``. Videos are browser-playable MP4 (PyAV, libx264, yuv420p).
The only human face is ``skimage.data.astronaut()`` (Eileen Collins); the cat (``chelsea``) and the coffee cup are
faceless scenes. Defaults are small (320x240, 2 s, 15 fps) so a test stays fast; ``benchmark_video`` makes the
720p, 15 s, 30 fps clip the benchmarks time.

``webcam_recording`` is what a browser's MediaRecorder uploads: VP8 in a live WebM with no duration or frame count
in its header, frames at irregular times.

Bad files for the error paths: ``empty_file``, ``text_file``, ``truncated_video``, ``audio_only_file`` and
``zero_frame_video``; ``single_frame_video``, ``damaged_video`` and ``rotated_face_video`` are odd but usable and
must still give a result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from skimage import data

from modeling.video_writing import write_video  # the one H.264 writer, shared with the page and the export
from webapp.example_clips import paste

__all__ = [
    "FACE_BOX_IN_HEAD",
    "astronaut_head",
    "audio_only_file",
    "benchmark_video",
    "big_face_position",
    "damaged_video",
    "empty_file",
    "face_box",
    "face_gap_video",
    "face_missing_once_video",
    "faceless_video",
    "moving_face_frames",
    "moving_face_position",
    "moving_face_video",
    "paste",
    "red_background_face_video",
    "render_frames",
    "rotated_face_video",
    "corrupted_header_video",
    "single_frame_video",
    "still_image_file",
    "text_file",
    "truncated_video",
    "two_faces_video",
    "upright_face_frames",
    "variable_frame_rate_times",
    "variable_frame_rate_video",
    "webcam_frame_times",
    "webcam_recording",
    "write_video",
    "zero_frame_video",
]

PathLike = str | os.PathLike
GREY = (96, 96, 96)

# The astronaut's head, cropped from skimage.data.astronaut() (512x512): rows 30:250, cols 140:320.
_HEAD_ROWS = slice(30, 250)
_HEAD_COLS = slice(140, 320)
_HEAD_ROWS_COUNT, _HEAD_COLS_COUNT = 220, 180
# Where OpenCV's Haar cascade finds the face in the full photo ([x, y, w, h] = [177, 66, 95, 95]), expressed in
# the head crop's own pixels as [x1, y1, x2, y2]; tests use it to know where the face really is.
FACE_BOX_IN_HEAD = (37.0, 36.0, 132.0, 131.0)


def astronaut_head() -> np.ndarray:
    """The astronaut's head and shoulders, an RGB uint8 image of 220x180 (height x width)."""
    return np.ascontiguousarray(data.astronaut()[_HEAD_ROWS, _HEAD_COLS])


def render_frames(
    num: int,
    size: tuple[int, int],
    draw: Callable[[np.ndarray, float], None],
    background: tuple[int, int, int] = GREY,
) -> Iterable[np.ndarray]:
    """Yield ``num`` canvases of ``size`` (width, height) after ``draw(canvas, t)`` with t going 0 -> 1."""
    width, height = size
    for i in range(num):
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = background
        draw(canvas, i / max(num - 1, 1))
        yield canvas


def face_box(center: tuple[float, float], head_height: float) -> np.ndarray:
    """Where the face is, [x1, y1, x2, y2], when ``astronaut_head()`` is pasted at ``center`` with that height."""
    scale = head_height / _HEAD_ROWS_COUNT
    left = center[0] - _HEAD_COLS_COUNT * scale / 2
    top = center[1] - _HEAD_ROWS_COUNT * scale / 2
    return np.array(FACE_BOX_IN_HEAD) * scale + [left, top, left, top]


def moving_face_position(t: float, size: tuple[int, int] = (320, 240)) -> tuple[tuple[float, float], float]:
    """Head centre and height in ``moving_face_video`` at time fraction ``t`` (0 = first frame, 1 = last)."""
    width, height = size
    return (width * (0.3 + 0.4 * t), height * 0.5), height * (0.5 + 0.25 * t)


def big_face_position(t: float, size: tuple[int, int] = (320, 240)) -> tuple[tuple[float, float], float]:
    """Head centre and height of the big face in ``two_faces_video`` at time fraction ``t``."""
    width, height = size
    return (width * 0.3 - 6 * np.sin(2 * np.pi * t), height * 0.5), height * 0.75


def moving_face_frames(size: tuple[int, int] = (320, 240), seconds: float = 2.0, fps: int = 15) -> Iterable[np.ndarray]:
    """The frames of ``moving_face_video`` (and ``webcam_recording``), before encoding."""
    head = astronaut_head()

    def draw(canvas: np.ndarray, t: float) -> None:
        paste(canvas, head, *moving_face_position(t, size))

    return render_frames(round(seconds * fps), size, draw)


def moving_face_video(path: PathLike, size: tuple[int, int] = (320, 240), seconds: float = 2.0, fps: int = 15) -> Path:
    """The astronaut's head moving from left to right and growing from 50% to 75% of the frame height."""
    return write_video(path, moving_face_frames(size, seconds, fps), fps)


def phone_hevc_video(path: PathLike, size: tuple[int, int] = (320, 240), seconds: float = 2.0, fps: int = 15) -> Path:
    """``moving_face_frames`` as phones record them: HEVC tagged ``hvc1`` in QuickTime (``path`` ends in .mov).

    The analysis decodes it like any other video; browsers without a hardware HEVC decoder, Debian's Chromium among
    them, cannot play it.
    """
    with av.open(str(path), mode="w", format="mov") as container:
        stream = container.add_stream("libx265", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_tag = "hvc1"  # how Apple's players and phones tag HEVC in QuickTime
        stream.options = {"x265-params": "log-level=error"}
        for frame in moving_face_frames(size, seconds, fps):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


def webcam_frame_times(seconds: float = 2.0, fps: int = 15) -> np.ndarray:
    """When each frame of ``webcam_recording`` is shown, in integer milliseconds: ``fps`` give or take 20 ms each."""
    count = round(seconds * fps)
    jitter = np.random.default_rng(0).integers(-20, 21, count)
    jitter[0] = 0
    return np.round(np.arange(count) * 1000 / fps).astype(np.int64) + jitter


def webcam_recording(path: PathLike, size: tuple[int, int] = (320, 240), seconds: float = 2.0, fps: int = 15) -> Path:
    """``moving_face_frames`` recorded as a browser's MediaRecorder writes a webcam: VP8 in a live WebM.

    Live Matroska is written without seeking back, so its header holds no duration and no frame count (decord
    refuses such a file). Frames are shown at the irregular ``webcam_frame_times``.
    """
    times = webcam_frame_times(seconds, fps)
    with av.open(str(path), mode="w", format="webm", options={"live": "1"}) as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)  # Matroska's millisecond clock
        stream.options = {"deadline": "realtime", "cpu-used": "16", "threads": "1", "b": "1M"}  # fast on 2 cores
        for frame, milliseconds in zip(moving_face_frames(size, seconds, fps), times, strict=True):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts, picture.time_base = int(milliseconds), Fraction(1, 1000)
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


def variable_frame_rate_times() -> np.ndarray:
    """When each frame of ``variable_frame_rate_video`` is shown (s): 2 s at 30 fps, then 4 s at 5 fps (80 frames)."""
    return np.concatenate([np.arange(60) / 30, 2 + np.arange(20) / 5])


def variable_frame_rate_frame(t: float, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """The frame of ``variable_frame_rate_video`` shown at ``t`` seconds: the astronaut's head where
    ``moving_face_position`` puts it at ``t / 6`` of the way."""
    canvas = np.empty((size[1], size[0], 3), np.uint8)
    canvas[:] = GREY
    paste(canvas, astronaut_head(), *moving_face_position(t / 6, size))
    return canvas


def variable_frame_rate_video(path: PathLike, size: tuple[int, int] = (320, 240)) -> Path:
    """A phone-like variable frame rate: 2 s at 30 fps, then 4 s at 5 fps, written with explicit timestamps.

    The head moves across the 6 s at a steady speed, so each frame shows where it was at its own time.
    """
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 90000)
        stream.options = {"crf": "23", "preset": "veryfast"}
        for seconds in variable_frame_rate_times():
            picture = av.VideoFrame.from_ndarray(variable_frame_rate_frame(seconds, size), format="rgb24")
            picture.pts, picture.time_base = round(seconds * 90000), Fraction(1, 90000)
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


def face_gap_video(path: PathLike, size: tuple[int, int] = (320, 240), seconds: float = 2.0, fps: int = 15) -> Path:
    """A still face in the first and last thirds; empty grey frames in the middle third."""
    width, height = size
    head = astronaut_head()

    def draw(canvas: np.ndarray, t: float) -> None:
        if not 1 / 3 <= t <= 2 / 3:
            paste(canvas, head, (width * 0.5, height * 0.5), height * 0.65)

    return write_video(path, render_frames(round(seconds * fps), size, draw), fps)


def face_missing_once_video(path: PathLike, size: tuple[int, int] = (320, 240), num: int = 15, fps: int = 15) -> Path:
    """``num`` frames of a still face, but the middle one (frame ``num // 2``) is empty grey: a person gone for a
    moment between two frames that both show them."""
    width, height = size
    head = astronaut_head()

    def draw(canvas: np.ndarray, t: float) -> None:
        if round(t * (num - 1)) != num // 2:
            paste(canvas, head, (width * 0.5, height * 0.5), height * 0.65)

    return write_video(path, render_frames(num, size, draw), fps)


def two_faces_video(path: PathLike, size: tuple[int, int] = (320, 240), seconds: float = 2.0, fps: int = 15) -> Path:
    """A big face on the left (right half empty) and a small face on the right, both drifting slightly."""
    width, height = size
    head = astronaut_head()

    def draw(canvas: np.ndarray, t: float) -> None:
        paste(canvas, head, (width * 0.8 + 6 * np.sin(2 * np.pi * t), height * 0.55), height * 0.42)  # small face
        paste(canvas, head, *big_face_position(t, size))

    return write_video(path, render_frames(round(seconds * fps), size, draw), fps)


def faceless_video(path: PathLike, size: tuple[int, int] = (320, 240), seconds: float = 2.0, fps: int = 15) -> Path:
    """The cat (skimage ``chelsea``) panning over the coffee cup: real textures, no human face."""
    width, height = size
    cat, coffee = data.chelsea(), data.coffee()

    def draw(canvas: np.ndarray, t: float) -> None:
        paste(canvas, coffee, (width * 0.5, height * 0.5), height)
        paste(canvas, cat, (width * (0.35 + 0.3 * t), height * 0.5), height * 0.6)

    return write_video(path, render_frames(round(seconds * fps), size, draw), fps)


def red_background_face_video(
    path: PathLike, size: tuple[int, int] = (320, 240), seconds: float = 1.0, fps: int = 15
) -> Path:
    """A still face on a pure red background (RGB 255, 0, 0): a crop that is not RGB shows up as blue."""
    width, height = size
    head = astronaut_head()

    def draw(canvas: np.ndarray, t: float) -> None:
        paste(canvas, head, (width * 0.5, height * 0.5), height * 0.6)

    return write_video(path, render_frames(round(seconds * fps), size, draw, background=(255, 0, 0)), fps)


def benchmark_video(path: PathLike, size: tuple[int, int] = (1280, 720), seconds: float = 15.0, fps: int = 30) -> Path:
    """A long moving-face clip for speed and memory measurements (default 720p, 15 s, 30 fps)."""
    return moving_face_video(path, size=size, seconds=seconds, fps=fps)


def rotated_face_video(path: PathLike, size: tuple[int, int] = (240, 320), seconds: float = 1.0, fps: int = 15) -> Path:
    """A portrait clip (``size`` is the upright width, height) stored sideways with a 90 degree display rotation.

    Players (and decoders that honour the rotation) show the face upright; the raw stored frames show it lying.
    """
    return write_video(
        path, (np.rot90(frame, -1) for frame in upright_face_frames(size, seconds, fps)), fps, rotation=90
    )


def upright_face_frames(size: tuple[int, int] = (240, 320), seconds: float = 1.0, fps: int = 15) -> list[np.ndarray]:
    """The frames ``rotated_face_video`` should decode to: a still, upright face."""
    width, height = size
    head = astronaut_head()

    def draw(canvas: np.ndarray, t: float) -> None:
        paste(canvas, head, (width * 0.5, height * 0.5), width * 0.8)

    return list(render_frames(round(seconds * fps), size, draw))


def single_frame_video(path: PathLike, size: tuple[int, int] = (320, 240)) -> Path:
    """A valid video with exactly one frame, showing a face."""
    width, height = size
    head = astronaut_head()

    def draw(canvas: np.ndarray, t: float) -> None:
        paste(canvas, head, (width * 0.5, height * 0.5), height * 0.65)

    return write_video(path, render_frames(1, size, draw), fps=15)


def zero_frame_video(path: PathLike, size: tuple[int, int] = (320, 240)) -> Path:
    """An MP4 whose H.264 video stream holds no frames at all."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=15)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        container.start_encoding()  # writes the header although no frame follows
    return Path(path)


def empty_file(path: PathLike) -> Path:
    """A file of zero bytes."""
    Path(path).write_bytes(b"")
    return Path(path)


def text_file(path: PathLike) -> Path:
    """A plain text file (whatever its extension says)."""
    Path(path).write_text("This is not a video, just a few words of text.\n" * 20)
    return Path(path)


def truncated_video(path: PathLike) -> Path:
    """The first half of a real H.264 MP4, as an interrupted download leaves it."""
    source = Path(path).with_name(Path(path).stem + "_full.mp4")
    moving_face_video(source)
    content = source.read_bytes()
    source.unlink()
    Path(path).write_bytes(content[: len(content) // 2])
    return Path(path)


def still_image_file(path: PathLike, image_format: str = "JPEG") -> Path:
    """The astronaut photo as a still image (JPEG or PNG), whatever the file's extension says."""
    from PIL import Image

    Image.fromarray(data.astronaut()).save(str(path), format=image_format)
    return Path(path)


def corrupted_header_video(path: PathLike) -> Path:
    """A real H.264 MP4 whose header (the ``moov`` box, which describes the streams) is overwritten with noise: the
    container opens, but no stream can be read from it, although all the video data is there."""
    moving_face_video(path)
    content = bytearray(Path(path).read_bytes())
    start = content.find(b"moov") + 8
    content[start : start + 192] = np.random.default_rng(0).integers(0, 256, 192, dtype=np.uint8).tobytes()
    Path(path).write_bytes(bytes(content))
    return Path(path)


def damaged_video(path: PathLike) -> Path:
    """A real H.264 MP4 with 3000 bytes of noise a third of the way in: it opens, but some frames will not decode."""
    moving_face_video(path)
    content = bytearray(Path(path).read_bytes())
    start = len(content) // 3
    content[start : start + 3000] = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    Path(path).write_bytes(bytes(content))
    return Path(path)


def audio_only_file(path: PathLike, seconds: float = 1.0, rate: int = 16000) -> Path:
    """A container holding only an AAC audio stream (a 440 Hz tone), no video stream."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        samples = np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate).astype(np.float32)
        chunk = 1024
        for start in range(0, len(samples), chunk):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + chunk], format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)
