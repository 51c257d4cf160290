"""The training table as a Hub dataset: the card build_dataset.py writes (and uploads first when it pushes), and the
label order surviving what `push_to_hub` does to that card and what `load_dataset` reads back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from datasets import SplitInfo, load_from_disk
from datasets.arrow_dataset import _get_updated_dataset_card
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem
from huggingface_hub import DatasetCard

from modeling.configuration_face_transformer import EMOTION_LABELS, TRAIT_LABELS
from tests.training.test_build_dataset import (  # noqa: F401 - the builds under test
    EMBEDDER,
    fiv2_build,
    fiv2_inputs,
    mosei_build,
    run_cli,
)
from training.dataset_card import label_names_from_card
from training.tables import TableError, label_names_of, load_training_table, table_provenance


def pushed_repo(table_dir: Path, repo: Path) -> Path:
    """The files `DatasetDict.push_to_hub` leaves in a dataset repo after build_dataset.py uploaded its card: one
    Parquet shard per split under data/, and the README as datasets' own card update rewrites it (the function
    push_to_hub calls, given the repo through an fsspec file system as push_to_hub gives it the Hub)."""
    table = load_from_disk(str(table_dir))
    (repo / "data").mkdir(parents=True)
    shutil.copyfile(table_dir / "README.md", repo / "README.md")  # uploaded first by build_dataset.push_table
    splits_info, sizes = [], []
    for split, dataset in table.items():
        shard = repo / "data" / f"{split}-00000-of-00001.parquet"
        dataset.to_parquet(str(shard))
        splits_info.append(SplitInfo(name=split, num_bytes=dataset.data.nbytes, num_examples=len(dataset)))
        sizes.append(shard.stat().st_size)
    card, _ = _get_updated_dataset_card(
        fs=DirFileSystem(path=str(repo), fs=LocalFileSystem()), config_name="default", splits_info=splits_info,
        features=table["train"].features, data_dir="data", set_default=None, uploaded_sizes=sizes, deleted_sizes=[],
        remove_other_splits=True,
    )
    (repo / "README.md").write_text(str(card), encoding="utf-8")
    return repo


def test_the_card_states_source_terms_gating_provenance_and_label_order(fiv2_build):  # noqa: F811
    root, result = fiv2_build
    assert result.returncode == 0, result.stderr
    card = DatasetCard.load(root / "table" / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "other" and "chalearn" in data["license_link"]
    assert "terms of use" in data["extra_gated_prompt"]
    section = data["face_fusion"]
    assert section["target"] == "traits" and tuple(section["label_names"]) == TRAIT_LABELS
    assert (section["num_frames"], section["embedding_dim"], section["embedding_dtype"]) == (4, 8, "float32")
    assert section["embedders"] == [{"model": "tiny", "weights_sha256": None, "precision": None,
                                     "face_detector": None}]
    assert "openness, conscientiousness, extraversion, agreeableness, neuroticism" in card.text
    assert "research use only" in card.text and "gated" in card.text


def test_label_order_survives_push_to_hub_and_load_dataset(mosei_build, tmp_path):  # noqa: F811
    root, result = mosei_build
    assert result.returncode == 0, result.stderr
    repo = pushed_repo(root / "table", tmp_path / "repo")

    pushed = DatasetCard.load(repo / "README.md").data.to_dict()
    assert pushed["dataset_info"]["features"] and pushed["configs"]  # what push_to_hub writes ...
    assert label_names_from_card(repo / "README.md") == EMOTION_LABELS  # ... beside what it keeps

    loaded = load_training_table(repo, "emotions")  # load_dataset on the repo's files, then the contract check
    assert label_names_of(loaded["train"]) == EMOTION_LABELS
    assert sorted(loaded["train"]["video_id"]) == sorted(load_from_disk(str(root / "table"))["train"]["video_id"])


def test_a_card_declaring_another_label_order_is_refused(mosei_build, tmp_path):  # noqa: F811
    root, _ = mosei_build
    repo = pushed_repo(root / "table", tmp_path / "repo")
    text = (repo / "README.md").read_text()
    swapped = text.replace("  - anger\n  - disgust\n", "  - disgust\n  - anger\n", 1)
    assert swapped != text
    (repo / "README.md").write_text(swapped)
    with pytest.raises(TableError) as error:
        load_training_table(repo, "emotions")
    assert "disgust" in str(error.value) and "\n" not in str(error.value)


def test_precision_and_embedder_survive_push_to_hub_for_the_trainers_records(tmp_path):
    settings = {"precision": "bf16", "weights_sha256": EMBEDDER}
    result = run_cli(*fiv2_inputs(tmp_path, {"train": settings, "val": settings, "test": settings}))
    assert result.returncode == 0, result.stderr
    repo = pushed_repo(tmp_path / "table", tmp_path / "repo")

    loaded = load_training_table(repo, "traits")  # the description is gone: the card carries them
    assert table_provenance(loaded) == {"precision": "bf16", "embedder_weights_sha256": EMBEDDER}
