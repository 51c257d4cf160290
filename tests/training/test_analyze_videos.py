"""training/analyze_videos.py over real H.264 clips with a tiny FaceFusion: inputs, formats, bad files, resuming after
a kill, and two processes."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from modeling import FaceFusionModel
from tests.hub.conftest import assert_one_sentence, ensure_task_registered, tiny_processor
from tests.training.synthetic import kill_once_stored
from training.analyze_videos import main
from training.testing import videos
from training.testing.tiny_configs import NUM_FRAMES, tiny_fusion_config

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "training" / "analyze_videos.py"
EMOTIONS = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]
TRAITS = ["openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"]
COLUMNS = ["video", "person", *(f"emotion_{e}" for e in EMOTIONS), *(f"trait_{t}" for t in TRAITS), "detector",
           "precision", "frames_with_face", "frames_sampled", "error"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fusion")
    torch.manual_seed(0)
    FaceFusionModel(tiny_fusion_config()).eval().save_pretrained(folder)
    tiny_processor().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def clip_tree(tmp_path_factory) -> Path:
    """clips/{moving,gap}.mp4, clips/more/red.mp4 (found recursively), clips/notes.txt (not a video: ignored)."""
    root = tmp_path_factory.mktemp("clips")
    videos.moving_face_video(root / "moving.mp4")
    videos.face_gap_video(root / "gap.mp4")
    (root / "more").mkdir()
    videos.red_background_face_video(root / "more" / "red.mp4")
    (root / "notes.txt").write_text("not a video")
    return root


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run(*args) -> int:
    return main([*map(str, args), "--precision", "fp32", "--quiet"])


def read(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if path.suffix == ".csv":
        with path.open(newline="") as file:
            return list(csv.DictReader(file))
    return pq.read_table(path).to_pylist()


def by_video(rows: list[dict]) -> dict[str, dict]:
    return {Path(row["video"]).name: row for row in rows}


def test_folders_and_globs_give_one_row_per_video_in_every_format(tmp_path, model_dir, clip_tree, capsys):
    from transformers import pipeline

    outputs = {fmt: tmp_path / f"results.{fmt}" for fmt in ("jsonl", "csv", "parquet")}
    for output in outputs.values():
        # the folder (recursive: more/red.mp4) and a glob naming a video again: each video once
        assert run(clip_tree, str(clip_tree / "*.mp4"), "--output", output, "--model", model_dir) == 0
    assert "3 videos: 3 analysed now (0 failed" in capsys.readouterr().out

    ensure_task_registered()
    pipe = pipeline("face-video-analysis", model=str(model_dir), device="cpu", precision="fp32")
    expected = {name: pipe(str(path)) for name, path in
                [("moving.mp4", clip_tree / "moving.mp4"), ("gap.mp4", clip_tree / "gap.mp4"),
                 ("red.mp4", clip_tree / "more" / "red.mp4")]}
    for fmt, output in outputs.items():
        rows = read(output)
        assert list(rows[0]) == COLUMNS, fmt
        assert [row["video"] for row in rows] == sorted(row["video"] for row in rows)
        for name, row in by_video(rows).items():
            result = expected[name]
            scores = {item["label"]: item["score"] for item in result["emotions"]}
            for label in EMOTIONS:
                assert float(row[f"emotion_{label}"]) == pytest.approx(scores[label], abs=1e-6), (fmt, name)
            for trait in TRAITS:
                assert float(row[f"trait_{trait}"]) == pytest.approx(result["traits"][trait], abs=1e-6)
            assert int(row["frames_with_face"]) == result["video"]["faces_found"]
            assert int(row["frames_sampled"]) == NUM_FRAMES
            assert (row["detector"], row["precision"], row["error"]) == ("haar", "fp32", "")
        assert sorted(by_video(rows)) == sorted(expected)
    gap = by_video(read(outputs["jsonl"]))["gap.mp4"]
    assert 0 < gap["frames_with_face"] < NUM_FRAMES  # the gap clip's middle has no face


def test_a_bad_file_gets_its_error_row_and_the_run_goes_on(tmp_path, model_dir, clip_tree):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copyfile(clip_tree / "moving.mp4", folder / "a_good.mp4")
    videos.text_file(folder / "b_text.mp4")
    videos.truncated_video(folder / "c_truncated.mp4")
    videos.faceless_video(folder / "d_cat.mp4")
    output = tmp_path / "results.csv"

    assert run(folder, "--output", output, "--model", model_dir, "--batch_size", 2) == 0

    rows = by_video(read(output))
    assert rows["a_good.mp4"]["error"] == "" and float(rows["a_good.mp4"]["emotion_happiness"]) > 0
    for name, words in [("b_text.mp4", "not a video file"), ("c_truncated.mp4", "truncated"),
                        ("d_cat.mp4", "no detectable face")]:
        assert_one_sentence(rows[name]["error"], name)
        assert words in rows[name]["error"]
        assert rows[name]["emotion_happiness"] == "" and rows[name]["frames_with_face"] == ""


def test_a_rerun_skips_what_is_done_and_a_killed_run_resumes(tmp_path, model_dir, clip_tree, capsys):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(8):
        shutil.copyfile(clip_tree / ("moving.mp4" if i % 2 else "gap.mp4"), folder / f"clip{i}.mp4")
    reference = tmp_path / "reference.jsonl"
    assert run(folder, "--output", reference, "--model", model_dir) == 0

    # Killed after its first stored rows: they count as done, a half-written file does not.
    output = tmp_path / "results.jsonl"
    parts = tmp_path / ".results.jsonl.parts"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, str(SCRIPT), str(folder), "--output", str(output), "--model", str(model_dir),
               "--chunk_size", "1", "--precision", "fp32", "--quiet"]
    kill_once_stored(command, env, parts)
    assert not output.exists()
    stored = len(list(parts.glob("chunk-*")))
    assert 1 <= stored < 8
    (parts / ".tmp-chunk-0123.jsonl-999").write_text('{"video": "half')  # a write cut short by the kill
    capsys.readouterr()

    assert run(folder, "--output", output, "--model", model_dir) == 0
    summary = f"{8 - stored} analysed now (0 failed, see the error column), {stored} done before"
    assert summary in capsys.readouterr().out
    assert read(output) == read(reference)
    assert not parts.exists()

    # A rerun with one new video analyses that one only and keeps the rest.
    shutil.copyfile(clip_tree / "moving.mp4", folder / "clip8.mp4")
    assert run(folder, "--output", output, "--model", model_dir) == 0
    assert "9 videos: 1 analysed now (0 failed, see the error column), 8 done before" in capsys.readouterr().out

    one = tmp_path / "one.jsonl"
    assert run(folder / "clip8.mp4", "--output", one, "--model", model_dir) == 0
    assert f"1 video: 1 analysed now (0 failed, see the error column), 0 done before; {one} holds 1 row." in (
        capsys.readouterr().out
    )
    assert read(output)[:8] == read(reference) and len(read(output)) == 9


def test_two_processes_give_the_rows_of_one(tmp_path, model_dir, clip_tree):
    plain = tmp_path / "plain.parquet"
    assert run(clip_tree, "--output", plain, "--model", model_dir) == 0
    two = tmp_path / "two.parquet"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(SCRIPT), str(clip_tree),
         "--output", str(two), "--model", str(model_dir), "--precision", "fp32", "--cpu"],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "3 videos: 3 analysed now" in done.stdout  # the counts of both processes, printed once
    assert "3/3 [" in done.stderr and "/2 [" not in done.stderr  # the main process's bar counts both processes' videos
    assert done.stdout.count("analysed now") == 1
    assert read(two) == read(plain)


def test_processes_option_splits_the_videos_and_gives_the_rows_of_one(tmp_path, model_dir, clip_tree):
    plain = tmp_path / "plain.jsonl"
    assert run(clip_tree, "--output", plain, "--model", model_dir) == 0
    two = tmp_path / "two.jsonl"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(clip_tree), "--output", str(two), "--model", str(model_dir),
         "--precision", "fp32", "--quiet", "--processes", "2"],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("3 videos: 3 analysed now") == 1  # both processes' counts, printed by the main one
    assert read(two) == read(plain)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_processes_beyond_the_cores_run_one_per_core_and_say_so(tmp_path, model_dir, clip_tree):
    """On one core, --processes 3 runs one process: more would only share the core, each with its own model."""
    plain = tmp_path / "plain.jsonl"
    assert run(clip_tree, "--output", plain, "--model", model_dir) == 0
    output = tmp_path / "capped.jsonl"
    one_core = min(os.sched_getaffinity(0))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(clip_tree), "--output", str(output), "--model", str(model_dir),
         "--precision", "fp32", "--quiet", "--processes", "3"],
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=300, cwd=tmp_path, preexec_fn=lambda: os.sched_setaffinity(0, {one_core}),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("--processes 3 is more than the cores this machine lets it use (1): running 1") == 1
    assert done.stdout.count("3 videos: 3 analysed now") == 1
    assert read(output) == read(plain)


def test_processes_option_shows_one_bar_for_every_video_and_ctrl_c_says_so_once(tmp_path, model_dir, clip_tree):
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(40):  # enough that the run is still going when Ctrl-C comes
        shutil.copyfile(clip_tree / "moving.mp4", folder / f"clip{index:02d}.mp4")
    output = tmp_path / "rows.jsonl"
    command = [sys.executable, str(SCRIPT), str(folder), "--output", str(output), "--model", str(model_dir),
               "--precision", "fp32", "--processes", "2", "--chunk_size", "1"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    # Its own session, as a terminal's: Ctrl-C reaches the launcher and both processes.
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    stderr = b""
    while not re.search(rb"\| +[1-9]\d*/40 ", stderr):  # a first video done: the bar counts all 40, not a share
        chunk = os.read(run.stderr.fileno(), 65536)
        assert chunk, f"the run ended before any progress: {stderr.decode()[-2000:]}"
        stderr += chunk
    os.killpg(run.pid, signal.SIGINT)
    _, rest = run.communicate(timeout=120)
    stderr = (stderr + rest).decode()
    assert run.returncode == 130, stderr[-2000:]
    assert stderr.count("analyze_videos.py: interrupted; run the same command again to resume.") == 1, stderr
    assert "share" not in stderr  # one bar, the launcher's: no process shows a bar of its own

    done = subprocess.run([*command, "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    analysed_now = int(re.search(r"40 videos: (\d+) analysed now", done.stdout).group(1))
    assert 0 < analysed_now < 40 and f"{40 - analysed_now} done before" in done.stdout
    assert sorted(Path(row["video"]).name for row in read(output)) == sorted(path.name for path in folder.iterdir())


def test_processes_option_stops_every_process_with_one_sentence(tmp_path, clip_tree):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, str(SCRIPT), str(clip_tree), "--precision", "fp32", "--quiet", "--processes", "2"]
    # Checked before any process starts ...
    done = subprocess.run([*command, "--output", str(tmp_path / "no" / "r.jsonl"), "--model", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert_one_sentence(done.stderr.strip(), "analyze_videos.py: error:", "does not exist")
    # ... and found by the processes themselves: each fails, the user reads it once.
    done = subprocess.run([*command, "--output", str(tmp_path / "r.jsonl"), "--model", str(tmp_path / "nothing")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.count("analyze_videos.py: error:") == 1, done.stderr
    assert not (tmp_path / "r.jsonl").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing_folder"], "does not exist"),
        (["*.nothing"], "matches no video file"),
        (["{clips}", "--output", "{tmp}/results.txt"], "must end in .jsonl, .csv, .parquet"),
        (["{clips}", "--num_frames", "99"], "num_frames"),
    ],
)
def test_bad_arguments_stop_with_one_sentence(tmp_path, model_dir, clip_tree, capsys, args, message):
    args = [a.format(clips=clip_tree, tmp=tmp_path) for a in args]
    if "--output" not in args:
        args += ["--output", str(tmp_path / "results.jsonl")]
    assert run(*args, "--model", model_dir) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("analyze_videos.py: error: ") and message in error
    assert_one_sentence(error)


def test_annotate_writes_each_videos_clip_and_the_detector_is_logged(tmp_path, model_dir, capsys):
    import av

    from training.testing.photo_faces import two_people_video

    folder = tmp_path / "people"
    folder.mkdir()
    two_people_video(folder / "two_people.mp4")
    videos.text_file(folder / "notes.mp4")
    annotated = tmp_path / "annotated" / "clips"  # created by the run

    assert run(folder, "--output", tmp_path / "rows.jsonl", "--model", model_dir, "--people", "all",
               "--annotate", annotated) == 0

    out = capsys.readouterr().out
    assert "Faces found with OpenCV's Haar cascade" in out, out
    assert sorted(path.name for path in annotated.iterdir()) == ["two_people.annotated.mp4"], "none for a bad file"
    with av.open(str(annotated / "two_people.annotated.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (320, 240)
        assert sum(1 for _ in container.decode(stream)) >= NUM_FRAMES
    rows = read(tmp_path / "rows.jsonl")
    assert "not a video file" in by_video(rows)["notes.mp4"]["error"]
    # --people all: one row per person, most prominent first, each with its own id, scores and frames
    people = [row for row in rows if Path(row["video"]).name == "two_people.mp4"]
    assert len(people) == 2 and all(row["error"] == "" for row in people)
    assert len({row["person"] for row in people}) == 2 and None not in {row["person"] for row in people}
    assert all(0 < row["frames_with_face"] <= row["frames_sampled"] == NUM_FRAMES for row in people)
    assert people[0]["frames_with_face"] >= people[1]["frames_with_face"]
    assert abs(sum(people[0][f"emotion_{e}"] for e in EMOTIONS) - 1) < 1e-4
    assert [people[0][f"trait_{t}"] for t in TRAITS] != [people[1][f"trait_{t}"] for t in TRAITS]
