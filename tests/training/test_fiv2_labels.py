"""First Impressions V2 annotation pickles, and the loader that refuses pickles carrying code."""

import pickle

import numpy as np
import pytest

from modeling.configuration_face_transformer import TRAIT_LABELS
from tests.training.label_files import (
    RunsShellCommand,
    fiv2_annotations,
    python2_pickle_bytes,
    write_pickle,
)
from training.fiv2_labels import (
    FIV2LabelError,
    find_fiv2_annotation_files,
    load_fiv2_annotations,
    load_fiv2_splits,
)
from training.safe_pickle import UnsafePickleError, load_plain_pickle

# (openness, conscientiousness, extraversion, agreeableness, neuroticism): distinct values expose any reordering.
SCORES = {
    "J4GQm9j0JZ0.003": (0.1, 0.2, 0.3, 0.4, 0.5),
    "-0aBc_De1fg.001": (0.9, 0.8, 0.7, 0.6, 0.0),
}


def test_traits_come_out_in_contract_order_without_interview(tmp_path):
    path = write_pickle(tmp_path / "annotation_training.pkl", fiv2_annotations(SCORES))
    labels = load_fiv2_annotations(path)
    assert TRAIT_LABELS == ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
    assert labels == {clip: pytest.approx(values) for clip, values in SCORES.items()}
    assert list(labels) == sorted(SCORES)  # ".mp4" stripped, sorted
    assert all(len(values) == 5 for values in labels.values())  # interview dropped


def test_python2_pickle_with_numpy_scalars_and_byte_strings_loads(tmp_path):
    data = fiv2_annotations(SCORES)
    data = {trait: {clip: np.float64(value) for clip, value in clips.items()} for trait, clips in data.items()}
    path = tmp_path / "annotation_validation.pkl"
    path.write_bytes(python2_pickle_bytes(data))
    labels = load_fiv2_annotations(path)
    assert labels == {clip: pytest.approx(values) for clip, values in SCORES.items()}
    assert all(type(value) is float for values in labels.values() for value in values)


def test_a_pickle_that_runs_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned.txt"
    path = write_pickle(tmp_path / "annotation_training.pkl", {"openness": RunsShellCommand(f"touch {marker}")})
    # Sanity: the file really is an attack; plain pickle.load would run the command.
    assert b"system" in path.read_bytes()
    with pytest.raises(UnsafePickleError) as caught:
        load_fiv2_annotations(path)
    message = str(caught.value)
    assert "annotation_training.pkl" in message
    assert "refused: it tries to load posix.system" in message or "refused: it tries to load os.system" in message
    assert "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload, name",
    [
        (b"\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1q\x00\x85R.", "builtins.eval"),
        (b"\x80\x02cnumpy\nload\nX\x01\x00\x00\x00xq\x00\x85R.", "numpy.load"),
    ],
)
def test_other_globals_are_refused_by_name(tmp_path, payload, name):
    path = tmp_path / "evil.pkl"
    path.write_bytes(payload)
    with pytest.raises(UnsafePickleError, match=f"refused: it tries to load {name}"):
        load_plain_pickle(path)


def test_a_numpy_object_scalar_is_refused(tmp_path):
    # numpy.dtype('O') would let a scalar wrap an arbitrary object; only numeric dtypes pass.
    path = tmp_path / "object.pkl"
    path.write_bytes(b"\x80\x02cnumpy\ndtype\nU\x02O8K\x00K\x01\x87R.")
    with pytest.raises(UnsafePickleError, match="non-numeric NumPy dtype"):
        load_plain_pickle(path)


def test_truncated_and_missing_pickles_get_one_sentence(tmp_path):
    whole = pickle.dumps(fiv2_annotations(SCORES), protocol=2)
    path = tmp_path / "annotation_test.pkl"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UnsafePickleError, match=r"annotation_test\.pkl: not a readable pickle"):
        load_plain_pickle(path)
    with pytest.raises(UnsafePickleError, match="no such pickle file"):
        load_plain_pickle(tmp_path / "absent.pkl")


def test_missing_trait_is_named(tmp_path):
    data = fiv2_annotations(SCORES)
    del data["agreeableness"]
    path = write_pickle(tmp_path / "annotation_training.pkl", data)
    with pytest.raises(FIV2LabelError, match=r"annotation_training\.pkl: the trait\(s\) agreeableness are missing"):
        load_fiv2_annotations(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["openness"].__setitem__("J4GQm9j0JZ0.003.mp4", 1.5), "outside \\[0, 1\\]"),
        (lambda d: d["openness"].__setitem__("J4GQm9j0JZ0.003.mp4", "high"), "not a number"),
        (lambda d: d["neuroticism"].pop("J4GQm9j0JZ0.003.mp4"), "cover different clips"),
        (lambda d: d.__setitem__("openness", [0.5]), "should map clip names to scores"),
    ],
)
def test_malformed_annotations_are_refused(tmp_path, edit, message):
    data = fiv2_annotations(SCORES)
    edit(data)
    with pytest.raises(FIV2LabelError, match=message):
        load_fiv2_annotations(write_pickle(tmp_path / "annotation_training.pkl", data))


def test_not_a_dict_is_refused(tmp_path):
    with pytest.raises(FIV2LabelError, match="expected a dict"):
        load_fiv2_annotations(write_pickle(tmp_path / "a.pkl", [1, 2]))


def test_annotation_files_are_found_in_a_folder_or_given_explicitly(tmp_path):
    for name in ("annotation_training.pkl", "annotation_validation.pkl", "annotation_test.pkl"):
        write_pickle(tmp_path / name, fiv2_annotations({}))
    other = write_pickle(tmp_path / "my_val.pkl", fiv2_annotations({}))
    assert find_fiv2_annotation_files(tmp_path) == {
        "train": tmp_path / "annotation_training.pkl",
        "validation": tmp_path / "annotation_validation.pkl",
        "test": tmp_path / "annotation_test.pkl",
    }
    assert find_fiv2_annotation_files(tmp_path, validation=other)["validation"] == other
    (tmp_path / "annotation_validation.pkl").unlink()
    with pytest.raises(FIV2LabelError, match="no FIV2 validation annotations"):
        find_fiv2_annotation_files(tmp_path)
    with pytest.raises(FIV2LabelError, match="does not exist"):
        find_fiv2_annotation_files(train=tmp_path / "nope.pkl")


def test_a_clip_in_two_splits_is_refused(tmp_path):
    train = write_pickle(tmp_path / "annotation_training.pkl", fiv2_annotations(SCORES))
    shared = {"J4GQm9j0JZ0.003": SCORES["J4GQm9j0JZ0.003"]}
    validation = write_pickle(tmp_path / "annotation_validation.pkl", fiv2_annotations(shared))
    with pytest.raises(FIV2LabelError, match="both label 1 clip"):
        load_fiv2_splits({"train": train, "validation": validation})
