"""CMU-MOSEI emotion labels as 7-way distributions in `EMOTION_LABELS` order.

Two label sources are understood:

* the CMU Multimodal SDK's `CMU_MOSEI_Labels.csd` (HDF5, root group "All Labels", per video `features`
  (segments × [sentiment, happy, sad, anger, surprise, disgust, fear]) and `intervals` (segments × [start, end] s)),
  split by the SDK's standard folds (`cmu_mosei_std_folds.py`, read as text, never run, or a JSON copy);
* the original project's CSVs (`video_name, Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise[, text,
  Other]`), whose rows are already distributions and whose names are `<video>_<start>_<end>`.

Target rule (the original project's): neutral = 1 when no emotion is present; otherwise the six intensities divided
by their sum and neutral = 0.

Segments are known by three names: the original project's `<video>_<start>_<end>`, the segment file name
`<video>_<i>` (0-based, numbered in time order; our canonical id) and the SDK's `<video>[<i>]` (the i-th row of the
.csd). The rows of a .csd are not in time order within a video, so an index alone can silently name the wrong
segment: `MoseiLabelIndex.resolve` matches .csd labels by time interval, and accepts an index name only when the
clip's length is known and fits the interval it points to (otherwise it stops with one sentence).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from modeling.configuration_face_transformer import EMOTION_LABELS
from training.cli import UserError

if TYPE_CHECKING:  # only the .csd route needs HDF5, and imports it there
    import h5py


class MoseiLabelError(UserError):
    """A CMU-MOSEI label or fold file is missing or does not hold what the dataset ships."""


# The SDK's column order, used when a .csd file carries no "dimension names".
CSD_STANDARD_DIMENSIONS = ("sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear")

# Names the SDK and the original CSVs use → our emotion names. Sentiment is not an emotion and is dropped.
_EMOTION_SYNONYMS = {
    "neutral": "neutral",
    "anger": "anger",
    "angry": "anger",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "happiness": "happiness",
    "happy": "happiness",
    "sadness": "sadness",
    "sad": "sadness",
    "surprise": "surprise",
    "surprised": "surprise",
}

# Folds file names → our split names.
_FOLD_VARIABLES = {
    "standard_train_fold": "train",
    "standard_valid_fold": "validation",
    "standard_test_fold": "test",
}
_SPLIT_SYNONYMS = {"train": "train", "valid": "validation", "validation": "validation", "dev": "validation",
                   "val": "validation", "test": "test"}

# How far (seconds) an id's start/end may sit from a label interval and still name that segment.
INTERVAL_TOLERANCE_S = 0.1
# How far (seconds) a clip's length may differ from its segment's interval length (a cut ends on a frame boundary,
# and a stream-copied cut on a keyframe) for an index name `<video>_<i>` to be trusted.
CLIP_LENGTH_TOLERANCE_S = 0.5

_BRACKET_ID = re.compile(r"^(?P<video>.+)\[(?P<index>\d+)\]$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class MoseiSegment:
    """One labelled CMU-MOSEI segment.

    Attributes:
        video_id: The segment's canonical id: `<video>_<i>` for .csd labels (i in time order), the CSV's
            `video_name` for CSV labels.
        source_video: The YouTube (or numeric) id of the full video the segment was cut from.
        segment_index: Position of the segment in time order within its video (`None` for CSV labels).
        start: Segment start in seconds (`None` when unknown).
        end: Segment end in seconds (`None` when unknown).
        emotions: Seven probabilities in `EMOTION_LABELS` order, summing to 1.
    """

    video_id: str
    source_video: str
    segment_index: int | None
    start: float | None
    end: float | None
    emotions: tuple[float, ...]
    csd_row: int | None = None  # row of the segment within its video in the .csd file (`None` for CSV labels)


def emotion_distribution(intensities: dict[str, float]) -> tuple[float, ...]:
    """Turns the six MOSEI emotion intensities into a 7-way distribution in `EMOTION_LABELS` order.

    Args:
        intensities: Emotion name (our names, without neutral) → intensity ≥ 0 (MOSEI: 0–3).

    Returns:
        Seven floats summing to 1: all mass on neutral when no emotion is present, otherwise the intensities
        divided by their sum (neutral 0).
    """
    values = np.array([float(intensities.get(name, 0.0)) for name in EMOTION_LABELS[1:]], dtype=np.float64)
    total = values.sum()
    if total <= 0.0:
        return (1.0,) + (0.0,) * len(values)
    return (0.0,) + tuple(float(v) for v in values / total)


# ---------------------------------------------------------------------------------------------------------------
# The SDK's .csd file


def read_mosei_csd(path: str | Path) -> list[MoseiSegment]:
    """Reads every labelled segment of a CMU-MOSEI `CMU_MOSEI_Labels.csd` file.

    Columns are found by the file's "dimension names" metadata when it has them, else the SDK's standard order
    `sentiment, happy, sad, anger, surprise, disgust, fear`.

    Args:
        path: The .csd (HDF5) file.

    Returns:
        One `MoseiSegment` per row, id `<video>_<i>` with i its position in time order within the video (the .csd's
        rows are not in time order), sorted by video then start time.

    Raises:
        MoseiLabelError: The file is missing, is not HDF5, lacks the SDK structure, or holds a negative or
            non-finite emotion intensity.
    """
    import h5py  # only the .csd route needs HDF5

    path = Path(path)
    if not path.is_file():
        raise MoseiLabelError(f"{path}: no such CMU-MOSEI .csd file.")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise MoseiLabelError(f"{path}: not an HDF5 .csd file ({error}).") from None
    with handle:
        root = _csd_root(path, handle)
        if "data" not in root:
            raise MoseiLabelError(f"{path}: group {root.name!r} has no 'data' group, so it is not an SDK .csd file.")
        columns = _csd_emotion_columns(path, root)
        segments = []
        for video in sorted(root["data"]):
            group = root["data"][video]
            if "features" not in group or "intervals" not in group:
                raise MoseiLabelError(f"{path}: video {video!r} lacks 'features' or 'intervals'.")
            features = np.asarray(group["features"][()], dtype=np.float64)
            intervals = np.asarray(group["intervals"][()], dtype=np.float64)
            segments.extend(_csd_video_segments(path, video, features, intervals, columns))
    return segments


def _csd_root(path: Path, handle: h5py.File) -> h5py.Group:
    """Finds the computational sequence's root group ("All Labels" in the SDK's label file)."""
    if "All Labels" in handle:
        return handle["All Labels"]
    groups = list(handle.keys())
    if len(groups) == 1:
        return handle[groups[0]]
    raise MoseiLabelError(
        f"{path}: expected the root group 'All Labels', found {', '.join(map(repr, groups)) or 'nothing'}."
    )


def _csd_emotion_columns(path: Path, root) -> dict[str, int]:
    """Maps each of our six emotion names to its feature column, by the file's dimension names when present."""
    names = _csd_dimension_names(root)
    if names is None:
        names = list(CSD_STANDARD_DIMENSIONS)
    columns = {}
    for index, name in enumerate(names):
        ours = _EMOTION_SYNONYMS.get(str(name).strip().lower())
        if ours is not None and ours != "neutral":
            columns.setdefault(ours, index)
    missing = [name for name in EMOTION_LABELS[1:] if name not in columns]
    if missing:
        raise MoseiLabelError(
            f"{path}: its dimension names {names} lack the emotion(s) {', '.join(missing)}."
        )
    return columns


