"""training/extract_embeddings.py over real video trees (CMU-MOSEI and FIV2 layouts) with a tiny EmoNeXt.

Real H.264 files from training/testing/videos.py, the real processor (Haar faces), real processes for the
kill-and-resume and `accelerate launch` runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import datasets
import numpy as np
import pytest
import torch

from modeling import EmoNeXtForImageClassification, EmoNeXtModel, FaceFusionModel, TraitTransformerModel
from modeling.processing_face_video import FaceVideoProcessor
from modeling.video_decoding import VIDEO_EXTENSIONS
from tests.hub_cache import plant_in_hf_cache
from tests.training.synthetic import kill_once_stored
from training.extract_embeddings import (
    ChunkEmbedding,
    ExtractionError,
    embed_crops,
    load_embedder,
    main,
    weights_fingerprint,
)
from training.shards import PUBLISHING_DIR, SHARDS_DIR, ShardStore
from training.tables import embedding_features
from training.testing import videos
from training.testing.tiny_configs import (
    EMBEDDING_DIM,
    IMAGE_SIZE,
    NUM_FRAMES,
    tiny_emonext_config,
    tiny_fusion_config,
    tiny_trait_config,
)
from training.video_datasets import (
    VideoCropDataset,
    VideoFile,
    VideoLayoutError,
    list_split_files,
    list_videos,
    share_of_process,
)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "training" / "extract_embeddings.py"
# Distinct face videos (each gives its own embeddings), then the files that must be skipped.
FACE_CLIPS = {
    "moving": videos.moving_face_video,
    "gap": videos.face_gap_video,  # no face in the middle third: the mask has zeros there
    "two_faces": videos.two_faces_video,
    "red": videos.red_background_face_video,
    "single_frame": videos.single_frame_video,
}
BAD_CLIPS = {
    "empty": (videos.empty_file, "VideoDecodeError", "the file is empty"),
    "text": (videos.text_file, "VideoDecodeError", "not a video file"),
    "truncated": (videos.truncated_video, "VideoDecodeError", "truncated"),
    "audio_only": (videos.audio_only_file, "VideoDecodeError", "no video stream"),
    "photo": (videos.still_image_file, "VideoDecodeError", "it is a still image (JPEG), not a video"),
    "broken_header": (videos.corrupted_header_video, "VideoDecodeError", "its header is damaged"),
    "faceless": (videos.faceless_video, "NoFaceFoundError", "no detectable face"),
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    made = {name: write(folder / f"{name}.mp4") for name, write in FACE_CLIPS.items()}
    made.update({name: write(folder / f"{name}.mp4") for name, (write, _, _) in BAD_CLIPS.items()})
    return made


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_emonext")
    torch.manual_seed(0)
    EmoNeXtModel(tiny_emonext_config()).save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny convolutions run fastest on one thread, and the suite shares two cores with other work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def place(clips: dict[str, Path], folder: Path, names: dict[str, str]) -> None:
    """Copies clips into a dataset folder: {video_id: clip name}."""
    folder.mkdir(parents=True, exist_ok=True)
    for video_id, clip in names.items():
        shutil.copyfile(clips[clip], folder / f"{video_id}.mp4")


def options(model: Path, base: Path, output: Path, *extra, dataset="cmu-mosei", split="train") -> list[str]:
    return [
        "--dataset", dataset, "--split", split, "--base_path", str(base), "--output_root", str(output),
        "--model", str(model), "--num_frames", str(NUM_FRAMES), "--face_detector", "haar", "--num_workers", "0",
        "--batch_size", "8", "--precision", "fp32", *map(str, extra),
    ]


def read_failures(split_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (split_dir / "failures.jsonl").read_text().splitlines()]


def expected_row(model: EmoNeXtModel, video: Path) -> tuple[np.ndarray, np.ndarray]:
    """What the table must hold for one video: the processor's crops through the model, one video at a time (fp32,
    as `options` pins the extraction's precision)."""
    features = FaceVideoProcessor(NUM_FRAMES, IMAGE_SIZE, "haar")(video)
    with torch.inference_mode():
        embeddings = model(features["pixel_values"]).pooler_output
    return embeddings.numpy(), features["attention_mask"].numpy()


