"""face-fusion web page: upload or record a video, press Analyze, see emotions, personality traits and the faces used.

Run it with ``python app.py [--model ID_OR_PATH] [--host HOST] [--port PORT]`` (127.0.0.1:7860 by default); the
same file is the Hugging Face Space's entry point. The Analyze button is also the API endpoint ``/predict``:

```python
from gradio_client import Client, handle_file
result_json, *_ = Client("http://127.0.0.1:7860/").predict(handle_file("clip.mp4"), api_name="/predict")
```

This file is the UI only: it loads the ``face-video-analysis`` pipeline once, checks the upload's size and length,
calls the pipeline and draws its result. Decoding, face finding and the model live in ``modeling/``.
"""

from __future__ import annotations

import os

# Before gradio is imported: its analytics would otherwise make DNS lookups (and hang a moment offline).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse
import html
import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageOps
from transformers import AutoConfig, pipeline

import modeling  # registers the Auto classes and the face-video-analysis task
from modeling.pipeline_face_video import FaceVideoAnalysisPipeline
from modeling.processing_face_video import FaceVideoProcessor
from training.example_video import paste, write_video

logger = logging.getLogger("face-fusion-app")

APP_DIR = Path(__file__).resolve().parent
TASK = "face-video-analysis"
DEFAULT_MODEL = "org/face-fusion"
# The untrained architecture used when the configured model cannot be loaded (tests point this at a tiny one).
FALLBACK_CONFIG = os.environ.get("FACE_FUSION_FALLBACK_CONFIG", str(APP_DIR / "hub_configs" / "face-fusion"))
RESULTS_DIR = Path(tempfile.gettempdir()) / "face-fusion-results"
EXAMPLES_DIR = Path(os.environ.get("FACE_FUSION_EXAMPLES_DIR", Path(tempfile.gettempdir()) / "face-fusion-examples"))

STAGE_TEXT = {
    "decode": "Decoding frames",
    "faces": "Finding the face",
    "embed": "Embedding the face crops",
    "predict": "Predicting emotions and traits",
}
EMOTION_COLORS = {
    "neutral": "#8d8d8d",
    "anger": "#d62728",
    "disgust": "#2ca02c",
    "fear": "#9467bd",
    "happiness": "#f2b701",
    "sadness": "#1f77b4",
    "surprise": "#ff7f0e",
}
# (what a high score looks like, what a low score looks like), in plain words.
TRAIT_WORDS = {
    "openness": ("curious, imaginative, open to new ideas", "practical, conventional, prefers the familiar"),
    "conscientiousness": ("organised, dependable, self-disciplined", "spontaneous, flexible, easy-going about plans"),
    "extraversion": ("outgoing, energetic, talkative", "reserved, quiet, reflective"),
    "agreeableness": ("warm, friendly, cooperative", "direct, sceptical, competitive"),
    "neuroticism": ("easily stressed or worried", "calm, even-tempered, emotionally stable"),
}


@dataclass
class Settings:
    """What the command line (or the Space's environment) configures."""

    model: str = DEFAULT_MODEL
    revision: str | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: float = 200.0
    max_duration_s: float = 600.0
    max_megapixels: float = 8.3  # 4K UHD frames: bounds the memory one analysis holds (sampled frames are kept whole)
    num_frames: int | None = None
    face_detector: str = "auto"
    timeline_window: int = 5
    concurrency: int = 2
    max_queue: int = 16


