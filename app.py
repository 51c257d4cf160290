"""face-fusion web page: upload or record a video, press Analyze, see emotions, personality traits and the faces used.

Run it with `python app.py [--model ID_OR_PATH] [--revision COMMIT] [--host HOST] [--port PORT]` (127.0.0.1:7860 by
default; `python app.py --help` lists every setting and its environment variable); the same file is the Hugging Face
Space's entry point, and `demo` below is the page, as Gradio's tools expect. The Analyze button is also the API
endpoint `/predict`:

```python
from gradio_client import Client, handle_file
result_json, *_ = Client("http://127.0.0.1:7860/").predict(handle_file("clip.mp4"), api_name="/predict")
```

This file is the page only: layout, event wiring and launch. What it calls lives in `webapp/` (settings, loading,
upload checks, result views, example clips); decoding, face finding and the model live in `modeling/`.
"""

from __future__ import annotations

import os

# Before gradio is imported: its analytics would otherwise make DNS lookups (and hang a moment offline).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import hashlib
import html
import logging
import sys
import tempfile
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import gradio as gr

from modeling import TRAIT_LABELS
from modeling.pipeline_face_video import FaceVideoAnalysisPipeline
from webapp import loading
from webapp.analysis import analyze_video
from webapp.example_clips import PAGE_EXAMPLES, make_example_videos
from webapp.results import (
    EMOTION_COLORS,
    emotion_label,
    gallery_items,
    model_info,
    new_result_folder,
    people_cards,
    result_json,
    safe_stem,
    timeline_frame,
    traits_frame,
    traits_text,
    untrained_banner,
    write_json_file,
)
from webapp.settings import Settings, read_settings
from webapp.unplayable_preview import CSS as UNPLAYABLE_PREVIEW_CSS
from webapp.unplayable_preview import UNPLAYABLE_PREVIEW_JS
from webapp.upload_checks import upload_problem

logger = logging.getLogger("face-fusion-app")

CONSOLE_SCRIPT = "face-fusion-app"  # the installed command that runs main()
EXAMPLES_DIR = Path(os.environ.get("FACE_FUSION_EXAMPLES_DIR", Path(tempfile.gettempdir()) / "face-fusion-examples"))
CSS = """
#untrained-banner { background: #fff4e5; border: 1px solid #f0a020; border-radius: 8px; padding: 4px 12px; }
#untrained-banner p { color: #5a3b00; }
.people-cards { display: flex; flex-wrap: wrap; gap: 8px; }
.person-card { display: flex; gap: 8px; border: 1px solid #ccc; border-radius: 8px; padding: 6px; max-width: 480px; }
""" + UNPLAYABLE_PREVIEW_CSS


# The page's outputs, as stored in the examples cache: a cache written for another set of outputs is not reused.
OUTPUTS_LAYOUT = "json emotions traits words timeline people-cards annotated-video faces download"
PEOPLE_CHOICE = "Choose the main person or everyone seen."