def assert_same_table(first: datasets.Dataset, second: datasets.Dataset) -> None:
    """Bit-identical: with one --batch_size every forward pass has one shape, whatever the chunking."""
    assert first["video_id"] == second["video_id"]
    assert first["attention_mask"] == second["attention_mask"]
    embeddings = [table.with_format("numpy")["embeddings"][:] for table in (first, second)]
    np.testing.assert_array_equal(*embeddings)


# --------------------------------------------------------------------------------------------------- layouts


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_cmu_mosei_layout_reads_train_and_the_test_full_folders(tmp_path):
    for name in ("train/-3g5yACwYnA_0.mp4", "train/b_1.mp4", "train/notes.txt", "test_full/dev/c_2.MP4",
                 "test_full/test/d_3.mp4"):
        touch(tmp_path / name)
    assert [v.video_id for v in list_videos("cmu-mosei", tmp_path, "train")] == ["-3g5yACwYnA_0", "b_1"]
    assert [v.video_id for v in list_videos("cmu-mosei", tmp_path, "dev")] == ["c_2"]
    assert [v.path for v in list_videos("cmu-mosei", tmp_path, "test")] == [tmp_path / "test_full/test/d_3.mp4"]
    with pytest.raises(VideoLayoutError, match="no split 'val'"):
        list_videos("cmu-mosei", tmp_path, "val")


def test_fiv2_layout_reads_the_named_folders_and_keeps_the_folder(tmp_path):
    for name in ("train/training80_01/J4GQm9j0JZ0.003.mp4", "train/training80_01/AAAAAAAAAAA.001.mp4",
                 "train/training80_02/BBBBBBBBBBB.002.mp4"):
        touch(tmp_path / name)
    chosen = list_videos("fiv2", tmp_path, "train", ["training80_02"])
    assert [(v.video_id, v.folder) for v in chosen] == [("BBBBBBBBBBB.002", "training80_02")]
    assert [v.video_id for v in list_videos("fiv2", tmp_path, "train")] == [
        "AAAAAAAAAAA.001", "BBBBBBBBBBB.002", "J4GQm9j0JZ0.003"]
    with pytest.raises(VideoLayoutError, match="no sub-folder training80_09"):
        list_videos("fiv2", tmp_path, "train", ["training80_09"])
    touch(tmp_path / "train/training80_02/J4GQm9j0JZ0.003.mp4")
    with pytest.raises(VideoLayoutError, match="'J4GQm9j0JZ0.003' is both"):
        list_videos("fiv2", tmp_path, "train")


def test_each_process_takes_every_kth_video_and_together_they_take_all():
    items = [f"v{i:02d}" for i in range(11)]
    shares = [share_of_process(items, rank, 3) for rank in range(3)]
    assert shares[0] == ["v00", "v03", "v06", "v09"]
    assert sorted(sum(shares, [])) == items
    assert {len(share) for share in shares} == {3, 4}


# ------------------------------------------------------------------------------------------------ extraction


def test_cmu_mosei_extraction_writes_one_table_per_split(tmp_path, clips, tiny_model, capsys):
    base, out = tmp_path / "mosei", tmp_path / "emb"
    train = {"vidA_0": "moving", "vidB_0": "gap", "vidC_1": "two_faces", "vidD_2": "red"}
    place(clips, base / "train", train)
    place(clips, base / "test_full" / "dev", {"vidE_0": "single_frame"})

    # batches of 4 crops with 6 crops per video: batches straddle videos, which must not mix their rows
    train_options = options(tiny_model, base, out, "--chunk_size", 3)
    train_options[train_options.index("--batch_size") + 1] = "4"
    assert main(train_options) == 0
    printed = capsys.readouterr().out
    assert "4 embedded now" in printed and "Faces found with OpenCV's Haar cascade." in printed  # the detector's line
    assert main(options(tiny_model, base, out, split="dev")) == 0

    table = datasets.load_from_disk(str(out / "train"))
    assert table.features == embedding_features(NUM_FRAMES, EMBEDDING_DIM, "float16")
    assert table["video_id"] == sorted(train)
    model = EmoNeXtModel.from_pretrained(tiny_model).eval()
    for row in table.with_format("numpy"):
        embeddings, mask = expected_row(model, clips[train[row["video_id"]]])
        np.testing.assert_allclose(row["embeddings"].astype(np.float32), embeddings, rtol=1e-2, atol=2e-3)
        np.testing.assert_array_equal(row["attention_mask"], mask)
    gap_mask = table[table["video_id"].index("vidB_0")]["attention_mask"]
    assert 0 in gap_mask and 1 in gap_mask

    settings = json.loads((out / "train" / "extraction.json").read_text())
    assert settings["num_frames"] == NUM_FRAMES and settings["image_size"] == IMAGE_SIZE
    assert settings["face_detector"] == "haar" and settings["model"] == str(tiny_model)
    assert settings["weights_sha256"] == weights_fingerprint(model)
    assert json.loads(table.info.description)["face_fusion_extraction"]["dtype"] == "float16"
    assert not (out / "train" / SHARDS_DIR).exists()
    assert datasets.load_from_disk(str(out / "dev"))["video_id"] == ["vidE_0"]


