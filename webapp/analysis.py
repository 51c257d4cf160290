"""One analysis as the page runs it: the upload checks, then the pipeline with face crops, a timeline and progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modeling.pipeline_face_video import FaceVideoAnalysisPipeline
from webapp.settings import Settings
from webapp.upload_checks import check_video

STAGE_TEXT = {
    "decode": "Decoding frames",
    "faces": "Finding the face",
    "embed": "Embedding the face crops",
    "predict": "Predicting emotions and traits",
}


def analyze_video(
    pipe: FaceVideoAnalysisPipeline,
    path: str,
    settings: Settings,
    progress: Callable[[float, str], Any] | None = None,
    people: str = "main",
    annotate: str | None = None,
) -> dict[str, Any]:
    """Check the file, then run the pipeline on it with face crops and an emotion timeline.

    Args:
        progress: Called as `(fraction of the whole job, what is happening)` at each pipeline stage.
        people: "main" (the most prominent person) or "all" (everyone seen often and large enough, in `"people"`).
        annotate: Where to write the annotated H.264 clip (each person's box, id and top emotion), if anywhere.

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
        people=people,
        **({"annotate": annotate} if annotate else {}),
        progress_callback=lambda stage, fraction: report(fraction, STAGE_TEXT.get(stage, stage)),
    )
