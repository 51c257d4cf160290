"""training/build_dataset.py end to end: real label files, real embedding tables, the real command line."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest

from modeling.configuration_face_transformer import EMOTION_LABELS, TRAIT_LABELS
from tests.training.label_files import (
    RunsShellCommand,
    fiv2_annotations,
    write_clip,
    write_csd,
    write_embedding_table,
    write_folds_py,
    write_mosei_csv,
    write_pickle,
)
from training import build_dataset
from training.tables import label_names_of, load_training_table, table_provenance

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "training/build_dataset.py"

MOSEI_VIDEOS = {
    "GdFP_p4eQX0": [(0.0, 4.5, {"happy": 1.0}), (4.5, 9.0, {}), (9.0, 12.0, {"sad": 2.0})],
    "81406": [(1.0, 2.0, {"anger": 3.0, "disgust": 1.0})],
    "-3g5yACwYnA": [
        (82.753, 100.555, {"fear": 1 / 3, "happy": 2 / 3, "sad": 2 / 3}),
        (100.6, 110.0, {"surprise": 1.0}),
    ],
    "nofoldvid": [(0.0, 1.0, {})],
}


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, SCRIPT, *map(str, args)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )


def _emotion(**shares) -> list[float]:
    row = [0.0] * 7
    for name, share in shares.items():
        row[EMOTION_LABELS.index(name)] = share
    return row


@pytest.fixture(scope="module")
def mosei_build(tmp_path_factory):
    """One CLI build from a .csd + folds file, with embeddings named in all three id forms, in the 'wrong' folders."""
    root = tmp_path_factory.mktemp("mosei")
    write_csd(root / "CMU_MOSEI_Labels.csd", MOSEI_VIDEOS)
    write_folds_py(root / "cmu_mosei_std_folds.py", ["GdFP_p4eQX0"], ["81406"], ["-3g5yACwYnA"])
    # The extraction's own split folders do not decide anything: the folds do.
    write_embedding_table(root / "emb" / "train", ["GdFP_p4eQX0_0", "GdFP_p4eQX0[1]", "stray_video_0", "nofoldvid_0"])
    write_embedding_table(
        root / "emb" / "test",
        ["81406_1.0000_2.0000", "-3g5yACwYnA_82.7645_100.5550", "GdFP_p4eQX0_2"],
        masks=[[1, 1, 1, 1], [1, 0, 0, 0], [0, 0, 0, 0]],
        seed=1,
    )
    # Index names are trusted only when the clip's length fits its segment (the .csd's rows are not in time order).
    for name, seconds in (("GdFP_p4eQX0_0", 4.5), ("GdFP_p4eQX0[1]", 4.5), ("nofoldvid_0", 1.0)):
        write_clip(root / "clips" / f"{name}.mp4", seconds)
    return root, run_cli(*mosei_build_args(root, root / "table"))


def mosei_build_args(root: Path, output_dir: Path) -> list:
    """build_dataset.py's arguments for `mosei_build`'s inputs in `root`."""
    return ["--dataset", "cmu-mosei", "--embeddings", root / "emb", "--mosei_csd", root / "CMU_MOSEI_Labels.csd",
            "--mosei_folds", root / "cmu_mosei_std_folds.py", "--mosei_clips", root / "clips", "--output_dir",
            output_dir]


def test_mosei_index_names_without_clip_lengths_are_refused(mosei_build, tmp_path):
    root, _ = mosei_build
    result = run_cli(
        "--dataset", "cmu-mosei", "--embeddings", root / "emb", "--mosei_csd", root / "CMU_MOSEI_Labels.csd",
        "--mosei_folds", root / "cmu_mosei_std_folds.py", "--output_dir", tmp_path / "table",
    )
    assert result.returncode == 2
    message = result.stderr.strip()
    assert "names a label by its index" in message and "--mosei_clips" in message
    assert len(message.splitlines()) == 1 and "Traceback" not in message


def test_mosei_build_succeeds_and_validates(mosei_build):
    root, result = mosei_build
    assert result.returncode == 0, result.stderr
    table = load_training_table(root / "table", "emotions")  # validates the contract
    assert list(table) == ["train", "validation", "test"]
    for split in table.values():
        assert split.column_names == ["video_id", "embeddings", "attention_mask", "emotions"]
        assert split.features["embeddings"] == datasets.Array2D(shape=(4, 8), dtype="float16")
        assert label_names_of(split) == EMOTION_LABELS


def test_mosei_rows_land_in_their_fold_with_canonical_ids_and_targets(mosei_build):
    root, _ = mosei_build
    table = datasets.load_from_disk(str(root / "table"))
    assert table["train"]["video_id"] == ["GdFP_p4eQX0_0", "GdFP_p4eQX0_1"]
    assert table["validation"]["video_id"] == ["81406_0"]
    assert table["test"]["video_id"] == ["-3g5yACwYnA_0"]
    assert np.allclose(table["train"]["emotions"], [_emotion(happiness=1.0), _emotion(neutral=1.0)])
    assert np.allclose(table["validation"]["emotions"], [_emotion(anger=0.75, disgust=0.25)])
    assert np.allclose(table["test"]["emotions"], [_emotion(fear=0.2, happiness=0.4, sadness=0.4)])
    assert table["test"]["attention_mask"] == [[1, 0, 0, 0]]


def test_mosei_embeddings_are_carried_over_unchanged(mosei_build):
    root, _ = mosei_build
    source = datasets.load_from_disk(str(root / "emb" / "test")).with_format("numpy")
    built = datasets.load_from_disk(str(root / "table" / "validation")).with_format("numpy")
    assert np.array_equal(built["embeddings"][0], source["embeddings"][0])  # 81406_1.0000_2.0000 → 81406_0


def test_mosei_report_lists_what_did_not_match(mosei_build):
    root, result = mosei_build
    report = json.loads((root / "table" / "build_report.json").read_text())
    assert report["splits"] == {
        "train": {"labels": 3, "rows": 2, "labels_without_embeddings": 1},
        "validation": {"labels": 1, "rows": 1, "labels_without_embeddings": 0},
        "test": {"labels": 2, "rows": 1, "labels_without_embeddings": 1},
    }
    assert report["labels_without_embeddings"] == {"count": 2, "first": ["GdFP_p4eQX0_2", "-3g5yACwYnA_1"]}
    assert report["embeddings_without_labels"] == {"count": 1, "first": ["stray_video_0"]}
    assert report["embeddings_without_faces"] == {"count": 1, "first": ["GdFP_p4eQX0_2"]}
    assert report["embeddings_outside_folds"] == {"count": 1, "first": ["nofoldvid_0"]}
    assert report["labels_outside_folds"] == 1
    assert (report["num_frames"], report["dim"]) == (4, 8)
    assert "embeddings without labels: 1: stray_video_0" in result.stdout
    assert "train" in result.stdout and "labels without embeddings" in result.stdout
    # Nothing is written beside the input embeddings.
    assert sorted(p.name for p in (root / "emb" / "train").iterdir()) == [
        "data-00000-of-00001.arrow", "dataset_info.json", "state.json",
    ]


@pytest.fixture(scope="module")
def fiv2_build(tmp_path_factory):
    """One CLI build from the three FIV2 annotation pickles in a folder."""
    root = tmp_path_factory.mktemp("fiv2")
    scores = {
        "train": {"J4GQm9j0JZ0.003": (0.1, 0.2, 0.3, 0.4, 0.5), "AAAAAAAAAAA.000": (0.5, 0.5, 0.5, 0.5, 0.5)},
        "validation": {"-0aBc_De1fg.001": (0.9, 0.8, 0.7, 0.6, 0.0)},
        "test": {"zzzzzzzzzzz.004": (0.3, 0.3, 0.3, 0.3, 0.3), "yyyyyyyyyyy.002": (0.0, 1.0, 0.0, 1.0, 0.0)},
    }
    names = {
        "train": "annotation_training.pkl", "validation": "annotation_validation.pkl", "test": "annotation_test.pkl",
    }
    (root / "annotations").mkdir()
    for split, clips in scores.items():
        write_pickle(root / "annotations" / names[split], fiv2_annotations(clips))
    train = write_embedding_table(root / "emb" / "train", ["J4GQm9j0JZ0.003", "-0aBc_De1fg.001"], dtype="float32")
    train.info.description = json.dumps({"face_fusion_extraction": {"num_frames": 4, "model": "tiny"}})
    train.save_to_disk(str(root / "emb" / "train2"))  # the extraction records its settings in the description
    shutil.rmtree(root / "emb" / "train")
    write_embedding_table(root / "emb" / "val", ["zzzzzzzzzzz.004", "yyyyyyyyyyy.002.mp4"], dtype="float32", seed=3)
    result = run_cli(
        "--dataset", "fiv2", "--embeddings", root / "emb", "--fiv2_annotations", root / "annotations",
        "--output_dir", root / "table",
    )
    return root, result


def test_fiv2_build_puts_traits_in_contract_order(fiv2_build):
    root, result = fiv2_build
    assert result.returncode == 0, result.stderr
    table = load_training_table(root / "table", "traits")
    assert list(table) == ["train", "validation", "test"]
    assert table["train"]["video_id"] == ["J4GQm9j0JZ0.003"]
    assert np.allclose(table["train"]["traits"], [[0.1, 0.2, 0.3, 0.4, 0.5]])
    assert table["validation"]["video_id"] == ["-0aBc_De1fg.001"]
    assert table["test"]["video_id"] == ["yyyyyyyyyyy.002", "zzzzzzzzzzz.004"]
    assert np.allclose(table["test"]["traits"], [[0.0, 1.0, 0.0, 1.0, 0.0], [0.3] * 5])
    assert table["train"].features["embeddings"].dtype == "float32"
    assert label_names_of(table["train"]) == TRAIT_LABELS
    report = json.loads((root / "table" / "build_report.json").read_text())
    assert report["labels_without_embeddings"] == {"count": 1, "first": ["AAAAAAAAAAA.000"]}
    extraction = {"face_fusion_extraction": {"num_frames": 4, "model": "tiny"}}
    assert report["embedding_descriptions"] == {"train2": extraction}
    assert '"model": "tiny"' in table["train"].info.description


# ------------------------------------------------------------------------------------------ provenance

EMBEDDER = "ab" * 32  # a weights_sha256 as the extraction records it


def fiv2_inputs(root: Path, extractions: dict[str, dict | None]) -> list:
    """FIV2 annotations and one embedding table per entry of `extractions` (its recorded settings, or None for a
    table without them); returns the build_dataset.py arguments."""
    clips = {"train": {"trainclip01.000": (0.1,) * 5}, "validation": {"validclip01.000": (0.2,) * 5},
             "test": {"testclip001.000": (0.3,) * 5}}
    names = {"train": "annotation_training.pkl", "validation": "annotation_validation.pkl",
             "test": "annotation_test.pkl"}
    (root / "annotations").mkdir(parents=True)
    for split, scores in clips.items():
        write_pickle(root / "annotations" / names[split], fiv2_annotations(scores))
    ids = iter(["trainclip01.000", "validclip01.000", "testclip001.000"])
    for index, (name, settings) in enumerate(extractions.items()):
        table = write_embedding_table(root / "scratch" / name, [next(ids)], seed=index)
        if settings is not None:
            table.info.description = json.dumps({"face_fusion_extraction": settings})
        table.save_to_disk(str(root / "emb" / name))
    return ["--dataset", "fiv2", "--embeddings", root / "emb", "--fiv2_annotations", root / "annotations",
            "--output_dir", root / "table"]


def test_the_table_records_the_precision_and_embedder_of_its_embeddings(tmp_path):
    settings = {"precision": "bf16", "weights_sha256": EMBEDDER, "num_frames": 4}
    args = fiv2_inputs(tmp_path, {"train": settings, "val": settings, "test": settings})
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr

    table = load_training_table(tmp_path / "table", "traits")
    expected = {"precision": "bf16", "embedder_weights_sha256": EMBEDDER}
    assert table_provenance(table) == table_provenance(table["test"]) == expected  # what the trainers record
    assert table_provenance(datasets.load_from_disk(str(tmp_path / "emb" / "val"))) == expected  # an extraction's
    report = json.loads((tmp_path / "table" / "build_report.json").read_text())
    assert {key: report[key] for key in expected} == expected


def test_tables_of_mixed_precision_are_joined_with_a_warning_and_recorded_as_mixed(tmp_path):
    fp32 = {"precision": "fp32", "weights_sha256": EMBEDDER}
    bf16 = {"precision": "bf16", "weights_sha256": EMBEDDER}
    result = run_cli(*fiv2_inputs(tmp_path, {"train": fp32, "val": bf16, "test": fp32}))
    assert result.returncode == 0, result.stderr

    warning = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "different precisions (test fp32, train fp32, val bf16)" in warning[0]
    table = load_training_table(tmp_path / "table", "traits")
    assert table_provenance(table) == {"precision": "mixed", "embedder_weights_sha256": EMBEDDER}
    report = json.loads((tmp_path / "table" / "build_report.json").read_text())
    assert report["precision"] == "mixed" and any("different precisions" in note for note in report["notes"])


def test_tables_from_different_embedders_are_refused(tmp_path):
    one = {"precision": "fp32", "weights_sha256": EMBEDDER}
    other = {"precision": "fp32", "weights_sha256": "cd" * 32}
    result = run_cli(*fiv2_inputs(tmp_path, {"train": one, "val": other, "test": one}))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "build_dataset.py: error: the embedding tables were made by different embedders "
        "(weights_sha256 test abababababab, train abababababab, val cdcdcdcdcdcd)."
    ]
    assert not (tmp_path / "table").exists()


def test_tables_that_record_nothing_give_an_unknown_provenance(tmp_path):
    result = run_cli(*fiv2_inputs(tmp_path, {"train": None, "val": None, "test": None}))
    assert result.returncode == 0, result.stderr
    table = load_training_table(tmp_path / "table", "traits")
    assert table_provenance(table) == {"precision": None, "embedder_weights_sha256": None}


def test_a_malicious_pickle_stops_the_cli_with_one_line_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned.txt"
    evil = write_pickle(tmp_path / "annotation_training.pkl", {"openness": RunsShellCommand(f"touch {marker}")})
    good = write_pickle(tmp_path / "annotation_validation.pkl", fiv2_annotations({}))
    write_embedding_table(tmp_path / "emb" / "train", ["a.001"])
    result = run_cli(
        "--dataset", "fiv2", "--embeddings", tmp_path / "emb", "--fiv2_train", evil, "--fiv2_validation", good,
        "--output_dir", tmp_path / "table",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "annotation_training.pkl" in lines[0] and "refused: it tries to load" in lines[0]
    assert not marker.exists() and not (tmp_path / "table").exists()


# ---------------------------------------------------------------------------------------------------------------
# In-process runs of main(): the same code path without paying for a new interpreter each time.


@pytest.fixture
def mosei_inputs(tmp_path):
    write_csd(tmp_path / "labels.csd", MOSEI_VIDEOS)
    write_folds_py(tmp_path / "folds.py", ["GdFP_p4eQX0"], ["81406"], ["-3g5yACwYnA"])
    write_embedding_table(
        tmp_path / "emb" / "all", ["GdFP_p4eQX0_0.0000_4.5000", "81406_1.0000_2.0000", "-3g5yACwYnA_82.7530_100.5550"]
    )
    return tmp_path


def _main(capsys, *args) -> tuple[int, str, str]:
    code = build_dataset.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_csv_labels_without_validation_hold_out_whole_videos(tmp_path, capsys):
    videos = [f"vid{v:02d}" for v in range(40)]
    rows = [(f"{v}_{s}.0000_{s + 1}.0000", _emotion(happiness=1.0)) for v in videos for s in range(2)]
    test_rows = [("testvid_0.0000_1.0000", _emotion(neutral=1.0))]
    write_mosei_csv(tmp_path / "train_full.csv", rows)
    write_mosei_csv(tmp_path / "test_full.csv", test_rows)
    write_embedding_table(tmp_path / "emb" / "train", [name for name, _ in rows])
    write_embedding_table(tmp_path / "emb" / "test", ["testvid_0.0100_1.0100"])  # within 0.1 s of the label
    (tmp_path / "emb" / "unfinished" / ".shards").mkdir(parents=True)  # an extraction still running
    code, out, err = _main(
        capsys, "--dataset", "cmu-mosei", "--embeddings", tmp_path / "emb", "--mosei_csv",
        f"train={tmp_path / 'train_full.csv'}", "--mosei_csv", f"test={tmp_path / 'test_full.csv'}",
        "--output_dir", tmp_path / "table",
    )
    assert code == 0, err
    assert "were held out as validation" in out
    assert "not a finished save_to_disk table were skipped: unfinished" in out
    table = load_training_table(tmp_path / "table", "emotions")
    train_videos = {vid.rsplit("_", 2)[0] for vid in table["train"]["video_id"]}
    validation_videos = {vid.rsplit("_", 2)[0] for vid in table["validation"]["video_id"]}
    assert validation_videos and not train_videos & validation_videos
    assert len(table["train"]) + len(table["validation"]) == 80
    assert len(table["validation"]) % 2 == 0  # both segments of a held-out video go together
    assert table["test"]["video_id"] == ["testvid_0.0000_1.0000"]
    # Deterministic: a second build holds out the same videos.
    assert _main(capsys, "--dataset", "cmu-mosei", "--embeddings", tmp_path / "emb", "--mosei_csv",
                 f"train={tmp_path / 'train_full.csv'}", "--output_dir", tmp_path / "again")[0] == 0
    again = datasets.load_from_disk(str(tmp_path / "again"))
    assert again["validation"]["video_id"] == table["validation"]["video_id"]
    assert "test" not in again


def test_a_single_table_folder_is_accepted_as_embeddings(mosei_inputs, capsys):
    code, _, err = _main(
        capsys, "--dataset", "cmu-mosei", "--embeddings", mosei_inputs / "emb" / "all",
        "--mosei_csd", mosei_inputs / "labels.csd", "--mosei_folds", mosei_inputs / "folds.py",
        "--output_dir", mosei_inputs / "table",
    )
    assert code == 0, err
    assert datasets.load_from_disk(str(mosei_inputs / "table"))["validation"]["video_id"] == ["81406_0"]


def test_an_existing_output_is_replaced_only_when_asked(mosei_inputs, capsys):
    args = ["--dataset", "cmu-mosei", "--embeddings", mosei_inputs / "emb", "--mosei_csd", mosei_inputs / "labels.csd",
            "--mosei_folds", mosei_inputs / "folds.py", "--output_dir", mosei_inputs / "table"]
    assert _main(capsys, *args)[0] == 0
    code, _, err = _main(capsys, *args)
    assert code == 2 and "is not empty; pass --overwrite_output_dir" in err
    assert _main(capsys, *args, "--overwrite_output_dir")[0] == 0
    assert not list(mosei_inputs.glob(".table.partial-*"))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--mosei_csd", "{root}/labels.csd"], "--mosei_csd needs --mosei_folds"),
        (["--mosei_csv", "validation={root}/x.csv"], "--mosei_csv needs a train file"),
        (["--mosei_csv", "train"], "--mosei_csv takes split=FILE"),
        (["--mosei_csv", "holdout={root}/x.csv"], "unknown split 'holdout'"),
        (["--mosei_csd", "{root}/labels.csd", "--mosei_folds", "{root}/folds.py", "--fiv2_annotations", "{root}"],
         "the --fiv2_\\* options belong to --dataset fiv2"),
        (["--mosei_csd", "{root}/labels.csd", "--mosei_folds", "{root}/folds.py", "--push_to_hub"],
         "--push_to_hub needs --hub_dataset_id"),
        (["--mosei_csd", "{root}/missing.csd", "--mosei_folds", "{root}/folds.py"], "no such CMU-MOSEI .csd file"),
        (["--mosei_csd", "{root}/folds.py", "--mosei_folds", "{root}/folds.py"], "not an HDF5 .csd file"),
        ([], "CMU-MOSEI needs labels"),
    ],
)
def test_bad_options_give_one_line_and_exit_code_2(mosei_inputs, capsys, extra, message):
    args = ["--dataset", "cmu-mosei", "--embeddings", mosei_inputs / "emb", "--output_dir", mosei_inputs / "table"]
    code, out, err = _main(capsys, *args, *[e.format(root=mosei_inputs) for e in extra])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("build_dataset.py: error: ")
    assert re.search(message, err), err
    assert not (mosei_inputs / "table").exists()


def test_embedding_tables_that_disagree_or_match_nothing(mosei_inputs, capsys):
    base = ["--dataset", "cmu-mosei", "--mosei_csd", mosei_inputs / "labels.csd", "--mosei_folds",
            mosei_inputs / "folds.py", "--output_dir", mosei_inputs / "table"]
    write_embedding_table(mosei_inputs / "emb" / "more", ["81406[0]"], dim=16)
    code, _, err = _main(capsys, *base, "--embeddings", mosei_inputs / "emb")
    assert code == 2 and "the embedding tables disagree on (T, D): all (4, 8), more (4, 16)" in err

    write_embedding_table(mosei_inputs / "nomatch" / "train", ["GdFP_p4eQX0_0.0000_4.5000", "unrelated_1"])
    code, _, err = _main(capsys, *base, "--embeddings", mosei_inputs / "nomatch")
    assert code == 2 and "no embedding matched any of the 1 validation labels" in err

    (mosei_inputs / "nothing").mkdir()
    code, _, err = _main(capsys, *base, "--embeddings", mosei_inputs / "nothing")
    assert code == 2 and "no embedding table found" in err

    inside = ["--embeddings", mosei_inputs / "emb" / "all", "--output_dir", mosei_inputs / "emb"]
    code, _, err = _main(capsys, *base, *inside)
    assert code == 2 and "overlaps the --embeddings folder" in err


def test_argparse_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as caught:
        build_dataset.main(["--dataset", "imdb", "--embeddings", "x", "--output_dir", "y"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "invalid choice: 'imdb'" in err


def test_push_to_hub_failure_keeps_the_local_table(mosei_inputs, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = _main(
        capsys, "--dataset", "cmu-mosei", "--embeddings", mosei_inputs / "emb",
        "--mosei_csd", mosei_inputs / "labels.csd", "--mosei_folds", mosei_inputs / "folds.py",
        "--output_dir", mosei_inputs / "table", "--push_to_hub", "--hub_dataset_id", "someone/mosei-table",
    )
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "the table was saved to" in err and "pushing it to someone/mosei-table failed" in err
    load_training_table(mosei_inputs / "table", "emotions")