# bf16 against fp32 embeddings of the tiny EmoNeXt on the face clips, measured (on an AVX-512 BF16 Xeon and with oneDNN
# and ATen held to AVX2 alike): at most 0.054 apart, cosine >= 0.9996. The bounds below are about 3x those.
BF16_MAX_ABS_DIFF, BF16_MIN_COSINE = 0.15, 0.998


def test_precision_is_a_setting_recorded_in_the_table(tmp_path, clips, tiny_model, monkeypatch, capsys):
    """bf16 forced (emulated where the CPU has no native bf16), by the flag and by the environment variable."""
    base = tmp_path / "mosei"
    train = {"vidA_0": "moving", "vidB_0": "gap"}
    place(clips, base / "train", train)
    forced = options(tiny_model, base, tmp_path / "bf16")
    forced[forced.index("--precision") + 1] = "bf16"
    assert main(forced) == 0
    assert "(bf16)" in capsys.readouterr().out  # the summary's speed line names it

    table = datasets.load_from_disk(str(tmp_path / "bf16" / "train"))
    model = EmoNeXtModel.from_pretrained(tiny_model).eval()
    extraction = json.loads((tmp_path / "bf16" / "train" / "extraction.json").read_text())
    described = json.loads(table.info.description)["face_fusion_extraction"]
    assert extraction["precision"] == described["precision"] == "bf16"
    assert extraction["weights_sha256"] == described["weights_sha256"] == weights_fingerprint(model)
    for row in table.with_format("numpy"):
        embeddings, _ = expected_row(model, clips[train[row["video_id"]]])  # fp32
        stored = torch.from_numpy(row["embeddings"].astype(np.float32))
        assert (stored - torch.from_numpy(embeddings)).abs().max() < BF16_MAX_ABS_DIFF
        cosine = torch.nn.functional.cosine_similarity(stored, torch.from_numpy(embeddings), dim=-1)
        assert cosine.min() > BF16_MIN_COSINE

    # No flag: the environment variable decides; resuming at another precision is refused like any other setting.
    unset = [arg for arg in options(tiny_model, base, tmp_path / "bf16") if arg not in ("--precision", "fp32")]
    monkeypatch.setenv("FACE_FUSION_PRECISION", "bf16")
    assert main(unset) == 0
    assert "0 embedded now, 2 done before" in capsys.readouterr().out
    monkeypatch.setenv("FACE_FUSION_PRECISION", "fp32")
    assert main(unset) == 2
    assert "precision=bf16, not fp32" in capsys.readouterr().err
    monkeypatch.setenv("FACE_FUSION_PRECISION", "half")
    assert main(unset) == 2
    error = capsys.readouterr().err
    assert "FACE_FUSION_PRECISION must be one of auto, fp32, bf16" in error and len(error.strip().splitlines()) == 1


