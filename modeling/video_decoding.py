"""Video decoding: a video file (or its bytes) becomes ``num_frames`` evenly spaced RGB frames with their timestamps.

decord is the fast sampled decoder; PyAV does the same job (more slowly) where decord has no wheel or refuses the
file. Only the sampled frames are kept, so an hour-long file costs the memory of ``num_frames`` frames. A live
recording with no length in its header (a browser's MediaRecorder WebM) has its packets counted first. Bad input
raises ``VideoDecodeError`` with one sentence naming the file and the reason.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

try:  # decord is the fast sampled decoder; PyAV does the same job (more slowly) where decord has no wheel
    import decord

    decord.logging.set_level(decord.logging.QUIET)  # its ffmpeg would print to stderr on every bad file
    _DECORD_ERRORS: tuple[type[BaseException], ...] = (RuntimeError, decord._ffi.base.DECORDError)
except ImportError:
    decord = None
    _DECORD_ERRORS = (RuntimeError,)

VideoInput = str | os.PathLike | bytes


class FaceVideoError(ValueError):
    """A video that cannot become face crops; the message is one sentence naming the file and the reason.

    Attributes:
        path: The file as given (or a description of in-memory bytes).
    """

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path


class VideoDecodeError(FaceVideoError):
    """The file is missing, empty, not a video, truncated, has no video stream, or has no frames."""


def read_video(
    video: VideoInput, num_frames: int, max_frame_side: int | None
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Decode the ``num_frames`` sampled frames of a video (see ``FaceVideoProcessor.read_frames``).

    Raises:
        VideoDecodeError: The file cannot be decoded; the message says why.
    """
    with _as_file(video) as (path, name, source):
        _check_file(path, name, source)
        _probe(path, name, source)
        try:
            if decord is not None:
                try:
                    return _read_with_decord(path, num_frames, name, source, _Shrinker(max_frame_side))
                except _DECORD_ERRORS:
                    pass  # decord fails on some files PyAV reads, and says nothing useful when both fail
            return _read_with_pyav(path, num_frames, name, source, _Shrinker(max_frame_side))
        except VideoDecodeError:
            raise
        except Exception as error:  # any other decoder failure becomes one sentence, from the diagnosis
            raise VideoDecodeError(f"{name} could not be decoded: {_diagnose(path)}.", source) from error


@contextmanager
def _as_file(video: VideoInput) -> Iterator[tuple[str, str, str]]:
    """Yield (path to decode, name for messages, source for ``FaceVideoError.path``).

    Bytes are written to a temporary file that is deleted afterwards.
    """
    if isinstance(video, (bytes, bytearray, memoryview)):
        name = f"The uploaded video ({len(video)} bytes)"
        handle = tempfile.NamedTemporaryFile(prefix="face_video_", suffix=".mp4", delete=False)
        try:
            with handle:
                handle.write(video)
            yield handle.name, name, name
        finally:
            os.unlink(handle.name)
    elif isinstance(video, (str, os.PathLike)):
        yield os.fspath(video), Path(video).name or os.fspath(video), os.fspath(video)
    else:
        raise TypeError(f"video must be a path or bytes, not {type(video).__name__}.")


def _check_file(path: str, name: str, source: str) -> None:
    """Reject what needs no decoder to reject, with a precise reason."""
    if not os.path.exists(path):
        raise VideoDecodeError(f"{name} could not be decoded: the file does not exist.", source)
    if os.path.isdir(path):
        raise VideoDecodeError(f"{name} could not be decoded: it is a folder, not a file.", source)
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(f"{name} could not be decoded: the file is empty.", source)


def sample_indices(num_video_frames: int, num_frames: int) -> np.ndarray:
    """``num_frames`` evenly spaced frame indices from 0 to ``num_video_frames - 1`` (repeats when too few)."""
    return np.linspace(0, num_video_frames - 1, num_frames).round().astype(np.int64)


