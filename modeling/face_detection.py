"""Face detectors for sampled video frames, and the tracking that keeps one person per video.

Two backends, one interface (``detect(frames) -> list of (k, 5) arrays [x1, y1, x2, y2, score]`` in the frames' own
pixels):

* ``HaarFaceDetector``: OpenCV's frontal-face Haar cascade, on the places OpenCV's LBP cascade proposes. Always
  available offline, no weights to fetch.
* ``FaceAlignmentDetector``: the `face-alignment` package (S3FD or BlazeFace boxes, 68 FAN landmarks). Its weights
  are read from ``torch.hub.get_dir()/checkpoints``; ``build_face_detector`` fetches them first when they are missing
  (see ``face_alignment_weights.py``) and falls back to Haar, saying why, when they cannot be had.

``select_face_track`` links the per-frame boxes into tracks and returns the boxes of the most prominent face.
``eye_roll_angle`` turns 68 landmarks into the angle that levels the eyes.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from .face_alignment_weights import (
    FACE_ALIGNMENT_DETECTOR_WEIGHTS,
    FaceAlignmentWeightsUnavailable,
    face_alignment_checkpoint_dir,
    fetch_face_alignment_weights,
    missing_face_alignment_weights,
)
from .face_squares import square_around
from .lbp_face_cascade import lbp_frontal_face_cascade

# 68-point (iBUG 300-W) landmark indices of the two eyes: 36-41 is the eye on the image's left.
LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)
# Landmark-based levelling is a correction for head tilt; beyond this the landmarks are more likely wrong than the
# head is tilted, so the angle is clipped.
MAX_ROLL_DEGREES = 45.0
# Tracking compares every track with every box; a crowd (or a detector gone wrong) is cut to its most confident
# faces, which is where the one person a video is about will be.
MAX_FACES_PER_FRAME = 20


# HaarFaceDetector.detect_sized searches faces from SIZED_RANGE[0] to SIZED_RANGE[1] times the expected side, in
# steps of SIZED_SCALE_FACTOR (three sizes): a face that grows or shrinks smoothly between two detected frames is
# within a few percent of its interpolated size, and the cascade's boxes vary by about one step. Narrower, or coarser
# steps, and the benchmark's faces were no longer confirmed (each then costs a whole-frame detection).
SIZED_RANGE = (0.8, 1.25)
SIZED_SCALE_FACTOR = 1.2
# HaarFaceDetector.detect searches a whole frame in two steps. OpenCV's LBP frontal-face cascade proposes places in
# steps of PROPOSAL_SCALE_FACTOR, every window it accepts (grouped, however few: a proposal costs only its check).
# The Haar cascade then looks in the square around each (face_squares.py) for faces of PROPOSAL_RANGE times its side
# (the Haar box of a face is 0.67-1.2 times the LBP one for 98 % of LFW's faces), merging PROPOSAL_MIN_NEIGHBORS or
# more windows. On the benchmark's frames this costs 7 ms against 17 for the Haar cascade over the whole frame, and it
# finds more of the faces pasted on photos, with fewer false ones (benchmarks/bench_front_end.py, "pasted faces").
PROPOSAL_SCALE_FACTOR = 1.2
PROPOSAL_RANGE = (0.75, 1.3)
PROPOSAL_MIN_NEIGHBORS = 3
# Two proposals may lead to one face: boxes overlapping this much are one, the one more windows merged into.
ONE_FACE_IOU = 0.3


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


def _one_box_per_face(boxes: np.ndarray) -> np.ndarray:
    """``boxes`` without those overlapping a more certain one (higher score, then larger) by ``ONE_FACE_IOU``."""
    kept: list[np.ndarray] = []
    for box in _by_confidence(boxes):
        if all(box_iou(box, other) < ONE_FACE_IOU for other in kept):
            kept.append(box)
    return _as_boxes(kept)


def _most_confident(boxes: np.ndarray, limit: int) -> np.ndarray:
    """The ``limit`` highest-scoring rows of a (k, 5) box array (larger boxes first among equal scores)."""
    return boxes if len(boxes) <= limit else _by_confidence(boxes)[:limit]


def _by_confidence(boxes: np.ndarray) -> np.ndarray:
    """The rows of a (k, 5) box array, highest score first, larger boxes first among equal scores."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[np.lexsort((-areas, -boxes[:, 4]))]