def test_fiv2_folders_accumulate_and_pt_files_match_the_table(tmp_path, clips, tiny_model, capsys):
    base, out = tmp_path / "fiv2", tmp_path / "emb"
    place(clips, base / "train" / "training80_01", {"AAAAAAAAAAA.001": "moving", "AAAAAAAAAAA.002": "gap"})
    place(clips, base / "train" / "training80_02", {"BBBBBBBBBBB.001": "red"})
    common = ("--format", "pt", "--dtype", "float32")

    # one decode worker process: the DataLoader path the GPU runs use
    first = options(tiny_model, base, out, *common, "--folders", "training80_01", dataset="fiv2")
    first[first.index("--num_workers") + 1] = "1"
    assert main(first) == 0
    table = datasets.load_from_disk(str(out / "train"))
    assert table["video_id"] == ["AAAAAAAAAAA.001", "AAAAAAAAAAA.002"]
    pt_file = out / "train" / "training80_01" / "AAAAAAAAAAA.001.pt"
    saved = torch.load(pt_file, weights_only=True)
    assert saved["length"] == NUM_FRAMES and saved["emb"].dtype == torch.float32
    assert saved["emb"].shape == (NUM_FRAMES, EMBEDDING_DIM)
    np.testing.assert_array_equal(saved["emb"].numpy(), np.asarray(table[0]["embeddings"], np.float32))
    written_at = pt_file.stat().st_mtime_ns
    capsys.readouterr()

    # every folder now: only the new folder's video is extracted, the table grows
    assert main(options(tiny_model, base, out, *common, dataset="fiv2")) == 0
    assert "1 embedded now, 2 done before" in capsys.readouterr().out
    assert datasets.load_from_disk(str(out / "train"))["video_id"] == [
        "AAAAAAAAAAA.001", "AAAAAAAAAAA.002", "BBBBBBBBBBB.001"]
    assert pt_file.stat().st_mtime_ns == written_at
    assert (out / "train" / "training80_02" / "BBBBBBBBBBB.001.pt").is_file()


