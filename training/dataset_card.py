"""The dataset card of a training table pushed to the Hub, and the label order it carries.

`datasets` keeps a table's features but not its `DatasetInfo.description` through `push_to_hub` and `load_dataset`,
and the features cannot name the entries of a fixed-length float column. So the label order travels in the card's
YAML, under `face_fusion:` (with the embedder that made the table): `push_to_hub` rewrites only the card's
`dataset_info` and `configs`, and keeps every other key and the text. `label_names_from_card` reads it back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData

from training.tables import PROVENANCE_KEYS, TARGET_LABELS

CARD_KEY = "face_fusion"

# The source data sets: what the table is derived from, and the terms that come with it.
SOURCES = {
    "cmu-mosei": {
        "name": "CMU-MOSEI",
        "url": "http://multicomp.cs.cmu.edu/resources/cmu-mosei-dataset/",
        "terms": (
            "CMU-MOSEI is distributed by the CMU MultiComp Lab for research use; its videos come from YouTube and "
            "remain subject to YouTube's terms."
        ),
        "citation": "Zadeh, A. et al. \"Multimodal Language Analysis in the Wild: CMU-MOSEI Dataset and "
                    "Interpretable Dynamic Fusion Graph\", ACL 2018.",
    },
    "fiv2": {
        "name": "ChaLearn First Impressions V2",
        "url": "https://chalearnlap.cvc.uab.cat/dataset/24/description/",
        "terms": (
            "ChaLearn First Impressions V2 is distributed by ChaLearn after you accept its terms of use, for "
            "research purposes; its clips come from YouTube."
        ),
        "citation": "Ponce-López, V. et al. \"ChaLearn LAP 2016: First Round Challenge on First Impressions - "
                    "Dataset and Results\", ECCV Workshops 2016.",
    },
}


def embedders_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The distinct embedder settings the extraction recorded in the embedding tables' descriptions."""
    seen = []
    for description in (report.get("embedding_descriptions") or {}).values():
        settings = description.get("face_fusion_extraction") if isinstance(description, dict) else None
        if not isinstance(settings, dict):
            continue
        embedder = {key: settings.get(key) for key in ("model", "weights_sha256", "precision", "face_detector")}
        if embedder not in seen:
            seen.append(embedder)
    return seen


def training_table_card(report: dict[str, Any], rows: dict[str, int] | None = None) -> DatasetCard:
    """The card of a table that `build_dataset.py` built, from its build report (and its rows per split).

    The YAML holds the licence (`other`: the source data's terms decide), a gating prompt (the Hub shows it once the
    repo is gated), and under `face_fusion` the target, its label order, the table's shape and the embedder(s).
    """
    source = SOURCES[report["dataset"]]
    target = report["target"]
    labels = list(TARGET_LABELS[target])
    embedders = embedders_of(report)
    metadata = {
        "pretty_name": f"{source['name']} face embeddings with {target} (face-fusion training table)",
        "license": "other",
        "license_name": f"{report['dataset']}-terms",
        "license_link": source["url"],
        "tags": ["face-fusion", "embeddings", report["dataset"], target],
        "extra_gated_prompt": (
            f"This table is derived from {source['name']}. {source['terms']} By requesting access you confirm that "
            "you have accepted those terms and will use the table for research only."
        ),
        CARD_KEY: {
            "target": target,
            "label_names": labels,
            "num_frames": report["num_frames"],
            "embedding_dim": report["dim"],
            "embedding_dtype": report["embedding_dtype"],
            "embedders": embedders,
            # what table_provenance reads back once push_to_hub has dropped the description
            "precision": report.get("precision"),
            "embedder_weights_sha256": report.get("embedder_weights_sha256"),
        },
    }
    embedder_lines = [
        f"- `{e.get('model')}`, weights fingerprint (SHA-256) `{e.get('weights_sha256')}`, precision "
        f"`{e.get('precision')}`, face detector `{e.get('face_detector')}`"
        for e in embedders
    ] or ["- not recorded (the embedding tables had no extraction settings in their description)"]
    body = "\n".join([
        f"# {metadata['pretty_name']}",
        "",
        f"One row per video of {source['name']}: up to {report['num_frames']} face-crop embeddings "
        f"({report['dim']}-d, {report['embedding_dtype']}) from the face-fusion embedder, a frame mask, and the "
        f"`{target}` label vector. It trains the face-fusion sequence models "
        "(`training/train_emotion.py`, `train_traits.py`, `train_fusion.py` with `--dataset <this id>`).",
        "",
        "## Columns",
        "",
        "- `video_id` (string): the source clip's id.",
        f"- `embeddings` (Array2D ({report['num_frames']}, {report['dim']})): one row per sampled frame.",
        "- `attention_mask` (list of int8): 1 where a face was found on that frame.",
        f"- `{target}` (list of {len(labels)} float32), in this order: {', '.join(labels)}. The order is also in "
        f"this card's YAML (`{CARD_KEY}.label_names`), which the face-fusion trainers check when they load the table.",
        "",
        "## How it was made",
        "",
        "Embeddings by `training/extract_embeddings.py`, with:",
        *embedder_lines,
        "",
        f"Labels joined by `training/build_dataset.py` (splits: {', '.join(report.get('written_splits', []))}).",
        *([f"Rows per split: {rows}."] if rows else []),
        "",
        "## Licence, terms and access",
        "",
        f"{source['terms']} This table is derived from it and carries the same terms: research use only. Keep the "
        "repo gated (Settings -> Access requests) so that every user accepts them first. Source: "
        f"{source['url']}.",
        "",
        "## Citation",
        "",
        source["citation"],
        "",
    ])
    return DatasetCard(f"---\n{DatasetCardData(**metadata).to_yaml()}\n---\n\n{body}")


def provenance_from_card(card: DatasetCard | str | os.PathLike) -> dict[str, str | None]:
    """The precision and embedder fingerprint a table's card declares (see `training.tables.table_provenance`)."""
    if not isinstance(card, DatasetCard):
        card = DatasetCard.load(Path(card))
    section = card.data.to_dict().get(CARD_KEY)
    section = section if isinstance(section, dict) else {}
    return {key: section.get(key) for key in PROVENANCE_KEYS}


def label_names_from_card(card: DatasetCard | str | os.PathLike) -> tuple[str, ...] | None:
    """The label order a table's card declares (`face_fusion.label_names`), or None when it declares none.

    Args:
        card: A loaded card, or the path of a README.md.
    """
    if not isinstance(card, DatasetCard):
        card = DatasetCard.load(Path(card))
    section = card.data.to_dict().get(CARD_KEY)
    names = section.get("label_names") if isinstance(section, dict) else None
    return tuple(str(name) for name in names) if isinstance(names, list) else None
