"""The web app through its API: `python app.py` as a real server process, driven with gradio_client.

Covers the `/predict` JSON contract on a real video, one clear message for each kind of bad input (and a server that
keeps serving), two concurrent requests, the untrained fallback with its banner, the progress stages and the
example videos.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError

from modeling.pipeline_face_video import FaceVideoAnalysisPipeline
from modeling.processing_face_video import FaceVideoProcessor
from tests.app.conftest import MAX_DURATION_S, MAX_MEGAPIXELS, MODEL_ID, PROJECT_ROOT
from tests.hub_cache import plant_in_hf_cache
from training.testing.app_process import free_port
from training.testing.tiny_configs import NUM_FRAMES
from webapp import loading
from webapp.analysis import STAGE_TEXT, analyze_video
from webapp.example_clips import PAGE_EXAMPLES, make_example_videos
from webapp.settings import Settings

EMOTIONS = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]
TRAITS = ["openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"]


def predict(client: Client, video: Path | None):
    return client.predict(handle_file(str(video)) if video else None, api_name="/predict")


def page_texts(url: str) -> str:
    """Every component value and label of the served page, as one string."""
    with urllib.request.urlopen(url + "config", timeout=10) as response:
        config = json.load(response)
    return json.dumps([component.get("props", {}) for component in config["components"]], ensure_ascii=False)


def assert_json_contract(data: dict) -> None:
    assert set(EMOTIONS) == set(data["emotions"])
    scores = list(data["emotions"].values())
    assert scores == sorted(scores, reverse=True), "emotions are listed most likely first"
    assert sum(scores) == pytest.approx(1.0, abs=1e-4)
    assert list(data["traits"]) == TRAITS
    assert all(0.0 <= value <= 1.0 for value in data["traits"].values())
    assert len(data["frames"]) == NUM_FRAMES
    for frame in data["frames"]:
        assert set(frame) == {"index", "timestamp", "box", "face_found"}
        assert (frame["box"] is not None) == frame["face_found"]
    assert data["timeline"], "the emotion timeline has points"
    assert all(set(point["emotions"]) == set(EMOTIONS) for point in data["timeline"])
    video = data["video"]
    assert video["num_frames_sampled"] == NUM_FRAMES and 0 < video["faces_found"] <= NUM_FRAMES
    assert video["width"] == 320 and video["height"] == 240 and video["duration"] == pytest.approx(2.0, abs=0.1)
    assert "face_crops" not in data


# ------------------------------------------------------------------------------------------------- real process


def test_predict_returns_the_json_contract_and_every_view(client, videos):
    data, label, traits_plot, traits_text, timeline_plot, gallery, download = predict(client, videos["face"])

    assert_json_contract(data)
    assert data["model"]["name_or_path"] == MODEL_ID and data["model"]["untrained"] is False
    assert data["detector"] == "haar"  # the planted processor's setting
    assert re.fullmatch(r"[0-9a-f]{40}", data["model"]["revision"]), "the planted Hub snapshot's commit"
    assert all(frame["face_found"] for frame in data["frames"]), "the astronaut is on every frame"
    assert (data["detector"], data["precision"]) == ("haar", "fp32"), "the app runs with --precision fp32"

    assert label["label"] == max(data["emotions"], key=data["emotions"].get)
    assert {item["label"] for item in label["confidences"]} == set(EMOTIONS)
    assert traits_plot["data"] and len(traits_plot["data"]) == 5
    assert "Openness" in traits_text and "Neuroticism" in traits_text
    assert len(timeline_plot["data"]) == len(data["timeline"]) * 7
    assert len(gallery) == NUM_FRAMES and all(Path(item["image"]).is_file() for item in gallery)
    assert gallery[0]["caption"].startswith(f"frame {data['frames'][0]['index']} ·")
    assert json.loads(Path(download).read_text()) == data


def test_frames_without_a_face_are_marked_in_the_gallery(client, videos):
    data, *_, gallery, _ = predict(client, videos["gap"])

    missing = [i for i, frame in enumerate(data["frames"]) if not frame["face_found"]]
    assert missing and len(missing) < NUM_FRAMES
    for i, item in enumerate(gallery):
        assert ("not in frame" in item["caption"]) == (i in missing), item["caption"]


# Refused by the upload checks, before the queue: kind -> words the one sentence must contain.
REFUSED_UPLOADS = {
    "text": "could not be decoded",
    "truncated": "could not be decoded",
    "empty": "empty",
    "audio_only": "no video stream",
    "still_image": "could not be decoded",
    "bad_header": "could not be decoded",
    "too_long": f"limit of {MAX_DURATION_S} seconds",
    "big_frames": f"640x480 frames (0.3 megapixels), over this page's limit of {MAX_MEGAPIXELS} megapixels",
}
# What only the decoder can say about the file itself: the page passes the processor's sentence on unchanged.
DECODER_REASONS = ("text", "truncated", "empty", "audio_only", "still_image", "bad_header")


def processor_sentence(path: Path) -> str:
    with pytest.raises(ValueError) as refused:
        FaceVideoProcessor(num_frames=1, face_detector="haar").read_frames(str(path))
    return str(refused.value)


@pytest.mark.parametrize("kind", list(REFUSED_UPLOADS))
def test_bad_upload_is_refused_before_the_queue_with_one_sentence(client, videos, kind):
    with pytest.raises(ValidationError) as caught:
        predict(client, videos[kind])
    header, line = str(caught.value).split("\n")  # gradio_client's "1 parameter(s) failed validation:" first
    assert header == "1 parameter(s) failed validation:"
    assert line.startswith("- video: ")
    message = line.removeprefix("- video: ")
    assert REFUSED_UPLOADS[kind] in message, message
    assert videos[kind].name in message, "the message names the file"
    assert "Traceback" not in message and message.endswith("."), message
    if kind in DECODER_REASONS:
        assert message == processor_sentence(videos[kind])


def test_a_video_without_a_face_gets_one_sentence_from_the_analysis(client, videos):
    with pytest.raises(AppError) as caught:
        predict(client, videos["faceless"])
    message = str(caught.value)
    assert "no detectable face" in message and videos["faceless"].name in message, message
    assert "\n" not in message and "Traceback" not in message and message.endswith("."), message


def test_json_endpoint_returns_the_same_result_as_predict(client, videos):
    data = predict(client, videos["face"])[0]
    assert client.predict(handle_file(str(videos["face"])), api_name="/analyze_json") == data
    with pytest.raises(ValidationError, match="- video: notes.mp4 could not be decoded"):
        client.predict(handle_file(str(videos["text"])), api_name="/analyze_json")


def test_api_documents_the_json_endpoint_and_hides_the_example_loader(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/predict", "/analyze_json"} <= set(endpoints)
    assert not [name for name in endpoints if "example" in name], list(endpoints)
    assert "only the result JSON" in endpoints["/analyze_json"]["description"]


def test_missing_video_gets_a_message(client):
    with pytest.raises(ValidationError, match="- video: Upload or record a video first"):
        predict(client, None)


def test_too_large_upload_is_refused_with_its_reason(app_server, client, videos):
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # gradio_client checks first
        predict(client, videos["too_large"])
    # Any other client is stopped by the server itself, before the file lands on its disk.
    with open(videos["too_large"], "rb") as file:
        response = httpx.post(app_server.url + "gradio_api/upload", files={"files": ("large.mp4", file)}, timeout=60)
    assert response.status_code == 413
    assert "maximum allowed size" in response.text


def test_server_keeps_serving_after_bad_input(app_server, client, videos):
    for kind in ("text", "faceless"):
        with pytest.raises((ValidationError, AppError)):
            predict(client, videos[kind])
    assert_json_contract(predict(client, videos["face"])[0])
    assert app_server.process.poll() is None
    assert "Traceback" not in app_server.log_text(), "bad input is not a crash"


def test_two_concurrent_requests_both_complete(app_server, videos):
    results, errors = [], []

    def run(video):
        try:
            results.append(predict(Client(app_server.url, verbose=False), video)[0])
        except Exception as error:  # noqa: BLE001 - reported below, with the thread's error
            errors.append(error)

    threads = [threading.Thread(target=run, args=(videos[kind],)) for kind in ("face", "gap")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(results) == 2
    for data in results:
        assert_json_contract(data)


def test_eight_users_sending_the_same_clip_at_once_all_get_their_whole_answer(app_server, videos):
    """8 users, 3 requests each, all with the same clip: every answer is whole and the same, images and file complete.

    Two ways this failed: the face detector shared by concurrent analyses mixed their frames up (different boxes,
    different emotions), and identical face crops were stored by Gradio under one content-derived name, rewritten by
    one request while another user was downloading it (an empty or truncated image).
    """
    from PIL import Image

    def one_user() -> list:
        client = Client(app_server.url, verbose=False)
        return [predict(client, videos["face"]) for _ in range(3)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(one_user) for _ in range(8)]
        outcomes = [future.exception(timeout=900) or future.result() for future in futures]
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert not errors, [f"{type(error).__name__}: {error}" for error in errors]
    answers = [answer for user in outcomes for answer in user]
    assert len(answers) == 24
    for data, *_, gallery, download in answers:
        assert data == answers[0][0], "the same clip gives the same answer"
        assert len(gallery) == NUM_FRAMES
        for item in gallery:
            with Image.open(item["image"]) as image:
                image.load()  # an empty or truncated download fails here
        assert json.loads(Path(download).read_text()) == data
    assert_json_contract(answers[0][0])


def test_model_is_loaded_once_not_per_request(app_server, client, videos):
    predict(client, videos["face"])
    predict(client, videos["gap"])
    assert len(re.findall(r"Loading weights: +100%", app_server.log_text())) == 1  # transformers' load bar


def test_page_shows_model_detector_and_examples_without_banner(app_server):
    texts = page_texts(app_server.url)
    assert f"`{MODEL_ID}`" in texts and "revision `" in texts
    assert "fp32 embedder" in texts, "the precision the page runs at"
    assert "Haar cascade" in texts, "face-alignment weights are missing, so the bundled detector runs"
    assert "Untrained model" not in texts
    for name in PAGE_EXAMPLES:
        assert name in texts
    assert "Could not load" not in app_server.log_text()


# ------------------------------------------------------------------------------------------------- in process


@pytest.fixture(scope="module")
def fallback(tiny_fallback_config, monkeypatch_module, tmp_path_factory):
    """The app's fallback when its model cannot be loaded (a tiny fallback architecture, for speed)."""
    monkeypatch_module.setattr(loading, "FALLBACK_CONFIG", str(tiny_fallback_config))
    missing = tmp_path_factory.mktemp("nothing") / "no-model-here"
    pipe, reason = loading.load_pipeline(Settings(model=str(missing)))
    return pipe, reason, str(missing)