def remux(source: Path, path: Path) -> Path:
    """The same H.264 stream in another container (.mov, .mkv, .m4v), packets copied as they are."""
    with av.open(str(source)) as given, av.open(str(path), "w") as written:
        stream = written.add_stream_from_template(given.streams.video[0])
        for packet in given.demux(given.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                written.mux(packet)
    return path


def mpeg4_avi(path: Path) -> Path:
    """The moving-face frames as MPEG-4 Part 2 in AVI (H.264 with B-frames does not fit AVI)."""
    with av.open(str(path), "w") as written:
        stream = written.add_stream("mpeg4", rate=15)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for frame in videos.moving_face_frames():
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                written.mux(packet)
        for packet in stream.encode():
            written.mux(packet)
    return path


def webm(path: Path) -> Path:
    # Written in a fresh process: once decord has decoded a video in this one, its bundled libvpx shadows PyAV's and
    # the VP8 encoder refuses to open.
    code = "import sys; from training.testing.videos import webcam_recording; webcam_recording(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO, check=True, timeout=120)
    return path


def test_every_container_the_decoders_read_is_extracted_and_other_files_are_logged(
    tmp_path, clips, tiny_model, capsys
):
    base, out = tmp_path / "mosei", tmp_path / "emb"
    folder = base / "train"
    place(clips, folder, {"in_mp4": "moving"})
    remux(clips["moving"], folder / "in_mov.mov")
    remux(clips["moving"], folder / "in_mkv.MKV")
    remux(clips["moving"], folder / "in_m4v.m4v")
    mpeg4_avi(folder / "in_avi.avi")
    webm(folder / "in_webm.webm")
    (folder / "notes.txt").write_text("not a video")
    videos.still_image_file(folder / "cover.jpg")
    (folder / "README").write_text("about these videos")
    containers = ["in_avi", "in_m4v", "in_mkv", "in_mov", "in_mp4", "in_webm"]
    listing = list_split_files("cmu-mosei", base, "train")
    assert [video.video_id for video in listing.videos] == containers
    assert [item.path.name for item in listing.skipped] == ["README", "cover.jpg", "notes.txt"]

    assert main(options(tiny_model, base, out)) == 0
    printed = capsys.readouterr().out
    assert "cmu-mosei train: 9 files: 6 videos and 3 other file(s), skipped as not videos; 6 embedded now" in printed
    table = datasets.load_from_disk(str(out / "train")).with_format("numpy")
    assert list(table["video_id"]) == containers
    # the same H.264 stream in another container: the same embeddings; re-encoded (AVI, WebM): a face on each frame
    reference = table[containers.index("in_mp4")]["embeddings"]
    for row in table:
        if row["video_id"] in ("in_avi", "in_webm"):
            assert row["attention_mask"].all()
        else:
            np.testing.assert_array_equal(row["embeddings"], reference)

    failures = {record["video_id"]: record for record in read_failures(out / "train")}
    assert sorted(failures) == ["README", "cover.jpg", "notes.txt"]
    assert failures["notes.txt"] == {
        "video_id": "notes.txt", "path": str(folder / "notes.txt"), "error": "NotAVideoFile",
        "reason": f"notes.txt was skipped: not a video file (.txt is not one of {', '.join(VIDEO_EXTENSIONS)}).",
        "retry": False,
    }
    assert "a file without an extension" in failures["README"]["reason"]

    assert main(options(tiny_model, base, out)) == 0  # a rerun logs them once, not again
    assert "0 embedded now, 6 done before, 0 skipped now" in capsys.readouterr().out
    assert len(read_failures(out / "train")) == 3


def test_bad_files_are_logged_with_their_reason_and_skipped(tmp_path, clips, tiny_model, capsys):
    base, out = tmp_path / "mosei", tmp_path / "emb"
    place(clips, base / "train", {"good": "moving", **{name: name for name in BAD_CLIPS}})
    assert main(options(tiny_model, base, out, "--chunk_size", 2)) == 0
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err and f"{len(BAD_CLIPS)} skipped now" in printed.out

    assert datasets.load_from_disk(str(out / "train"))["video_id"] == ["good"]
    failures = {record["video_id"]: record for record in read_failures(out / "train")}
    assert sorted(failures) == sorted(BAD_CLIPS)
    for name, (_, error, reason) in BAD_CLIPS.items():
        assert failures[name]["error"] == error
        assert reason in failures[name]["reason"] and f"{name}.mp4" in failures[name]["reason"]
        assert failures[name]["path"] == str(base / "train" / f"{name}.mp4") and not failures[name]["retry"]

    # a rerun does not try them again
    assert main(options(tiny_model, base, out)) == 0
    assert f"0 embedded now, {len(BAD_CLIPS) + 1} done before, 0 skipped now" in capsys.readouterr().out


def test_a_video_counts_as_done_once_embedded_in_the_batches_of_its_whole_chunk(clips, tiny_model):
    """The progress bar counts a video when its crops are embedded, not when they are decoded: a chunk embeds each
    batch as soon as it is full, in the batches one call on the whole chunk makes, so the embeddings do not change."""
    names = ["moving", "text", "gap", "red"]  # a file that is not a video among them: done as soon as it comes
    processor = FaceVideoProcessor(num_frames=NUM_FRAMES, image_size=IMAGE_SIZE, face_detector="haar")
    dataset = VideoCropDataset([VideoFile(name, clips[name]) for name in names], processor)
    items = [dataset[index] for index in range(len(names))]
    assert [item.ok for item in items] == [True, False, True, True]
    model = EmoNeXtModel.from_pretrained(tiny_model).eval()
    batch_size = 2 * NUM_FRAMES - 1  # a crop short of two videos' crops
    chunk = ChunkEmbedding(model, processor, batch_size, torch.device("cpu"), "fp32")

    # The first video: no full batch yet. The bad file: nothing to embed, but it waits behind that video. The second
    # video fills a batch, which holds the first video's crops (done, and the bad file with it) but not all of its
    # own. The third: no full batch. The rest is the padded last batch, which ends both.
    assert [chunk.add(item.rows()) for item in items] == [0, 0, 2, 0]
    rows, failures, finished = chunk.finish()
    assert finished == 2
    assert [failure["video_id"] for failure in failures] == ["text"]

    whole = embed_crops(model, processor, torch.cat([item.crops for item in items if item.ok]), batch_size,
                        torch.device("cpu"))
    assert [video.video_id for video, _, _ in rows] == ["moving", "gap", "red"]
    torch.testing.assert_close(torch.cat([embeddings for _, embeddings, _ in rows]), whole, rtol=0, atol=0)


def test_a_killed_run_resumes_to_the_table_of_an_uninterrupted_one(tmp_path, clips, tiny_model, capsys):
    base = tmp_path / "mosei"
    names = {f"clip{i}": clip for i, clip in enumerate([*FACE_CLIPS, "moving", "gap"])}
    place(clips, base / "train", {**names, "broken": "truncated"})

    reference = tmp_path / "reference"
    assert main(options(tiny_model, base, reference, "--chunk_size", 3)) == 0

    # The killed run loads the model by Hub id (from a local Hub cache); the resumed one from the folder: the same
    # weights, so the resume is accepted.
    killed = tmp_path / "killed"
    shards = killed / "train" / SHARDS_DIR
    plant_in_hf_cache(tiny_model, "face-fusion-tests/tiny-emonext", tmp_path / "hub")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")}
    command = [sys.executable, str(SCRIPT), *options("face-fusion-tests/tiny-emonext", base, killed, "--chunk_size", 1)]
    kill_once_stored(command, env, shards)
    assert any(shards.glob("chunk-*")) and not (killed / "train" / "state.json").exists()
    assert len(list(shards.glob("chunk-*"))) < len(names) + 1  # killed part-way, not after the last shard
    # what a kill during a shard write leaves behind: a temporary folder, which must not count as done
    (shards / ".tmp-chunk-0123-999" / "table").mkdir(parents=True)
    capsys.readouterr()

    assert main(options(tiny_model, base, killed, "--chunk_size", 2)) == 0
    assert " 0 done before" not in capsys.readouterr().out
    assert_same_table(datasets.load_from_disk(str(killed / "train")), datasets.load_from_disk(str(reference / "train")))
    assert read_failures(killed / "train") == read_failures(reference / "train")
    assert not shards.exists()


def small_table(ids: list[str]) -> datasets.Dataset:
    """An embedding table with T = 2, D = 3 (no model needed)."""
    return datasets.Dataset.from_dict(
        {"video_id": ids, "embeddings": [np.full((2, 3), i, np.float32) for i in range(len(ids))],
         "attention_mask": [[1, 0]] * len(ids)},
        features=embedding_features(2, 3, "float32"),
    )


def failure(video_id: str, retry: bool = False) -> dict:
    return {"video_id": video_id, "path": f"{video_id}.mp4", "error": "E", "reason": "r", "retry": retry}


def test_a_publish_cut_short_is_completed_on_the_next_start(tmp_path):
    store = ShardStore(tmp_path / "train")
    store.record_settings({"num_frames": 2})
    store.write_chunk(small_table(["b", "a"]), [failure("x")])
    store.write_chunk(small_table(["c"]), [])
    table, failures = store.merge()
    assert table["video_id"] == ["a", "b", "c"] and [f["video_id"] for f in failures] == ["x"]

    # the state of a kill during publish: the merged table complete in publishing/, one file already moved
    publishing = store.root / PUBLISHING_DIR
    table.save_to_disk(str(publishing))
    (publishing / "extraction.json").write_text(json.dumps({"num_frames": 2, "rows": 3, "failures": 1}))
    (publishing / "failures.jsonl").write_text("")
    os.replace(publishing / "dataset_info.json", store.split_dir / "dataset_info.json")
    assert not store.has_published_table()

    ShardStore(store.split_dir).recover()
    assert datasets.load_from_disk(str(store.split_dir))["video_id"] == ["a", "b", "c"]
    assert not store.root.exists()
    done, failed = ShardStore(store.split_dir).finished()
    assert done == {"a", "b", "c"}


def test_unexpected_errors_are_retried_and_a_final_verdict_is_kept(tmp_path):
    store = ShardStore(tmp_path / "train")
    store.write_chunk(small_table([]), [failure("flaky", retry=True), failure("bad", retry=True)])
    assert store.finished() == (set(), set())  # neither counts as done: a rerun tries both again
    store.write_chunk(small_table(["flaky"]), [failure("bad")])
    assert store.finished() == ({"flaky"}, {"bad"})
    table, failures = store.merge()
    assert table["video_id"] == ["flaky"]
    assert failures == [failure("bad")]


def test_resuming_with_other_settings_is_refused(tmp_path, clips, tiny_model, capsys):
    base, out = tmp_path / "mosei", tmp_path / "emb"
    place(clips, base / "train", {"one": "moving"})
    assert main(options(tiny_model, base, out)) == 0
    capsys.readouterr()

    other_frames = options(tiny_model, base, out)
    other_frames[other_frames.index("--num_frames") + 1] = "4"
    assert main(other_frames) == 2
    error = capsys.readouterr().err
    assert "was extracted with num_frames=6, not 4" in error and len(error.strip().splitlines()) == 1

    other_model = tmp_path / "other_model"
    torch.manual_seed(1)
    EmoNeXtModel(tiny_emonext_config()).save_pretrained(other_model)
    assert main(options(other_model, base, out)) == 2
    assert "weights_sha256=" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ the model


def test_the_embedder_comes_from_an_emonext_a_classifier_or_a_face_fusion(tmp_path):
    torch.manual_seed(0)
    classifier = EmoNeXtForImageClassification(tiny_emonext_config())
    classifier.save_pretrained(tmp_path / "classifier")
    fusion = FaceFusionModel(tiny_fusion_config())
    fusion.save_pretrained(tmp_path / "fusion")

    assert weights_fingerprint(load_embedder(str(tmp_path / "classifier"))) == weights_fingerprint(classifier.emonext)
    embedder = load_embedder(str(tmp_path / "fusion"))
    assert isinstance(embedder, EmoNeXtModel) and not embedder.training
    assert weights_fingerprint(embedder) == weights_fingerprint(fusion.embedder)

    tiny_emonext_config().save_pretrained(tmp_path / "config_only")
    with pytest.warns(UserWarning, match="untrained"):
        built = load_embedder(model_config=str(tmp_path / "config_only" / "config.json"), seed=3)
    with pytest.warns(UserWarning):
        again = load_embedder(model_config=str(tmp_path / "config_only"), seed=3)  # the folder, not the file
    assert weights_fingerprint(built) == weights_fingerprint(again)

    # offline, timm's ImageNet weights cannot come: one sentence that says where they must be
    with pytest.raises(ExtractionError, match="ImageNet weights of the backbone must be downloadable or in the"):
        load_embedder(model_config=str(tmp_path / "config_only"), pretrained_backbone=True)

    TraitTransformerModel(tiny_trait_config()).save_pretrained(tmp_path / "traits")
    with pytest.raises(ExtractionError, match="is a trait-transformer model, not an EmoNeXt"):
        load_embedder(str(tmp_path / "traits"))


# ------------------------------------------------------------------------------------------ the command line


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--base_path": "missing"}, "--base_path .*missing is not a folder"),
        ({"--dataset": "fiv2", "--split": "dev"}, "fiv2 has no split 'dev'"),
        ({"--split": "test"}, r"test_full/test does not exist"),
        ({"--model": "no/such-model-here"}, "no model config could be read from no/such-model-here"),
    ],
)
def test_bad_arguments_stop_with_one_sentence(tmp_path, tiny_model, capsys, change, message):
    base = tmp_path / "mosei"
    touch(base / "train" / "a.mp4")
    argv = options(tiny_model, base, tmp_path / "emb")
    for key, value in change.items():
        argv[argv.index(key) + 1] = str(tmp_path / value) if key == "--base_path" else value
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    error = capsys.readouterr().err
    assert code == 2
    assert len(error.strip().splitlines()) == 1 and "Traceback" not in error
    assert __import__("re").search(message, error), error