class _Shrinker:
    """Shrinks each decoded frame to a longer side of at most ``max_side`` and remembers the video's own size."""

    def __init__(self, max_side: int | None):
        self.max_side = max_side
        self.size = (0, 0)  # the video's (height, width), from the last frame seen

    @property
    def scale(self) -> float:
        """The kept frames' size over the video's."""
        longer = max(self.size)
        return self.max_side / longer if self.max_side and longer > self.max_side else 1.0

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        self.size = frame.shape[:2]
        scale = self.scale
        if scale == 1.0:
            return frame
        height, width = self.size
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _metadata(
    fps: float, count: int, duration: float, shrink: _Shrinker, indices: np.ndarray, name: str, source: str
) -> dict:
    return {
        "fps": float(fps),
        "num_video_frames": int(count),
        "duration": float(duration),
        "height": int(shrink.size[0]),
        "width": int(shrink.size[1]),
        "frame_scale": float(shrink.scale),
        "frame_indices": indices,
        "name": name,
        "source": source,
    }


def _read_with_decord(
    path: str, num_frames: int, name: str, source: str, shrink: _Shrinker
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Sampled decode with decord (applies the rotation stored in the file).

    One frame per decord call, into one array: batched calls kept decord's threads' buffers for the whole batch, which
    for a 4K clip peaked at 2.4x the sampled frames' size and decoded at half the speed.
    """
    reader = decord.VideoReader(path, ctx=decord.cpu(0))
    count = len(reader)
    if count == 0:
        raise VideoDecodeError(f"{name} could not be decoded: its video stream holds no frames.", source)
    indices = sample_indices(count, num_frames)
    order = indices.tolist()
    frames = None  # filled in place as frames arrive: keeping them in a dict first (as `_gather` takes them) while
    # decord's buffers come and go fragmented the heap and raised the 4K peak by 1.7x
    for position, index in enumerate(order):
        if position and index == order[position - 1]:  # a clip shorter than the sample repeats frames
            frames[position] = frames[position - 1]
            continue
        frame = shrink(reader.get_batch([index]).asnumpy()[0])
        if frames is None:
            frames = np.empty((len(order), *frame.shape), np.uint8)
        frames[position] = frame
    timestamps = reader.get_frame_timestamp(order)[:, 0].astype(np.float64)
    fps = reader.get_avg_fps()
    duration = float(reader.get_frame_timestamp(count - 1)[1])
    return frames, timestamps, _metadata(fps, count, duration, shrink, indices, name, source)


def _read_with_pyav(
    path: str, num_frames: int, name: str, source: str, shrink: _Shrinker
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Sampled decode with PyAV: seek to the key frame before each wanted frame, decode forward to it."""
    import av

    with av.open(path) as container:
        if not container.streams.video:
            raise VideoDecodeError(f"{name} could not be decoded: it contains no video stream.", source)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        duration = float(stream.duration * stream.time_base) if stream.duration else (container.duration or 0) / 1e6
        if not stream.frames and not duration:
            # A live recording (a browser's MediaRecorder WebM) states neither: count its packets, decode in order.
            return _read_every_frame(path, container, stream, num_frames, name, source, shrink)
        count = stream.frames or max(1, round(duration * fps))
        indices = sample_indices(count, num_frames)

        wanted = sorted(set(indices.tolist()))
        decoded: dict[int, tuple[np.ndarray, float]] = {}
        last = None  # the latest decoded frame
        position = -1  # index of the last frame decoded
        frames_iter = None
        for index in wanted:
            if frames_iter is None or index - position > 2 * fps:  # far ahead: seeking beats decoding through
                container.seek(int((start + index / fps) / stream.time_base), stream=stream, backward=True)
                frames_iter = _decode_skipping_damage(container, stream)
            for frame in frames_iter:
                position = round((frame.time - start) * fps) if frame.time is not None else position + 1
                last = frame
                if position >= index:
                    break
            if last is None:
                raise VideoDecodeError(f"{name} could not be decoded: its video stream holds no frames.", source)
            # Only kept frames become RGB: converting every decoded one cost time and fragmented the heap (a 4K
            # clip peaked at 3x its sampled frames). Past the real end (an estimated count), the last frame is kept.
            decoded[index] = (shrink(_to_rgb(last)), (last.time or 0.0) - start)
        frames, timestamps = _gather(decoded, indices)
    return frames, timestamps, _metadata(fps, count, duration or count / fps, shrink, indices, name, source)


def _read_every_frame(
    path: str, container, stream, num_frames: int, name: str, source: str, shrink: _Shrinker
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Sampled decode of a video whose header gives no length: count the frames, then decode from the start.

    Counting demuxes the video packets of a second reader (no decoding); the sampled frames are then kept from one
    sequential decode, so memory stays that of ``num_frames`` frames.
    """
    import av

    with av.open(path) as counter:
        packets = [(p.pts, p.duration) for p in counter.demux(counter.streams.video[0]) if p.size and p.pts is not None]
    if not packets:
        raise VideoDecodeError(f"{name} could not be decoded: its video stream holds no frames.", source)
    count = len(packets)
    first = min(pts for pts, _ in packets)
    last, last_length = max(packets)
    mean_gap = (last - first) / (count - 1) if count > 1 else 0
    duration = float((last - first + (last_length or mean_gap)) * stream.time_base)  # to the end of the last frame
    fps = count / duration if duration > 0 else float(stream.average_rate or stream.guessed_rate or 25)
    start = float(first * stream.time_base)
    indices = sample_indices(count, num_frames)

    def kept(frame, position: int) -> tuple[np.ndarray, float]:
        seconds = frame.time if frame.time is not None else start + position / fps  # frame.time: pts x time_base
        return shrink(_to_rgb(frame)), seconds - start

    wanted = set(indices.tolist())
    decoded: dict[int, tuple[np.ndarray, float]] = {}
    position, frame = -1, None
    for position, frame in enumerate(_decode_skipping_damage(container, stream)):
        if position in wanted:
            decoded[position] = kept(frame, position)
            if len(decoded) == len(wanted):
                break
    if frame is None:
        raise VideoDecodeError(f"{name} could not be decoded: its video stream holds no frames.", source)
    if len(decoded) < len(wanted):  # fewer frames decoded than packets counted: the rest are the last one
        last = kept(frame, position)
        decoded = {index: decoded.get(index, last) for index in wanted}
    frames, timestamps = _gather(decoded, indices)
    return frames, timestamps, _metadata(fps, count, duration, shrink, indices, name, source)


def _gather(decoded: dict[int, tuple[np.ndarray, float]], indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The decoded (frame, seconds) of each sampled index (non-decreasing; repeats allowed) as two arrays.

    Each frame is dropped from ``decoded`` after its last use, so the peak is one copy of the sampled frames, not the
    two that stacking a list makes.
    """
    order = indices.tolist()
    first = decoded[order[0]][0]
    frames = np.empty((len(order), *first.shape), first.dtype)
    timestamps = np.empty(len(order), np.float64)
    for position, index in enumerate(order):
        frames[position], timestamps[position] = decoded[index]
        if position + 1 == len(order) or order[position + 1] != index:
            del decoded[index]
    return frames, timestamps


def _decode_skipping_damage(container, stream) -> Iterator:
    """Decoded frames of ``stream``; a damaged packet is skipped so the rest of the video still counts."""
    import av

    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue
        yield from frames


def _to_rgb(frame) -> np.ndarray:
    """A PyAV frame as RGB uint8, turned upright by the rotation stored in the file (as decord does)."""
    image = frame.to_ndarray(format="rgb24")
    turns = round(getattr(frame, "rotation", 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _probe(path: str, name: str, source: str) -> None:
    """Open the container with PyAV (quiet, about a millisecond) to reject non-videos with a precise reason.

    Done before decord sees the file because decord prints its own error lines to stderr for such files.
    """
    try:
        import av
    except ImportError:
        return
    try:
        with av.open(path) as container:
            has_video = bool(container.streams.video)
    except av.error.FFmpegError as error:
        reason = "it is not a video file, or it is truncated or corrupted"
        raise VideoDecodeError(f"{name} could not be decoded: {reason}.", source) from error
    if not has_video:
        raise VideoDecodeError(f"{name} could not be decoded: it contains no video stream.", source)


def _diagnose(path: str) -> str:
    """Why a file that opened but that the decoders failed on is bad, as the end of a sentence."""
    try:
        import av

        with av.open(path) as container:
            for _ in container.decode(video=0):
                return "its video data is damaged (the file may be truncated or corrupted)"
            return "its video stream holds no frames"
    except Exception as error:  # noqa: BLE001 - any failure here is itself the diagnosis
        return f"its video data could not be decoded ({type(error).__name__}: {error})"
