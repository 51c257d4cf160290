"""The face-video-analysis pipeline on real H.264 videos with a tiny FaceFusion: output contract, agreement with the
model, timeline, options, batching, URLs and bad input."""

from __future__ import annotations

import functools
import json
import socket
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from PIL import Image
from transformers.pipelines import PIPELINE_REGISTRY

from modeling import FaceFusionModel
from modeling.inference_batching import CPU_EMBED_BATCH_SIZE
from modeling.inference_precision import PRECISION_ENV, precision_autocast
from modeling.pipeline_face_video import (
    PROGRESS_STAGES,
    TASK,
    FaceVideoAnalysisPipeline,
    VideoDownloadError,
    download_video,
)
from modeling.processing_face_video import FaceVideoProcessor, NoFaceFoundError, VideoDecodeError
from modeling.weights_fingerprint import weights_fingerprint
from tests.hub.conftest import assert_one_sentence, tiny_processor
from training.testing.tiny_configs import IMAGE_SIZE, NUM_FRAMES, tiny_fusion_config

# Read at collection, before any fixture could register the task itself: did `import modeling` do it?
REGISTERED_BY_IMPORT = TASK in PIPELINE_REGISTRY.supported_tasks

EMOTIONS = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]
TRAITS = ["openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"]


def model_on_processor_output(pipe, video) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The reference: the processor's tensors straight into the model, the embedder at the pipeline's precision (the
    same on both sides, on every machine). Returns (probs, traits, embeddings, mask)."""
    features = pipe.processor(str(video), return_tensors="pt")
    pixel_values, mask = features["pixel_values"][None], features["attention_mask"][None]
    with torch.no_grad():
        with precision_autocast(pipe.precision, pipe.device):
            embeddings = pipe.model.embed_frames(pixel_values).float()
        output = pipe.model(frame_embeddings=embeddings, attention_mask=mask)
    return output.emotion_probs[0], output.trait_logits[0], embeddings, mask


@pytest.fixture(scope="module")
def clip_server(videos):
    """The fixture videos over HTTP on 127.0.0.1."""
    handler = functools.partial(QuietHandler, directory=str(videos["moving"].parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_import_modeling_registers_the_task():
    assert REGISTERED_BY_IMPORT, "modeling/__init__.py must register the face-video-analysis pipeline task"
    assert PIPELINE_REGISTRY.supported_tasks[TASK]["impl"] is FaceVideoAnalysisPipeline


def test_result_follows_the_output_contract(analyze, videos):
    result = analyze(str(videos["moving"]))

    assert list(result) == ["emotions", "traits", "frames", "video", "detector", "precision", "model"]
    assert result["detector"] == "haar"  # the tiny processor's setting
    assert json.loads(json.dumps(result)) == result  # plain JSON data only
    assert sorted(item["label"] for item in result["emotions"]) == sorted(EMOTIONS)
    scores = [item["score"] for item in result["emotions"]]
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)
    assert list(result["traits"]) == TRAITS
    assert all(0.0 <= value <= 1.0 for value in result["traits"].values())

    frames = result["frames"]
    assert len(frames) == NUM_FRAMES
    assert [f["index"] for f in frames] == sorted(f["index"] for f in frames) and frames[-1]["index"] == 29
    assert all(f["face_found"] for f in frames)
    for frame in frames:
        x1, y1, x2, y2 = frame["box"]
        assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 240
    # The head moves left to right in the clip: so must the boxes.
    assert frames[-1]["box"][0] > frames[0]["box"][0] + 50
    assert result["video"] == {
        "duration": pytest.approx(2.0, abs=0.1),
        "fps": pytest.approx(15.0),
        "width": 320,
        "height": 240,
        "num_frames_sampled": NUM_FRAMES,
        "faces_found": NUM_FRAMES,
        "frames_repeated": 0,
        "frames_missing": 0,
    }
    assert result["precision"] == "fp32"  # the fixture's setting
    assert result["model"] == {
        "name_or_path": analyze.model.name_or_path,
        "revision": None,
        "embedder_weights_sha256": weights_fingerprint(analyze.model.embedder),
    }


def test_result_agrees_with_the_model_on_the_processor_output(analyze, videos):
    result = analyze(str(videos["moving"]))
    probs, traits, _, _ = model_on_processor_output(analyze, videos["moving"])

    by_label = {item["label"]: item["score"] for item in result["emotions"]}
    torch.testing.assert_close(torch.tensor([by_label[label] for label in EMOTIONS]), probs, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.tensor(list(result["traits"].values())), traits.clamp(0, 1), atol=1e-5, rtol=0)


def test_timeline_runs_the_fusion_per_window_on_embeddings_computed_once(analyze, videos):
    embedded = []
    hook = analyze.model.embedder.register_forward_hook(lambda module, args, output: embedded.append(len(args[0])))
    try:
        result = analyze(str(videos["gap"]), timeline_window=2)
    finally:
        hook.remove()

    assert sum(embedded) == NUM_FRAMES  # every frame embedded once, whatever the number of windows
    found = [f["face_found"] for f in result["frames"]]
    assert True in found and False in found  # the gap video has faceless frames in the middle
    _, _, embeddings, mask = model_on_processor_output(analyze, videos["gap"])
    windows = [start for start in range(NUM_FRAMES - 1) if found[start] or found[start + 1]]
    assert len(result["timeline"]) == len(windows)  # windows without any face are left out
    timestamps = [f["timestamp"] for f in result["frames"]]
    for entry, start in zip(result["timeline"], windows, strict=True):
        window_mask = torch.zeros_like(mask)
        window_mask[0, start : start + 2] = mask[0, start : start + 2]
        with torch.no_grad():
            expected = analyze.model(frame_embeddings=embeddings, attention_mask=window_mask).emotion_probs[0]
        assert list(entry["emotions"]) == EMOTIONS
        torch.testing.assert_close(torch.tensor(list(entry["emotions"].values())), expected, atol=1e-5, rtol=0)
        assert entry["timestamp"] == pytest.approx(sum(timestamps[start : start + 2]) / 2)
    assert "timeline" not in analyze(str(videos["gap"]))


def test_call_options(analyze, videos):
    result = analyze(str(videos["moving"]), num_frames=4, face_detector="haar", return_face_crops=True)

    assert len(result["frames"]) == 4 and result["video"]["num_frames_sampled"] == 4
    crops, thumbnail = result.pop("face_crops"), result.pop("thumbnail")
    assert len(crops) == 4 and all(isinstance(c, Image.Image) and c.size == (IMAGE_SIZE, IMAGE_SIZE) for c in crops)
    areas = [(box[2] - box[0]) * (box[3] - box[1]) if box else -1 for box in (f["box"] for f in result["frames"])]
    assert thumbnail is crops[areas.index(max(areas))], "the thumbnail is the largest face's crop"
    json.dumps(result)
    assert analyze.processor.num_frames == NUM_FRAMES  # a call's options do not change the pipeline


@pytest.mark.parametrize(
    "options, words",
    [
        ({"num_frames": NUM_FRAMES + 1}, ["num_frames", str(NUM_FRAMES)]),
        ({"num_frames": 0}, ["num_frames"]),
        ({"timeline_window": -1}, ["timeline_window"]),
        ({"face_detector": "mtcnn"}, ["face_detector", "mtcnn"]),
        ({"precision": "half"}, ["precision", "half"]),
    ],
)
def test_bad_options_are_one_clear_error(analyze, videos, options, words):
    with pytest.raises(ValueError) as error:
        analyze(str(videos["moving"]), **options)
    assert_one_sentence(str(error.value), *words)


def test_progress_callback_reports_the_stages_in_order(analyze, videos):
    calls = []
    analyze(str(videos["moving"]), progress_callback=lambda stage, fraction: calls.append((stage, fraction)))

    stages = [stage for stage, _ in calls]
    assert [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]] == list(PROGRESS_STAGES)
    fractions = [fraction for _, fraction in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0


def test_a_list_is_batched_and_gives_the_single_results(analyze, videos):
    calls = []
    inputs = [str(videos["moving"]), videos["gap"].read_bytes(), str(videos["gap"])]
    results = analyze(inputs, batch_size=2, timeline_window=3, progress_callback=lambda s, f: calls.append(f))

    moving, gap = (analyze(str(videos[name]), timeline_window=3) for name in ("moving", "gap"))
    assert len(results) == 3
    for batched, single in zip(results, [moving, gap, gap], strict=True):
        assert batched["frames"] == single["frames"]
        for key in ("emotions", "traits", "timeline"):
            assert _close(batched[key], single[key]), key
    assert calls == sorted(calls) and calls[-1] == 1.0


def test_the_embedding_batch_size_changes_speed_not_results(fusion_dir, analyze, videos):
    from transformers import pipeline

    assert analyze.embed_batch_size == CPU_EMBED_BATCH_SIZE  # the CPU default: small batches stay in cache
    pinned = {"device": "cpu", "precision": "fp32"}  # as `analyze`: the comparison is of batch sizes only
    one_pass = pipeline(TASK, model=str(fusion_dir), embed_batch_size=NUM_FRAMES, **pinned)
    one_at_a_time = pipeline(TASK, model=str(fusion_dir), embed_batch_size=1, **pinned)

    reference = analyze(str(videos["moving"]), timeline_window=3)
    for other in (one_pass, one_at_a_time):
        assert _close(other(str(videos["moving"]), timeline_window=3), reference)
    with pytest.raises(ValueError) as error:
        pipeline(TASK, model=str(fusion_dir), device="cpu", embed_batch_size=0)
    assert_one_sentence(str(error.value), "embed_batch_size")


# ------------------------------------------------------------------------------------------------ precision

# bf16 against fp32 on the tiny model, measured on the fixture clips (the same on an AVX-512 BF16 Xeon and with oneDNN
# and ATen held to AVX2): emotion probabilities 1.6e-5 apart, traits 1.4e-4, timeline rows 2.1e-5, embeddings 0.054
# (cosine >= 0.99967). The tolerances below are about 6x those.
BF16_PROB_TOL, BF16_TRAIT_TOL, BF16_MIN_COSINE = 1e-4, 1e-3, 0.999


def _vectors(result) -> tuple[torch.Tensor, torch.Tensor]:
    by_label = {item["label"]: item["score"] for item in result["emotions"]}
    return torch.tensor([by_label[label] for label in EMOTIONS]), torch.tensor(list(result["traits"].values()))


@pytest.fixture(scope="module")
def analyze_bf16(fusion_dir):
    """The pipeline with bf16 forced: emulated (slowly) where the CPU lacks native bf16, so it runs everywhere."""
    from transformers import pipeline

    return pipeline(TASK, model=str(fusion_dir), device="cpu", precision="bf16")


@pytest.mark.parametrize("native", [True, False], ids=["bf16-native", "no-native-bf16"])
def test_auto_precision_follows_the_hardware_on_both_kinds_of_cpu(fusion_dir, videos, monkeypatch, native):
    """Both branches of the "is bf16 native" decision run on every machine: the CPU's answer is forced each way."""
    from transformers import pipeline

    monkeypatch.delenv(PRECISION_ENV, raising=False)
    for cap in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA"):  # a run capped to AVX2 answers "not native" itself
        monkeypatch.delenv(cap, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: native)
    expected = "bf16" if native else "fp32"

    pipe = pipeline(TASK, model=str(fusion_dir), device="cpu")
    assert pipe.precision == expected
    assert pipe(str(videos["moving"]), num_frames=2)["precision"] == expected


