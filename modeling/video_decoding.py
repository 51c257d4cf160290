"""Video decoding: a video file (or its bytes) becomes ``num_frames`` evenly spaced RGB frames with their timestamps.

PyAV decodes: it demuxes every frame's time first, then decodes only what the sampled frames need (frames nothing
else is predicted from are skipped unless sampled), on one thread. On the 720p benchmark clip that is half the
core-seconds of decord's sampled decode (benchmarks/bench_front_end.py), with the same frames. decord is the fallback
for a file PyAV fails on. Only the sampled frames are kept, so an hour-long file costs the memory of ``num_frames``
frames. A live recording with no length in its header (a browser's MediaRecorder WebM) has its packets counted
first. Bad input raises ``VideoDecodeError`` with one sentence naming the file and the reason; a still photo
(whatever its extension) is refused as such, because one frame is weak evidence for emotions over time and above all
for personality traits.
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

try:  # decord is the fallback decoder, for a file PyAV fails on; some platforms have no wheel of it
    import decord

    decord.logging.set_level(decord.logging.QUIET)  # its ffmpeg would print to stderr on every bad file
except ImportError:
    decord = None

VideoInput = str | os.PathLike | bytes
# The file extensions taken as videos wherever a folder is read (compared in lower case): the containers both decoders
# read. Every command that lists video files uses this one tuple.
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts")


# The decoders tried, in order: PyAV first (cheaper, see the module docstring), decord for a file PyAV fails on.
DECODERS = ("pyav", "decord")


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
        failure = None
        for decoder in DECODERS:
            if decoder == "decord" and decord is None:
                continue
            read = _read_with_pyav if decoder == "pyav" else _read_with_decord
            try:
                return read(path, num_frames, name, source, _Shrinker(max_frame_side))
            except VideoDecodeError:
                raise  # a reason found while reading (no frames, damaged data) holds for every decoder
            except Exception as error:  # noqa: BLE001 - the next decoder may read it; the diagnosis says why not
                failure = failure or error
        raise VideoDecodeError(f"{name} could not be decoded: {_diagnose(path)}.", source) from failure


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


def sample_by_time(frame_times: np.ndarray, num_frames: int) -> np.ndarray:
    """Indices of ``num_frames`` frames evenly spaced in presentation time.

    ``num_frames`` moments are spread evenly from the first frame's time to the last frame's, and each takes the frame
    whose time is nearest. At a constant frame rate these are ``sample_indices``; at a variable one (a phone that
    drops to 5 fps in the dark), a second of slow frames gets as many samples as a second of fast ones. A clip with
    fewer frames than samples repeats frames.

    Args:
        frame_times: (N,) increasing presentation times of every frame, in seconds.
        num_frames: How many to sample.
    """
    times = np.asarray(frame_times, np.float64)
    if len(times) == 1:
        return np.zeros(num_frames, np.int64)
    moments = np.linspace(times[0], times[-1], num_frames)
    return np.interp(moments, times, np.arange(len(times))).round().astype(np.int64)


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
    fps: float,
    count: int,
    duration: float,
    shrink: _Shrinker,
    indices: np.ndarray,
    name: str,
    source: str,
    missing: int = 0,
) -> dict:
    return {
        "fps": float(fps),
        "num_video_frames": int(count),
        "duration": float(duration),
        "height": int(shrink.size[0]),
        "width": int(shrink.size[1]),
        "frame_scale": float(shrink.scale),
        "frame_indices": indices,
        # samples that show the same frame as the sample before (a clip with fewer frames than samples, or a frame
        # standing in for one that could not be decoded), and samples whose own frame could not be decoded
        "frames_repeated": int(np.count_nonzero(np.diff(indices) == 0)),
        "frames_missing": int(missing),
        "name": name,
        "source": source,
    }



def _read_with_decord(
    path: str, num_frames: int, name: str, source: str, shrink: _Shrinker
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Sampled decode with decord (applies the rotation stored in the file).

    decord indexes every frame's presentation time when it opens the file, so the samples are spread by time.
    One frame per decord call, into one array: batched calls kept decord's threads' buffers for the whole batch, which
    for a 4K clip peaked at 2.4x the sampled frames' size and decoded at half the speed.
    """
    # One decoding thread: decord's automatic thread count cost 1.2-1.9x the core-seconds for the same frames
    # (benchmarks/bench_front_end.py); batch jobs get their parallelism from decoding several videos at once.
    reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
    count = len(reader)
    if count == 0:
        raise VideoDecodeError(f"{name} could not be decoded: its video stream holds no frames.", source)
    spans = np.asarray(reader.get_frame_timestamp(np.arange(count)), np.float64)  # (count, 2): start, end seconds
    indices = sample_by_time(spans[:, 0], num_frames)
    order = indices.tolist()
    frames = None  # filled in place as frames arrive: keeping them in a dict first while decord's buffers come and go
    # fragmented the heap and raised the 4K peak by 1.7x
    for position, index in enumerate(order):
        if position and index == order[position - 1]:  # a clip shorter than the sample repeats frames
            frames[position] = frames[position - 1]
            continue
        frame = shrink(reader.get_batch([index]).asnumpy()[0])
        if frames is None:
            frames = np.empty((len(order), *frame.shape), np.uint8)
        frames[position] = frame
    fps = reader.get_avg_fps()
    return frames, spans[indices, 0], _metadata(fps, count, float(spans[-1, 1]), shrink, indices, name, source)


