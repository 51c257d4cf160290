"""The training-table contract: features, loading, and one-sentence refusals of broken tables."""

import numpy as np
import pytest
from datasets import Array2D, Array3D, Dataset, DatasetDict, List, Value

from modeling.configuration_face_transformer import EMOTION_LABELS, TRAIT_LABELS
from training.tables import (
    TableError,
    describe_training_table,
    embedding_features,
    label_names_of,
    load_training_table,
    training_features,
    validate_training_table,
)

T, D = 4, 8


def _split(prefix: str, n: int, target: str = "emotions", num_frames: int = T, dim: int = D, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    if target == "emotions":
        labels = rng.dirichlet(np.ones(7), size=n).astype(np.float32)
    else:
        labels = rng.uniform(0, 1, (n, 5)).astype(np.float32)
    dataset = Dataset.from_dict(
        {
            "video_id": [f"{prefix}{i}" for i in range(n)],
            "embeddings": rng.standard_normal((n, num_frames, dim)).astype(np.float16),
            "attention_mask": [[1] * (num_frames - 1) + [0]] * n,
            target: labels.tolist(),
        },
        features=training_features(num_frames, dim, target),
    )
    dataset.info.description = describe_training_table(target)
    return dataset


def _table(target: str = "emotions") -> DatasetDict:
    return DatasetDict({"train": _split("tr", 6, target), "validation": _split("va", 3, target, seed=1),
                        "test": _split("te", 2, target, seed=2)})


def test_embedding_and_training_features():
    features = embedding_features(T, D, "float16")
    assert list(features) == ["video_id", "embeddings", "attention_mask"]
    assert features["embeddings"] == Array2D(shape=(T, D), dtype="float16")
    assert features["attention_mask"] == List(Value("int8"), length=T)
    emotions = training_features(T, D, "emotions", "float32")
    assert list(emotions) == ["video_id", "embeddings", "attention_mask", "emotions"]
    assert emotions["emotions"] == List(Value("float32"), length=len(EMOTION_LABELS))
    assert emotions["embeddings"].dtype == "float32"
    assert training_features(T, D, "traits")["traits"] == List(Value("float32"), length=len(TRAIT_LABELS))
    with pytest.raises(TableError, match="float16 or float32|one of float16, float32"):
        embedding_features(T, D, "float64")


@pytest.mark.parametrize("target", ["emotions", "traits"])
def test_a_valid_table_round_trips_through_disk(tmp_path, target):
    _table(target).save_to_disk(str(tmp_path / "table"))
    loaded = load_training_table(tmp_path / "table", target)
    assert set(loaded) == {"train", "validation", "test"}
    assert loaded["train"].column_names == ["video_id", "embeddings", "attention_mask", target]
    assert label_names_of(loaded["train"]) == (EMOTION_LABELS if target == "emotions" else TRAIT_LABELS)


def _with(split: Dataset, column: str, values, feature=None) -> Dataset:
    return split.remove_columns(column).add_column(column, values, feature=feature)


def _expect(table, target, message):
    with pytest.raises(TableError, match=message) as caught:
        validate_training_table(table, target)
    assert "\n" not in str(caught.value)


def test_missing_split_or_empty_split():
    _expect(DatasetDict({"train": _split("tr", 3)}), "emotions", "no validation split")
    _expect(DatasetDict({"train": _split("tr", 3), "validation": _split("va", 3).select([])}), "emotions",
            "split 'validation' is empty")


def test_missing_columns():
    table = _table()
    table["validation"] = table["validation"].remove_columns("attention_mask")
    _expect(table, "emotions", "split 'validation' has no attention_mask column")
    _expect(_table("traits"), "emotions", "split 'train' has no emotions column")


def test_embeddings_of_the_wrong_rank():
    table = _table()
    flat = [[0.0] * D for _ in range(len(table["train"]))]
    table["train"] = _with(table["train"], "embeddings", flat, List(Value("float32")))
    _expect(table, "emotions", "embeddings must be an Array2D \\(T, D\\) of rank 2, found a nested list of rank 1")
    table = _table()
    cube = np.zeros((len(table["train"]), T, D, 2), dtype=np.float16)
    table["train"] = _with(table["train"], "embeddings", cube.tolist(), Array3D(shape=(T, D, 2), dtype="float16"))
    _expect(table, "emotions", "found rank 3 Array3D")


def test_inconsistent_frames_or_dims_between_splits():
    table = _table()
    table["validation"] = _split("va", 3, num_frames=T, dim=D + 1)
    _expect(table, "emotions", r"split 'validation' has embeddings of shape \(T, D\) = \(4, 9\), but \(4, 8\)")
    table = _table()
    table["validation"] = _split("va", 3, num_frames=T + 2)
    _expect(table, "emotions", r"\(6, 8\), but \(4, 8\)")


def test_attention_mask_must_match_frames_and_hold_a_face():
    table = _table()
    table["train"] = _with(table["train"], "attention_mask", [[1, 1]] * 6, List(Value("int8")))
    _expect(table, "emotions", "the attention_mask of video 'tr0' has 2 values, expected T = 4 entries")
    table = _table()
    table["train"] = _with(table["train"], "attention_mask", [[0, 0, 0, 0]] + [[1, 1, 1, 1]] * 5,
                           List(Value("int8"), length=T))
    _expect(table, "emotions", "video 'tr0' has an attention_mask with no real frame")


def test_label_vectors_of_the_wrong_length():
    table = _table()
    table["train"] = _with(table["train"], "emotions", [[1 / 6] * 6] * 6, List(Value("float32"), length=6))
    _expect(table, "emotions", "emotions vectors have length 6, but the contract has 7")
    table = _table()
    table["train"] = _with(table["train"], "emotions", [[1.0] + [0.0] * 6] * 5 + [[1.0]], List(Value("float32")))
    _expect(table, "emotions", "the emotions of video 'tr5' has 1 values, expected 7 values")


def test_emotions_must_sum_to_one_and_traits_stay_in_range():
    table = _table()
    rows = [[1.0] + [0.0] * 6] * 6
    rows[2] = [0.5] + [0.0] * 6
    table["train"] = _with(table["train"], "emotions", rows, List(Value("float32"), length=7))
    _expect(table, "emotions", "the emotions of video 'tr2' .* are not non-negative numbers summing to 1")
    table = _table("traits")
    rows = [[0.5] * 5] * 3
    rows[1] = [0.5, 0.5, 1.2, 0.5, 0.5]
    table["validation"] = _with(table["validation"], "traits", rows, List(Value("float32"), length=5))
    _expect(table, "traits", "the traits of video 'va1' .* are not all in \\[0, 1\\]")


def test_a_declared_label_order_must_match_the_contract():
    table = _table()
    swapped = ("neutral", "happiness", "sadness", "anger", "surprise", "disgust", "fear")
    table["train"].info.description = f"face-fusion training table.\nlabel_names: {', '.join(swapped)}"
    _expect(table, "emotions", "split 'train' declares the emotions order \\(neutral, happiness")
    table = _table("traits")
    rotated = TRAIT_LABELS[-1:] + TRAIT_LABELS[:-1]
    table["test"].info.description = f"label_names: {', '.join(rotated)}"
    _expect(table, "traits", "split 'test' declares the traits order \\(neuroticism")
    # A table without a declaration is fine: the order is then the contract's by definition.
    table = _table()
    table["train"].info.description = ""
    validate_training_table(table, "emotions")


def test_a_video_in_two_splits_is_refused():
    table = _table()
    table["test"] = _with(table["test"], "video_id", ["tr0", "te1"], Value("string"))
    _expect(table, "emotions", "video 'tr0' is in both split 'train' and split 'test'")
    table = _table()
    table["train"] = _with(table["train"], "video_id", ["tr0"] * 6, Value("string"))
    _expect(table, "emotions", "video 'tr0' is twice in split 'train'")


def test_loading_refuses_what_is_not_a_training_table(tmp_path):
    _split("tr", 3).save_to_disk(str(tmp_path / "single"))
    with pytest.raises(TableError, match="holds a single Dataset, not a DatasetDict"):
        load_training_table(tmp_path / "single", "emotions")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(TableError, match="not a file"):
        load_training_table(tmp_path / "file.txt", "emotions")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TableError, match="not a dataset folder written by save_to_disk"):
        load_training_table(tmp_path / "empty", "emotions")
    with pytest.raises(TableError, match="target must be 'emotions' or 'traits'"):
        load_training_table(tmp_path / "single", "labels")


def test_an_unreachable_hub_id_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    message = "no-such-org/no-such-table: no such folder, and loading it as a Hub dataset failed"
    with pytest.raises(TableError, match=message):
        load_training_table("no-such-org/no-such-table", "emotions")