def test_the_environment_variable_sets_the_precision_unless_the_caller_does(fusion_dir, monkeypatch):
    from transformers import pipeline

    monkeypatch.setenv(PRECISION_ENV, "bf16")
    assert pipeline(TASK, model=str(fusion_dir), device="cpu").precision == "bf16"
    assert pipeline(TASK, model=str(fusion_dir), device="cpu", precision="fp32").precision == "fp32"
    monkeypatch.setenv(PRECISION_ENV, "half")
    with pytest.raises(ValueError) as error:
        pipeline(TASK, model=str(fusion_dir), device="cpu")
    assert_one_sentence(str(error.value), PRECISION_ENV, "half")


def test_forced_bf16_agrees_with_the_model_at_bf16_and_stays_near_fp32(analyze_bf16, analyze, videos):
    result = analyze_bf16(str(videos["gap"]), timeline_window=3)
    assert result["precision"] == "bf16"
    assert result["model"] == analyze(str(videos["gap"]))["model"]  # same embedder, same fingerprint

    # Same precision on both sides: only the pipeline's chunking differs (exactly equal when measured).
    probs, traits, embeddings, _ = model_on_processor_output(analyze_bf16, videos["gap"])
    emotions, trait_scores = _vectors(result)
    torch.testing.assert_close(emotions, probs, atol=1e-5, rtol=0)
    torch.testing.assert_close(trait_scores, traits.clamp(0, 1), atol=1e-5, rtol=0)

    # Against fp32: close, within the measured gap, but not equal (so the recorded precision matters).
    fp32 = analyze(str(videos["gap"]), timeline_window=3)
    fp32_emotions, fp32_traits = _vectors(fp32)
    _, _, fp32_embeddings, _ = model_on_processor_output(analyze, videos["gap"])
    assert (emotions - fp32_emotions).abs().max() < BF16_PROB_TOL
    assert (trait_scores - fp32_traits).abs().max() < BF16_TRAIT_TOL
    cosine = torch.nn.functional.cosine_similarity(embeddings, fp32_embeddings, dim=-1)
    assert cosine.min() > BF16_MIN_COSINE and not torch.equal(embeddings, fp32_embeddings)
    for row, fp32_row in zip(result["timeline"], fp32["timeline"], strict=True):
        rows = torch.tensor(list(row["emotions"].values())), torch.tensor(list(fp32_row["emotions"].values()))
        assert (rows[0] - rows[1]).abs().max() < BF16_PROB_TOL


