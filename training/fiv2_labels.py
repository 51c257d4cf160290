"""First Impressions V2 (ChaLearn LAP 2016) personality labels.

The dataset ships one pickle per split, `annotation_training.pkl`, `annotation_validation.pkl` and
`annotation_test.pkl`, each a Python 2 dict `trait → {"<youtube id>.<NNN>.mp4": score in [0, 1]}` with the traits
`extraversion, neuroticism, agreeableness, conscientiousness, interview, openness`. We keep the five OCEAN traits in
the project's order (`TRAIT_LABELS`), drop `interview`, and name each clip by its file name without `.mp4`
(`J4GQm9j0JZ0.003`), as the extraction does.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

from modeling.configuration_face_transformer import TRAIT_LABELS
from training.cli import UserError
from training.safe_pickle import load_plain_pickle


class FIV2LabelError(UserError):
    """A First Impressions V2 annotation file is missing or does not hold what the dataset ships."""


# Our split name → the file name the dataset ships for it.
FIV2_ANNOTATION_FILES = {
    "train": "annotation_training.pkl",
    "validation": "annotation_validation.pkl",
    "test": "annotation_test.pkl",
}


def fiv2_video_id(file_name: str) -> str:
    """Turns an annotation key such as `J4GQm9j0JZ0.003.mp4` into the clip id `J4GQm9j0JZ0.003`."""
    return file_name[: -len(".mp4")] if file_name.lower().endswith(".mp4") else file_name


def load_fiv2_annotations(path: str | Path) -> dict[str, tuple[float, ...]]:
    """Reads one First Impressions V2 annotation pickle.

    Args:
        path: An `annotation_<split>.pkl` file (a Python 2 pickle; it is loaded without running any code).

    Returns:
        Clip id (`<youtube id>.<NNN>`) → the five trait scores in `TRAIT_LABELS` order, sorted by clip id.

    Raises:
        FIV2LabelError: The file is not a trait dict, lacks a trait, has clips without every trait, or holds a
            score that is not a number in [0, 1].
        UnsafePickleError: The file is not a readable plain-data pickle.
    """
    path = Path(path)
    data = load_plain_pickle(path)
    if not isinstance(data, dict):
        raise FIV2LabelError(f"{path}: expected a dict of trait → {{clip: score}}, found a {type(data).__name__}.")
    missing = [trait for trait in TRAIT_LABELS if trait not in data]
    if missing:
        raise FIV2LabelError(
            f"{path}: the trait(s) {', '.join(missing)} are missing (found: {', '.join(map(str, sorted(data)))})."
        )

    scores: dict[str, dict[str, float]] = {}
    for trait in TRAIT_LABELS:
        per_clip = data[trait]
        if not isinstance(per_clip, dict):
            raise FIV2LabelError(
                f"{path}: trait {trait!r} should map clip names to scores, found a {type(per_clip).__name__}."
            )
        scores[trait] = {}
        for file_name, value in per_clip.items():
            if not isinstance(file_name, str):
                raise FIV2LabelError(f"{path}: trait {trait!r} has a clip name that is not a string ({file_name!r}).")
            scores[trait][fiv2_video_id(file_name)] = _score(path, trait, file_name, value)

    clips = set(scores[TRAIT_LABELS[0]])
    for trait in TRAIT_LABELS[1:]:
        if set(scores[trait]) != clips:
            odd = sorted(clips.symmetric_difference(scores[trait]))
            raise FIV2LabelError(
                f"{path}: traits {TRAIT_LABELS[0]!r} and {trait!r} cover different clips "
                f"({len(odd)} differ, e.g. {odd[0]!r})."
            )
    return {clip: tuple(scores[trait][clip] for trait in TRAIT_LABELS) for clip in sorted(clips)}


def _score(path: Path, trait: str, file_name: str, value: object) -> float:
    """Checks one annotation value: a finite number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise FIV2LabelError(f"{path}: {trait} of {file_name!r} is not a number ({value!r}).")
    score = float(value)
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise FIV2LabelError(f"{path}: {trait} of {file_name!r} is {score}, outside [0, 1].")
    return score


def find_fiv2_annotation_files(
    annotations_dir: str | Path | None = None,
    train: str | Path | None = None,
    validation: str | Path | None = None,
    test: str | Path | None = None,
) -> dict[str, Path]:
    """Decides which annotation pickle feeds each split.

    Explicit files win; otherwise the dataset's file names are looked up in `annotations_dir`. Train and validation
    are required (a real validation split keeps the test split for testing); test is optional.

    Args:
        annotations_dir: A folder holding `annotation_training.pkl`, `annotation_validation.pkl`, `annotation_test.pkl`.
        train: Explicit training annotation file.
        validation: Explicit validation annotation file.
        test: Explicit test annotation file.

    Returns:
        Split name (`train`, `validation`, `test`) → annotation file.

    Raises:
        FIV2LabelError: A named file or folder does not exist, or train/validation has no file.
    """
    explicit = {"train": train, "validation": validation, "test": test}
    if annotations_dir is not None and not Path(annotations_dir).is_dir():
        raise FIV2LabelError(f"{annotations_dir}: the FIV2 annotations folder does not exist.")
    files: dict[str, Path] = {}
    for split, file_name in FIV2_ANNOTATION_FILES.items():
        if explicit[split] is not None:
            if not Path(explicit[split]).is_file():
                raise FIV2LabelError(f"{explicit[split]}: the FIV2 {split} annotation file does not exist.")
            files[split] = Path(explicit[split])
        elif annotations_dir is not None and (Path(annotations_dir) / file_name).is_file():
            files[split] = Path(annotations_dir) / file_name
    for split in ("train", "validation"):
        if split not in files:
            raise FIV2LabelError(
                f"no FIV2 {split} annotations: give --fiv2_{split} or a --fiv2_annotations folder holding "
                f"{FIV2_ANNOTATION_FILES[split]}."
            )
    return files


def load_fiv2_splits(files: dict[str, Path]) -> dict[str, dict[str, tuple[float, ...]]]:
    """Loads every split's annotations and checks that no clip is in two splits.

    Args:
        files: Split name → annotation pickle, as `find_fiv2_annotation_files` returns.

    Returns:
        Split name → (clip id → five trait scores in `TRAIT_LABELS` order).

    Raises:
        FIV2LabelError: A file is malformed, or one clip appears in two splits.
    """
    splits = {split: load_fiv2_annotations(path) for split, path in files.items()}
    names = list(splits)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            shared = sorted(set(splits[first]) & set(splits[second]))
            if shared:
                raise FIV2LabelError(
                    f"{files[first]} and {files[second]} both label {len(shared)} clip(s), e.g. {shared[0]!r}; "
                    "a clip must be in one split only."
                )
    return splits