# ------------------------------------------------------------------------------------------------- loading


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face Hub answers at all within ``timeout_s``.

    Asked once before loading a Hub id: on a machine without network the Hub client retries each file for about 25 s
    before the cache or the fallback is used, and the page would start that much later.
    """
    from huggingface_hub import constants, get_session

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        get_session().head(constants.ENDPOINT, timeout=timeout_s)
    except Exception:  # noqa: BLE001 - DNS failure, refused, timed out, proxy error: all mean "not now"
        return False
    return True


def load_pipeline(model: str, revision: str | None = None) -> tuple[FaceVideoAnalysisPipeline, str | None]:
    """The analysis pipeline for ``model``, or for the untrained architecture when that cannot be loaded.

    Returns:
        The pipeline and, when it is the untrained fallback, why the configured model could not be loaded.
    """
    local_only = not Path(model).is_dir() and not hub_reachable()
    if local_only:
        logger.warning("The Hugging Face Hub cannot be reached: looking for %s in the local cache only.", model)
    try:
        return pipeline(TASK, model=model, revision=revision, trust_remote_code=True, local_files_only=local_only), None
    except Exception as error:  # noqa: BLE001 - offline, missing repo, bad folder: the page must still start
        first_line = (str(error).strip().splitlines() or [""])[0]
        reason = f"{type(error).__name__}: {first_line}"[:300]
        logger.warning("Could not load %s (%s); using the untrained model in %s.", model, reason, FALLBACK_CONFIG)
    untrained = modeling.FaceFusionModel(AutoConfig.from_pretrained(FALLBACK_CONFIG))
    return FaceVideoAnalysisPipeline(model=untrained), reason


# ------------------------------------------------------------------------------------------------- examples

EXAMPLES = {  # file name -> caption shown under the example
    "astronaut_close_up.mp4": "Close-up: a slow zoom onto a face",
    "astronaut_steps_out.mp4": "The face leaves the frame for a moment",
    "cat_no_face.mp4": "No human face (a cat)",
}


def make_example_videos(folder: str | os.PathLike, size: tuple[int, int] = (480, 360), fps: int = 15) -> list[Path]:
    """Write the page's example clips (3 s, browser-playable H.264) from scikit-image's sample photos, if absent.

    The photos are the astronaut Eileen Collins (NASA, public domain) and Chelsea the cat. Each file is written under a
    temporary name and renamed when complete, so an interrupted start never leaves a broken example behind.

    Returns:
        The example files, in the order of ``EXAMPLES``.
    """
    from skimage import data

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    photo, cat = data.astronaut(), data.chelsea()
    head = photo[30:250, 140:320]  # the astronaut's head and shoulders

    def close_up(t: float) -> np.ndarray:  # zoom from the upper photo (4:3) onto the face, near x=224, y=113
        crop_w = 512 - 272 * t
        cx, cy = 256 - 32 * t, 192 - 79 * t
        x1, y1 = int(cx - crop_w / 2), int(cy - crop_w * 0.375)
        window = photo[y1 : y1 + int(crop_w * 0.75), x1 : x1 + int(crop_w)]
        return cv2.resize(window, size, interpolation=cv2.INTER_AREA)

    def steps_out(t: float) -> np.ndarray:  # slides out of the frame on the right, waits, and comes back
        canvas = np.full((height, width, 3), 96, np.uint8)
        x = width * (0.5 + 5.2 * np.clip(min(t, 1 - t) - 0.25, 0.0, 0.15))
        paste(canvas, head, (x, height * 0.5), height * 0.7)
        return canvas

    def no_face(t: float) -> np.ndarray:
        canvas = cv2.resize(data.coffee(), size, interpolation=cv2.INTER_AREA)
        paste(canvas, cat, (width * (0.35 + 0.3 * t), height * 0.5), height * 0.7)
        return canvas

    paths = []
    for name, draw in zip(EXAMPLES, (close_up, steps_out, no_face), strict=True):
        path = folder / name
        if not path.exists():
            partial = path.with_suffix(".partial.mp4")
            write_video(partial, (draw(i / (3 * fps - 1)) for i in range(3 * fps)), fps)
            partial.replace(path)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------------- analysing


def check_video(path: str, settings: Settings) -> None:
    """Reject, with one sentence, what the page will not analyse: no video, too large, undecodable, too long, frames
    too big.

    The length comes from decoding one frame with the project's processor (cheap even for an hour-long file), so a
    bad or over-long file is refused before any heavy work.

    Raises:
        ValueError: The reason, naming the file.
    """
    if not path:
        raise ValueError("Upload or record a video first, then press Analyze.")
    name = Path(path).name
    size_mb = os.path.getsize(path) / 2**20 if os.path.isfile(path) else 0.0
    if size_mb > settings.max_upload_mb:
        raise ValueError(f"{name} is {size_mb:.0f} MB, over this page's limit of {settings.max_upload_mb:g} MB.")
    _, _, meta = FaceVideoProcessor(num_frames=1, face_detector="haar").read_frames(path)
    if meta["duration"] > settings.max_duration_s:
        raise ValueError(
            f"{name} is {_minutes(meta['duration'])} long, over this page's limit of "
            f"{_minutes(settings.max_duration_s)}; trim it and try again."
        )
    megapixels = meta["width"] * meta["height"] / 1e6
    if megapixels > settings.max_megapixels:
        raise ValueError(
            f"{name} has {meta['width']}x{meta['height']} frames ({megapixels:.1f} megapixels), over this page's "
            f"limit of {settings.max_megapixels:g} megapixels; downscale it and try again."
        )


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} seconds" if seconds < 120 else f"{seconds / 60:.1f} minutes"


def analyze_video(
    pipe: FaceVideoAnalysisPipeline,
    path: str,
    settings: Settings,
    progress: Callable[[float, str], Any] | None = None,
) -> dict[str, Any]:
    """Check the file, then run the pipeline on it with face crops and an emotion timeline.

    Args:
        progress: Called as ``(fraction of the whole job, what is happening)`` at each pipeline stage.

    Raises:
        ValueError: Bad input (the message is the sentence to show).
    """
    check_video(path, settings)
    report = progress or (lambda fraction, text: None)
    return pipe(
        path,
        num_frames=settings.num_frames,
        face_detector=settings.face_detector,
        timeline_window=settings.timeline_window,
        return_face_crops=True,
        progress_callback=lambda stage, fraction: report(fraction, STAGE_TEXT.get(stage, stage)),
    )


# ------------------------------------------------------------------------------------------------- drawing


def result_json(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON the page shows and the API returns: the pipeline's result without the crop images, with
    ``emotions`` as a label -> probability mapping (most likely first), as the app's contract says."""
    data = {key: value for key, value in result.items() if key != "face_crops"}
    data["emotions"] = {item["label"]: item["score"] for item in result["emotions"]}
    return data


