"""The `datasets` tables that connect extraction, table building and training.

An embedding table (written by the extraction, one `save_to_disk` folder per split) has the columns `video_id`
(string), `embeddings` (Array2D (T, D), float16 or float32) and `attention_mask` (T int8, 1 = a real face). A
training table is a `DatasetDict` (splits `train`, `validation`, optionally `test`) with those columns plus
`emotions` (7 floats summing to 1, `EMOTION_LABELS` order) or `traits` (5 floats in [0, 1], `TRAIT_LABELS` order).

`validate_training_table` is the one place that checks this contract; trainers call `load_training_table`, which
loads and validates, so a wrong table stops with one sentence before any GPU time is spent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Array2D, Dataset, DatasetDict, Features, List, Value

from modeling.configuration_face_transformer import EMOTION_LABELS, TRAIT_LABELS
from training.cli import UserError, first_line


class TableError(UserError):
    """A training or embedding table breaks the contract; the message is one sentence naming what is wrong."""


TARGET_LABELS = {"emotions": EMOTION_LABELS, "traits": TRAIT_LABELS}
EMBEDDING_COLUMNS = ("video_id", "embeddings", "attention_mask")
REQUIRED_SPLITS = ("train", "validation")
OPTIONAL_SPLITS = ("test",)
EMBEDDING_DTYPES = ("float16", "float32")

# How far an emotion row may sum from 1 (float32 storage of values that summed to 1 in float64).
EMOTION_SUM_TOLERANCE = 1e-3

_LABEL_NAMES = re.compile(r"label_names:\s*([^\n]*)")
# What made a table's embeddings: the compute precision ("fp32" | "bf16" | "mixed") and the embedder's weights.
PROVENANCE_KEYS = ("precision", "embedder_weights_sha256")
_PROVENANCE = re.compile(r"^(precision|embedder_weights_sha256):[ \t]*(\S+)[ \t]*$", re.MULTILINE)
EXTRACTION_KEY = "face_fusion_extraction"  # the key of the extraction's settings in an embedding table's description


def _check_target(target: str) -> tuple[str, ...]:
    if target not in TARGET_LABELS:
        raise TableError(f"target must be 'emotions' or 'traits', not {target!r}.")
    return TARGET_LABELS[target]


def embedding_features(num_frames: int, dim: int, dtype: str = "float16") -> Features:
    """The features of an embedding table.

    Args:
        num_frames: T, frames per video.
        dim: D, the embedding size.
        dtype: Storage type of the embeddings, `float16` or `float32`.

    Returns:
        `video_id` string, `embeddings` Array2D (T, D), `attention_mask` T × int8.
    """
    if dtype not in EMBEDDING_DTYPES:
        raise TableError(f"embeddings dtype must be one of {', '.join(EMBEDDING_DTYPES)}, not {dtype!r}.")
    if num_frames < 1 or dim < 1:
        raise TableError(f"an embedding table needs num_frames ≥ 1 and dim ≥ 1, got ({num_frames}, {dim}).")
    return Features(
        {
            "video_id": Value("string"),
            "embeddings": Array2D(shape=(num_frames, dim), dtype=dtype),
            "attention_mask": List(Value("int8"), length=num_frames),
        }
    )


def training_features(num_frames: int, dim: int, target: str, dtype: str = "float16") -> Features:
    """The features of a training table: the embedding table's plus the target column.

    Args:
        num_frames: T, frames per video.
        dim: D, the embedding size.
        target: `emotions` (7 floats) or `traits` (5 floats).
        dtype: Storage type of the embeddings, `float16` or `float32`.

    Returns:
        `video_id`, `embeddings`, `attention_mask`, and `target` as a fixed-length list of float32.
    """
    labels = _check_target(target)
    features = embedding_features(num_frames, dim, dtype)
    features[target] = List(Value("float32"), length=len(labels))
    return features


def describe_training_table(target: str, provenance: dict[str, str | None] | None = None) -> str:
    """The `DatasetInfo.description` written with a training table.

    It records the label order it was built with and, when known, the provenance of its embeddings (`precision`,
    `embedder_weights_sha256`: see `table_provenance`), one `key: value` line each.
    """
    labels = _check_target(target)
    return "\n".join([f"face-fusion training table ({target} per video).", *_description_lines(labels, provenance)])


def _description_lines(labels: Sequence[str] | None, provenance: dict[str, str | None] | None) -> list[str]:
    """The `label_names: ...` and provenance `key: value` lines of a training table's description (what
    `_PROVENANCE` and the label-order check read back)."""
    lines = [f"label_names: {', '.join(labels)}"] if labels is not None else []
    return lines + [f"{key}: {value}" for key, value in (provenance or {}).items() if key in PROVENANCE_KEYS and value]


def extraction_provenance(description: str | None) -> dict[str, str | None]:
    """`precision` and `embedder_weights_sha256` from an embedding table's description (the extraction's settings
    JSON); None for what it does not record."""
    try:
        settings = json.loads(description or "").get(EXTRACTION_KEY)
    except (ValueError, AttributeError):
        settings = None
    settings = settings if isinstance(settings, dict) else {}
    return {"precision": settings.get("precision"), "embedder_weights_sha256": settings.get("weights_sha256")}


def table_provenance(dataset: Dataset | DatasetDict) -> dict[str, str | None]:
    """What made a table's embeddings, for records such as `eval_results.json`.

    Args:
        dataset: A training table (`DatasetDict` or one split) built by `training/build_dataset.py`, or an embedding
            table written by the extraction.

    Returns:
        `{"precision": "fp32" | "bf16" | "mixed" | None, "embedder_weights_sha256": hex | None}`; None where the
        table does not record it (tables built before it was recorded). "mixed": joined from extractions run at
        different precisions.
    """
    if isinstance(dataset, DatasetDict):
        if not dataset:
            return dict.fromkeys(PROVENANCE_KEYS)
        dataset = dataset["train"] if "train" in dataset else dataset[next(iter(dataset))]
    description = dataset.info.description or ""
    found = dict(_PROVENANCE.findall(description))
    if found:
        return {key: found.get(key) for key in PROVENANCE_KEYS}
    return extraction_provenance(description)


def label_names_of(dataset: Dataset) -> tuple[str, ...] | None:
    """The label order a table declares for its target column, or `None` when it declares none.

    It is the `label_names:` line of `DatasetInfo.description`, which `describe_training_table` writes. (A feature's
    `id` would be the natural place, but `datasets` drops it on any transform or save.)
    """
    match = _LABEL_NAMES.search(dataset.info.description or "")
    if match is None:
        return None
    return tuple(name.strip() for name in match.group(1).split(",") if name.strip())


def load_training_table(path_or_hub_id: str | Path, target: str) -> DatasetDict:
    """Loads a training table from a `save_to_disk` folder or a Hub dataset id, and validates it.

    Args:
        path_or_hub_id: A folder written by `DatasetDict.save_to_disk`, or a Hub dataset id such as `org/mosei-emonext`.
        target: `emotions` or `traits`, the label column the caller trains on.

    Returns:
        The validated `DatasetDict`.

    Raises:
        TableError: The table cannot be loaded or breaks the contract (see `validate_training_table`).
    """
    import datasets  # load_from_disk / load_dataset live at the top level only

    _check_target(target)
    path = Path(path_or_hub_id)
    if path.is_dir() and (path / "README.md").is_file() and not (path / "dataset_dict.json").is_file():
        # A Hub dataset repo on disk (what push_to_hub uploads: the card and data files), e.g. a snapshot_download.
        loaded = _load_hub_layout(str(path), path / "README.md")
    elif path.exists():
        if not path.is_dir():
            raise TableError(f"{path}: a training table is a folder written by save_to_disk or a Hub id, not a file.")
        try:
            loaded = datasets.load_from_disk(str(path))
        except IndexError:
            # datasets writes no data file for an empty split, and load_from_disk then fails with an IndexError.
            empty = sorted(split.name for split in path.iterdir() if split.is_dir() and not any(split.glob("*.arrow")))
            raise TableError(f"{path}: split {(empty or ['?'])[0]!r} is empty; every split needs rows.") from None
        except (FileNotFoundError, ValueError, OSError, KeyError) as error:
            raise TableError(f"{path}: not a dataset folder written by save_to_disk ({first_line(error)}).") from None
        if isinstance(loaded, Dataset):
            raise TableError(f"{path}: holds a single Dataset, not a DatasetDict with train and validation splits.")
    else:
        loaded = _load_hub_layout(str(path_or_hub_id), str(path_or_hub_id))
    validate_training_table(loaded, target)
    return loaded


def _load_hub_layout(source: str, card: str | Path) -> DatasetDict:
    """`load_dataset(source)`, with the label order its dataset card declares put where `label_names_of` reads it
    (the features cannot carry it, and `push_to_hub` drops the description; see training/dataset_card.py)."""
    import datasets
    from huggingface_hub import DatasetCard

    from training.dataset_card import label_names_from_card, provenance_from_card

    try:
        loaded = datasets.load_dataset(source)
    except Exception as error:  # noqa: BLE001 - the Hub client raises many types; the user needs one sentence
        raise TableError(
            f"{source}: no such folder, and loading it as a Hub dataset failed ({first_line(error)})."
        ) from None
    try:
        card = DatasetCard.load(card, repo_type="dataset") if isinstance(card, str) else card
        names, provenance = label_names_from_card(card), provenance_from_card(card)
    except Exception:  # noqa: BLE001 - no card, or an unreadable one: the table declares no order, as before
        names, provenance = None, {}
    lines = _description_lines(names, provenance)
    if lines and isinstance(loaded, DatasetDict):
        for split in loaded.values():
            split.info.description = "\n".join([split.info.description or "", *lines]).strip()
    return loaded


def validate_training_table(dsd: DatasetDict, target: str) -> None:
    """Checks a training table against the contract; returns quietly when it holds.

    Checked: splits `train` and `validation` exist (and `test` if present) and are non-empty; the columns
    `video_id`, `embeddings`, `attention_mask` and `target` exist; embeddings are an Array2D (rank 2) of float16/32
    with the same (T, D) in every split; each attention mask has T entries of 0/1 with at least one 1; each label
    has the right length; emotions are ≥ 0 and sum to 1 and traits lie in [0, 1]; video ids are unique across the
    table; a declared label order matches the contract.

    Args:
        dsd: The table.
        target: `emotions` or `traits`.

    Raises:
        TableError: One sentence naming the first thing that is wrong.
    """
    labels = _check_target(target)
    if not isinstance(dsd, (DatasetDict, dict)):
        raise TableError(f"a training table is a DatasetDict, not a {type(dsd).__name__}.")
    missing = [split for split in REQUIRED_SPLITS if split not in dsd]
    if missing:
        raise TableError(
            f"the table has no {' or '.join(missing)} split (found: {', '.join(dsd) or 'none'})."
        )
    shape = None
    owner: dict[str, str] = {}
    for split in [s for s in REQUIRED_SPLITS + OPTIONAL_SPLITS if s in dsd]:
        dataset = dsd[split]
        shape_here = validate_embedding_columns(dataset, split)
        if shape is not None and shape_here != shape:
            raise TableError(
                f"split {split!r} has embeddings of shape (T, D) = {shape_here}, but {shape} in the other split(s)."
            )
        shape = shape_here
        _validate_labels(dataset, split, target, labels)
        for video_id in dataset["video_id"]:
            if video_id in owner:
                where = f"twice in split {split!r}" if owner[video_id] == split else (
                    f"in both split {owner[video_id]!r} and split {split!r}"
                )
                raise TableError(f"video {video_id!r} is {where}; each video belongs to one row of one split.")
            owner[video_id] = split


def validate_embedding_columns(dataset: Dataset, split: str) -> tuple[int, int]:
    """Checks one split's `video_id`, `embeddings` and `attention_mask` columns and mask values.

    Args:
        dataset: One split.
        split: Its name, for messages.

    Returns:
        (T, D) of its embeddings.

    Raises:
        TableError: One sentence naming what is wrong.
    """
    num_frames, dim = check_embedding_schema(dataset, split)
    mask = attention_mask_matrix(dataset, split, num_frames)
    empty = np.flatnonzero(mask.sum(axis=1) == 0)
    if len(empty):
        raise TableError(
            f"split {split!r}: video {dataset[int(empty[0])]['video_id']!r} has an attention_mask with no real frame."
        )
    return num_frames, dim


def check_embedding_schema(dataset: Dataset, split: str, kind: str = "split") -> tuple[int, int]:
    """Checks that a table is non-empty and has well-typed `video_id`, `embeddings` and `attention_mask` columns.

    Args:
        dataset: One split of a training table, or one embedding table.
        split: Its name, for messages.
        kind: What it is, for messages (`split` or `embedding table`).

    Returns:
        (T, D) of its embeddings.

    Raises:
        TableError: One sentence naming what is wrong.
    """
    where = f"{kind} {split!r}"
    if not isinstance(dataset, Dataset):
        raise TableError(f"{where} is a {type(dataset).__name__}, not a datasets.Dataset.")
    if len(dataset) == 0:
        raise TableError(f"{where} is empty.")
    absent = [column for column in EMBEDDING_COLUMNS if column not in dataset.column_names]
    if absent:
        raise TableError(
            f"{where} has no {', '.join(absent)} column (found: {', '.join(dataset.column_names)})."
        )
    video_id = dataset.features["video_id"]
    if not (isinstance(video_id, Value) and video_id.dtype in ("string", "large_string")):
        raise TableError(f"{where}: video_id must be a string column, found {video_id}.")

    embeddings = dataset.features["embeddings"]
    if not isinstance(embeddings, Array2D):
        raise TableError(
            f"{where}: embeddings must be an Array2D (T, D) of rank 2, found {_describe_rank(embeddings)}."
        )
    if embeddings.dtype not in EMBEDDING_DTYPES:
        raise TableError(f"{where}: embeddings are {embeddings.dtype}, not float16 or float32.")
    num_frames, dim = embeddings.shape
    if num_frames is None or dim is None or num_frames < 1 or dim < 1:
        raise TableError(f"{where}: embeddings need a fixed (T, D) shape, found {embeddings.shape}.")

    mask = dataset.features["attention_mask"]
    if not (
        isinstance(mask, List)
        and isinstance(mask.feature, Value)
        and ("int" in mask.feature.dtype or mask.feature.dtype == "bool")
    ):
        raise TableError(f"{where}: attention_mask must be a list of ints, found {mask}.")
    if mask.length not in (-1, num_frames):
        raise TableError(
            f"{where}: attention_mask has length {mask.length} but embeddings have T = {num_frames}."
        )
    return num_frames, dim


def attention_mask_matrix(dataset: Dataset, split: str, num_frames: int, kind: str = "split") -> np.ndarray:
    """Reads the attention masks as an (N, T) int matrix, checking each has T entries of 0 or 1.

    Raises:
        TableError: A mask of another length, a missing mask, or a value other than 0/1.
    """
    mask = _matrix(dataset, "attention_mask", num_frames, f"{kind} {split!r}", f"T = {num_frames} entries")
    if not np.isin(mask, (0, 1)).all():
        raise TableError(f"{kind} {split!r}: attention_mask holds values other than 0 and 1.")
    return mask.astype(np.int64)


def _describe_rank(feature) -> str:
    """Says what an embeddings feature is, with its rank, for the rank error."""
    rank = 0
    inner = feature
    while isinstance(inner, (List, list)):
        rank += 1
        inner = inner.feature if isinstance(inner, List) else inner[0]
    if rank:
        return f"a nested list of rank {rank} ({feature})"
    shape = getattr(feature, "shape", None)
    return f"rank {len(shape)} {type(feature).__name__}{tuple(shape)}" if shape else f"{feature}"


def _validate_labels(dataset: Dataset, split: str, target: str, labels: tuple[str, ...]) -> None:
    """Checks the target column's type, length and values, and any declared label order."""
    if target not in dataset.column_names:
        raise TableError(f"split {split!r} has no {target} column (found: {', '.join(dataset.column_names)}).")
    feature = dataset.features[target]
    if not (isinstance(feature, List) and isinstance(feature.feature, Value) and "float" in feature.feature.dtype):
        raise TableError(f"split {split!r}: {target} must be a list of floats, found {feature}.")
    if feature.length not in (-1, len(labels)):
        raise TableError(
            f"split {split!r}: {target} vectors have length {feature.length}, but the contract has {len(labels)} "
            f"({', '.join(labels)})."
        )
    declared = label_names_of(dataset)
    if declared is not None and declared != labels:
        raise TableError(
            f"split {split!r} declares the {target} order ({', '.join(declared)}), but the contract is "
            f"({', '.join(labels)})."
        )
    values = _matrix(dataset, target, len(labels), f"split {split!r}", f"{len(labels)} values ({', '.join(labels)})")
    bad_rows = ~np.isfinite(values).all(axis=1)
    if target == "emotions":
        bad_rows |= (values < 0).any(axis=1) | (np.abs(values.sum(axis=1) - 1.0) > EMOTION_SUM_TOLERANCE)
        rule = "are not non-negative numbers summing to 1"
    else:
        bad_rows |= ((values < 0) | (values > 1)).any(axis=1)
        rule = "are not all in [0, 1]"
    if bad_rows.any():
        row = int(np.flatnonzero(bad_rows)[0])
        raise TableError(
            f"split {split!r}: the {target} of video {dataset[row]['video_id']!r} "
            f"({np.round(values[row], 4).tolist()}) {rule}."
        )


def _matrix(dataset: Dataset, column: str, width: int, where: str, expected: str) -> np.ndarray:
    """Reads a list column as an (N, width) float64 matrix, stopping on a row of another length or a missing row."""
    array = dataset.select_columns([column]).with_format("arrow")[:][column]
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        raise TableError(f"{where}: {column} has {array.null_count} missing row(s).")
    if pa.types.is_fixed_size_list(array.type):
        if array.type.list_size != width:
            raise TableError(f"{where}: {column} rows have {array.type.list_size} values, expected {expected}.")
    else:
        lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
        wrong = np.flatnonzero(lengths != width)
        if len(wrong):
            row = int(wrong[0])
            raise TableError(
                f"{where}: the {column} of video {dataset[row]['video_id']!r} has {lengths[row]} values, "
                f"expected {expected}."
            )
    flat = array.flatten()
    if flat.null_count:
        raise TableError(f"{where}: {column} holds missing values.")
    return flat.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, width)
