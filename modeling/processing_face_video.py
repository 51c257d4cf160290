"""FaceVideoProcessor: the one place where a video becomes face crops and pixel tensors.

Stages, each a public method so batch jobs and benchmarks can run and time them separately:

1. ``read_frames``: decode ``num_frames`` evenly spaced frames (decord, or PyAV when decord is missing or refuses
   the file). Only the sampled frames are kept, so an hour-long file costs the memory of ``num_frames`` frames. A
   live recording with no length in its header (a browser's MediaRecorder WebM) has its packets counted first.
2. ``detect``: find every face on each frame, link them into tracks and keep the most prominent person.
3. ``face_angles``: with face-alignment and ``align_faces``, the roll angle that levels the eyes (68 landmarks).
4. ``crop``: a square around the face plus a margin, black-padded at the border, rotated, resized (RGB uint8).
5. ``normalize``: float32 CHW tensors with the ImageNet mean and std.

``extract_faces`` runs stages 1-4 (uint8 crops, for batching across videos); ``__call__`` runs all five. Bad input
raises ``VideoDecodeError`` or ``NoFaceFoundError`` (both ``FaceVideoError``, a ``ValueError``) with one sentence
naming the file and the reason.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypedDict

import cv2
import numpy as np
import torch
from PIL import Image
from transformers.feature_extraction_utils import BatchFeature
from transformers.image_processing_base import ImageProcessingMixin

from .detection_schedule import detect_sparsely
from .face_detection import (
    FaceAlignmentDetector,
    HaarFaceDetector,
    eye_roll_angle,
    face_alignment_checkpoint_dir,
    face_alignment_weights_present,
    select_face_track,
)

try:  # decord is the fast sampled decoder; PyAV does the same job (more slowly) where decord has no wheel
    import decord

    decord.logging.set_level(decord.logging.QUIET)  # its ffmpeg would print to stderr on every bad file
    _DECORD_ERRORS: tuple[type[BaseException], ...] = (RuntimeError, decord._ffi.base.DECORDError)
except ImportError:
    decord = None
    _DECORD_ERRORS = (RuntimeError,)

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
FACE_DETECTORS = ("auto", "face_alignment", "haar")
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


class NoFaceFoundError(FaceVideoError):
    """No face was detected in any sampled frame."""


class FaceVideoProcessorKwargs(TypedDict, total=False):
    """Parameters ``FaceVideoProcessor.from_pretrained(..., **kwargs)`` may override."""

    num_frames: int
    image_size: int
    face_detector: str
    face_alignment_detector: str
    align_faces: bool
    face_margin: float
    detection_max_side: int
    detect_every: int
    max_frame_side: int | None
    image_mean: list[float]
    image_std: list[float]
    device: str


class FaceVideoProcessor(ImageProcessingMixin):
    """Turns a video into ``num_frames`` face crops of one person, ready for EmoNeXt.

    Saved and loaded like any Hugging Face processor (``save_pretrained`` writes ``preprocessor_config.json``;
    ``from_pretrained`` reads it, also as Hub remote code after ``register_for_auto_class("AutoProcessor")``).

    Args:
        num_frames: Frames sampled per video, evenly spaced (``np.linspace(0, n - 1, num_frames).round()``).
            Always exactly this many rows come out: a video with fewer frames repeats frames.
        image_size: Side of the square face crops, in pixels.
        face_detector: "face_alignment" (S3FD/BlazeFace + FAN landmarks; weights must be on disk, else the first
            use raises a ``ValueError`` saying which files are missing, without a download), "haar" (OpenCV's
            bundled cascade) or "auto": face-alignment when its weight files are already in
            ``$TORCH_HOME/hub/checkpoints``, else Haar with one warning and no download attempt.
        face_alignment_detector: face-alignment's box detector, "sfd" or "blazeface".
        align_faces: With face-alignment, rotate each crop so the eyes are level (from the 68 landmarks).
        face_margin: Fraction of the face box's longer side added around it before the crop is made square.
        detection_max_side: Frames are shrunk to this longer side for detection; boxes are scaled back. 400 found
            the faces 640 found on the benchmark and test clips at 0.64x the Haar time (``bench_front_end.py``); Haar's
            24-pixel window then sees faces from 11 % of a 16:9 frame's height.
        detect_every: Run the detector on every this-many-th sampled frame (and the last); frames between two that
            show the same faces take boxes interpolated between them, others are detected too
            (``detection_schedule.py``). 1 detects on every frame; 2 (the default) halves detection, same faces.
        max_frame_side: Decoded frames whose longer side is above this are shrunk to it as they are decoded (area
            averaging), so an analysis holds at most ``num_frames`` 1080p frames whatever the video's resolution (30
            4K frames are 750 MB). Face crops are at most ``image_size`` pixels, so only a face under about a third of
            a 4K frame's height loses detail. Boxes are still reported in the video's pixels. None keeps every pixel.
        image_mean: Per-channel (RGB) mean subtracted after scaling pixels to [0, 1].
        image_std: Per-channel (RGB) standard deviation divided by.
        device: torch device for the face-alignment networks.
    """

    model_input_names = ["pixel_values", "attention_mask"]
    valid_kwargs = FaceVideoProcessorKwargs

    def __init__(
        self,
        num_frames: int = 30,
        image_size: int = 224,
        face_detector: Literal["auto", "face_alignment", "haar"] = "auto",
        face_alignment_detector: Literal["sfd", "blazeface"] = "sfd",
        align_faces: bool = True,
        face_margin: float = 0.25,
        detection_max_side: int = 400,
        detect_every: int = 2,
        max_frame_side: int | None = 1920,
        image_mean: list[float] | None = None,
        image_std: list[float] | None = None,
        device: str = "cpu",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if face_detector not in FACE_DETECTORS:
            raise ValueError(f"face_detector must be one of {FACE_DETECTORS}, not {face_detector!r}.")
        if face_alignment_detector not in ("sfd", "blazeface"):
            raise ValueError(f"face_alignment_detector must be 'sfd' or 'blazeface', not {face_alignment_detector!r}.")
        if num_frames < 1 or image_size < 1 or detection_max_side < 32 or face_margin < 0:
            raise ValueError("num_frames and image_size must be >= 1, detection_max_side >= 32, face_margin >= 0.")
        if int(detect_every) < 1:
            raise ValueError(f"detect_every must be at least 1, not {detect_every}.")
        if max_frame_side is not None and max_frame_side < 32:
            raise ValueError(f"max_frame_side must be at least 32 pixels (or None), not {max_frame_side}.")
        self.num_frames = int(num_frames)
        self.image_size = int(image_size)
        self.face_detector = face_detector
        self.face_alignment_detector = face_alignment_detector
        self.align_faces = bool(align_faces)
        self.face_margin = float(face_margin)
        self.detection_max_side = int(detection_max_side)
        self.detect_every = int(detect_every)
        self.max_frame_side = int(max_frame_side) if max_frame_side is not None else None
        self.image_mean = list(image_mean) if image_mean is not None else list(IMAGENET_MEAN)
        self.image_std = list(image_std) if image_std is not None else list(IMAGENET_STD)
        self.device = device
        # Built on first use, once per instance; attributes starting with "_" are left out of the saved JSON.
        self._detector: HaarFaceDetector | FaceAlignmentDetector | None = None

    # ----------------------------------------------------------------------------------------------------- saving

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able parameters (runtime state such as the loaded detector is left out)."""
        output = {key: value for key, value in self.__dict__.items() if not key.startswith("_")}
        output = {key: (list(value) if isinstance(value, tuple) else value) for key, value in output.items()}
        output["image_processor_type"] = self.__class__.__name__
        auto_map = output.get("auto_map")
        if auto_map:
            # Registered for one auto class, loadable by both: AutoProcessor and AutoImageProcessor read this file.
            target = auto_map.get("AutoProcessor") or auto_map.get("AutoImageProcessor")
            output["auto_map"] = {**auto_map, "AutoProcessor": target, "AutoImageProcessor": target}
        return output

    # ------------------------------------------------------------------------------------------------- the stages

    def read_frames(self, video: VideoInput) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Decode the ``num_frames`` sampled frames of a video.

        Args:
            video: Path to a video file, or the file's raw bytes.

        Returns:
            ``frames`` (T, H, W, 3) uint8 RGB (shrunk to ``max_frame_side``), ``timestamps`` (T,) float64 seconds,
            and ``meta``: ``fps``, ``num_video_frames``, ``duration`` (s), the video's own ``width`` and
            ``height``, ``frame_scale`` (the frames' size over the video's: 1.0 unless shrunk), ``frame_indices``
            (T,) int64, ``name`` (what error messages call the video) and ``source`` (the path, or ``name`` for
            bytes).

        Raises:
            VideoDecodeError: The file cannot be decoded; the message says why.
        """
        with _as_file(video) as (path, name, source):
            _check_file(path, name, source)
            _probe(path, name, source)
            try:
                if decord is not None:
                    try:
                        return _read_with_decord(path, self.num_frames, name, source, _Shrinker(self.max_frame_side))
                    except _DECORD_ERRORS:
                        pass  # decord fails on some files PyAV reads, and says nothing useful when both fail
                return _read_with_pyav(path, self.num_frames, name, source, _Shrinker(self.max_frame_side))
            except VideoDecodeError:
                raise
            except Exception as error:  # any other decoder failure becomes one sentence, from the diagnosis
                raise VideoDecodeError(f"{name} could not be decoded: {_diagnose(path)}.", source) from error

    def detect(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes of the video's main face on every frame.

        All faces are detected on each frame, linked across frames into tracks, and the most prominent track (frames
        covered x median area) is kept, so a bystander or a false positive is not picked.

        Args:
            frames: (T, H, W, 3) uint8 RGB.

        Returns:
            ``boxes`` (T, 4) float32 [x1, y1, x2, y2] in frame pixels and ``found`` (T,) bool. Frames where the face
            was missed reuse the nearest detected frame's box. All False when no face is anywhere.
        """
        return select_face_track(self.detect_all(frames))

    def detect_all(self, frames: np.ndarray) -> list[np.ndarray]:
        """Every face the detector finds on each frame: a list of T (k, 5) arrays [x1, y1, x2, y2, score]."""
        return detect_sparsely(self.detector.detect, frames, self.detect_every)

    def face_angles(self, frames: np.ndarray, boxes: np.ndarray, found: np.ndarray) -> np.ndarray | None:
        """Roll angles (degrees) that level the eyes, or None when not aligning (Haar, or ``align_faces=False``).

        Landmarks are computed on frames where the face was found; other frames take the nearest found frame's
        angle, as they take its box.
        """
        if not (self.align_faces and isinstance(self.detector, FaceAlignmentDetector)) or not found.any():
            return None
        seen = np.flatnonzero(found)
        landmarks = self.detector.landmarks(frames[seen], boxes[seen])
        measured = np.array([eye_roll_angle(points) for points in landmarks], dtype=np.float32)
        nearest = np.abs(np.arange(len(found))[:, None] - seen[None, :]).argmin(axis=1)
        return measured[nearest]

    def crop(self, frames: np.ndarray, boxes: np.ndarray, angles: np.ndarray | None = None) -> np.ndarray:
        """Square face crops of ``image_size`` pixels.

        The square is centred on the box, its side the box's longer side times ``1 + face_margin``; parts outside
        the frame are black, so the face stays centred. With ``angles``, the crop is rotated about the face centre
        by that many degrees counter-clockwise (``eye_roll_angle`` gives the angle that levels the eyes).

        Args:
            frames: (T, H, W, 3) uint8 RGB.
            boxes: (T, 4) [x1, y1, x2, y2] in frame pixels.
            angles: Optional (T,) rotation in degrees.

        Returns:
            (T, image_size, image_size, 3) uint8 RGB.
        """
        size = self.image_size
        crops = np.empty((len(frames), size, size, 3), np.uint8)
        for t, (frame, box) in enumerate(zip(frames, boxes, strict=True)):
            angle = float(angles[t]) if angles is not None else 0.0
            crops[t] = _crop_square(frame, np.asarray(box, np.float64), self.face_margin, size, angle)
        return crops

    def normalize(self, crops: np.ndarray) -> torch.Tensor:
        """uint8 RGB crops (T, S, S, 3) -> float32 tensor (T, 3, S, S), scaled to [0, 1] then mean/std normalised."""
        pixels = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(self.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(self.image_std, dtype=torch.float32).view(1, 3, 1, 1)
        return pixels.sub_(mean).div_(std).contiguous()

    # ----------------------------------------------------------------------------------------------- all at once

    def extract_faces(self, video: VideoInput, on_stage: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Stages 1-4 (decode, detect, level, crop) on one video: everything but the normalisation.

        For callers that batch uint8 crops across videos (a quarter of the memory of float pixels) or show them.

        Args:
            video: Path to a video file, or its raw bytes.
            on_stage: Called with "decode", "faces" and "crop" as each stage starts (progress reports, timing).

        Returns:
            ``crops`` (T, S, S, 3) uint8 RGB, ``boxes`` (T, 4) float32 face boxes [x1, y1, x2, y2] in the video's
            pixels, ``face_found`` (T,) bool (False: the box is a neighbour's), ``angles`` (T,) float32 degrees the
            crops were rotated by (zeros without eye levelling), ``timestamps`` (T,) float64 seconds, and
            ``read_frames``'s metadata (``fps``, ``num_video_frames``, ``duration``, ``width``, ``height``,
            ``frame_indices``, ``name``, ``source``).

        Raises:
            VideoDecodeError: The file cannot be decoded.
            NoFaceFoundError: No sampled frame shows a face.
        """
        if on_stage is not None:
            on_stage("decode")
        frames, timestamps, meta = self.read_frames(video)
        if on_stage is not None:
            on_stage("faces")
        boxes, found = self.detect(frames)
        if not found.any():
            raise NoFaceFoundError(
                f"{meta['name']} has no detectable face in any of its {len(frames)} sampled frames.",
                meta["source"],
            )
        if on_stage is not None:
            on_stage("crop")
        angles = self.face_angles(frames, boxes, found)
        crops = self.crop(frames, boxes, angles)
        angles = np.zeros(len(frames), np.float32) if angles is None else angles
        boxes = (boxes / meta["frame_scale"]).astype(np.float32)  # in the video's pixels, not the shrunk frames'
        return {"crops": crops, "boxes": boxes, "face_found": found, "angles": angles, "timestamps": timestamps, **meta}

    def __call__(self, video: VideoInput, return_tensors: str | None = "pt") -> BatchFeature:
        """Run every stage on one video.

        Args:
            video: Path to a video file, or its raw bytes.
            return_tensors: "pt" for torch tensors, "np" or None for numpy arrays.

        Returns:
            A ``BatchFeature`` with ``pixel_values`` (T, 3, S, S) float32, ``attention_mask`` (T,) int64 (1 = the
            face was detected on that frame), ``boxes`` (T, 4) float32 face boxes [x1, y1, x2, y2] in the video's
            pixels, ``face_found`` (T,) bool, ``timestamps`` (T,) float64 seconds, ``frame_indices`` (T,) int64,
            ``face_crops`` (T RGB PIL images, the crops before normalisation), and the video's ``fps``,
            ``num_video_frames``, ``duration`` (s), ``width`` and ``height``.

        Raises:
            VideoDecodeError: The file cannot be decoded.
            NoFaceFoundError: No sampled frame shows a face.
        """
        faces = self.extract_faces(video)
        pixel_values = self.normalize(faces["crops"])
        metadata = ["fps", "num_video_frames", "duration", "width", "height"]
        data = {
            "pixel_values": pixel_values if return_tensors == "pt" else pixel_values.numpy(),
            "attention_mask": faces["face_found"].astype(np.int64),
            "boxes": faces["boxes"],
            "face_found": faces["face_found"],
            "timestamps": faces["timestamps"],
            "frame_indices": faces["frame_indices"],
            "face_crops": [Image.fromarray(crop) for crop in faces["crops"]],
            **{key: faces[key] for key in metadata},
        }
        return BatchFeature(data, tensor_type=return_tensors, skip_tensor_conversion=["face_crops", *metadata])

    # ------------------------------------------------------------------------------------------------ detectors

    @property
    def detector(self) -> HaarFaceDetector | FaceAlignmentDetector:
        """The face detector, built on first use (resolving ``face_detector="auto"``)."""
        if self._detector is None:
            self._detector = self._build_detector()
        return self._detector

    @property
    def resolved_face_detector(self) -> str:
        """Which backend runs, "face_alignment" or "haar", without building it ("auto" checks the weight files)."""
        if self._detector is not None:
            return "face_alignment" if isinstance(self._detector, FaceAlignmentDetector) else "haar"
        if self.face_detector == "auto":
            return "face_alignment" if face_alignment_weights_present(self.face_alignment_detector) else "haar"
        return self.face_detector

    def __getstate__(self) -> dict[str, Any]:
        # The built detector (an OpenCV cascade, torch networks) is neither picklable nor worth copying: a copy, or
        # a DataLoader worker, builds its own on first use.
        return {**self.__dict__, "_detector": None}

    def _build_detector(self) -> HaarFaceDetector | FaceAlignmentDetector:
        use_face_alignment = self.face_detector == "face_alignment"
        if self.face_detector == "auto":
            use_face_alignment = face_alignment_weights_present(self.face_alignment_detector)
            if not use_face_alignment:
                warnings.warn(
                    "face-alignment weights are not in "
                    f"{face_alignment_checkpoint_dir()} (or the package is missing), so faces are found with "
                    "OpenCV's Haar cascade instead: less accurate, and crops are not eye-levelled. Put the weights "
                    "there or pass face_detector='haar' to silence this.",
                    stacklevel=3,
                )
        if use_face_alignment:
            return FaceAlignmentDetector(self.face_alignment_detector, self.device, self.detection_max_side)
        return HaarFaceDetector(self.detection_max_side)


# ---------------------------------------------------------------------------------------------------- decoding


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
    except Exception as error:  # any failure here is itself the diagnosis
        return f"its video data could not be decoded ({type(error).__name__}: {error})"


# ---------------------------------------------------------------------------------------------------- cropping


def _crop_square(frame: np.ndarray, box: np.ndarray, margin: float, size: int, angle: float) -> np.ndarray:
    """One square crop around ``box`` (see ``FaceVideoProcessor.crop``), black outside the frame."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1], 1.0) * (1.0 + margin)
    scale = size / side
    if scale < 0.5:
        # Shrinking a lot in one affine warp aliases; area-resize a region around the face first.
        half = side * 0.75  # > side / sqrt(2): the region still holds the square after any rotation
        x0, y0 = int(np.floor(cx - half)), int(np.floor(cy - half))
        region = _padded_region(frame, x0, y0, int(np.ceil(2 * half)) + 1)
        target = max(1, round(region.shape[0] * scale * 2))  # keep 2x the final resolution for the warp
        factor = target / region.shape[0]
        frame = cv2.resize(region, (target, target), interpolation=cv2.INTER_AREA)
        cx, cy, scale = (cx - x0) * factor, (cy - y0) * factor, scale / factor
    matrix = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle), float(scale))
    matrix[:, 2] += (size / 2 - cx, size / 2 - cy)
    return cv2.warpAffine(
        frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )


def _padded_region(frame: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """frame[y0:y0+side, x0:x0+side], with black where that square leaves the frame."""
    region = np.zeros((side, side, 3), np.uint8)
    h, w = frame.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        region[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = frame[sy0:sy1, sx0:sx1]
    return region