@pytest.fixture(scope="module")
def app(monkeypatch_module, tiny_trained_run, tmp_path_factory):
    """`import app` as Gradio's tools do: its module-level `demo` is built from the environment, here a tiny model."""
    monkeypatch_module.setenv("FACE_FUSION_MODEL", str(tiny_trained_run))
    monkeypatch_module.setenv("FACE_FUSION_EXAMPLES_DIR", str(tmp_path_factory.mktemp("examples")))
    import app

    return app


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_importing_the_page_gives_a_module_level_demo_from_the_environment(app, tiny_trained_run):
    import gradio as gr

    assert isinstance(app.demo, gr.Blocks)
    assert app.settings.model == str(tiny_trained_run) and app.pipe.model.name_or_path == str(tiny_trained_run)
    assert app.fallback_reason is None
    predict_fn = next(fn for fn in app.demo.fns.values() if fn.api_name == "predict")
    assert predict_fn.fn is not None and len(predict_fn.outputs) == 7


def test_unloadable_model_falls_back_to_the_untrained_architecture_with_a_banner(app, fallback, videos):
    pipe, reason, missing = fallback
    assert reason, "the reason the configured model could not be loaded is shown"
    settings = Settings(model=missing, port=free_port(), max_upload_mb=5, max_duration_s=60)
    demo = app.build_demo(pipe, settings, reason)
    assert demo.analytics_enabled is False
    app.launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        texts = page_texts(demo.local_url)
        assert "Untrained model: predictions are random" in texts
        data, _, _, words, *_ = predict(Client(demo.local_url, verbose=False), videos["face"])
        assert_json_contract(data)
        assert data["model"]["untrained"] is True and data["model"]["untrained_reason"] == reason
        # The numbers are shown, but no plain-words reading of random numbers.
        assert "Openness" in words and "leans" not in words and "in between" not in words and "untrained" in words
    finally:
        demo.close()