def _csd_dimension_names(root) -> list[str] | None:
    """Reads the "dimension names" metadata (the SDK stores a JSON list as one string); `None` when absent."""
    if "metadata" not in root or "dimension names" not in root["metadata"]:
        return None
    raw = root["metadata"]["dimension names"][()]
    if isinstance(raw, np.ndarray):
        raw = raw.tolist()
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, list):
        return [item.decode() if isinstance(item, bytes) else str(item) for item in raw]
    # Newer SDK versions write JSON, older ones Python's str() of the list.
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(raw)
        except (ValueError, SyntaxError, TypeError):
            continue
        if isinstance(value, (list, tuple)):
            return [str(item) for item in value]
    return None


def _csd_video_segments(
    path: Path, video: str, features: np.ndarray, intervals: np.ndarray, columns: dict[str, int]
) -> list[MoseiSegment]:
    """Builds the segments of one video from its feature rows and intervals."""
    if features.ndim != 2 or intervals.ndim != 2 or intervals.shape[1] != 2 or len(features) != len(intervals):
        raise MoseiLabelError(
            f"{path}: video {video!r} has features of shape {features.shape} and intervals of shape "
            f"{intervals.shape}; expected (n, 7) and (n, 2)."
        )
    if features.shape[1] <= max(columns.values()):
        raise MoseiLabelError(f"{path}: video {video!r} has {features.shape[1]} feature columns, too few.")
    segments = []
    in_time_order = sorted(range(len(intervals)), key=lambda row: (intervals[row][0], intervals[row][1], row))
    for position, row in enumerate(in_time_order):
        values, (start, end) = features[row], intervals[row]
        intensities = {name: float(values[column]) for name, column in columns.items()}
        bad = [name for name, value in intensities.items() if not (math.isfinite(value) and value >= 0.0)]
        if bad:
            raise MoseiLabelError(
                f"{path}: segment {video}[{row}] has an invalid {bad[0]} intensity ({intensities[bad[0]]})."
            )
        segments.append(
            MoseiSegment(
                video_id=f"{video}_{position}",
                source_video=video,
                segment_index=position,
                start=float(start),
                end=float(end),
                emotions=emotion_distribution(intensities),
                csd_row=row,
            )
        )
    return segments


