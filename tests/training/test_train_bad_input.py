"""Bad input to the trainers stops at once with one sentence on stderr and exit code 2: wrong columns, shapes or label
orders, an empty split, a missing or mismatched model, an output folder in the way, a bad image set."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from datasets import DatasetDict

from modeling import EmoNeXtModel, EmotionTransformerModel, TraitTransformerModel
from tests.training.synthetic import REPO_ROOT, offline_environment
from training import train_emonext, train_emotion, train_fusion, train_traits
from training.tables import describe_training_table
from training.testing.synthetic import make_image_folder, make_table, save_table
from training.testing.tiny_configs import (
    tiny_emonext_config,
    tiny_emotion_config,
    tiny_fusion_config,
    tiny_trait_config,
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    save_table(make_table("traits", sizes={"train": 8, "validation": 4}), root / "traits")
    save_table(make_table("emotions", sizes={"train": 8, "validation": 4}), root / "emotions")
    save_table(make_table("traits", sizes={"train": 8, "validation": 4}, dim=32), root / "traits32")
    save_table(make_table("emotions", sizes={"train": 8, "validation": 4}, dim=32), root / "emotions32")
    tiny_trait_config().save_pretrained(root / "trait_config")
    tiny_emotion_config().save_pretrained(root / "emotion_config")
    tiny_fusion_config().save_pretrained(root / "fusion_config")
    torch.manual_seed(0)
    EmotionTransformerModel(tiny_emotion_config()).save_pretrained(root / "emotion_model")
    TraitTransformerModel(tiny_trait_config()).save_pretrained(root / "trait_model")
    EmoNeXtModel(tiny_emonext_config(hidden_sizes=[8, 16, 32, 32])).save_pretrained(root / "embedder32")
    return root


def one_sentence(script, argv, capsys) -> str:
    """Runs a trainer's main in this process; checks exit code 2 and a single line on stderr, and returns it."""
    capsys.readouterr()
    code = script.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"{script.__name__.rsplit('.', 1)[1]}.py: error: ") and "Traceback" not in err
    return err


def trait_args(files, tmp_path, *extra):
    return ["--dataset", str(files / "traits"), "--model_config", str(files / "trait_config"),
            "--output_dir", str(tmp_path / "run"), "--report_to", "none", *extra]


def test_table_without_the_target_column(files, tmp_path, capsys):
    message = one_sentence(train_traits, ["--dataset", str(files / "emotions"), "--output_dir", str(tmp_path / "run")],
                           capsys)
    assert "has no traits column" in message


def test_splits_with_different_embedding_shapes(files, tmp_path, capsys):
    table = make_table("traits", sizes={"train": 8, "validation": 4})
    other = make_table("traits", sizes={"validation": 4}, num_frames=5)
    save_table(DatasetDict(train=table["train"], validation=other["validation"]), tmp_path / "mixed")
    message = one_sentence(train_traits, ["--dataset", str(tmp_path / "mixed"), "--output_dir", str(tmp_path / "run")],
                           capsys)
    assert "(5, 64)" in message and "(6, 64)" in message


def test_table_declaring_another_label_order(files, tmp_path, capsys):
    table = make_table("emotions", sizes={"train": 8, "validation": 4})
    swapped = describe_training_table("emotions").replace("neutral, anger", "anger, neutral")
    for split in table.values():
        split.info.description = swapped
    save_table(table, tmp_path / "swapped")
    message = one_sentence(
        train_emotion, ["--dataset", str(tmp_path / "swapped"), "--output_dir", str(tmp_path / "run")], capsys
    )
    assert "declares the emotions order (anger, neutral" in message


def test_empty_split(files, tmp_path, capsys):
    table = make_table("traits", sizes={"train": 8, "validation": 4})
    save_table(DatasetDict(train=table["train"], validation=table["validation"].select([])), tmp_path / "empty")
    message = one_sentence(train_traits, ["--dataset", str(tmp_path / "empty"), "--output_dir", str(tmp_path / "run")],
                           capsys)
    assert "split 'validation' is empty" in message


def test_missing_or_wrong_model_config(files, tmp_path, capsys):
    missing = one_sentence(
        train_traits, trait_args(files, tmp_path, "--model_config", str(tmp_path / "nowhere")), capsys
    )
    assert f"--model_config {tmp_path / 'nowhere'}" in missing
    wrong = one_sentence(train_emotion, ["--dataset", str(files / "emotions"), "--output_dir", str(tmp_path / "run"),
                                         "--model_config", str(files / "trait_config")], capsys)
    assert "'trait-transformer' model, not 'emotion-transformer'" in wrong


def test_class_weights_from_a_config_that_has_none(files, tmp_path, capsys):
    argv = ["--dataset", str(files / "emotions"), "--output_dir", str(tmp_path / "run"),
            "--model_config", str(files / "emotion_config"), "--class_weights", "config"]
    message = one_sentence(train_emotion, argv, capsys)
    assert "has no class_weights" in message