class HaarFaceDetector:
    """OpenCV's frontal-face Haar cascade on grey frames, searching the places its LBP cascade proposes.

    A whole frame's faces (``detect``) are found in two steps: the LBP cascade (``lbp_face_cascade.py``) proposes
    places, then the Haar cascade confirms each in the small square around it, and gives the box. Faces expected near
    a known place (``detect_sized``) go straight to the Haar cascade. ``lbp_proposals=False`` scans whole frames with
    the Haar cascade alone, as before the proposals (2.4 times the cost).

    Args:
        max_side: Frames are shrunk to this longer side before detection (boxes are scaled back).
        min_neighbors: Cascade ``minNeighbors``; higher rejects more false positives.
        min_size_fraction: Smallest face, as a fraction of the detection image's shorter side.
        scale_factor: The Haar cascade's ``scaleFactor`` for a whole frame (in the squares around the proposals,
            or over all of it): the step between the face sizes searched. Coarser steps are cheaper but merge fewer
            neighbours per face: over whole frames, the astronaut's face pasted on grey was found on 8 of 8
            placements from 26 px up with 1.1, but only from 38 px with 1.15 and 41 px with 1.2 (and 1.2 lost the
            39 px face of the moving clip shrunk to 240 px).
        lbp_proposals: Search whole frames where the LBP cascade proposes (the default), or everywhere.
    """

    def __init__(
        self,
        max_side: int = 640,
        min_neighbors: int = 6,
        min_size_fraction: float = 0.08,
        scale_factor: float = 1.1,
        lbp_proposals: bool = True,
    ):
        self.max_side = max_side
        self.min_neighbors = min_neighbors
        self.min_size_fraction = min_size_fraction
        self.scale_factor = scale_factor
        self.lbp_proposals = lbp_proposals
        self._per_thread = threading.local()
        _ = self.cascade, self.lbp_cascade  # fail here, not on the first video, if a cascade cannot be read

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

    @property
    def lbp_cascade(self) -> cv2.CascadeClassifier:
        """This thread's LBP classifier, which proposes where the Haar cascade looks on a whole frame."""
        cascade = getattr(self._per_thread, "lbp_cascade", None)
        if cascade is None:
            cascade = self._per_thread.lbp_cascade = lbp_frontal_face_cascade()
        return cascade

    def detect(self, frames: np.ndarray) -> list[np.ndarray]:
        """All faces in each RGB uint8 frame (T, H, W, 3), as (k, 5) float64 arrays in frame pixels."""
        results = []
        for frame in frames:
            # Grey first: the area resize then averages one channel instead of three (a third of the work).
            grey, scale = _downscale(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), self.max_side)
            min_side = max(20, round(self.min_size_fraction * min(grey.shape)))
            if self.lbp_proposals:
                boxes = self._confirmed_proposals(grey, min_side)
            else:
                boxes = self._cascade_boxes(grey, self.scale_factor, (min_side, min_side), (0, 0))
            boxes[:, :4] /= scale
            results.append(boxes)
        return results

    def detect_sized(self, images: list[np.ndarray], face_side: float) -> list[np.ndarray]:
        """Faces of about ``face_side`` pixels (``SIZED_RANGE``) in each small RGB image (the detection schedule's
        squares around an expected face), as (k, 5) arrays in the images' pixels.

        Searching three sizes near the expected one costs about 1.3 ms on the benchmark's faces, against about 5 ms
        for every size from 24 px up.
        """
        low, high = (max(24, round(face_side * bound)) for bound in SIZED_RANGE)  # 24 px: the cascade's window
        return [
            self._cascade_boxes(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), SIZED_SCALE_FACTOR, (low, low), (high, high))
            for image in images
        ]

    def _confirmed_proposals(self, grey: np.ndarray, min_side: int) -> np.ndarray:
        """The Haar cascade's faces in the squares around the LBP cascade's proposals, in ``grey``'s pixels."""
        windows = self.lbp_cascade.detectMultiScale(
            grey, scaleFactor=PROPOSAL_SCALE_FACTOR, minNeighbors=0, minSize=(min_side, min_side)
        )
        windows = np.asarray(windows).reshape(-1, 4).tolist()
        # groupRectangles drops groups of threshold or fewer windows: with each window twice, threshold 1 keeps all
        proposals, _ = cv2.groupRectangles(windows + windows, 1, 0.2) if windows else ((), None)
        found = []
        for x, y, width, height in np.asarray(proposals, np.float64).reshape(-1, 4):
            square, origin, to_square = square_around(grey, np.array([x, y, x + width, y + height]))
            low, high = (max(24, round(width * to_square * bound)) for bound in PROPOSAL_RANGE)
            boxes = self._cascade_boxes(square, self.scale_factor, (low, low), (high, high), PROPOSAL_MIN_NEIGHBORS)
            boxes[:, :4] = boxes[:, :4] / to_square + np.tile(origin, 2)
            found.extend(boxes)
        return _one_box_per_face(_as_boxes(found))

    def _cascade_boxes(
        self, grey: np.ndarray, scale_factor: float, min_size: tuple, max_size: tuple, min_neighbors: int | None = None
    ) -> np.ndarray:
        rects, neighbours = self.cascade.detectMultiScale2(
            grey,
            scaleFactor=scale_factor,
            minNeighbors=self.min_neighbors if min_neighbors is None else min_neighbors,
            minSize=min_size,
            maxSize=max_size,
        )
        rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        # The cascade gives no probability; more merged neighbours means a more certain face.
        scores = np.asarray(neighbours, dtype=np.float64).reshape(-1) / (self.min_neighbors + 1)
        return _as_boxes(np.column_stack([rects[:, :2], rects[:, :2] + rects[:, 2:], np.minimum(scores, 1.0)]))


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

    def detect_sized(self, images: list[np.ndarray], face_side: float) -> list[np.ndarray]:
        """``detect`` on the detection schedule's squares around an expected face (one batch of equal-sized images);
        the expected side is not needed: the networks search every size at once."""
        return self.detect(images)

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