def read_mosei_folds(path: str | Path) -> dict[str, set[str]]:
    """Reads the SDK's standard CMU-MOSEI folds.

    Args:
        path: Either the SDK's `cmu_mosei_std_folds.py` (parsed as text: the list assignments
            `standard_train_fold`, `standard_valid_fold`, `standard_test_fold`; the file is never run) or a JSON
            object `{"train": [...], "validation": [...], "test": [...]}` (`valid` is read as validation).

    Returns:
        Split name (`train`, `validation`, `test`) → set of video ids.

    Raises:
        MoseiLabelError: The file is missing, unparsable, lacks a fold, or puts one video in two folds.
    """
    path = Path(path)
    if not path.is_file():
        raise MoseiLabelError(f"{path}: no such CMU-MOSEI folds file.")
    text = path.read_text(encoding="utf-8", errors="replace")
    folds = _folds_from_json(path, text) if text.lstrip().startswith("{") else _folds_from_python(path, text)
    names = list(folds)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            shared = sorted(folds[first] & folds[second])
            if shared:
                raise MoseiLabelError(
                    f"{path}: video {shared[0]!r} is in both the {first} and the {second} fold."
                )
    return folds


def _folds_from_json(path: Path, text: str) -> dict[str, set[str]]:
    """Reads folds from a JSON object of split → list of video ids."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MoseiLabelError(f"{path}: not valid JSON ({error}).") from None
    folds: dict[str, set[str]] = {}
    for key, ids in data.items():
        split = _SPLIT_SYNONYMS.get(str(key).lower())
        if split is None:
            continue
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise MoseiLabelError(f"{path}: fold {key!r} must be a list of video id strings.")
        folds[split] = set(ids)
    return _require_all_folds(path, folds)


def _folds_from_python(path: Path, text: str) -> dict[str, set[str]]:
    """Finds the three `standard_*_fold = [...]` list literals in the SDK's folds module without running it."""
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as error:
        raise MoseiLabelError(f"{path}: neither JSON nor a parsable Python folds file ({error.msg}).") from None
    folds: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in _FOLD_VARIABLES:
                try:
                    ids = ast.literal_eval(value)
                except ValueError:
                    raise MoseiLabelError(
                        f"{path}: {target.id} is not a literal list of video ids."
                    ) from None
                if not isinstance(ids, (list, tuple)) or not all(isinstance(i, str) for i in ids):
                    raise MoseiLabelError(f"{path}: {target.id} must be a list of video id strings.")
                folds[_FOLD_VARIABLES[target.id]] = set(ids)
    return _require_all_folds(path, folds)