def _read_with_pyav(
    path: str,
    num_frames: int,
    name: str,
    source: str,
    shrink: _Shrinker,
    skip_unneeded: bool = True,
    codec_options: dict[str, str] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Sampled decode with PyAV, spread by time.

    Every frame's presentation time comes from demuxing the video packets first (no decoding). Each sampled frame is
    then reached by seeking to the key frame before it (when it is far ahead) and decoding forward, skipping the
    frames nothing needs; a live recording with no length in its header (a browser's MediaRecorder WebM) has no index
    to seek by and is decoded from the start, in one pass. A frame that cannot be decoded (a damaged stream) is
    replaced by the nearest frame that can, which is what the sample then reports (its own index and time), counted
    in ``frames_missing``. ``skip_unneeded=False`` decodes every frame on the way, and ``codec_options`` are FFmpeg
    decoder options for the whole stream (both for comparison: ``benchmarks/bench_front_end.py``).
    """
    import av

    with av.open(path) as container:
        if not container.streams.video:
            raise VideoDecodeError(f"{name} could not be decoded: it contains no video stream.", source)
        stream = container.streams.video[0]
        can_seek = bool(stream.frames or stream.duration or container.duration)
        pts, last_length = _packet_times(container)
        if not len(pts):
            raise VideoDecodeError(f"{name} could not be decoded: its video stream holds no frames.", source)
        time_base = float(stream.time_base)
        times = (pts - pts[0]) * time_base
        count = len(pts)
        mean_gap = (pts[-1] - pts[0]) / (count - 1) if count > 1 else 0
        duration = float((pts[-1] - pts[0] + (last_length or mean_gap)) * time_base)  # to the end of the last frame
        if can_seek and stream.average_rate:
            fps = float(stream.average_rate)
        else:
            fps = count / duration if duration > 0 else float(stream.guessed_rate or 25)
    wanted = sample_by_time(times, num_frames)
    frames, used, missing = _decode_frames(path, pts, wanted, can_seek, shrink, skip_unneeded, codec_options)
    if missing or frames is None:  # damaged data: the stand-ins must be the nearest frames that decode, skipped or not
        frames, used, missing = _decode_frames(
            path, pts, wanted, can_seek, shrink, skip_unneeded=False, codec_options=codec_options
        )
    if frames is None:
        raise VideoDecodeError(
            f"{name} could not be decoded: its video data is damaged (the file may be truncated or corrupted).", source
        )
    return frames, times[used], _metadata(fps, count, duration, shrink, used, name, source, missing)


def _packet_times(container) -> tuple[np.ndarray, int]:
    """Every video frame's presentation time (sorted, in the stream's time base) and the last frame's length.

    Read by demuxing the open ``container``'s packets to the end without decoding them: a small part of the cost of
    decoding.
    """
    packets = [(p.pts, p.duration) for p in container.demux(container.streams.video[0]) if p.size and p.pts is not None]
    if not packets:
        return np.empty(0, np.int64), 0
    packets.sort()
    return np.unique(np.array([pts for pts, _ in packets], np.int64)), packets[-1][1] or 0


def _decode_frames(
    path: str,
    pts: np.ndarray,
    wanted: np.ndarray,
    can_seek: bool,
    shrink: _Shrinker,
    skip_unneeded: bool,
    codec_options: dict[str, str] | None = None,
) -> tuple[np.ndarray | None, np.ndarray, int]:
    """Decode the frames at ``pts[wanted]`` (non-decreasing indices).

    With ``skip_unneeded``, frames that are neither sampled nor predicted from are not decoded (see
    ``_decode_skipping_damage``), so a sample whose frame is damaged may get a farther stand-in than a full decode
    would give it.

    Returns:
        The frames (None when nothing decodes), the index of the frame each sample really shows, and how many samples
        show a stand-in because their own frame could not be decoded.
    """
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        # One thread: FFmpeg's frame threads cost 1.3x the core-seconds for the same frames, and would apply the
        # per-packet skipping to other packets than the one it was set for (benchmarks/bench_front_end.py).
        stream.thread_type = "NONE"
        if codec_options:
            stream.codec_context.options = codec_options
        needed = set(pts[wanted].tolist()) if skip_unneeded else None
        return _decode_sampled(container, stream, pts, wanted, can_seek, shrink, needed)


def _decode_sampled(
    container, stream, pts: np.ndarray, wanted: np.ndarray, can_seek: bool, shrink: _Shrinker, needed: set | None
) -> tuple[np.ndarray | None, np.ndarray, int]:
    """``_decode_frames`` on an open container; ``needed`` is what to decode when skipping (None: everything)."""
    far = 2.0 / float(stream.time_base)  # seeking beats decoding through more than 2 s
    frames, used, missing = None, np.empty(len(wanted), np.int64), 0
    frames_iter, before, current = None, None, None  # the decoder, the last frame before the target, the next one
    for position, index in enumerate(wanted.tolist()):
        target = int(pts[index])
        if frames_iter is None or (can_seek and current is not None and target - current.pts > far):
            if can_seek:  # to the key frame at or before the target; without an index, one pass from the start
                container.seek(target, stream=stream, backward=True)
            decoded = _decode_skipping_damage(container, stream, needed)
            frames_iter = (frame for frame in decoded if frame.pts is not None)
            before, current = None, next(frames_iter, None)
        while current is not None and current.pts < target:
            before, current = current, next(frames_iter, None)
        if current is not None and current.pts == target:
            chosen = current
        else:  # the frame itself did not decode: the nearest one that did stands in (the earlier one on a tie)
            candidates = [frame for frame in (before, current) if frame is not None]
            if not candidates:
                return None, used, missing
            chosen = min(candidates, key=lambda frame: abs(frame.pts - target))
            missing += 1
        used[position] = min(int(np.searchsorted(pts, chosen.pts)), len(pts) - 1)
        if position and used[position] == used[position - 1]:
            frames[position] = frames[position - 1]
            continue
        # Only kept frames become RGB: converting every decoded one cost time and fragmented the heap.
        image = shrink(_to_rgb(chosen))
        if frames is None:
            frames = np.empty((len(wanted), *image.shape), np.uint8)
        frames[position] = image
    return frames, used, missing


def _decode_skipping_damage(container, stream, needed: set[int] | None) -> Iterator:
    """Decoded frames of ``stream``; a damaged packet is skipped so the rest of the video still counts.

    Given ``needed`` (presentation times), frames no other frame is predicted from and that are not needed are not
    decoded at all: in an H.264 stream with B-frames that is about half of them, and half the decoding time. Every
    frame another one refers to is still decoded, so the needed frames come out exactly as a full decode gives them.
    """
    import av

    context = stream.codec_context
    for packet in container.demux(stream):
        if needed is not None:
            context.skip_frame = "DEFAULT" if packet.pts is None or packet.pts in needed else "NONREF"
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


# Formats FFmpeg reads single pictures with ("jpeg_pipe", "png_pipe", ...; "image2" for numbered files).
_STILL_IMAGE_CODECS = {
    "mjpeg": "JPEG", "png": "PNG", "webp": "WebP", "bmp": "BMP", "tiff": "TIFF", "jpeg2000": "JPEG 2000"
}
# A container with no stream at all whose file is bigger than this holds media its header no longer describes: a
# damaged header. Smaller, it is a header with nothing behind it (a recording stopped before its first frame: ~300
# bytes).
_HEADER_ONLY_BYTES = 4096


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
            format_name = container.format.name
            video = [stream.codec_context.name for stream in container.streams.video]
            has_audio = bool(container.streams.audio)
    except av.error.FFmpegError as error:
        reason = "it is not a video file, or it is truncated or corrupted"
        raise VideoDecodeError(f"{name} could not be decoded: {reason}.", source) from error
    if video and (format_name == "image2" or format_name.endswith("_pipe")) and video[0] in _STILL_IMAGE_CODECS:
        kind = _STILL_IMAGE_CODECS[video[0]]
        raise VideoDecodeError(
            f"{name} could not be decoded: it is a still image ({kind}), not a video, and one frame is too weak "
            "evidence for emotions over time and for personality traits, so photos are not analysed.",
            source,
        )
    if not video and not has_audio and os.path.getsize(path) > _HEADER_ONLY_BYTES:
        reason = "its header is damaged, so no stream can be read from it (the file is corrupted)"
        raise VideoDecodeError(f"{name} could not be decoded: {reason}.", source)
    if not video:
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