def emotion_label(result: dict[str, Any]) -> dict[str, float]:
    return {item["label"]: item["score"] for item in result["emotions"]}


def traits_frame(result: dict[str, Any]) -> pd.DataFrame:
    names = [name.capitalize() for name in result["traits"]]
    return pd.DataFrame({"trait": names, "score": list(result["traits"].values())})


def traits_text(result: dict[str, Any]) -> str:
    """One plain-words line per trait: where the score leans and what that means."""
    lines = []
    for name, score in result["traits"].items():
        high, low = TRAIT_WORDS.get(name, ("high", "low"))
        if score >= 0.6:
            lean = f"leans high: {high}"
        elif score <= 0.4:
            lean = f"leans low: {low}"
        else:
            lean = f"in between ({high} ↔ {low})"
        lines.append(f"- **{name.capitalize()} {score:.2f}** — {lean}.")
    note = (
        "\n\n*Apparent personality: how people watching this clip would likely rate the person (the trait model learns "
        "from First Impressions ratings), not a psychological assessment.*"
    )
    return "\n".join(lines) + note


def timeline_frame(result: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {"time (s)": round(point["timestamp"], 3), "emotion": label, "probability": score}
        for point in result.get("timeline", [])
        for label, score in point["emotions"].items()
    ]
    return pd.DataFrame(rows, columns=["time (s)", "emotion", "probability"])


def gallery_items(result: dict[str, Any]) -> list[tuple[Image.Image, str]]:
    """The crops the model saw, captioned; frames where no face was found are dimmed and framed in red."""
    items = []
    for crop, frame in zip(result.get("face_crops", []), result["frames"], strict=False):  # no crops: no gallery
        caption = f"frame {frame['index']} · {frame['timestamp']:.2f} s"
        if not frame["face_found"]:
            crop = _mark_no_face(crop)
            caption += " · no face found (ignored by the model)"
        items.append((crop, caption))
    return items


