"""FaceVideoProcessor: the one place where a video becomes face crops and pixel tensors.

Stages, each a public method so batch jobs and benchmarks can run and time them separately:

1. ``read_frames``: decode ``num_frames`` evenly spaced frames (``video_decoding.py``: PyAV, decoding only what the
   sampled frames need, or decord for a file PyAV fails on).
2. ``detect``: find every face on each frame, link them into tracks (one person each) and keep the most prominent
   confirmed face; ``detect_people`` keeps every person seen often and large enough.
3. ``face_angles``: with face-alignment and ``align_faces``, the roll angle that levels the eyes (68 landmarks).
4. ``crop``: a square around the face plus a margin, black-padded at the border, rotated, resized (RGB uint8).
5. ``normalize``: float32 CHW tensors with the ImageNet mean and std.

``extract_faces`` runs stages 1-4 (uint8 crops, for batching across videos); ``__call__`` runs all five. Bad input
raises ``VideoDecodeError`` or ``NoFaceFoundError`` (both ``FaceVideoError``, a ``ValueError``) with one sentence
naming the file and the reason.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, Literal, TypedDict

import cv2
import numpy as np
import torch
from PIL import Image
from transformers.feature_extraction_utils import BatchFeature
from transformers.image_processing_base import ImageProcessingMixin

from .detection_schedule import detect_sparsely
from .face_detection import (
    MIN_PERSON_FACE_FRACTION,
    MIN_PERSON_FRAMES,
    FaceAlignmentDetector,
    FaceTrack,
    HaarFaceDetector,
    build_face_detector,
    eye_roll_angle,
    find_face_tracks,
    select_face_track,
)
from .video_decoding import (  # the decode errors are the processor's errors too: callers import them from here
    FaceVideoError,
    VideoDecodeError,  # noqa: F401
    VideoInput,
    read_video,
)

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
FACE_DETECTORS = ("auto", "face_alignment", "haar")


class NoFaceFoundError(FaceVideoError):
    """No face was detected in any sampled frame."""


class FaceDetectorFallbackWarning(UserWarning):
    """Faces are found with OpenCV's Haar cascade because face-alignment cannot run (the message says why). A tool
    that states the detector itself (``face_detector_description``) can silence this category."""


@functools.cache
def opencv_on_one_thread() -> None:
    """Run OpenCV's calls (detection, resizing, colour conversion) on the calling thread, process-wide, from now on.

    For a process that analyses many videos: OpenCV's thread pool costs 20 % more core-seconds for the same detections
    (benchmarks/bench_front_end.py), and such a process has its parallelism elsewhere (the embedder's threads, prefetch
    threads, more processes). A single video keeps the pool: it finds the faces sooner. Called once, before the
    prefetch threads start, because OpenCV's setting must not change while other threads use it.
    """
    cv2.setNumThreads(1)


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
        num_frames: Frames sampled per video, evenly spaced in presentation time (``video_decoding.sample_by_time``),
            so a variable-frame-rate clip is covered evenly. Always exactly this many rows come out: a video with
            fewer frames repeats frames.
        image_size: Side of the square face crops, in pixels.
        face_detector: "auto" (the default): face-alignment (S3FD/BlazeFace boxes + FAN landmarks), its weights
            fetched into ``$TORCH_HOME/hub/checkpoints`` on first use when missing (a 3 s check first, then
            torch.hub's download with a progress bar); when they cannot be had (offline, ``HF_HUB_OFFLINE=1``, a
            failed download), OpenCV's Haar cascade with one warning saying why. "face_alignment": the same, but a
            ``ValueError`` instead of the fallback. "haar": OpenCV's bundled cascade, no weights.
        face_alignment_detector: face-alignment's box detector, "sfd" or "blazeface".
        align_faces: With face-alignment, rotate each crop so the eyes are level (from the 68 landmarks).
        face_margin: Fraction of the face box's longer side added around it before the crop is made square.
        detection_max_side: Frames are shrunk to this longer side for detection; boxes are scaled back. 320 found
            every face 640 and 400 found on the benchmark and test clips, each whole-frame detection at 0.65x the time
            of 400 (``bench_front_end.py``); Haar's 24-pixel window then sees faces from 13 % of a 16:9 frame's
            height (96 px of 720p; 11 % at 400). 256 was cheaper still but missed the small face of
            ``two_faces_video`` on a frame.
        detect_every: Run the detector on every this-many-th sampled frame (and the last); on the frames between two
            that show the same faces, each face is looked for only near where the two put it, and the frame is
            detected in full when one is not found there (``detection_schedule.py``). 1 detects on every frame; 3 (the
            default) detects in full on a third, same faces, and any 3 consecutive frames include a fully detected
            one, so a person in view for ``MIN_PERSON_FRAMES`` = 3 frames in a row (the fewest ``people="all"``
            keeps) is always met by a whole-frame detection.
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
        detection_max_side: int = 320,
        detect_every: int = 3,
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
        self._detector_fallback: str | None = None  # why "auto" runs Haar

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
            ``frames`` (T, H, W, 3) uint8 RGB (shrunk to ``max_frame_side``), ``timestamps`` (T,) float64 seconds
            (each frame's own presentation time), and ``meta``: ``fps``, ``num_video_frames``, ``duration`` (s), the
            video's own ``width`` and ``height``, ``frame_scale`` (the frames' size over the video's: 1.0 unless
            shrunk), ``frame_indices`` (T,) int64 (each frame's own index), ``frames_repeated`` (samples showing the
            same frame as the sample before), ``frames_missing`` (samples whose frame could not be decoded, shown by
            the nearest frame that could), ``name`` (what error messages call the video) and ``source`` (the path,
            or ``name`` for bytes).

        Raises:
            VideoDecodeError: The file cannot be decoded; the message says why.
        """
        return read_video(video, self.num_frames, self.max_frame_side)

    def detect(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes of the video's main person on every frame.

        All faces are detected on each frame and linked across frames into tracks, by place and by appearance (a
        cut to someone else starts a new track). The main person is the most prominent track (frames seen x median
        area x detector score) that a second detector confirms as a face (eyes inside the box), so a bystander or a
        persisting false detection is not picked.

        Args:
            frames: (T, H, W, 3) uint8 RGB.

        Returns:
            ``boxes`` (T, 4) float32 [x1, y1, x2, y2] in frame pixels and ``found`` (T,) bool. Frames where that
            person was not detected have ``found`` False and a zero box. All False when no face is anywhere.
        """
        return select_face_track(self.detect_all(frames), frames)

    def detect_people(
        self,
        frames: np.ndarray,
        min_frames: int = MIN_PERSON_FRAMES,
        min_face_fraction: float = MIN_PERSON_FACE_FRACTION,
    ) -> list[FaceTrack]:
        """Every person in the frames, most prominent first (the first is ``detect``'s main person).

        Args:
            frames: (T, H, W, 3) uint8 RGB.
            min_frames: A person must be seen in at least this many sampled frames (at most all of them).
            min_face_fraction: ... with a median face box side of at least this fraction of the frame's shorter side.

        Returns:
            The tracks kept (see ``FaceTrack``); the main person is always kept, whatever the thresholds.
        """
        tracks = find_face_tracks(self.detect_all(frames), frames)
        needed = min(max(int(min_frames), 1), len(frames))
        shorter = min(frames.shape[1:3])
        kept = [
            track
            for track in tracks[1:]
            if track.is_face and len(track.boxes) >= needed and track.median_side() >= min_face_fraction * shorter
        ]
        return tracks[:1] + kept

    def detect_all(self, frames: np.ndarray) -> list[np.ndarray]:
        """Every face the detector finds on each frame: a list of T (k, 5) arrays [x1, y1, x2, y2, score]."""
        return detect_sparsely(self.detector.detect, frames, self.detect_every, self.detector.detect_sized)

    def face_angles(self, frames: np.ndarray, boxes: np.ndarray, found: np.ndarray) -> np.ndarray | None:
        """Roll angles (degrees) that level the eyes, or None when not aligning (Haar, or ``align_faces=False``).

        Landmarks are computed on frames where the face was found; other frames get 0 (they have no crop).
        """
        if not (self.align_faces and isinstance(self.detector, FaceAlignmentDetector)) or not found.any():
            return None
        seen = np.flatnonzero(found)
        landmarks = self.detector.landmarks(frames[seen], boxes[seen])
        angles = np.zeros(len(found), np.float32)
        angles[seen] = [eye_roll_angle(points) for points in landmarks]
        return angles

    def crop(
        self,
        frames: np.ndarray,
        boxes: np.ndarray,
        angles: np.ndarray | None = None,
        found: np.ndarray | None = None,
    ) -> np.ndarray:
        """Square face crops of ``image_size`` pixels.

        The square is centred on the box, its side the box's longer side times ``1 + face_margin``; parts outside
        the frame are black, so the face stays centred. With ``angles``, the crop is rotated about the face centre
        by that many degrees counter-clockwise (``eye_roll_angle`` gives the angle that levels the eyes).

        Args:
            frames: (T, H, W, 3) uint8 RGB.
            boxes: (T, 4) [x1, y1, x2, y2] in frame pixels.
            angles: Optional (T,) rotation in degrees.
            found: Optional (T,) bool: frames where it is False (the person is not in frame) get an all-black crop.

        Returns:
            (T, image_size, image_size, 3) uint8 RGB.
        """
        size = self.image_size
        crops = np.zeros((len(frames), size, size, 3), np.uint8)
        for t, (frame, box) in enumerate(zip(frames, boxes, strict=True)):
            if found is not None and not found[t]:
                continue
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

    def extract_faces(
        self,
        video: VideoInput,
        on_stage: Callable[[str], None] | None = None,
        people: Literal["main", "all"] = "main",
        min_person_frames: int = MIN_PERSON_FRAMES,
        min_face_fraction: float = MIN_PERSON_FACE_FRACTION,
        return_frames: bool = False,
    ) -> dict[str, Any]:
        """Stages 1-4 (decode, detect, level, crop) on one video: everything but the normalisation.

        For callers that batch uint8 crops across videos (a quarter of the memory of float pixels) or show them.

        Args:
            video: Path to a video file, or its raw bytes.
            on_stage: Called with "decode", "faces" and "crop" as each stage starts (progress reports, timing).
            people: "main" for the main person only; "all" also for everyone ``detect_people`` keeps.
            min_person_frames: With "all", the fewest sampled frames a person must be seen in.
            min_face_fraction: With "all", the smallest median face side, as a fraction of the frame's shorter side.
            return_frames: Also return the sampled ``frames`` (T, H, W, 3) uint8 RGB, shrunk by ``frame_scale``.

        Returns:
            The main person's ``crops`` (T, S, S, 3) uint8 RGB (black where not in frame), ``boxes`` (T, 4) float32
            face boxes [x1, y1, x2, y2] in the video's pixels (zeros where not in frame), ``face_found`` (T,) bool,
            ``angles`` (T,) float32 degrees the crops were rotated by (zeros without eye levelling); ``detector``
            ("face_alignment" or "haar"); ``timestamps`` (T,) float64 seconds; ``read_frames``'s metadata (``fps``,
            ``num_video_frames``, ``duration``, ``width``, ``height``, ``frame_indices``, ``frames_repeated``,
            ``frames_missing``, ``name``, ``source``); and
            with ``people="all"``, ``people``: one dict per person, most prominent first (the main person first),
            with ``person_id``, ``crops``, ``boxes``, ``face_found`` and ``angles`` as above.

        Raises:
            VideoDecodeError: The file cannot be decoded.
            NoFaceFoundError: No sampled frame shows a face.
        """
        if people not in ("main", "all"):
            raise ValueError(f"people must be 'main' or 'all', not {people!r}.")
        if on_stage is not None:
            on_stage("decode")
        frames, timestamps, meta = self.read_frames(video)
        if on_stage is not None:
            on_stage("faces")
        if people == "all":
            everyone = self.detect_people(frames, min_person_frames, min_face_fraction)
            tracks, ids = [track.box_array(len(frames)) for track in everyone], [track.track_id for track in everyone]
        else:
            tracks, ids = [self.detect(frames)], [0]
        if not tracks or not tracks[0][1].any():
            raise NoFaceFoundError(
                f"{meta['name']} has no detectable face in any of its {len(frames)} sampled frames.",
                meta["source"],
            )
        if on_stage is not None:
            on_stage("crop")
        faces = [self._person_faces(frames, boxes, found, meta["frame_scale"]) for boxes, found in tracks]
        result = {**faces[0], "detector": self.resolved_face_detector, "timestamps": timestamps, **meta}
        if people == "all":
            result["people"] = [{"person_id": person_id, **face} for person_id, face in zip(ids, faces, strict=True)]
        if return_frames:
            result["frames"] = frames
        return result

    def _person_faces(self, frames: np.ndarray, boxes: np.ndarray, found: np.ndarray, frame_scale: float) -> dict:
        """Stages 3-4 for one person's boxes: crops, boxes in the video's pixels, found, angles."""
        angles = self.face_angles(frames, boxes, found)
        crops = self.crop(frames, boxes, angles, found)
        angles = np.zeros(len(frames), np.float32) if angles is None else angles
        boxes = (boxes / frame_scale).astype(np.float32)  # in the video's pixels, not the shrunk frames'
        return {"crops": crops, "boxes": boxes, "face_found": found, "angles": angles}

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
            ``num_video_frames``, ``duration`` (s), ``width``, ``height``, ``frames_repeated`` and ``frames_missing``.

        Raises:
            VideoDecodeError: The file cannot be decoded.
            NoFaceFoundError: No sampled frame shows a face.
        """
        faces = self.extract_faces(video)
        pixel_values = self.normalize(faces["crops"])
        metadata = ["fps", "num_video_frames", "duration", "width", "height", "frames_repeated", "frames_missing"]
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
        """The face detector, built on first use (resolving ``face_detector="auto"``, fetching weights if needed)."""
        if self._detector is None:
            self._detector, self._detector_fallback = build_face_detector(
                self.face_detector, self.face_alignment_detector, self.device, self.detection_max_side
            )
            if self._detector_fallback:
                warnings.warn(
                    f"Faces are found with OpenCV's Haar cascade instead of face-alignment (less accurate, crops not "
                    f"eye-levelled) because {_lower_first(self._detector_fallback.rstrip('.'))}; run "
                    "training/fetch_weights.py online once, or pass face_detector='haar' to silence this.",
                    FaceDetectorFallbackWarning,
                    stacklevel=2,
                )
        return self._detector

    @property
    def resolved_face_detector(self) -> str:
        """Which backend runs, "face_alignment" or "haar" (builds the detector: "auto" may fetch weights first)."""
        return "face_alignment" if isinstance(self.detector, FaceAlignmentDetector) else "haar"

    @property
    def face_detector_fallback(self) -> str | None:
        """Why "auto" runs Haar instead of face-alignment (one sentence), or None when it does not."""
        self.detector  # noqa: B018 - resolves "auto"
        return self._detector_fallback

    @property
    def face_detector_description(self) -> str:
        """Which detector finds the faces, in words for a log line or the page's model line."""
        if isinstance(self.detector, FaceAlignmentDetector):
            boxes = "S3FD" if self.face_alignment_detector == "sfd" else "BlazeFace"
            return f"face-alignment ({boxes} boxes, FAN landmarks)"
        if self._detector_fallback:
            return f"OpenCV's Haar cascade, because {_lower_first(self._detector_fallback.rstrip('.'))}"
        return "OpenCV's Haar cascade"

    def __getstate__(self) -> dict[str, Any]:
        # The built detector (an OpenCV cascade, torch networks) is neither picklable nor worth copying: a copy, or
        # a DataLoader worker, builds its own on first use.
        return {**self.__dict__, "_detector": None}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() or text[1:2] == "-" else text


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