def test_a_trainers_output_folder_loads_without_fallback(tiny_trained_run):
    pipe, reason = loading.load_pipeline(Settings(model=str(tiny_trained_run)))
    assert reason is None
    assert pipe.model.name_or_path == str(tiny_trained_run)


def test_default_model_offline_falls_back(fallback):
    pipe, reason = loading.load_pipeline(Settings())
    assert reason is not None and isinstance(pipe, FaceVideoAnalysisPipeline)


_LOAD_WITHOUT_HUB = """
import logging, sys
logging.basicConfig(level=logging.WARNING, format="%(message)s")
from webapp import loading
from webapp.settings import Settings
loading.FALLBACK_CONFIG = sys.argv[2]
pipe, reason = loading.load_pipeline(Settings(model=sys.argv[1]))
print("LOADED:", pipe.model.name_or_path, "| FALLBACK:", reason)
"""


_LOAD_FROM_SETTINGS = """
import json
from webapp import loading
from webapp.settings import read_settings
pipe, reason = loading.load_pipeline(read_settings([]))
print("RESULT" + json.dumps({"reason": reason, "revision": pipe.revision, "num_frames": pipe.processor.num_frames,
      "modules": [type(pipe).__module__, type(pipe.model).__module__, type(pipe.processor).__module__]}))
"""


