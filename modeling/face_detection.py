"""Face detectors for sampled video frames, and the tracking that keeps one person per video.

Two backends, one interface (``detect(frames) -> list of (k, 5) arrays [x1, y1, x2, y2, score]`` in the frames' own
pixels):

* ``HaarFaceDetector``: OpenCV's bundled frontal-face Haar cascade. Always available offline, no weights to fetch.
* ``FaceAlignmentDetector``: the `face-alignment` package (S3FD or BlazeFace boxes, 68 FAN landmarks). Its weights
  come from URLs on first use, so the processor only picks it when the files are already in
  ``torch.hub.get_dir()/checkpoints`` (see ``face_alignment_weights_present``).

``select_face_track`` links the per-frame boxes into tracks and returns the boxes of the most prominent face.
``eye_roll_angle`` turns 68 landmarks into the angle that levels the eyes.
"""

from __future__ import annotations

import inspect
import os
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

# File names face-alignment 1.4/1.5 stores in torch.hub's checkpoint folder (the basenames of its download URLs:
# face_alignment.api.models_urls and the detectors' models_urls). Checked against the installed package by a test.
FAN_2D_WEIGHTS = "2DFAN4-11f355bf06.pth.tar"
FACE_ALIGNMENT_DETECTOR_WEIGHTS: dict[str, tuple[str, ...]] = {
    "sfd": ("s3fd-619a316812.pth",),
    "blazeface": ("blazeface.pth", "anchors.npy"),
}

# 68-point (iBUG 300-W) landmark indices of the two eyes: 36-41 is the eye on the image's left.
LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)
# Landmark-based levelling is a correction for head tilt; beyond this the landmarks are more likely wrong than the
# head is tilted, so the angle is clipped.
MAX_ROLL_DEGREES = 45.0
# Tracking compares every track with every box; a crowd (or a detector gone wrong) is cut to its most confident
# faces, which is where the one person a video is about will be.
MAX_FACES_PER_FRAME = 20


def face_alignment_checkpoint_dir() -> str:
    """The folder face-alignment downloads its weights into: ``$TORCH_HOME/hub/checkpoints`` by default."""
    return os.path.join(torch.hub.get_dir(), "checkpoints")


def missing_face_alignment_weights(detector: str = "sfd") -> list[str]:
    """The FAN and ``detector`` weight files not yet in ``face_alignment_checkpoint_dir()`` (file names)."""
    folder = face_alignment_checkpoint_dir()
    names = (FAN_2D_WEIGHTS, *FACE_ALIGNMENT_DETECTOR_WEIGHTS[detector])
    return [name for name in names if not os.path.isfile(os.path.join(folder, name))]


def face_alignment_weights_present(detector: str = "sfd") -> bool:
    """Whether face-alignment can be built with ``detector`` without any download.

    Args:
        detector: face-alignment detector name ("sfd" or "blazeface").

    Returns:
        True when the package imports and the FAN and detector weight files are already on disk.
    """
    try:
        import face_alignment  # noqa: F401
    except ImportError:
        return False
    return not missing_face_alignment_weights(detector)