def _require_all_folds(path: Path, folds: dict[str, set[str]]) -> dict[str, set[str]]:
    """Checks that train, validation and test folds were all found."""
    missing = [split for split in ("train", "validation", "test") if split not in folds]
    if missing:
        raise MoseiLabelError(f"{path}: no {', '.join(missing)} fold found.")
    return {split: folds[split] for split in ("train", "validation", "test")}


def split_by_folds(
    segments: Iterable[MoseiSegment], folds: dict[str, set[str]]
) -> tuple[dict[str, list[MoseiSegment]], list[MoseiSegment]]:
    """Puts each segment in the split of its source video.

    Args:
        segments: Labelled segments.
        folds: Split → video ids, as `read_mosei_folds` returns.

    Returns:
        (split → segments, segments whose video is in no fold).
    """
    split_of = {video: split for split, videos in folds.items() for video in videos}
    splits: dict[str, list[MoseiSegment]] = {split: [] for split in folds}
    outside = []
    for segment in segments:
        split = split_of.get(segment.source_video)
        (splits[split] if split is not None else outside).append(segment)
    return splits, outside


# ---------------------------------------------------------------------------------------------------------------
# The original project's CSV files


def read_mosei_csv(path: str | Path) -> list[MoseiSegment]:
    """Reads one of the original project's label CSVs (e.g. `train_full.csv`).

    Args:
        path: CSV with columns `video_name, Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise` (more
            columns, such as `text` and `Other`, are ignored). Rows are renormalised to sum to 1; an all-zero row
            becomes neutral.

    Returns:
        One `MoseiSegment` per row, id = `video_name`, start/end parsed from `<video>_<start>_<end>` when present.

    Raises:
        MoseiLabelError: The file is missing, lacks a column, repeats a video name, or holds a value that is not a
            non-negative number.
    """
    path = Path(path)
    if not path.is_file():
        raise MoseiLabelError(f"{path}: no such CMU-MOSEI label CSV.")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise MoseiLabelError(f"{path}: the file is empty.")
        positions = _csv_columns(path, header)
        segments, seen = [], set()
        for line_number, row in enumerate(reader, start=2):
            if not row or not any(cell.strip() for cell in row):
                continue
            segment = _csv_segment(path, line_number, row, positions)
            if segment.video_id in seen:
                raise MoseiLabelError(f"{path}: line {line_number} repeats video {segment.video_id!r}.")
            seen.add(segment.video_id)
            segments.append(segment)
    return segments