@pytest.mark.timeout(180)
def test_the_page_loads_its_pinned_revision_with_its_own_code(tmp_path, tiny_exported_model):
    """FACE_FUSION_REVISION pins the commit: model and processor come from it although `main` moved on, the files the
    Space preloads are enough, and the pipeline, model and processor classes are this checkout's, not the repo's
    remote code."""
    from training.export_hub import SPACE_PRELOAD_FILES

    cache = tmp_path / "hf" / "hub"
    preloaded = tmp_path / "preloaded"  # only what the Space's preload_from_hub downloads at the pinned commit
    preloaded.mkdir()
    for name in SPACE_PRELOAD_FILES:
        shutil.copyfile(tiny_exported_model / name, preloaded / name)
    pinned = plant_in_hf_cache(preloaded, MODEL_ID, cache).name
    newer = tmp_path / "newer"
    shutil.copytree(tiny_exported_model, newer)
    processor_config = json.loads((newer / "preprocessor_config.json").read_text())
    processor_config["num_frames"] = NUM_FRAMES - 2
    (newer / "preprocessor_config.json").write_text(json.dumps(processor_config))
    assert plant_in_hf_cache(newer, MODEL_ID, cache).name != pinned  # now `main`
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1",
           "FACE_FUSION_MODEL": MODEL_ID, "FACE_FUSION_REVISION": pinned}
    done = subprocess.run([sys.executable, "-c", _LOAD_FROM_SETTINGS], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.rsplit("RESULT", 1)[1])
    assert report["reason"] is None and report["revision"] == pinned
    assert report["num_frames"] == NUM_FRAMES, "the processor of the pinned commit, not of main"
    assert report["modules"] == ["modeling.pipeline_face_video", "modeling.modeling_face_fusion",
                                 "modeling.processing_face_video"]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_precision_setting_reaches_the_pipeline(fallback, precision):
    pipe = loading.build_pipeline(fallback[0].model, None, precision)
    assert loading.embedder_precision(pipe) == precision