def test_a_split_without_videos_is_refused(tmp_path, tiny_model, capsys):
    (tmp_path / "mosei" / "train").mkdir(parents=True)
    assert main(options(tiny_model, tmp_path / "mosei", tmp_path / "emb")) == 2
    assert f"no video file ({', '.join(VIDEO_EXTENSIONS)}) found in" in capsys.readouterr().err


def test_help_names_the_original_arguments(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--dataset", "--split", "--base_path", "--output_root", "--folders", "--model", "--face_detector",
                   "--format", "--num_workers", "--batch_size", "--chunk_size"):
        assert option in text


def test_accelerate_launch_torchrun_and_the_processes_option_give_the_table_of_a_plain_run(tmp_path, clips, tiny_model):
    base = tmp_path / "mosei"
    place(clips, base / "train", {"one": "moving", "two": "red", "three": "gap", "four": "text"})
    assert main(options(tiny_model, base, tmp_path / "plain", "--chunk_size", 1)) == 0
    plain = datasets.load_from_disk(str(tmp_path / "plain" / "train"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}

    launched = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "1", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", str(SCRIPT),
         *options(tiny_model, base, tmp_path / "launched")],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert launched.returncode == 0, launched.stderr[-2000:]
    assert "3 embedded now" in launched.stdout
    assert_same_table(datasets.load_from_disk(str(tmp_path / "launched" / "train")), plain)

    # Two CPU processes (accelerate launch --cpu starts one; torchrun is what --multi_gpu runs on GPUs): each
    # extracts every other video into its own shards, and the main process merges them.
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(SCRIPT),
         *options(tiny_model, base, tmp_path / "two", "--chunk_size", 1, "--cpu")],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert two.returncode == 0, two.stderr[-2000:]
    assert "3 embedded now, 0 done before, 1 skipped now" in two.stdout  # the counts of both processes
    assert "4/4 [" in two.stderr and "/2 [" not in two.stderr  # the main process's bar counts both processes' videos
    assert_same_table(datasets.load_from_disk(str(tmp_path / "two" / "train")), plain)
    assert read_failures(tmp_path / "two" / "train") == read_failures(tmp_path / "plain" / "train")

    # The same two processes as one command: --processes 2, with one bar over all four videos and the summary once.
    option = subprocess.run(
        [sys.executable, str(SCRIPT), *options(tiny_model, base, tmp_path / "option", "--chunk_size", 1),
         "--processes", "2"],
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}, capture_output=True,
        text=True, timeout=300, cwd=tmp_path,
    )
    assert option.returncode == 0, option.stderr[-2000:]
    assert option.stdout.count("3 embedded now, 0 done before, 1 skipped now") == 1
    assert "4/4 [" in option.stderr and "/2 [" not in option.stderr  # the launcher's bar, not a process's share
    assert_same_table(datasets.load_from_disk(str(tmp_path / "option" / "train")), plain)
    assert read_failures(tmp_path / "option" / "train") == read_failures(tmp_path / "plain" / "train")