def _csv_columns(path: Path, header: Sequence[str]) -> dict[str, int]:
    """Finds `video_name` and the seven emotion columns by name (case and spacing do not matter)."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        if key == "video_name":
            positions.setdefault("video_name", index)
        elif key in _EMOTION_SYNONYMS:
            positions.setdefault(_EMOTION_SYNONYMS[key], index)
    missing = [name for name in ("video_name",) + tuple(EMOTION_LABELS) if name not in positions]
    if missing:
        raise MoseiLabelError(f"{path}: the header lacks the column(s) {', '.join(missing)}.")
    return positions


def _csv_segment(path: Path, line_number: int, row: Sequence[str], positions: dict[str, int]) -> MoseiSegment:
    """Builds one segment from a CSV row."""
    if len(row) <= max(positions.values()):
        raise MoseiLabelError(f"{path}: line {line_number} has {len(row)} fields, fewer than the header.")
    name = row[positions["video_name"]].strip()
    if not name:
        raise MoseiLabelError(f"{path}: line {line_number} has an empty video_name.")
    values = []
    for label in EMOTION_LABELS:
        cell = row[positions[label]].strip()
        try:
            value = float(cell)
        except ValueError:
            raise MoseiLabelError(f"{path}: line {line_number} has {label} = {cell!r}, not a number.") from None
        if not (math.isfinite(value) and value >= 0.0):
            raise MoseiLabelError(f"{path}: line {line_number} has {label} = {cell}, not a non-negative number.")
        values.append(value)
    total = sum(values)
    emotions = (1.0,) + (0.0,) * 6 if total <= 0.0 else tuple(v / total for v in values)
    parsed = parse_interval_id(name)
    source, start, end = parsed if parsed is not None else (name, None, None)
    return MoseiSegment(name, source, None, start, end, emotions)


def parse_interval_id(name: str) -> tuple[str, float, float] | None:
    """Splits `<video>_<start>_<end>` (seconds) into its parts; `None` when the name is not of that form.

    Video ids may themselves contain underscores, so the two numbers are taken from the right.
    """
    parts = name.rsplit("_", 2)
    if len(parts) != 3 or not parts[0] or not (_NUMBER.match(parts[1]) and _NUMBER.match(parts[2])):
        return None
    start, end = float(parts[1]), float(parts[2])
    if end < start:
        return None
    return parts[0], start, end


def hold_out_validation(
    segments: Sequence[MoseiSegment], fraction: float = 0.1
) -> tuple[list[MoseiSegment], list[MoseiSegment]]:
    """Moves about `fraction` of the source videos (all their segments) from train to validation.

    A video's side depends only on a hash of its id, never on random state or on the other videos, so the split is
    the same on every run and machine, and adding videos never moves an old one. When the hash sends no video to
    validation (tiny data), the video with the smallest hash goes; one video always stays in train.

    Args:
        segments: Training segments.
        fraction: Share of source videos to hold out.

    Returns:
        (train segments, validation segments).
    """
    videos = sorted({segment.source_video for segment in segments}, key=_unit_hash)
    held = {video for video in videos if _unit_hash(video) < fraction}
    if not held and len(videos) > 1:
        held = {videos[0]}
    if len(held) == len(videos) and len(videos) > 1:
        held.discard(videos[-1])
    train = [segment for segment in segments if segment.source_video not in held]
    validation = [segment for segment in segments if segment.source_video in held]
    return train, validation


def _unit_hash(text: str) -> float:
    """A stable number in [0, 1) from a string (SHA-1, so the same on every Python and machine)."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:15], 16) / float(16**15)


# ---------------------------------------------------------------------------------------------------------------
# Finding the label of an embedding's video_id