def _mark_no_face(crop: Image.Image) -> Image.Image:
    image = ImageOps.grayscale(crop).convert("RGB").point(lambda v: v // 2 + 64)
    border = max(2, image.width // 16)
    ImageDraw.Draw(image).rectangle([0, 0, image.width - 1, image.height - 1], outline=(220, 30, 30), width=border)
    return image


def write_json_file(data: dict[str, Any], video_path: str, max_age_s: float = 3600) -> str:
    """The result as a downloadable ``<video name>.face-fusion.json`` in a fresh folder under RESULTS_DIR.

    Gradio serves a copy from its own cache (cleaned by ``delete_cache``); the originals older than ``max_age_s``
    are removed here, so a long-running server does not fill its disk.
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for old in RESULTS_DIR.iterdir():
        try:
            if time.time() - old.stat().st_mtime > max_age_s:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another request removed it first
            pass
    stem = re.sub(r"[^\w.-]+", "_", Path(video_path).stem)[:80] or "video"
    path = Path(tempfile.mkdtemp(dir=RESULTS_DIR)) / f"{stem}.face-fusion.json"
    path.write_text(json.dumps(data, indent=2))
    return str(path)


def model_info(pipe: FaceVideoAnalysisPipeline, settings: Settings, fallback_reason: str | None) -> str:
    """Which model, revision, face detector and frame count the page runs with (Markdown)."""
    processor = pipe.processor_for(settings.num_frames, settings.face_detector)
    detector = {"face_alignment": "face-alignment", "haar": "OpenCV's Haar cascade (bundled)"}
    name = f"`{pipe.model.name_or_path}`"
    if fallback_reason:
        name = f"untrained architecture from `{FALLBACK_CONFIG}`"
    revision = f"revision `{pipe.revision}`" if pipe.revision else "local files"
    return (
        f"**Model:** {name} · {revision} · faces found with {detector[processor.resolved_face_detector]} · "
        f"{processor.num_frames} frames per clip · limits: {settings.max_upload_mb:g} MB, "
        f"{_minutes(settings.max_duration_s)}, {settings.max_megapixels:g} megapixels per frame"
    )


def untrained_banner(model: str, reason: str) -> str:
    return (
        f"⚠️ **Untrained model: predictions are random.** `{model}` could not be loaded ({reason}), so the page "
        "runs the untrained face-fusion architecture: everything works end to end, but the numbers mean nothing."
    )


# ------------------------------------------------------------------------------------------------- the page

CSS = """
#untrained-banner { background: #fff4e5; border: 1px solid #f0a020; border-radius: 8px; padding: 4px 12px; }
#untrained-banner p { color: #5a3b00; }
"""


def build_demo(
    pipe: FaceVideoAnalysisPipeline,
    settings: Settings,
    fallback_reason: str | None = None,
    examples: Sequence[Path] = (),
) -> gr.Blocks:
    """The page: video in, Analyze, then emotions, traits, timeline, face gallery and JSON (``/predict``)."""

    def analyze(video: str | None, progress=gr.Progress()):
        try:
            result = analyze_video(pipe, video, settings, lambda fraction, text: progress(fraction, desc=text))
        except ValueError as error:  # bad input: the one sentence, on the page and to API clients
            raise gr.Error(html.escape(str(error), quote=False), duration=None, print_exception=False) from None
        except Exception as error:
            logger.exception("Analysis of %s failed", video)
            message = f"The analysis failed unexpectedly ({type(error).__name__}); please try another video."
            raise gr.Error(message, duration=None, print_exception=False) from None
        data = result_json(result)
        return (
            data,
            emotion_label(result),
            traits_frame(result),
            traits_text(result),
            timeline_frame(result),
            gallery_items(result),
            write_json_file(data, video),
        )

    with gr.Blocks(title="face-fusion: emotions and personality from a face video", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# face-fusion\nUpload or record a short video of one person's face, then press **Analyze**: the model "
            "reads the face in evenly spaced frames and estimates the emotions shown and the apparent personality."
        )
        if fallback_reason:
            gr.Markdown(untrained_banner(settings.model, fallback_reason), elem_id="untrained-banner")
        gr.Markdown(model_info(pipe, settings, fallback_reason), elem_id="model-info")
        with gr.Row():
            with gr.Column(scale=1):
                video = gr.Video(sources=["upload", "webcam"], label="Video", elem_id="video-input")
                button = gr.Button("Analyze", variant="primary")
                if examples:
                    gr.Examples(
                        [[str(path)] for path in examples],
                        inputs=[video],
                        example_labels=[EXAMPLES.get(Path(path).name, Path(path).stem) for path in examples],
                        label="Examples (made from scikit-image's sample photos)",
                    )
            with gr.Column(scale=1):
                emotions = gr.Label(num_top_classes=7, label="Emotions over the whole clip", elem_id="emotions")
        with gr.Row():
            with gr.Column(scale=1):
                traits = gr.BarPlot(
                    x="trait",
                    y="score",
                    y_lim=[0, 1],
                    sort=[name.capitalize() for name in modeling.TRAIT_LABELS],
                    label="Personality traits (OCEAN, 0 to 1)",
                    elem_id="traits",
                )
            with gr.Column(scale=1):
                traits_words = gr.Markdown(elem_id="traits-text")
        timeline = gr.LinePlot(
            x="time (s)",
            y="probability",
            color="emotion",
            color_map=EMOTION_COLORS,
            y_lim=[0, 1],
            label=f"How the emotions move over the clip (sliding window of {settings.timeline_window} frames)",
            elem_id="timeline",
        )
        faces = gr.Gallery(
            label="Face crops the model used (red frame: no face found there)",
            columns=10,
            object_fit="contain",
            elem_id="faces",
        )
        with gr.Accordion("Full result (JSON)", open=False):
            result = gr.JSON(label="Result", elem_id="result-json")
            download = gr.File(label="Download the result")
        button.click(
            analyze,
            inputs=[video],
            outputs=[result, emotions, traits, traits_words, timeline, faces, download],
            api_name="predict",
        )
    return demo


# ------------------------------------------------------------------------------------------------- serving


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description="Serve the face-fusion web page (and its /predict API).")
    parser.add_argument("--model", default=os.environ.get("FACE_FUSION_MODEL", DEFAULT_MODEL), help="Hub id or folder")
    parser.add_argument("--revision", default=None, help="Hub branch, tag or commit of --model")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--max_upload_mb", type=float, default=200.0, help="largest accepted upload, in MB")
    parser.add_argument("--max_duration_s", type=float, default=600.0, help="longest accepted video, in seconds")
    parser.add_argument("--max_megapixels", type=float, default=8.3,
                        help="largest accepted frame size (8.3: 4K UHD); bounds each analysis's memory")
    parser.add_argument("--num_frames", type=int, default=None, help="frames sampled per video (model default)")
    parser.add_argument("--face_detector", default="auto", choices=["auto", "face_alignment", "haar"])
    parser.add_argument("--timeline_window", type=int, default=5, help="frames per point of the emotion timeline")
    parser.add_argument("--concurrency", type=int, default=2, help="analyses run at the same time")
    parser.add_argument("--max_queue", type=int, default=16, help="requests waiting before new ones are refused")
    return Settings(**vars(parser.parse_args(argv)))


def launch(demo: gr.Blocks, settings: Settings, examples_dir: Path = EXAMPLES_DIR, **kwargs) -> gr.Blocks:
    """Queue and serve ``demo`` with the settings' limits (``kwargs`` go to ``Blocks.launch``)."""
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    options = dict(
        server_name=settings.host,
        server_port=settings.port,
        max_file_size=int(settings.max_upload_mb * 2**20),
        allowed_paths=[str(examples_dir)],
        css=CSS,
    )
    demo.launch(**{**options, **kwargs})
    return demo


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio's own start-up requests, one line each
    settings = parse_args(argv)
    pipe, fallback_reason = load_pipeline(settings.model, settings.revision)
    examples = make_example_videos(EXAMPLES_DIR)
    launch(build_demo(pipe, settings, fallback_reason, examples), settings)


if __name__ == "__main__":
    main()