def _downscale(frame: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink ``frame`` so its longer side is at most ``max_side``; return it and the factor applied."""
    scale = min(1.0, max_side / max(frame.shape[:2]))
    if scale == 1.0:
        return frame, 1.0
    size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale


def _as_boxes(detections) -> np.ndarray:
    """Any detector output (list of [x1, y1, x2, y2, score] rows, possibly empty) as a float64 (k, 5) array."""
    boxes = np.asarray(detections, dtype=np.float64).reshape(-1, 5)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]) & np.isfinite(boxes).all(axis=1)
    return boxes[keep]


def _most_confident(boxes: np.ndarray, limit: int) -> np.ndarray:
    """The ``limit`` highest-scoring rows of a (k, 5) box array (larger boxes first among equal scores)."""
    if len(boxes) <= limit:
        return boxes
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[np.lexsort((-areas, -boxes[:, 4]))[:limit]]


class HaarFaceDetector:
    """OpenCV's frontal-face Haar cascade on grey frames.

    Args:
        max_side: Frames are shrunk to this longer side before detection (boxes are scaled back).
        min_neighbors: Cascade ``minNeighbors``; higher rejects more false positives.
        min_size_fraction: Smallest face, as a fraction of the detection image's shorter side.
    """

    def __init__(self, max_side: int = 640, min_neighbors: int = 6, min_size_fraction: float = 0.08):
        self.max_side = max_side
        self.min_neighbors = min_neighbors
        self.min_size_fraction = min_size_fraction
        self._per_thread = threading.local()
        self.cascade  # fail here, not on the first video, if OpenCV's file is missing

    @property
    def cascade(self) -> cv2.CascadeClassifier:
        """This thread's classifier: OpenCV's cascade keeps per-image buffers while it detects, so two threads
        sharing one (two requests of a web page) would get each other's faces."""
        cascade = getattr(self._per_thread, "cascade", None)
        if cascade is None:
            cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
            if cascade.empty():
                raise RuntimeError("OpenCV's haarcascade_frontalface_default.xml could not be loaded.")
            self._per_thread.cascade = cascade
        return cascade

    def detect(self, frames: np.ndarray) -> list[np.ndarray]:
        """All faces in each RGB uint8 frame (T, H, W, 3), as (k, 5) float64 arrays in frame pixels."""
        results = []
        for frame in frames:
            small, scale = _downscale(frame, self.max_side)
            grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
            min_side = max(20, round(self.min_size_fraction * min(grey.shape)))
            rects, neighbours = self.cascade.detectMultiScale2(
                grey, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(min_side, min_side)
            )
            rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
            # The cascade gives no probability; more merged neighbours means a more certain face.
            scores = np.asarray(neighbours, dtype=np.float64).reshape(-1) / (self.min_neighbors + 1)
            boxes = np.column_stack([rects[:, :2], rects[:, :2] + rects[:, 2:], np.minimum(scores, 1.0)])
            boxes[:, :4] /= scale
            results.append(_as_boxes(boxes))
        return results


class FaceAlignmentDetector:
    """face-alignment's detector for boxes and its FAN network for 68 landmarks.

    The weights must already be in ``face_alignment_checkpoint_dir()``: face-alignment would otherwise try to
    download them, so missing files are a ``ValueError`` before any network access.

    Args:
        detector: "sfd" (S3FD, accurate) or "blazeface" (fast, front-camera model).
        device: torch device for both networks.
        max_side: Frames are shrunk to this longer side before detection (boxes are scaled back).
        batch_size: Frames per detector forward pass.
    """

    def __init__(self, detector: str = "sfd", device: str = "cpu", max_side: int = 640, batch_size: int = 8):
        try:  # optional: only this backend needs it (a try block also keeps it optional for Hub remote code)
            import face_alignment
        except ImportError as error:
            raise ImportError("face_detector='face_alignment' needs the face-alignment package.") from error

        if detector not in FACE_ALIGNMENT_DETECTOR_WEIGHTS:
            raise ValueError(f"face_alignment_detector must be one of {sorted(FACE_ALIGNMENT_DETECTOR_WEIGHTS)}.")
        missing = missing_face_alignment_weights(detector)
        if missing:  # checked here because face-alignment would start a download (offline: a raw URLError)
            files = f"weight file {missing[0]} is" if len(missing) == 1 else f"weight files {', '.join(missing)} are"
            raise ValueError(
                f"face_detector='face_alignment' needs its weights on disk, but face-alignment's {files} not in "
                f"{face_alignment_checkpoint_dir()}: put them there (face-alignment saves them there when it runs "
                "once online) or use face_detector='haar'."
            )
        self.max_side = max_side
        self.batch_size = batch_size
        kwargs = dict(device=device, face_detector=detector, flip_input=False)
        if "compile" in inspect.signature(face_alignment.FaceAlignment).parameters:
            kwargs["compile"] = False  # face-alignment >= 1.5 torch.compiles FAN by default: minutes to start on CPU
        self.model = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, **kwargs)

    def detect(self, frames: np.ndarray) -> list[np.ndarray]:
        """All faces in each RGB uint8 frame (T, H, W, 3), as (k, 5) float64 arrays in frame pixels."""
        results: list[np.ndarray] = []
        for start in range(0, len(frames), self.batch_size):
            pairs = [_downscale(frame, self.max_side) for frame in frames[start : start + self.batch_size]]
            scale = pairs[0][1]
            batch = torch.from_numpy(np.stack([small for small, _ in pairs])).permute(0, 3, 1, 2)
            with torch.inference_mode():
                detections = self.model.face_detector.detect_from_batch(batch.float())
            for boxes in detections:
                boxes = _as_boxes(boxes)
                boxes[:, :4] /= scale
                results.append(boxes)
        return results

    def landmarks(self, frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """68 (x, y) landmarks of the face inside ``boxes[t]`` on each frame: (T, 68, 2) float32.

        FAN runs on batches of frames. The crop and heatmap decoding follow face-alignment's
        ``get_landmarks_from_image`` in plain numpy, because its numba-compiled decoder costs about 8 s of
        compilation in every new process (each app start, each extraction worker).
        """
        net = self.model.face_alignment_net
        reference_scale = self.model.face_detector.reference_scale
        points = []
        for start in range(0, len(frames), self.batch_size):
            geometry = [
                _fan_crop_geometry(np.asarray(box, np.float64), reference_scale)
                for box in boxes[start : start + self.batch_size]
            ]
            crops = np.stack([_fan_crop(frames[start + i], *place) for i, place in enumerate(geometry)])
            batch = torch.from_numpy(crops).permute(0, 3, 1, 2).to(self.model.device, self.model.dtype).div(255.0)
            with torch.inference_mode():
                heatmaps = net(batch)
            heatmaps = heatmaps[-1] if isinstance(heatmaps, (list, tuple)) else heatmaps
            for maps, (center, side) in zip(heatmaps.float().cpu().numpy(), geometry, strict=True):
                points.append(_decode_heatmaps(maps) / maps.shape[-1] * side + (center - side / 2))
        return np.stack(points).astype(np.float32) if points else np.zeros((0, 68, 2), np.float32)


# face-alignment's FAN input convention (face_alignment.utils): a 256 px square of side 200 * scale around a centre
# shifted up by 12% of the box height, with scale = (box width + height) / the detector's reference scale.
_FAN_RESOLUTION = 256
_FAN_CENTER_Y_OFFSET = 0.12


def _fan_crop_geometry(box: np.ndarray, reference_scale: float) -> tuple[np.ndarray, float]:
    """Centre (x, y) and side length, in frame pixels, of the square FAN looks at for a face box."""
    width, height = box[2] - box[0], box[3] - box[1]
    center = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2 - height * _FAN_CENTER_Y_OFFSET])
    return center, 200.0 * (width + height) / reference_scale


