"""Join extracted face embeddings with CMU-MOSEI or First Impressions V2 labels into a training table.

The extraction writes one `save_to_disk` table per split folder under its output root (`video_id`, `embeddings`,
`attention_mask`). This tool matches every embedding row to its label by `video_id`, whatever folder it sits in: the
label source decides the split. The result is a `DatasetDict` (train / validation / test) with an `emotions` or
`traits` column, validated against the training-table contract, saved with `save_to_disk` (and optionally pushed to
the Hub). A `build_report.json` beside the table says how many rows each split got and which ids had no partner,
and a `README.md` is its dataset card (source terms, gating prompt, embedder, label order: training/dataset_card.py),
uploaded first when pushing so that `push_to_hub` keeps it.

Examples:

    python training/build_dataset.py --dataset cmu-mosei --embeddings out/mosei_emb \\
        --mosei_csd CMU_MOSEI_Labels.csd --mosei_folds cmu_mosei_std_folds.py --output_dir data/mosei_table

    python training/build_dataset.py --dataset cmu-mosei --embeddings out/mosei_emb \\
        --mosei_csv train=train_full.csv --mosei_csv test=test_full.csv --output_dir data/mosei_table

    python training/build_dataset.py --dataset fiv2 --embeddings out/fiv2_emb \\
        --fiv2_annotations annotations/ --output_dir data/fiv2_table --push_to_hub --hub_dataset_id me/fiv2-emonext
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np
from datasets import Dataset, DatasetDict, concatenate_datasets

from training.cli import ArgumentParser, HubPushError, UserError, first_line, run_cli
from training.dataset_card import training_table_card
from training.fiv2_labels import (
    find_fiv2_annotation_files,
    fiv2_video_id,
    load_fiv2_splits,
)
from training.mosei_labels import (
    MoseiLabelIndex,
    clip_lengths,
    hold_out_validation,
    read_mosei_csd,
    read_mosei_csv,
    read_mosei_folds,
    split_by_folds,
)
from training.tables import (
    EMBEDDING_COLUMNS,
    TableError,
    attention_mask_matrix,
    check_embedding_schema,
    describe_training_table,
    embedding_features,
    extraction_provenance,
    training_features,
    validate_training_table,
)

PROG = "build_dataset.py"
SPLITS = ("train", "validation", "test")
REPORT_NAME = "build_report.json"
LISTED_IDS = 20  # ids listed per category in the report; the counts are always complete
_SPLIT_NAMES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
                "val": "validation", "dev": "validation", "test": "test"}


class BuildError(UserError):
    """The inputs cannot make a training table; the message says why in one sentence."""


@dataclass
class Labels:
    """Labels of one dataset, ready to join.

    Attributes:
        target: `emotions` or `traits`.
        splits: Split → (label id → label vector).
        resolve: Embedding `video_id` → label id, or `None` when no label matches. A label id in no split is a
            labelled segment outside the dataset's folds.
        source: What the labels were read from, for the report.
        notes: Things the user should know (e.g. how validation was made).
        extra: Additional report counts.
    """

    target: str
    splits: dict[str, dict[str, tuple[float, ...]]]
    resolve: Callable[[str], str | None]
    source: dict
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# Labels


def mosei_labels(args: argparse.Namespace) -> Labels:
    """Reads CMU-MOSEI labels from the SDK's .csd + folds, or from the original project's CSVs."""
    if args.mosei_csd and args.mosei_csv:
        raise BuildError("give either --mosei_csd with --mosei_folds or --mosei_csv, not both.")
    if args.mosei_csd:
        if not args.mosei_folds:
            raise BuildError("--mosei_csd needs --mosei_folds (the SDK's cmu_mosei_std_folds.py or a JSON copy).")
        segments = read_mosei_csd(args.mosei_csd)
        folds = read_mosei_folds(args.mosei_folds)
        by_split, outside = split_by_folds(segments, folds)
        notes = ["splits are the SDK's standard folds (valid → validation)."]
        if outside:
            notes.append(f"{len(outside)} labelled segment(s) belong to videos in no fold and were left out.")
        source = {"kind": "csd", "csd": str(args.mosei_csd), "folds": str(args.mosei_folds)}
        extra = {"labels_outside_folds": len(outside)}
    elif args.mosei_csv:
        if args.mosei_folds:
            raise BuildError("--mosei_folds goes with --mosei_csd; CSV labels take their splits from --mosei_csv.")
        files = parse_split_files(args.mosei_csv, "--mosei_csv")
        if "train" not in files:
            raise BuildError("--mosei_csv needs a train file (train=FILE).")
        by_split = {split: read_mosei_csv(path) for split, path in files.items()}
        source = {"kind": "csv", "files": {split: str(path) for split, path in files.items()}}
        notes, extra = [], {}
        if "validation" not in by_split:
            train_before = by_split["train"]
            by_split["train"], by_split["validation"] = hold_out_validation(train_before)
            held_videos = len({s.source_video for s in by_split["validation"]})
            all_videos = len({s.source_video for s in train_before})
            notes.append(
                f"no validation CSV was given, so {held_videos} of {all_videos} train source videos "
                f"({len(by_split['validation'])} segments) were held out as validation, chosen by a hash of the "
                "YouTube id (deterministic, all segments of a video on one side)."
            )
            source["validation"] = "held out from train by hash of the YouTube id (~10% of videos)"
    else:
        raise BuildError("CMU-MOSEI needs labels: --mosei_csd FILE --mosei_folds FILE, or --mosei_csv split=FILE.")

    _refuse_split_overlap({split: [s.video_id for s in segs] for split, segs in by_split.items()})
    all_segments = [segment for segs in by_split.values() for segment in segs]
    if source["kind"] == "csd":
        all_segments += outside  # so their embeddings are recognised, then reported as outside the folds
    clip_seconds = clip_lengths(args.mosei_clips) if getattr(args, "mosei_clips", None) else None
    index = MoseiLabelIndex(all_segments, clip_seconds)

    def resolve(video_id: str) -> str | None:
        segment = index.resolve(video_id)
        return None if segment is None else segment.video_id

    splits = {split: {s.video_id: s.emotions for s in segs} for split, segs in by_split.items()}
    return Labels("emotions", splits, resolve, source, notes, extra)


def fiv2_labels(args: argparse.Namespace) -> Labels:
    """Reads First Impressions V2 trait labels from the annotation pickles."""
    files = find_fiv2_annotation_files(args.fiv2_annotations, args.fiv2_train, args.fiv2_validation, args.fiv2_test)
    splits = load_fiv2_splits(files)
    known = {clip for clips in splits.values() for clip in clips}

    def resolve(video_id: str) -> str | None:
        clip = fiv2_video_id(video_id)
        return clip if clip in known else None

    notes = ["splits are the dataset's annotation files (training → train, validation, test)."]
    source = {"kind": "pickle", "files": {split: str(path) for split, path in files.items()}}
    return Labels("traits", splits, resolve, source, notes)


def parse_split_files(values: list[str], option: str) -> dict[str, Path]:
    """Parses repeated `split=FILE` options into split → file."""
    files: dict[str, Path] = {}
    for value in values:
        split, sep, path = value.partition("=")
        if not sep or not path:
            raise BuildError(f"{option} takes split=FILE (e.g. train=train_full.csv), got {value!r}.")
        name = _SPLIT_NAMES.get(split.strip().lower())
        if name is None:
            raise BuildError(f"{option}: unknown split {split!r}; use train, validation or test.")
        if name in files:
            raise BuildError(f"{option}: the {name} split is given twice.")
        files[name] = Path(path)
    return files


def _refuse_split_overlap(ids_by_split: dict[str, list[str]]) -> None:
    owner: dict[str, str] = {}
    for split, ids in ids_by_split.items():
        for video_id in ids:
            if video_id in owner:
                raise BuildError(f"the label {video_id!r} is in both the {owner[video_id]} and the {split} labels.")
            owner[video_id] = split


# ---------------------------------------------------------------------------------------------------------------
# Embeddings


def load_embedding_tables(root: str | Path) -> tuple[dict[str, Dataset], list[str]]:
    """Loads every embedding table under an extraction output root.

    Args:
        root: A folder whose subfolders are `Dataset.save_to_disk` outputs (one per extracted split), a folder
            written by `DatasetDict.save_to_disk`, or a single `Dataset.save_to_disk` folder.

    Returns:
        (table name (subfolder or split) → Dataset sorted by name, subfolders that are not a finished table, such
        as a split whose extraction has not published its table yet).

    Raises:
        BuildError: The folder is missing or holds no dataset.
    """
    root = Path(root)
    if not root.is_dir():
        raise BuildError(f"{root}: the embeddings folder does not exist.")
    if (root / "dataset_dict.json").is_file():
        try:
            loaded = datasets.load_from_disk(str(root))
        except (FileNotFoundError, ValueError, OSError, KeyError) as error:
            raise BuildError(f"{root}: not a readable save_to_disk DatasetDict ({first_line(error)}).") from None
        return {name: loaded[name] for name in sorted(loaded)}, []
    tables, skipped = {}, []
    folders = [root] if _is_saved_dataset(root) else sorted(p for p in root.iterdir() if p.is_dir())
    for folder in folders:
        if _is_saved_dataset(folder):
            try:
                tables[folder.name] = datasets.load_from_disk(str(folder))
            except (FileNotFoundError, ValueError, OSError, KeyError) as error:
                raise BuildError(f"{folder}: not a readable save_to_disk dataset ({first_line(error)}).") from None
        else:
            skipped.append(folder.name)
    if not tables:
        raise BuildError(f"{root}: no embedding table found (expected one save_to_disk folder per split subfolder).")
    return tables, skipped


def _is_saved_dataset(folder: Path) -> bool:
    """Whether a folder was written by `Dataset.save_to_disk`."""
    return (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file()


@dataclass
class Embeddings:
    """All embedding tables stacked into one, with what the join needs to know about each row."""

    table: Dataset
    origin: list[str]  # the table each row came from
    has_face: np.ndarray  # (N,) bool: at least one real frame
    num_frames: int
    dim: int
    dtype: str
    empty_tables: list[str]
    descriptions: dict[str, str]  # each table's DatasetInfo.description: the extraction records its settings there
    table_names: list[str] = field(default_factory=list)  # the non-empty tables stacked


def combine_embedding_tables(tables: dict[str, Dataset]) -> Embeddings:
    """Checks the tables agree on (T, D) and stacks their embedding columns into one table (empty tables skipped)."""
    shapes, dtypes, masks = {}, {}, {}
    empty = sorted(name for name, table in tables.items() if len(table) == 0)
    tables = {name: table for name, table in tables.items() if len(table)}
    if not tables:
        raise BuildError("every embedding table is empty.")
    for name, table in tables.items():
        shapes[name] = check_embedding_schema(table, name, kind="embedding table")
        dtypes[name] = table.features["embeddings"].dtype
        masks[name] = attention_mask_matrix(table, name, shapes[name][0], kind="embedding table")
    if len(set(shapes.values())) > 1:
        described = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise BuildError(f"the embedding tables disagree on (T, D): {described}.")
    num_frames, dim = next(iter(shapes.values()))
    dtype = "float32" if "float32" in dtypes.values() else "float16"
    features = embedding_features(num_frames, dim, dtype)
    parts, origin = [], []
    for name, table in tables.items():
        part = table.select_columns(list(EMBEDDING_COLUMNS))
        if part.features != features:
            part = part.cast(features)
        parts.append(part)
        origin += [name] * len(part)
    has_face = np.concatenate([masks[name].sum(axis=1) > 0 for name in tables])
    descriptions = {name: table.info.description for name, table in tables.items() if table.info.description}
    return Embeddings(
        concatenate_datasets(parts), origin, has_face, num_frames, dim, dtype, empty, descriptions, list(tables)
    )


# ---------------------------------------------------------------------------------------------------------------
# Join


def join(embeddings: Embeddings, labels: Labels) -> tuple[dict[str, list[tuple[str, int]]], dict]:
    """Matches embedding rows to labels; rows without a face, a label, or with a taken label are reported, not kept.

    Returns:
        (split → [(label id, row of the stacked table)] sorted by label id, report counts and ids).
    """
    split_of = {label: split for split, split_labels in labels.splits.items() for label in split_labels}
    rows: dict[str, list[tuple[str, int]]] = {split: [] for split in labels.splits}
    matched: dict[str, str] = {}
    seen_embeddings: set[str] = set()
    without_labels, without_faces, duplicates, outside = [], [], [], []
    for row, video_id in enumerate(embeddings.table["video_id"]):
        if video_id in seen_embeddings:
            duplicates.append(f"{video_id} (again in {embeddings.origin[row]})")
            continue
        seen_embeddings.add(video_id)
        if not embeddings.has_face[row]:
            without_faces.append(video_id)
            continue
        label = labels.resolve(video_id)
        if label is None:
            without_labels.append(video_id)
        elif label not in split_of:
            outside.append(video_id)
        elif label in matched:
            duplicates.append(f"{video_id} (same label as {matched[label]})")
        else:
            matched[label] = video_id
            rows[split_of[label]].append((label, row))
    for split in rows:
        rows[split].sort()

    missing_by_split = {
        split: sorted(label for label in split_labels if label not in matched)
        for split, split_labels in labels.splits.items()
    }
    all_missing = [label for split in SPLITS for label in missing_by_split.get(split, [])]
    report = {
        "splits": {
            split: {
                "labels": len(labels.splits[split]),
                "rows": len(rows[split]),
                "labels_without_embeddings": len(missing_by_split[split]),
            }
            for split in SPLITS
            if split in labels.splits
        },
        "labels_without_embeddings": _listing(all_missing),
        "embeddings_without_labels": _listing(sorted(without_labels)),
        "embeddings_without_faces": _listing(sorted(without_faces)),
        "duplicate_embeddings": _listing(duplicates),
    }
    if outside:
        report["embeddings_outside_folds"] = _listing(sorted(outside))
    return rows, report


def _listing(ids: list[str]) -> dict:
    return {"count": len(ids), "first": ids[:LISTED_IDS]}


def combined_provenance(embeddings: Embeddings) -> tuple[dict[str, str | None], list[str]]:
    """The precision and embedder fingerprint of the stacked tables, and the warnings about them.

    Tables from different embedders cannot be joined (their embeddings live in different spaces): that stops the
    build. Tables of different precisions can: bf16 and fp32 embeddings of the same embedder agree to a cosine of
    about 0.9999 (trait scores within about 0.004), less than the labels' noise, and re-extracting a corpus is hours of
    work. So the build goes on, warns, and records the precision as "mixed", which the trainers write into
    `eval_results.json`.

    Raises:
        BuildError: The tables name two different embedders.
    """
    by_table = {name: extraction_provenance(embeddings.descriptions.get(name)) for name in embeddings.table_names}
    fingerprints = {name: item["embedder_weights_sha256"] for name, item in by_table.items()}
    known = sorted({value for value in fingerprints.values() if value})
    if len(known) > 1:
        described = ", ".join(f"{name} {value[:12]}" for name, value in fingerprints.items() if value)
        raise BuildError(f"the embedding tables were made by different embedders (weights_sha256 {described}).")
    precisions = {name: item["precision"] for name, item in by_table.items()}
    warnings = []
    if len(set(precisions.values())) > 1:
        described = ", ".join(f"{name} {value or 'unrecorded'}" for name, value in precisions.items())
        warnings.append(
            f"the embedding tables were extracted at different precisions ({described}); the table is built and "
            "recorded as precision 'mixed' (bf16 and fp32 embeddings differ slightly; extract again with one "
            "--precision for a uniform table)."
        )
        precision = "mixed"
    else:
        precision = next(iter(precisions.values()), None)
    fingerprint = known[0] if known and all(fingerprints.values()) else None
    return {"precision": precision, "embedder_weights_sha256": fingerprint}, warnings


def assemble(
    embeddings: Embeddings,
    rows: dict[str, list[tuple[str, int]]],
    labels: Labels,
    provenance: dict[str, str | None] | None = None,
) -> DatasetDict:
    """Builds the training table from the matched rows (train and validation always; test when it has rows).

    Each row keeps its embeddings and mask and takes the label's canonical id as `video_id`. The description records
    the label order, the embeddings' `provenance` (see `combined_provenance`) and each embedding table's description.
    """
    features = training_features(embeddings.num_frames, embeddings.dim, labels.target, embeddings.dtype)
    tables = [f"embeddings {name}: {text}" for name, text in embeddings.descriptions.items()]
    description = "\n".join([describe_training_table(labels.target, provenance), *tables])
    table = {}
    for split in SPLITS:
        split_rows = rows.get(split, [])
        if not split_rows:
            if split == "test":
                continue
            count = len(labels.splits.get(split, {}))
            raise BuildError(
                f"no embedding matched any of the {count} {split} labels, so the table would have an empty {split} "
                "split; check that --embeddings holds this dataset's extraction output."
            )
        label_ids = [label for label, _ in split_rows]
        vectors = np.asarray([labels.splits[split][label] for label in label_ids], dtype=np.float32)
        dataset = (
            embeddings.table.select([row for _, row in split_rows])
            .remove_columns("video_id")
            .add_column("video_id", label_ids)
            .add_column(labels.target, vectors.tolist(), feature=features[labels.target])
            .select_columns(list(features))
        )
        if dataset.features != features:
            dataset = dataset.cast(features)
        dataset.info.description = description
        table[split] = dataset
    return DatasetDict(table)


# ---------------------------------------------------------------------------------------------------------------
# Output


def prepare_output(output_dir: Path, embeddings_root: Path, overwrite: bool) -> None:
    """Refuses to clobber an existing table (unless asked) or to write over the input embeddings."""
    resolved, inputs = output_dir.resolve(), embeddings_root.resolve()
    if resolved == inputs or resolved in inputs.parents or inputs in resolved.parents:
        raise BuildError(f"--output_dir {output_dir} overlaps the --embeddings folder {embeddings_root}.")
    if output_dir.exists() and not output_dir.is_dir():
        raise BuildError(f"--output_dir {output_dir} exists and is not a folder.")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not overwrite:
        raise BuildError(f"--output_dir {output_dir} is not empty; pass --overwrite_output_dir to replace it.")


def save_atomically(table: DatasetDict, report: dict, output_dir: Path) -> None:
    """Writes the table and its report to a temporary sibling folder, then moves it into place.

    A build killed half-way leaves only the temporary folder, never a half-written `output_dir`.
    """
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = output_dir.parent / f".{output_dir.name}.partial-{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    table.save_to_disk(str(partial))
    (partial / REPORT_NAME).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if output_dir.exists():
        shutil.rmtree(output_dir)
    partial.rename(output_dir)


def print_summary(report: dict) -> None:
    """Prints the per-split counts, the unmatched ids and the notes."""
    shape = f"({report['num_frames']}, {report['dim']})"
    print(f"{report['dataset']} → {report['target']} table, embeddings (T, D) = {shape}")
    print(f"{'split':<12}{'labels':>10}{'rows':>10}{'labels without embeddings':>28}")
    for split, counts in report["splits"].items():
        written = "" if split in report["written_splits"] else "  (not written: no rows)"
        missing = counts["labels_without_embeddings"]
        print(f"{split:<12}{counts['labels']:>10}{counts['rows']:>10}{missing:>28}{written}")
    for key in ("labels_without_embeddings", "embeddings_without_labels", "embeddings_without_faces",
                "duplicate_embeddings", "embeddings_outside_folds"):
        listing = report.get(key)
        if listing and listing["count"]:
            shown = ", ".join(listing["first"])
            hidden = listing["count"] - len(listing["first"])
            more = f", … ({hidden} more)" if hidden else ""
            print(f"{key.replace('_', ' ')}: {listing['count']}: {shown}{more}")
    for note in report["notes"]:
        print(f"note: {note}")


# ---------------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description=textwrap.fill(
            "Join extracted face embeddings with CMU-MOSEI emotion labels or First Impressions V2 trait labels into "
            "a training table: a datasets.DatasetDict (train / validation / test) with video_id, embeddings, "
            "attention_mask and emotions (7 probabilities: neutral, anger, disgust, fear, happiness, sadness, "
            "surprise) or traits (5 scores in [0, 1]: openness, conscientiousness, extraversion, agreeableness, "
            "neuroticism). Embedding rows are matched to labels by video_id across every split folder; the labels "
            "decide each row's split.",
            width=100,
        ),
        epilog="examples:" + __doc__.split("Examples:", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dataset", required=True, choices=("cmu-mosei", "fiv2"), help="Which dataset's labels to join."
    )
    parser.add_argument(
        "--embeddings", required=True, type=Path, metavar="DIR",
        help="Extraction output root: one save_to_disk folder per split subfolder (or a DatasetDict folder).",
    )
    parser.add_argument("--output_dir", required=True, type=Path, metavar="DIR",
                        help=f"Where to save the DatasetDict (save_to_disk) and {REPORT_NAME}.")
    parser.add_argument("--overwrite_output_dir", action="store_true", help="Replace a non-empty --output_dir.")

    mosei = parser.add_argument_group("CMU-MOSEI labels (--dataset cmu-mosei): a .csd with folds, or CSVs")
    mosei.add_argument("--mosei_csd", type=Path, metavar="FILE",
                       help="The SDK's CMU_MOSEI_Labels.csd (HDF5, 'All Labels').")
    mosei.add_argument(
        "--mosei_folds", type=Path, metavar="FILE",
        help="The SDK's cmu_mosei_std_folds.py (read as text, never run) or JSON "
             '{"train": [...], "validation": [...], "test": [...]} of video ids.',
    )
    mosei.add_argument(
        "--mosei_clips", type=Path, metavar="DIR",
        help="With --mosei_csd: the folder of the segment clips, needed only when embeddings are named by index "
             "(<video>_<i> or <video>[<i>]): each such clip's length must fit its segment's interval, because the "
             ".csd's rows are not in time order. Clips named <video>_<start>_<end> need nothing.",
    )
    mosei.add_argument(
        "--mosei_csv", action="append", default=[], metavar="SPLIT=FILE",
        help="The original project's label CSV for one split (train, validation or test), e.g. "
             "train=train_full.csv, test=test_full.csv (repeat the option). Its rows are named "
             "<video>_<start>_<end>, so embeddings must be named that way too (within 0.1 s). Without a "
             "validation CSV, ~10%% of the train videos are held out, chosen by a hash of the YouTube id.",
    )

    fiv2 = parser.add_argument_group("First Impressions V2 labels (--dataset fiv2)")
    fiv2.add_argument(
        "--fiv2_annotations", type=Path, metavar="DIR",
        help="Folder holding annotation_training.pkl, annotation_validation.pkl and (optionally) annotation_test.pkl.",
    )
    fiv2.add_argument(
        "--fiv2_train", type=Path, metavar="FILE", help="Training annotation pickle (overrides the folder)."
    )
    fiv2.add_argument("--fiv2_validation", type=Path, metavar="FILE", help="Validation annotation pickle.")
    fiv2.add_argument("--fiv2_test", type=Path, metavar="FILE", help="Test annotation pickle.")

    hub = parser.add_argument_group("Hugging Face Hub")
    hub.add_argument("--push_to_hub", action="store_true", help="Also push the table to the Hub.")
    hub.add_argument(
        "--hub_dataset_id", metavar="ID", help="Hub dataset repo, e.g. org/mosei-emonext (with --push_to_hub)."
    )
    hub.add_argument("--hub_private_repo", action="store_true", help="Create the Hub dataset repo as private.")
    return parser


def check_option_combination(args: argparse.Namespace) -> None:
    """Stops on options that belong to the other dataset or to a missing --push_to_hub."""
    mosei_given = bool(args.mosei_csd or args.mosei_folds or args.mosei_csv)
    fiv2_given = any((args.fiv2_annotations, args.fiv2_train, args.fiv2_validation, args.fiv2_test))
    if args.dataset == "cmu-mosei" and fiv2_given:
        raise BuildError("the --fiv2_* options belong to --dataset fiv2, not cmu-mosei.")
    if args.dataset == "fiv2" and mosei_given:
        raise BuildError("the --mosei_* options belong to --dataset cmu-mosei, not fiv2.")
    if args.push_to_hub and not args.hub_dataset_id:
        raise BuildError("--push_to_hub needs --hub_dataset_id (e.g. org/mosei-emonext).")
    if args.hub_dataset_id and not args.push_to_hub:
        raise BuildError("--hub_dataset_id is only used with --push_to_hub.")


def build(args: argparse.Namespace) -> dict:
    """Runs the whole build and returns the report."""
    check_option_combination(args)
    prepare_output(args.output_dir, args.embeddings, args.overwrite_output_dir)
    labels = mosei_labels(args) if args.dataset == "cmu-mosei" else fiv2_labels(args)
    tables, skipped_folders = load_embedding_tables(args.embeddings)
    embeddings = combine_embedding_tables(tables)
    provenance, provenance_warnings = combined_provenance(embeddings)
    for warning in provenance_warnings:
        print(f"build_dataset.py: warning: {warning}", file=sys.stderr)
    rows, join_report = join(embeddings, labels)
    table = assemble(embeddings, rows, labels, provenance)
    try:
        validate_training_table(table, labels.target)
    except TableError as error:  # a bug here, not bad input; still one sentence
        raise BuildError(f"the built table breaks the contract: {error}") from None

    notes = [*labels.notes, *provenance_warnings]
    if "test" in labels.splits and "test" not in table:
        notes.append("no embedding matched a test label, so the table has no test split.")
    if skipped_folders:
        notes.append(
            f"subfolder(s) of --embeddings that are not a finished save_to_disk table were skipped: "
            f"{', '.join(skipped_folders)}."
        )
    if embeddings.empty_tables:
        notes.append(f"empty embedding table(s) skipped: {', '.join(embeddings.empty_tables)}.")
    report = {
        "dataset": args.dataset,
        "target": labels.target,
        "embeddings": str(args.embeddings),
        "embedding_tables": {name: len(t) for name, t in tables.items()},
        "num_frames": embeddings.num_frames,
        "dim": embeddings.dim,
        "embedding_dtype": embeddings.dtype,
        **provenance,
        "embedding_descriptions": {name: _maybe_json(text) for name, text in embeddings.descriptions.items()},
        "labels": labels.source,
        "written_splits": list(table),
        **join_report,
        **labels.extra,
        "notes": notes,
    }
    save_atomically(table, report, args.output_dir)
    card = training_table_card(report, {split: len(table[split]) for split in table})
    (args.output_dir / "README.md").write_text(str(card), encoding="utf-8")  # the dataset card, also kept locally
    if args.push_to_hub:
        try:
            push_table(table, card, args.hub_dataset_id, private=args.hub_private_repo)
        except Exception as error:  # noqa: BLE001 - network/auth errors of many types; the table is saved already
            raise HubPushError(
                f"the table was saved to {args.output_dir}, but pushing it to {args.hub_dataset_id} failed "
                f"({first_line(error)})."
            ) from None
        report["pushed_to"] = args.hub_dataset_id
    return report


def push_table(table: DatasetDict, card, repo_id: str, private: bool = False) -> None:
    """Uploads the card, then the table: `push_to_hub` rewrites only the card's `dataset_info` and `configs`, so the
    licence, gating prompt and label order (see training/dataset_card.py) stay in the pushed README."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", private=private or None, exist_ok=True)
    api.upload_file(path_or_fileobj=str(card).encode("utf-8"), path_in_repo="README.md", repo_id=repo_id,
                    repo_type="dataset", commit_message="Dataset card from face-fusion build_dataset.py")
    table.push_to_hub(repo_id, private=private)


def _maybe_json(text: str):
    """The extraction writes its settings as JSON; keep them structured in the report when they are."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 2 bad input, 1 Hub push failed: `training/cli.py`)."""
    args = build_parser().parse_args(argv)
    caching, progress_bars = datasets.is_caching_enabled(), datasets.is_progress_bar_enabled()
    datasets.disable_caching()  # intermediate files go to a temp dir, never beside the input embeddings
    datasets.disable_progress_bars()

    def work() -> None:
        report = build(args)
        print_summary(report)
        print(f"saved {', '.join(report['written_splits'])} to {args.output_dir} "
              f"(report: {args.output_dir / REPORT_NAME})")

    try:
        return run_cli(PROG, work)
    finally:  # main() may be called in-process (tests, notebooks): leave the library as we found it
        if caching:
            datasets.enable_caching()
        if progress_bars:
            datasets.enable_progress_bars()


if __name__ == "__main__":
    sys.exit(main())