class MoseiLabelIndex:
    """Finds the labelled segment an embedding's `video_id` names.

    * a CSV label's own name matches exactly;
    * `<video>_<start>_<end>` matches the segment of that video whose start and end are both within
      `INTERVAL_TOLERANCE_S` seconds (the nearest one when several are);
    * `<video>_<i>` (the i-th segment in time order, as segment files are numbered) and `<video>[<i>]` (the .csd's
      i-th row) of a .csd label are accepted only when `clip_seconds` knows the clip's length and it is within
      `CLIP_LENGTH_TOLERANCE_S` of that segment's interval; otherwise `resolve` raises `MoseiLabelError`.

    Args:
        segments: The labelled segments.
        clip_seconds: Embedding `video_id` → the clip's length in seconds, or `None` when unknown.
        tolerance_s: See `INTERVAL_TOLERANCE_S`.
    """

    def __init__(
        self,
        segments: Iterable[MoseiSegment],
        clip_seconds: Callable[[str], float | None] | None = None,
        tolerance_s: float = INTERVAL_TOLERANCE_S,
    ):
        self.tolerance_s = tolerance_s
        self.clip_seconds = clip_seconds or (lambda video_id: None)
        self._by_name: dict[str, MoseiSegment] = {}
        self._by_position: dict[tuple[str, int], MoseiSegment] = {}
        self._by_row: dict[tuple[str, int], MoseiSegment] = {}
        self._by_video: dict[str, list[MoseiSegment]] = {}
        for segment in segments:
            if segment.segment_index is None:
                self._by_name[segment.video_id] = segment
            else:
                self._by_position[(segment.source_video, segment.segment_index)] = segment
                if segment.csd_row is not None:
                    self._by_row[(segment.source_video, segment.csd_row)] = segment
            if segment.start is not None and segment.end is not None:
                self._by_video.setdefault(segment.source_video, []).append(segment)

    def resolve(self, video_id: str) -> MoseiSegment | None:
        """The labelled segment `video_id` names, or `None` when there is none.

        Raises:
            MoseiLabelError: An index name whose clip length is unknown or does not fit its segment.
        """
        exact = self._by_name.get(video_id)
        if exact is not None:
            return exact
        parsed = parse_interval_id(video_id)
        if parsed is not None:
            return self._nearest_interval(*parsed)
        bracket = _BRACKET_ID.match(video_id)
        if bracket:
            segment = self._by_row.get((bracket.group("video"), int(bracket.group("index"))))
            return self._checked_length(video_id, segment, f".csd row {bracket.group('index')}")
        video, _, index = video_id.rpartition("_")
        if video and index.isdigit():
            segment = self._by_position.get((video, int(index)))
            return self._checked_length(video_id, segment, f"segment {index} in time order")
        return None

    def _nearest_interval(self, video: str, start: float, end: float) -> MoseiSegment | None:
        best, best_gap = None, self.tolerance_s
        for segment in self._by_video.get(video, ()):
            gap = max(abs(segment.start - start), abs(segment.end - end))
            if gap <= best_gap + 1e-9 and (best is None or gap < best_gap):
                best, best_gap = segment, gap
        return best

    def _checked_length(self, video_id: str, segment: MoseiSegment | None, meaning: str) -> MoseiSegment | None:
        """`segment` when the clip's length fits its interval; raises when it does not or is unknown."""
        if segment is None:
            return None
        wanted = segment.end - segment.start
        seconds = self.clip_seconds(video_id)
        if seconds is None:
            raise MoseiLabelError(
                f"clip {video_id!r} names a label by its index, which the .csd's rows cannot confirm; give the clips' "
                f"folder (--mosei_clips) so that its length can be checked against the {wanted:.2f} s segment, or "
                "name the clips <video>_<start>_<end>."
            )
        if abs(seconds - wanted) > CLIP_LENGTH_TOLERANCE_S:
            raise MoseiLabelError(
                f"clip {video_id!r} lasts {seconds:.2f} s, but {meaning} of {segment.source_video!r} spans "
                f"{segment.start:.2f}-{segment.end:.2f} s ({wanted:.2f} s), so its index does not name that segment; "
                "name the clips <video>_<start>_<end>."
            )
        return segment


def clip_lengths(folder: str | Path) -> Callable[[str], float | None]:
    """Clip `video_id` → its length in seconds, read from `<folder>/**/<video_id>.<video extension>` when asked (the
    extensions extraction takes, `VIDEO_EXTENSIONS`, so every clip embedded can be found).

    Raises:
        MoseiLabelError: The folder does not exist.
    """
    import av  # only index-named clips need their lengths

    from modeling.video_decoding import VIDEO_EXTENSIONS

    folder = Path(folder)
    if not folder.is_dir():
        raise MoseiLabelError(f"--mosei_clips {folder}: no such folder.")
    files = {path.stem: path for path in sorted(folder.rglob("*")) if path.suffix.lower() in VIDEO_EXTENSIONS}

    def seconds(video_id: str) -> float | None:
        path = files.get(video_id)
        if path is None:
            return None
        try:
            with av.open(str(path)) as container:
                if container.duration is not None:
                    return container.duration / av.time_base
                stream = container.streams.video[0]
                return float(stream.duration * stream.time_base) if stream.duration else None
        except (av.error.FFmpegError, IndexError, OSError):
            return None

    return seconds