def test_output_folder_with_checkpoints_and_nothing_to_resume(files, tmp_path, capsys):
    message = one_sentence(train_traits, trait_args(files, tmp_path, "--resume_from_checkpoint", "latest"), capsys)
    assert "holds no complete checkpoint-N folder" in message
    (tmp_path / "run" / "checkpoint-8").mkdir(parents=True)
    message = one_sentence(train_traits, trait_args(files, tmp_path), capsys)
    assert "already holds checkpoints" in message and "--resume_from_checkpoint latest" in message
    message = one_sentence(train_traits, trait_args(files, tmp_path, "--push_to_hub"), capsys)
    assert "--push_to_hub needs --hub_model_id" in message


def fusion_args(files, tmp_path, **changes):
    values = {
        "--emotion_dataset": files / "emotions", "--trait_dataset": files / "traits",
        "--emotion_model": files / "emotion_model", "--trait_model": files / "trait_model",
        "--embedder_model": files / "embedder32", "--model_config": files / "fusion_config",
        "--output_dir": tmp_path / "run",
    }
    values.update(changes)
    return [str(item) for pair in values.items() for item in pair] + ["--report_to", "none"]


def test_fusion_with_a_missing_model(files, tmp_path, capsys):
    message = one_sentence(train_fusion, fusion_args(files, tmp_path, **{"--emotion_model": tmp_path / "gone"}), capsys)
    assert f"--emotion_model {tmp_path / 'gone'}" in message


def test_fusion_with_a_trait_model_given_as_emotion_model(files, tmp_path, capsys):
    argv = fusion_args(files, tmp_path, **{"--emotion_model": files / "trait_model"})
    message = one_sentence(train_fusion, argv, capsys)
    assert "'trait-transformer' model, not 'emotion-transformer'" in message


def test_fusion_parts_that_do_not_fit_the_tables(files, tmp_path, capsys):
    message = one_sentence(train_fusion, fusion_args(files, tmp_path), capsys)  # 64-d tables, 32-d embedder
    assert "--embedder_model gives 32-d embeddings, but the tables hold 64-d ones" in message
    tables32 = {"--emotion_dataset": files / "emotions32", "--trait_dataset": files / "traits32"}
    message = one_sentence(train_fusion, fusion_args(files, tmp_path, **tables32), capsys)
    assert "--emotion_model expects 64-d embeddings, but the tables hold 32-d ones" in message
    message = one_sentence(train_fusion, fusion_args(files, tmp_path, **{"--emotion_dataset": files / "emotions32"}),
                           capsys)
    assert "--emotion_dataset holds 32-d embeddings but --trait_dataset 64-d" in message


def test_image_set_too_small_to_hold_out_validation(tmp_path, capsys):
    make_image_folder(tmp_path / "images", {"train": 2})
    message = one_sentence(train_emonext, ["--dataset", str(tmp_path / "images"), "--output_dir", str(tmp_path / "run"),
                                           "--cache_dir", str(tmp_path / "cache")], capsys)
    assert "has no validation split, and 10% of its 6 training images cannot hold every class" in message


def test_image_set_with_an_unknown_class(tmp_path, capsys):
    make_image_folder(tmp_path / "images", {"train": 2}, classes=("Happy", "Contempt"))
    message = one_sentence(train_emonext, ["--dataset", str(tmp_path / "images"), "--output_dir", str(tmp_path / "run"),
                                           "--cache_dir", str(tmp_path / "cache")], capsys)
    assert "class 'Contempt' is not one of the emotions" in message


def test_command_line_prints_one_sentence_and_exits_2(tmp_path):
    finished = subprocess.run(
        [sys.executable, str(REPO_ROOT / "training" / "train_traits.py"), "--dataset", str(tmp_path / "no-table"),
         "--output_dir", str(tmp_path / "run")],
        cwd=REPO_ROOT, env=offline_environment(tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [finished.stderr.strip()]
    assert finished.stderr.startswith(f"train_traits.py: error: {tmp_path / 'no-table'}: no such folder")


def test_trait_table_values_outside_zero_one(files, tmp_path, capsys):
    table = make_table("traits", sizes={"train": 8, "validation": 4})
    table["train"] = table["train"].map(lambda row: {"traits": list(np.asarray(row["traits"]) * 3)})
    save_table(table, tmp_path / "scaled")
    message = one_sentence(train_traits, ["--dataset", str(tmp_path / "scaled"), "--output_dir", str(tmp_path / "run")],
                           capsys)
    assert "are not all in [0, 1]" in message


def test_imagenet_backbone_that_cannot_be_downloaded(tmp_path, capsys):
    make_image_folder(tmp_path / "images", {"train": 2, "val": 1})
    tiny_emonext_config().save_pretrained(tmp_path / "config")
    message = one_sentence(train_emonext, ["--dataset", str(tmp_path / "images"), "--output_dir", str(tmp_path / "run"),
                                           "--cache_dir", str(tmp_path / "cache"), "--model_config",
                                           str(tmp_path / "config"), "--from_pretrained_backbone"], capsys)
    assert "--from_pretrained_backbone: timm's ImageNet weights for convnext_atto could not be loaded" in message