def _fan_crop(frame: np.ndarray, center: np.ndarray, side: float) -> np.ndarray:
    """The square (black outside the frame) resized to FAN's 256 px input, RGB uint8."""
    factor = _FAN_RESOLUTION / side
    matrix = np.array(
        [[factor, 0, _FAN_RESOLUTION / 2 - center[0] * factor], [0, factor, _FAN_RESOLUTION / 2 - center[1] * factor]]
    )
    return cv2.warpAffine(frame, matrix, (_FAN_RESOLUTION, _FAN_RESOLUTION), flags=cv2.INTER_LINEAR)


def _decode_heatmaps(maps: np.ndarray) -> np.ndarray:
    """(68, R, R) heatmaps -> (68, 2) sub-pixel (x, y) in heatmap units (0..R), as face-alignment decodes them."""
    count, rows, cols = maps.shape
    flat = maps.reshape(count, -1).argmax(axis=1)
    ys, xs = np.divmod(flat, cols)
    points = np.stack([xs, ys], axis=1).astype(np.float64) + 0.5  # pixel centres
    inner = (xs > 0) & (xs < cols - 1) & (ys > 0) & (ys < rows - 1)
    idx = np.flatnonzero(inner)
    # A quarter pixel towards the higher neighbour, horizontally and vertically.
    dx = maps[idx, ys[idx], xs[idx] + 1] - maps[idx, ys[idx], xs[idx] - 1]
    dy = maps[idx, ys[idx] + 1, xs[idx]] - maps[idx, ys[idx] - 1, xs[idx]]
    points[idx] += 0.25 * np.sign(np.stack([dx, dy], axis=1))
    return points