def test_people_all_gives_each_person_a_row_keyed_video_hash_person(tmp_path, clips, tiny_model, capsys):
    from training.testing.photo_faces import two_people_video

    base, out = tmp_path / "mosei", tmp_path / "emb"
    place(clips, base / "train", {"vidA_0": "moving"})
    people_clip = two_people_video(base / "train" / "vidP_0.mp4")

    assert main(options(tiny_model, base, out, "--people", "all", "--chunk_size", 1)) == 0
    assert "3 embedded now" in capsys.readouterr().out  # rows: one person in vidA_0, two in vidP_0

    processor = FaceVideoProcessor(NUM_FRAMES, IMAGE_SIZE, "haar")
    people = processor.extract_faces(str(people_clip), people="all")["people"]
    main_person = processor.extract_faces(str(clips["moving"]), people="all")["people"][0]
    expected = {f"vidA_0#{main_person['person_id']}": main_person}
    expected.update({f"vidP_0#{person['person_id']}": person for person in people})
    assert len(people) == 2

    table = datasets.load_from_disk(str(out / "train"))
    assert table["video_id"] == sorted(expected)
    model = EmoNeXtModel.from_pretrained(tiny_model).eval()
    for row in table.with_format("numpy"):
        person = expected[row["video_id"]]
        with torch.inference_mode():
            embeddings = model(processor.normalize(person["crops"])).pooler_output.numpy()
        np.testing.assert_allclose(row["embeddings"].astype(np.float32), embeddings, rtol=1e-2, atol=2e-3)
        np.testing.assert_array_equal(row["attention_mask"], person["face_found"].astype(np.int8))
    assert json.loads((out / "train" / "extraction.json").read_text())["people"] == "all"

    assert main(options(tiny_model, base, out, "--people", "all")) == 0  # a rerun finds both videos done
    assert "0 embedded now" in capsys.readouterr().out
    assert datasets.load_from_disk(str(out / "train"))["video_id"] == table["video_id"]
    assert main(options(tiny_model, base, out)) == 2, "one row per video cannot resume a table of people"
    assert "people" in capsys.readouterr().err