def build_demo(
    pipe: FaceVideoAnalysisPipeline,
    settings: Settings,
    fallback_reason: str | None = None,
    examples: Sequence[Path] = (),
) -> gr.Blocks:
    """The page: video in, Analyze, then emotions, traits, timeline, face gallery and JSON (`/predict`)."""

    def check_upload(video: str | None, people: str = "main"):
        """The Analyze event's validator: a file the page will not analyse gets its one sentence at once, outside
        the queue, and the outputs keep what they showed."""
        problem = upload_problem(video, settings)
        return gr.validate(problem is None, problem or ""), gr.validate(people in ("main", "all"), PEOPLE_CHOICE)

    def run(video: str | None, people: str = "main", progress=None, annotate: str | None = None) -> tuple[dict, dict]:
        """The pipeline's result and its JSON; bad input or a failure raises gr.Error with one sentence."""
        report = (lambda fraction, text: progress(fraction, desc=text)) if progress else None
        try:
            result = analyze_video(pipe, video, settings, report, people=people, annotate=annotate)
        except ValueError as error:  # bad input: the one sentence, on the page and to API clients
            raise gr.Error(html.escape(str(error), quote=False), duration=None, print_exception=False) from None
        except Exception as error:
            logger.exception("Analysis of %s failed", video)
            message = f"The analysis failed unexpectedly ({type(error).__name__}); please try another video."
            raise gr.Error(message, duration=None, print_exception=False) from None
        return result, result_json(result, fallback_reason)

    def analyze(video: str | None, people: str = "main", progress=gr.Progress()):
        """Analyse a video of a face: the emotions shown and the apparent personality, with every view of the page
        (the result JSON, emotion label, trait chart and words, emotion timeline, one card per person, the annotated
        clip, face crops, JSON file).

        Args:
            video: A video file (mp4, webm, mov, mkv or avi) showing a person's face, up to the page's limits.
            people: "main" analyses the most prominent person; "all" also everyone else seen often enough, each
                with their own card and their own entry in the JSON's `people`.
        """
        folder = new_result_folder()
        annotated = str(folder / f"{safe_stem(video or '')}.annotated.mp4")
        result, data = run(video, people, progress, annotate=annotated)
        return (
            data,
            emotion_label(result),
            traits_frame(result),
            traits_text(result, untrained=fallback_reason is not None),
            timeline_frame(result),
            people_cards(result, untrained=fallback_reason is not None),
            result["annotated_video"],
            gallery_items(result, folder),
            write_json_file(data, video, folder),
        )

    def analyze_json(video: str | None, people: str = "main") -> dict:
        """Analyse a video of one person's face and return only the result JSON: `emotions` (the 7 emotions, label
        to probability, most likely first), `traits` (the 5 apparent-personality traits, OCEAN order, 0 to 1),
        `frames` (each sampled frame's index, time and face box), `timeline` (emotions over the clip), `video`,
        `model`, `detector` and `precision`, and with people="all", `people` (each person's own analysis, most
        prominent first). The traits are apparent personality (how viewers would rate the person), not a
        psychological assessment.

        Args:
            video: A video file (mp4, webm, mov, mkv or avi) showing a person's face, up to the page's limits.
            people: "main" (the most prominent person) or "all" (everyone seen often enough).
        """
        return run(video, people)[1]

    with gr.Blocks(title="face-fusion: emotions and personality from a face video", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# face-fusion\nUpload or record a short video of one person's face, then press **Analyze**: the model "
            "reads the face in evenly spaced frames and estimates the emotions shown and the apparent personality. "
            "Choose **Everyone seen** to analyse each person in the clip."
        )
        if fallback_reason:
            gr.Markdown(untrained_banner(settings.model, fallback_reason), elem_id="untrained-banner")
        info = model_info(pipe, settings, fallback_reason, loading.FALLBACK_CONFIG, loading.embedder_precision(pipe))
        gr.Markdown(info, elem_id="model-info")
        with gr.Row():
            with gr.Column(scale=1) as input_column:
                video = gr.Video(sources=["upload", "webcam"], label="Video", elem_id="video-input")
                people = gr.Radio(
                    [("Main person", "main"), ("Everyone seen", "all")],
                    value="main",
                    label="People",
                    info="Everyone: each person seen in enough frames gets their own card, most prominent first.",
                    elem_id="people-option",
                )
                button = gr.Button("Analyze", variant="primary")
            with gr.Column(scale=1):
                emotions = gr.Label(num_top_classes=7, label="Emotions over the whole clip", elem_id="emotions")
        with gr.Row():
            with gr.Column(scale=1):
                traits = gr.BarPlot(
                    x="trait",
                    y="score",
                    y_lim=[0, 1],
                    sort=[name.capitalize() for name in TRAIT_LABELS],
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
        people_view = gr.HTML(label="People", elem_id="people-cards")
        annotated_video = gr.Video(
            label="Annotated video (each person's box, id and top emotion)",
            interactive=False,
            buttons=["download"],
            elem_id="annotated-video",
        )
        faces = gr.Gallery(
            label="Face crops the model used (red frame: the person is not in that frame)",
            columns=10,
            object_fit="contain",
            elem_id="faces",
        )
        with gr.Accordion("Full result (JSON)", open=False):
            result = gr.JSON(label="Result", elem_id="result-json")
            download = gr.File(label="Download the result")
        outputs = [result, emotions, traits, traits_words, timeline, people_view, annotated_video, faces, download]
        button.click(analyze, inputs=[video, people], outputs=outputs, api_name="predict", validator=check_upload)
        gr.on([], analyze_json, inputs=[video, people], outputs=[result], api_name="analyze_json",
              validator=check_upload)
        if examples:
            # under the video, now that the outputs a cached example fills exist
            with input_column, examples_cache_for(pipe, settings, fallback_reason):
                gr.Examples(
                    [[str(path)] for path in examples],
                    inputs=[video],
                    outputs=outputs,
                    fn=analyze,
                    cache_examples=True,
                    cache_mode="lazy",  # each example runs once, on its first click, then shows the stored answer
                    example_labels=[PAGE_EXAMPLES.get(Path(path).name, Path(path).stem) for path in examples],
                    label="Examples (made from scikit-image's sample photos)",
                    api_visibility="undocumented",
                )
    return demo


@contextmanager
def examples_cache_for(pipe: FaceVideoAnalysisPipeline, settings: Settings, fallback_reason: str | None):
    """Gradio's examples cache in a folder of its own for this model, revision and these settings, so that a page
    started on another model never shows answers stored for the last one."""
    identity = [pipe.model.name_or_path, pipe.revision, fallback_reason is None, loading.embedder_precision(pipe),
                settings.num_frames, settings.face_detector, settings.timeline_window, OUTPUTS_LAYOUT]
    key = hashlib.sha256(repr(identity).encode()).hexdigest()[:16]
    before = os.environ.get("GRADIO_EXAMPLES_CACHE")
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(Path(before or ".gradio/cached_examples") / key)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("GRADIO_EXAMPLES_CACHE")
        else:
            os.environ["GRADIO_EXAMPLES_CACHE"] = before


def launch(demo: gr.Blocks, settings: Settings, examples_dir: Path = EXAMPLES_DIR, **kwargs) -> gr.Blocks:
    """Queue and serve `demo` with the settings' limits (`kwargs` go to `Blocks.launch`)."""
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    options = dict(
        server_name=settings.host,
        server_port=settings.port,
        max_file_size=int(settings.max_upload_mb * 2**20),
        allowed_paths=[str(examples_dir)],
        css=CSS,
        js=UNPLAYABLE_PREVIEW_JS,
        mcp_server=settings.mcp_server and mcp_available(),
    )
    demo.launch(**{**options, **kwargs})
    return demo


def mcp_available() -> bool:
    """Whether Gradio's MCP server can run here (the `mcp` package of `gradio[mcp]`); said once in the log if not."""
    import importlib.util

    if importlib.util.find_spec("mcp") is not None:
        return True
    logger.warning("No MCP server: the mcp package is not installed (pip install 'gradio[mcp]'); the page and its "
                   "API work without it.")
    return False


def _run_as_program() -> bool:
    """Whether this page is the program being run (`python app.py`, or the installed command), so the command line
    is its own; imported (Gradio's reload mode, a test, a notebook), it reads only the environment."""
    return __name__ == "__main__" or Path(sys.argv[0]).name == CONSOLE_SCRIPT


if _run_as_program():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio's own start-up requests, one line each
settings = read_settings(sys.argv[1:] if _run_as_program() else [])
pipe, fallback_reason = loading.load_pipeline(settings)
demo = build_demo(pipe, settings, fallback_reason, make_example_videos(EXAMPLES_DIR))


def main() -> None:
    """Serve the page (the console entry point; `python app.py` does the same)."""
    launch(demo, settings)


if __name__ == "__main__":
    main()
