"""The training table as a Hub dataset: the card build_dataset.py writes (and uploads first when it pushes), and the
label order surviving a real `--push_to_hub` (to the stand-in Hub) and what `load_dataset` reads back from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from datasets import load_from_disk
from huggingface_hub import DatasetCard

from modeling.configuration_face_transformer import EMOTION_LABELS, TRAIT_LABELS
from tests.hub.standin_hub import StandInHub
from tests.training.test_build_dataset import (  # noqa: F401 - the builds under test
    EMBEDDER,
    REPO_ROOT,
    fiv2_build,
    fiv2_inputs,
    mosei_build,
    mosei_build_args,
    run_cli,
)
from training.tables import TableError, load_training_table, table_provenance

REPO_ID = "someone/face-fusion-table"


@contextmanager
def pushed(build_args: list, tmp_path: Path) -> Iterator[tuple[StandInHub, dict]]:
    """build_dataset.py run with `--push_to_hub` to a stand-in Hub; yields the Hub (still serving) and the environment
    that points a client at it."""
    with StandInHub() as hub:
        env = hub.client_env(tmp_path / "hf_home")
        result = run_cli(*build_args, "--push_to_hub", "--hub_dataset_id", REPO_ID, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        yield hub, env


def snapshot(hub: StandInHub, folder: Path) -> Path:
    """The pushed repo's files on disk, as `snapshot_download` leaves them."""
    for name, data in hub.repos[("dataset", REPO_ID)].files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def pushed_repo(build_args: list, tmp_path: Path) -> Path:
    """The repo build_dataset.py's `--push_to_hub` leaves on the stand-in Hub, on disk (see `snapshot`)."""
    with pushed(build_args, tmp_path) as (hub, _):
        return snapshot(hub, tmp_path / "repo")


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
    with pushed(mosei_build_args(root, tmp_path / "table"), tmp_path) as (hub, env):
        files = hub.repos[("dataset", REPO_ID)].files
        assert hub.repos[("dataset", REPO_ID)].commits[0] == "Dataset card from face-fusion build_dataset.py"
        # a trainer given the Hub id, in a process of its own: load_dataset over HTTP, then the contract check
        code = textwrap.dedent(f"""
            import json
            from training.tables import label_names_of, load_training_table
            table = load_training_table({REPO_ID!r}, "emotions")
            print(json.dumps([label_names_of(table["train"]), sorted(table["train"]["video_id"]), sorted(table)]))
        """)
        loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=300, env={**os.environ, **env})
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    names, train_ids, splits = json.loads(loaded.stdout.strip().splitlines()[-1])
    local = load_from_disk(str(tmp_path / "table"))
    assert tuple(names) == EMOTION_LABELS and train_ids == sorted(local["train"]["video_id"])
    assert splits == sorted(local) and {f"data/{split}-00000-of-00001.parquet" for split in local} <= set(files)

    card = DatasetCard(files["README.md"].decode()).data.to_dict()
    assert card["dataset_info"]["features"] and card["configs"]  # what push_to_hub writes ...
    assert card["face_fusion"]["label_names"] == list(EMOTION_LABELS) and card["license"] == "other"  # ... and keeps


def test_a_card_declaring_another_label_order_is_refused(mosei_build, tmp_path):  # noqa: F811
    root, _ = mosei_build
    repo = pushed_repo(mosei_build_args(root, tmp_path / "table"), tmp_path)
    text = (repo / "README.md").read_text()
    swapped = text.replace("  - anger\n  - disgust\n", "  - disgust\n  - anger\n", 1)
    assert swapped != text
    (repo / "README.md").write_text(swapped)
    with pytest.raises(TableError) as error:
        load_training_table(repo, "emotions")
    assert "disgust" in str(error.value) and "\n" not in str(error.value)


def test_precision_and_embedder_survive_push_to_hub_for_the_trainers_records(tmp_path):
    settings = {"precision": "bf16", "weights_sha256": EMBEDDER}
    repo = pushed_repo(fiv2_inputs(tmp_path, {"train": settings, "val": settings, "test": settings}), tmp_path)

    loaded = load_training_table(repo, "traits")  # the description is gone: the card carries them
    assert table_provenance(loaded) == {"precision": "bf16", "embedder_weights_sha256": EMBEDDER}