def build_face_detector(
    face_detector: str = "auto", face_alignment_detector: str = "sfd", device: str = "cpu", max_side: int = 640
) -> tuple[HaarFaceDetector | FaceAlignmentDetector, str | None]:
    """The detector a processor setting asks for, fetching face-alignment's weights when they are missing.

    Args:
        face_detector: "auto" (face-alignment, fetching its weights when missing; Haar when they cannot be had),
            "face_alignment" (the same, but an error instead of the fallback) or "haar".
        face_alignment_detector: face-alignment's box detector, "sfd" or "blazeface".
        device: torch device for face-alignment's networks.
        max_side: Frames are shrunk to this longer side before detection.

    Returns:
        The detector and, when "auto" fell back to Haar, the sentence saying why (else None).

    Raises:
        ValueError: "face_alignment" was asked for and its weights are neither on disk nor downloadable.
    """
    if face_detector == "haar":
        return HaarFaceDetector(max_side), None
    try:
        fetch_face_alignment_weights(face_alignment_detector)
    except FaceAlignmentWeightsUnavailable as error:
        if face_detector == "face_alignment":
            missing = ", ".join(missing_face_alignment_weights(face_alignment_detector))
            raise ValueError(
                f"face_detector='face_alignment' needs face-alignment's weight files {missing} in "
                f"{face_alignment_checkpoint_dir()}, which could not be fetched: {error.reason}; use "
                "face_detector='haar' to run without them."
            ) from error
        return HaarFaceDetector(max_side), str(error)
    return FaceAlignmentDetector(face_alignment_detector, device, max_side), None


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


# Two boxes are one person only when their faces also look alike: a hard cut to someone else at the same place must
# start a new track. Similarity is the lower of a HOG correlation (the face's shape: on real photos the same face over
# seconds of motion and zoom scores above 0.85, different people's faces below 0.65) and a hue-saturation histogram
# correlation (skin and hair colour).
SAME_PERSON_MIN_SIMILARITY = 0.65
_HOG_SIDE = 48
_HOG = cv2.HOGDescriptor((_HOG_SIDE, _HOG_SIDE), (16, 16), (8, 8), (8, 8), 9)
_HOG_LENGTH = int(_HOG.getDescriptorSize())
_HUE_BINS, _SATURATION_BINS = 8, 4
# people="all" keeps a person seen in at least this many sampled frames, with a median face side of at least this
# fraction of the frame's shorter side (the main person is always kept).
MIN_PERSON_FRAMES = 3
MIN_PERSON_FACE_FRACTION = 0.05
# A track is taken for a face when the second detector (eyes inside the box) confirms it on at least half of the
# frames checked; the largest few detections of each track are checked.
FACE_CHECK_FRAMES = 3
# The eye check looks at the upper part of a face box shrunk to at most this width (eyes from a tenth of it, about
# 10 px, up), searching eye sizes in steps of EYE_SCALE_FACTOR. 96 px and 1.15 cost a seventh of 160 px and 1.1 on the
# benchmark's faces and give the same answer on every face box of the test clips, 15 LFW faces and the gravel texture
# the tracking test must reject.
EYE_REGION_WIDTH = 96
EYE_SCALE_FACTOR = 1.15
_eye_cascades = threading.local()  # one per thread: a cascade's detectMultiScale is not safe to share between threads