def test_a_call_can_set_its_own_precision(analyze, analyze_bf16, videos):
    called = analyze(str(videos["moving"]), precision="bf16")
    assert called["precision"] == "bf16" and analyze.precision == "fp32"  # the pipeline's own setting is unchanged
    assert _close(called, analyze_bf16(str(videos["moving"])))
    assert analyze(str(videos["moving"]))["precision"] == "fp32"


def _close(a, b) -> bool:
    """Same structure, numbers equal to 1e-5 (batching may change the last float bits)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return abs(a - b) < 1e-5
    return a == b


def test_url_input_gives_the_same_result_as_the_file(analyze, videos, clip_server):
    from_url = analyze(f"{clip_server}/{videos['moving'].name}")
    from_file = analyze(str(videos["moving"]))
    assert from_url == from_file


@pytest.mark.parametrize(
    "name, error_class, reason",
    [
        ("missing", VideoDecodeError, "does not exist"),
        ("text", VideoDecodeError, "not a video"),
        ("faceless", NoFaceFoundError, "no detectable face"),
    ],
)
def test_bad_input_is_one_clear_error(analyze, videos, tmp_path, name, error_class, reason):
    path = tmp_path / "missing.mp4" if name == "missing" else videos[name]
    with pytest.raises(error_class) as error:
        analyze(str(path))
    assert isinstance(error.value, ValueError)
    assert_one_sentence(str(error.value), path.name, reason)


def test_unreachable_url_fails_fast_with_one_sentence(analyze):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/clip.mp4"
    start = time.monotonic()
    with pytest.raises(VideoDownloadError) as error:
        analyze(url)
    assert time.monotonic() - start < 10
    assert_one_sentence(str(error.value), url, "could not be downloaded")


def test_download_refuses_files_over_the_size_limit(videos, clip_server, tmp_path):
    url = f"{clip_server}/{videos['moving'].name}"
    with pytest.raises(VideoDownloadError) as error:
        download_video(url, str(tmp_path), max_bytes=1000)
    assert_one_sentence(str(error.value), url, "download limit")
    missing = f"{clip_server}/nothing-here.mp4"
    with pytest.raises(VideoDownloadError) as error:
        download_video(missing, str(tmp_path))
    assert_one_sentence(str(error.value), missing, "404")


def test_without_a_saved_processor_a_default_one_is_sized_from_the_model(tmp_path, videos):
    torch.manual_seed(0)
    FaceFusionModel(tiny_fusion_config()).save_pretrained(tmp_path)  # no preprocessor_config.json
    pipe = FaceVideoAnalysisPipeline(model=FaceFusionModel.from_pretrained(tmp_path), device="cpu")

    assert isinstance(pipe.processor, FaceVideoProcessor)
    assert (pipe.processor.num_frames, pipe.processor.image_size) == (NUM_FRAMES, IMAGE_SIZE)
    assert len(pipe(str(videos["moving"]), face_detector="haar")["frames"]) == NUM_FRAMES


def test_a_processor_cropping_another_size_than_the_embedder_is_refused():
    with pytest.raises(ValueError) as error:
        FaceVideoAnalysisPipeline(model=FaceFusionModel(tiny_fusion_config()), processor=tiny_processor(image_size=48))
    assert_one_sentence(str(error.value), "48", str(IMAGE_SIZE))
