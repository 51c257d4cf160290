"""The pipeline's result as the page shows it: the JSON, the emotion label, trait chart and words, the timeline, the
face gallery and the downloadable file.

Files written for a request (face crops, the JSON download) go into a folder of its own: two users sending the same
clip must never write the same file while the other is downloading it, as happened when the gallery handed Gradio
images to store under names derived from their content. Gradio copies each file into its cache atomically.

"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image, ImageDraw, ImageOps

RESULTS_DIR = Path(tempfile.gettempdir()) / "face-fusion-results"

# Images, and the annotated clip's path on the server (the page offers the clip itself): not part of the JSON.
SERVER_ONLY_KEYS = ("face_crops", "thumbnail", "annotated_video")
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


def result_json(result: dict[str, Any], untrained_reason: str | None = None) -> dict[str, Any]:
    """The JSON the page shows and the API returns: the pipeline's result without the crop images, with `emotions`
    as a label -> probability mapping (most likely first); the `detector` and `precision` that made it are the
    pipeline's own. `model.untrained` says whether the numbers come from the untrained fallback (then
    `model.untrained_reason` says why)."""
    data = {key: value for key, value in result.items() if key not in SERVER_ONLY_KEYS}
    if "people" in data:  # each person's crops and thumbnail are images, shown on the page, not JSON
        data["people"] = [
            {key: value for key, value in person.items() if key not in SERVER_ONLY_KEYS} for person in data["people"]
        ]
    data["emotions"] = {item["label"]: item["score"] for item in result["emotions"]}
    data["model"] = {**result.get("model", {}), "untrained": untrained_reason is not None}
    if untrained_reason is not None:
        data["model"]["untrained_reason"] = untrained_reason
    return data


def emotion_label(result: dict[str, Any]) -> dict[str, float]:
    return {item["label"]: item["score"] for item in result["emotions"]}


def traits_frame(result: dict[str, Any]) -> pd.DataFrame:
    names = [name.capitalize() for name in result["traits"]]
    return pd.DataFrame({"trait": names, "score": list(result["traits"].values())})


def traits_text(result: dict[str, Any], untrained: bool = False) -> str:
    """One plain-words line per trait: where the score leans and what that means; numbers only when `untrained`
    (random numbers read out in words would sound like a judgment of the person)."""
    if untrained:
        lines = [f"- **{name.capitalize()} {score:.2f}**" for name, score in result["traits"].items()]
        return "\n".join(lines) + "\n\n*No readings: the model is untrained, so these numbers are random.*"
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


def new_result_folder(max_age_s: float = 3600) -> Path:
    """A fresh folder under RESULTS_DIR for one request's files; folders older than `max_age_s` are removed.

    Gradio serves copies from its own cache (cleaned by `delete_cache`), so the originals are needed only until the
    request is answered, and a long-running server does not fill its disk.
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for old in RESULTS_DIR.iterdir():
        try:
            if time.time() - old.stat().st_mtime > max_age_s:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another request removed it first
            pass
    return Path(tempfile.mkdtemp(dir=RESULTS_DIR))


def gallery_items(result: dict[str, Any], folder: Path) -> list[tuple[str, str]]:
    """The crops the model saw, as image files in `folder`, captioned.

    Frames where the person is not in frame (no crop) are framed in red.
    """
    items = []
    for i, (crop, frame) in enumerate(zip(result.get("face_crops", []), result["frames"], strict=False)):
        caption = f"frame {frame['index']} · {frame['timestamp']:.2f} s"
        if not frame["face_found"]:
            crop = _mark_no_face(crop)
            caption += " · not in frame (ignored by the model)"
        path = folder / f"face_{i:03d}.webp"
        crop.save(path, quality=90)
        items.append((str(path), caption))
    return items


def people_cards(result: dict[str, Any], untrained: bool = False) -> str:
    """One card per person analysed, most prominent first (HTML): thumbnail, frames seen, emotions and traits.

    With people="main" the result has no `"people"`, and the one card is the main person's.
    """
    people = result.get("people") or [{**result, "id": 0, "frames_seen": result["video"]["faces_found"]}]
    total = len(result["frames"])
    cards = []
    for rank, person in enumerate(people):
        title = "Main person" if rank == 0 else f"Person {rank + 1}"
        thumbnail = person.get("thumbnail")  # the crop of the person's largest face (the pipeline's choice)
        image = f'<img src="{_data_uri(thumbnail)}" alt="{title}" width="96" height="96">' if thumbnail else ""
        emotions = ", ".join(f"{item['label']} {item['score']:.0%}" for item in person["emotions"][:3])
        traits = ", ".join(f"{name} {score:.2f}" for name, score in person["traits"].items())
        note = " (untrained: random numbers)" if untrained else ""
        cards.append(
            f'<div class="person-card" data-person-id="{html.escape(str(person["id"]))}">{image}<div>'
            f"<b>{title}</b> · id {html.escape(str(person['id']))} · seen in {person['frames_seen']} of {total} "
            f"sampled frames<br>Emotions: {html.escape(emotions)}<br>Traits{note}: {html.escape(traits)}</div></div>"
        )
    return '<div class="people-cards">' + "".join(cards) + "</div>"


def _data_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").resize((96, 96)).save(buffer, format="WEBP", quality=85)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode()


def _mark_no_face(crop: Image.Image) -> Image.Image:
    image = ImageOps.grayscale(crop).convert("RGB").point(lambda v: v // 2 + 64)
    border = max(2, image.width // 16)
    ImageDraw.Draw(image).rectangle([0, 0, image.width - 1, image.height - 1], outline=(220, 30, 30), width=border)
    return image


def safe_stem(video_path: str) -> str:
    """The video's name without its extension, safe as a file name."""
    return re.sub(r"[^\w.-]+", "_", Path(video_path).stem)[:80] or "video"


def write_json_file(data: dict[str, Any], video_path: str, folder: Path) -> str:
    """The result as a downloadable `<video name>.face-fusion.json` in `folder`."""
    path = folder / f"{safe_stem(video_path)}.face-fusion.json"
    path.write_text(json.dumps(data, indent=2))
    return str(path)


def model_info(pipe, settings, fallback_reason: str | None, fallback_config: str, precision: str) -> str:
    """Which model, revision, precision, face detector and frame count the page runs with, and its limits
    (Markdown)."""
    from webapp.upload_checks import minutes

    processor = pipe.processor_for(settings.num_frames, settings.face_detector)
    name = f"`{pipe.model.name_or_path}`"
    if fallback_reason:
        name = f"untrained architecture from `{fallback_config}`"
    revision = f"revision `{pipe.revision}`" if pipe.revision else "local files"
    chosen = "" if settings.precision == precision else f" ({settings.precision})"
    return (
        f"**Model:** {name} · {revision} · {precision}{chosen} embedder · "
        f"faces found with {processor.face_detector_description} · "
        f"{processor.num_frames} frames per clip · limits: {settings.max_upload_mb:g} MB, "
        f"{minutes(settings.max_duration_s)}, {settings.max_megapixels:g} megapixels per frame"
    )


def untrained_banner(model: str, reason: str) -> str:
    return (
        f"⚠️ **Untrained model: predictions are random.** `{model}` could not be loaded ({reason}), so the page "
        "runs the untrained face-fusion architecture: everything works end to end, but the numbers mean nothing."
    )