@pytest.mark.timeout(180)
@pytest.mark.parametrize("cached", [True, False])
def test_an_unreachable_hub_means_the_cache_or_the_fallback_without_waiting(
    tmp_path, tiny_exported_model, tiny_fallback_config, cached
):
    """No HF_HUB_OFFLINE, and the Hub's address refuses connections: the app checks once, then uses only the cache."""
    env = {key: value for key, value in os.environ.items() if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_CACHE=str(tmp_path / "hf" / "hub"),
               HF_ENDPOINT=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    if cached:
        plant_in_hf_cache(tiny_exported_model, MODEL_ID, tmp_path / "hf" / "hub")
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_WITHOUT_HUB, MODEL_ID, str(tiny_fallback_config)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=170,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"The Hugging Face Hub cannot be reached: looking for {MODEL_ID} in the local cache only." in done.stderr
    if cached:
        assert f"LOADED: {MODEL_ID} | FALLBACK: None" in done.stdout, done.stdout
    else:
        assert "FALLBACK: OSError" in done.stdout, done.stdout


def test_progress_goes_through_the_four_stages_in_order(fallback, videos):
    pipe = fallback[0]
    calls = []
    analyze_video(pipe, str(videos["face"]), Settings(), lambda fraction, text: calls.append((fraction, text)))
    texts = [text for _, text in calls]
    order = [STAGE_TEXT[stage] for stage in ("decode", "faces", "embed", "predict")]
    assert [text for i, text in enumerate(texts) if i == 0 or text != texts[i - 1]] == order
    fractions = [fraction for fraction, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_queue_and_upload_limits_are_set(app, fallback):
    pipe, reason, missing = fallback
    settings = Settings(model=missing, port=free_port(), max_upload_mb=3, concurrency=2, max_queue=16)
    demo = app.build_demo(pipe, settings, reason)
    app.launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        assert demo.max_file_size == 3 * 2**20
        assert demo._queue.max_size == 16
        assert demo._queue.default_concurrency_limit == 2
        predict_fn = next(fn for fn in demo.fns.values() if fn.api_name == "predict")
        assert predict_fn.concurrency_limit == "default", "/predict runs under the queue's limit"
    finally:
        demo.close()


def test_example_videos_are_real_h264_clips(tmp_path):
    import av

    paths = make_example_videos(tmp_path)
    assert [path.name for path in paths] == list(PAGE_EXAMPLES)
    processor = FaceVideoProcessor(num_frames=8, face_detector="haar")
    found = {}
    for path in paths:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        frames, _, meta = processor.read_frames(str(path))
        assert meta["duration"] == pytest.approx(3.0, abs=0.1)
        found[path.name] = processor.detect(frames)[1]
    assert found["astronaut_close_up.mp4"].all()
    assert found["astronaut_steps_out.mp4"].any() and not found["astronaut_steps_out.mp4"].all()
    assert not found["cat_no_face.mp4"].any()
    mtimes = [path.stat().st_mtime_ns for path in paths]
    make_example_videos(tmp_path)
    assert [path.stat().st_mtime_ns for path in paths] == mtimes, "existing examples are kept, not rewritten"


# ------------------------------------------------------------------------------------------------- MCP


def test_mcp_server_offers_the_json_analysis_as_a_tool(app_server, videos):
    """Agents call the page through Gradio's MCP server: the JSON endpoint is a tool that analyses a clip."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        assert "No MCP server: the mcp package is not installed" in app_server.log_text()
        pytest.skip("the mcp package (pip install 'gradio[mcp]') is not installed: the page runs without MCP")
    import asyncio
    import base64

    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    # The clip inline (Gradio's MCP server refuses to fetch URLs of this machine, as it should).
    video_url = "data:video/mp4;base64," + base64.b64encode(videos["face"].read_bytes()).decode()

    async def session_calls():
        async with streamablehttp_client(app_server.url + "gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = {tool.name: tool for tool in (await session.list_tools()).tools}
                answer = await session.call_tool("analyze_json", {"video": video_url})
                return tools, answer

    tools, answer = asyncio.run(session_calls())
    assert "analyze_json" in tools and "only the result JSON" in tools["analyze_json"].description
    assert not answer.isError, answer.content
    import ast

    data = ast.literal_eval(answer.content[0].text)  # Gradio's MCP server writes the JSON output as a Python literal
    assert list(data["traits"]) == TRAITS and set(data["emotions"]) == set(EMOTIONS)