def face_appearance(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    """What a face looks like, for telling people apart: the standardised HOG of the box's inner part (48 px square)
    followed by its standardised hue-saturation histogram (32 values)."""
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    w, h = x2 - x1, y2 - y1  # the inner part: less background and hair, which change with pose
    left, right = int(np.clip(x1 + 0.1 * w, 0, width - 1)), int(np.clip(x2 - 0.1 * w, 1, width))
    top, bottom = int(np.clip(y1 + 0.1 * h, 0, height - 1)), int(np.clip(y2 - 0.05 * h, 1, height))
    region = np.ascontiguousarray(frame[top : max(bottom, top + 1), left : max(right, left + 1)])
    side = (_HOG_SIDE, _HOG_SIDE)
    grey = cv2.resize(cv2.cvtColor(region, cv2.COLOR_RGB2GRAY), side, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(region, cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1], None, [_HUE_BINS, _SATURATION_BINS], [0, 180, 0, 256])
    return np.concatenate([_standardised(_HOG.compute(grey)), _standardised(histogram)])


def _standardised(values: np.ndarray) -> np.ndarray:
    flat = values.astype(np.float64).ravel()
    flat = flat - flat.mean()
    norm = np.linalg.norm(flat)
    return flat / norm if norm > 1e-9 else flat


def appearance_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """In [-1, 1]: the lower of the HOG and the colour-histogram correlations of two ``face_appearance``s."""
    cut = _HOG_LENGTH
    histogram = float(a[cut:] @ b[cut:]) if np.any(a[cut:]) and np.any(b[cut:]) else 1.0  # flat: one colour, equal
    return min(float(a[:cut] @ b[:cut]), histogram)


def has_eyes(frame: np.ndarray, box: np.ndarray) -> bool:
    """Whether OpenCV's eye cascade finds an eye in the upper part of ``box``: a second detector's word on a face."""
    eye_cascade = getattr(_eye_cascades, "cascade", None)
    if eye_cascade is None:
        eye_cascade = _eye_cascades.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_eye.xml")
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (int(round(float(v))) for v in box[:4])
    x1, y1, x2 = max(x1, 0), max(y1, 0), min(x2, width)
    y2 = min(y1 + int(0.6 * (box[3] - box[1])), height)
    if x2 - x1 < 12 or y2 - y1 < 8:
        return False
    region = cv2.cvtColor(frame[y1:y2, x1:x2], cv2.COLOR_RGB2GRAY)
    side = max(region.shape[1], 1)
    if side > EYE_REGION_WIDTH:  # eyes are found at any face size; small regions are faster
        height = max(1, round(region.shape[0] * EYE_REGION_WIDTH / side))
        region = cv2.resize(region, (EYE_REGION_WIDTH, height), interpolation=cv2.INTER_AREA)
    smallest = max(5, round(0.1 * region.shape[1]))
    return len(eye_cascade.detectMultiScale(region, EYE_SCALE_FACTOR, 3, minSize=(smallest, smallest))) > 0


def _same_place(previous: np.ndarray, box: np.ndarray) -> float:
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
    """One person followed across sampled frames.

    Attributes:
        boxes: Frame index -> [x1, y1, x2, y2, score] where this person was detected.
        looks: Frame index -> ``face_appearance`` (when frames were given to the linking).
        face_score: Share of checked frames where a second detector confirmed a face (1.0 when not checked).
        track_id: Order of first appearance, from 0.
    """

    boxes: dict[int, np.ndarray] = field(default_factory=dict)
    looks: dict[int, np.ndarray] = field(default_factory=dict)
    face_score: float = 1.0
    track_id: int = 0

    @property
    def last(self) -> np.ndarray:
        return self.boxes[max(self.boxes)]

    @property
    def is_face(self) -> bool:
        return self.face_score >= 0.5

    def prominence(self) -> float:
        """Frames seen x median area x mean detector score: a big, confident face seen often wins over a brief one."""
        rows = np.stack(list(self.boxes.values()))
        areas = (rows[:, 2] - rows[:, 0]) * (rows[:, 3] - rows[:, 1])
        return float(len(rows) * np.median(areas) * rows[:, 4].mean())

    def median_side(self) -> float:
        """Median of sqrt(box area) over the frames seen, in pixels."""
        rows = np.stack(list(self.boxes.values()))
        return float(np.median(np.sqrt((rows[:, 2] - rows[:, 0]) * (rows[:, 3] - rows[:, 1]))))

    def rank(self) -> tuple[bool, float]:
        """Sort key, highest first: confirmed faces before unconfirmed detections, then prominence."""
        return self.is_face, self.prominence()

    def box_array(self, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """``boxes`` (T, 4) float32, zeros where the person was not seen, and ``found`` (T,) bool."""
        boxes = np.zeros((num_frames, 4), np.float32)
        found = np.zeros(num_frames, bool)
        for t, box in self.boxes.items():
            boxes[t], found[t] = box[:4], True
        return boxes, found


def link_tracks(detections: list[np.ndarray], frames: np.ndarray | None = None) -> list[FaceTrack]:
    """Link per-frame boxes into tracks, greedily by match cost; a track survives frames where it was missed.

    A box continues a track when it is near the track's last box and, given ``frames``, when its face looks like the
    track's last seen face (``SAME_PERSON_MIN_SIMILARITY``), so a cut to another person at the same place starts a
    new track.
    """
    tracks: list[FaceTrack] = []
    for t, boxes in enumerate(detections):
        looks = [face_appearance(frames[t], box) for box in boxes] if frames is not None else [None] * len(boxes)
        pairs = []
        for ti, track in enumerate(tracks):
            for bi, box in enumerate(boxes):
                cost = _same_place(track.last, box)
                if np.isfinite(cost) and looks[bi] is not None and track.looks:
                    if appearance_similarity(track.looks[max(track.looks)], looks[bi]) < SAME_PERSON_MIN_SIMILARITY:
                        cost = np.inf
                pairs.append((cost, ti, bi))
        pairs.sort(key=lambda pair: pair[0])
        used_tracks: set[int] = set()
        used_boxes: set[int] = set()
        for cost, ti, bi in pairs:
            if np.isfinite(cost) and ti not in used_tracks and bi not in used_boxes:
                tracks[ti].boxes[t] = boxes[bi]
                if looks[bi] is not None:
                    tracks[ti].looks[t] = looks[bi]
                used_tracks.add(ti)
                used_boxes.add(bi)
        for bi, box in enumerate(boxes):
            if bi not in used_boxes:
                look = {t: looks[bi]} if looks[bi] is not None else {}
                tracks.append(FaceTrack({t: box}, look, track_id=len(tracks)))
    return tracks


def check_faces(tracks: list[FaceTrack], frames: np.ndarray) -> None:
    """Set each track's ``face_score``: the share of its largest ``FACE_CHECK_FRAMES`` boxes with eyes inside."""
    for track in tracks:
        rows = sorted(track.boxes.items(), key=lambda item: -(item[1][2] - item[1][0]) * (item[1][3] - item[1][1]))
        checked = rows[:FACE_CHECK_FRAMES]
        track.face_score = float(np.mean([has_eyes(frames[t], box) for t, box in checked]))


def find_face_tracks(detections: list[np.ndarray], frames: np.ndarray | None = None) -> list[FaceTrack]:
    """Every person's track, most prominent confirmed face first.

    Args:
        detections: Per frame, all detected faces as a (k, 5) array [x1, y1, x2, y2, score].
        frames: The (T, H, W, 3) RGB frames the boxes are on. With them, tracks are also linked by appearance and
            checked for eyes; without them, by position alone and every track counts as a face.
    """
    tracks = link_tracks([_most_confident(_as_boxes(d), MAX_FACES_PER_FRAME) for d in detections], frames)
    if frames is not None:
        check_faces(tracks, frames)
    return sorted(tracks, key=FaceTrack.rank, reverse=True)


def select_face_track(
    detections: list[np.ndarray], frames: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes of the video's main person: the most prominent track confirmed as a face.

    Args:
        detections: Per frame, all detected faces as a (k, 5) array [x1, y1, x2, y2, score].
        frames: The frames, for appearance linking and the face check (see ``find_face_tracks``).

    Returns:
        ``boxes`` (T, 4) float32 and ``found`` (T,) bool. Frames where that person was not detected have
        ``found`` False and an all-zero box: nothing of another scene is taken for them. With no face anywhere,
        ``found`` is all False.
    """
    tracks = find_face_tracks(detections, frames)
    if not tracks:
        return np.zeros((len(detections), 4), np.float32), np.zeros(len(detections), bool)
    return tracks[0].box_array(len(detections))