def eye_roll_angle(landmarks: np.ndarray) -> float:
    """Angle in degrees that levels the eyes of one face's 68 landmarks.

    Rotating the image counter-clockwise by this angle about any point (``cv2.getRotationMatrix2D(center, angle,
    scale)``) puts both eye centres on one row. Clipped to +-``MAX_ROLL_DEGREES``.

    Args:
        landmarks: (68, 2) array of (x, y) image coordinates.

    Returns:
        The roll angle; positive when the eye on the image's right is lower.
    """
    left = np.asarray(landmarks[LEFT_EYE], dtype=np.float64).mean(axis=0)
    right = np.asarray(landmarks[RIGHT_EYE], dtype=np.float64).mean(axis=0)
    dx, dy = right - left
    angle = float(np.degrees(np.arctan2(dy, dx)))
    return float(np.clip(angle, -MAX_ROLL_DEGREES, MAX_ROLL_DEGREES)) if np.isfinite(angle) else 0.0


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two [x1, y1, x2, y2] boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _same_face(previous: np.ndarray, box: np.ndarray) -> float:
    """A match cost in [0, 2) when ``box`` plausibly continues the face ``previous``, else inf.

    Sampled frames can be a second apart, so overlap alone is too strict: a box also matches when its centre moved
    less than one face width and its size changed less than 2x.
    """
    iou = box_iou(previous, box)
    size_prev = np.sqrt((previous[2] - previous[0]) * (previous[3] - previous[1]))
    size_new = np.sqrt((box[2] - box[0]) * (box[3] - box[1]))
    shift = np.hypot(
        (box[0] + box[2] - previous[0] - previous[2]) / 2, (box[1] + box[3] - previous[1] - previous[3]) / 2
    )
    ratio = max(size_prev, size_new) / max(min(size_prev, size_new), 1e-6)
    if iou >= 0.3:
        return 1.0 - iou
    if shift <= size_prev and ratio <= 2.0:
        return 1.0 + shift / max(size_prev, 1e-6) * 0.999
    return np.inf


@dataclass
class FaceTrack:
    """One face followed across sampled frames: frame index -> [x1, y1, x2, y2, score]."""

    boxes: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def last(self) -> np.ndarray:
        return self.boxes[max(self.boxes)]

    def prominence(self) -> float:
        """Frames covered x median area x mean detector score: a big face seen often wins over a brief one."""
        rows = np.stack(list(self.boxes.values()))
        areas = (rows[:, 2] - rows[:, 0]) * (rows[:, 3] - rows[:, 1])
        return float(len(rows) * np.median(areas) * rows[:, 4].mean())


def link_tracks(detections: list[np.ndarray]) -> list[FaceTrack]:
    """Link per-frame boxes into tracks, greedily by match cost; a track survives frames where it was missed."""
    tracks: list[FaceTrack] = []
    for t, boxes in enumerate(detections):
        pairs = sorted(
            (_same_face(track.last, box), ti, bi) for ti, track in enumerate(tracks) for bi, box in enumerate(boxes)
        )
        used_tracks: set[int] = set()
        used_boxes: set[int] = set()
        for cost, ti, bi in pairs:
            if np.isfinite(cost) and ti not in used_tracks and bi not in used_boxes:
                tracks[ti].boxes[t] = boxes[bi]
                used_tracks.add(ti)
                used_boxes.add(bi)
        tracks.extend(FaceTrack({t: box}) for bi, box in enumerate(boxes) if bi not in used_boxes)
    return tracks


def select_face_track(detections: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Boxes of the most prominent face on every frame.

    Args:
        detections: Per frame, all detected faces as a (k, 5) array [x1, y1, x2, y2, score].

    Returns:
        ``boxes`` (T, 4) float32 and ``found`` (T,) bool. Frames where the chosen face was not detected reuse the
        box of the nearest frame where it was (the earlier one on a tie). With no face anywhere, ``found`` is all
        False and ``boxes`` all zeros.
    """
    num = len(detections)
    boxes = np.zeros((num, 4), np.float32)
    found = np.zeros(num, bool)
    tracks = link_tracks([_most_confident(_as_boxes(d), MAX_FACES_PER_FRAME) for d in detections])
    if not tracks:
        return boxes, found
    best = max(tracks, key=FaceTrack.prominence)
    seen = np.array(sorted(best.boxes))
    for t in range(num):
        nearest = int(seen[np.argmin(np.abs(seen - t))])
        boxes[t] = best.boxes[nearest][:4]
    found[seen] = True
    return boxes, found
