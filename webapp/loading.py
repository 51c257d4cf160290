"""Loading the page's model: the project's own pipeline class on the configured model, at a pinned revision, with
the untrained architecture as a fallback so the page always starts.

Only local code runs: `import modeling` registers the project's classes with the Auto classes, so the model, its
processor and the pipeline come from this checkout (the Space's own files), never from the model repo's remote
code. The weights are what the Hub (or its cache) holds at `revision`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import modeling  # registers the Auto classes and the face-video-analysis task
from modeling.hub_access import hub_reachable
from modeling.pipeline_face_video import FaceVideoAnalysisPipeline
from modeling.processing_face_video import FaceVideoProcessor
from webapp.settings import Settings

logger = logging.getLogger("face-fusion-app")

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The untrained architecture used when the configured model cannot be loaded (tests point this at a tiny one).
FALLBACK_CONFIG = os.environ.get("FACE_FUSION_FALLBACK_CONFIG", str(PROJECT_DIR / "hub_configs" / "face-fusion"))


def load_pipeline(settings: Settings) -> tuple[FaceVideoAnalysisPipeline, str | None]:
    """The analysis pipeline for `settings.model` at `settings.revision`, or for the untrained architecture when that
    cannot be loaded.

    Returns:
        The pipeline and, when it is the untrained fallback, why the configured model could not be loaded.
    """
    from transformers import AutoConfig, AutoModel

    model_id, revision = settings.model, settings.revision
    local_only = not Path(model_id).is_dir() and not hub_reachable()
    if local_only:
        logger.warning("The Hugging Face Hub cannot be reached: looking for %s in the local cache only.", model_id)
    try:
        model = AutoModel.from_pretrained(model_id, revision=revision, local_files_only=local_only)
        if not isinstance(model, modeling.FaceFusionModel):
            raise ValueError(f"{model_id} holds a {type(model).__name__}, not a face-fusion model")
        processor = _saved_processor(model_id, revision, local_only)
        pipe = build_pipeline(model, processor, settings.precision)
        pipe.revision = loaded_commit(model_id, revision) or pipe.revision
        return pipe, None
    except Exception as error:  # noqa: BLE001 - offline, missing repo, bad folder: the page must still start
        first_line = (str(error).strip().splitlines() or [""])[0]
        reason = f"{type(error).__name__}: {first_line}"[:300]
        logger.warning("Could not load %s (%s); using the untrained model in %s.", model_id, reason, FALLBACK_CONFIG)
    untrained = modeling.FaceFusionModel(AutoConfig.from_pretrained(FALLBACK_CONFIG))
    return build_pipeline(untrained, None, settings.precision), reason


def build_pipeline(model, processor: FaceVideoProcessor | None, precision: str) -> FaceVideoAnalysisPipeline:
    """The project's pipeline on `model` with the embedder at `precision` ("auto", "fp32" or "bf16")."""
    return FaceVideoAnalysisPipeline(model=model, processor=processor, precision=precision)


def _saved_processor(model_id: str, revision: str | None, local_only: bool) -> FaceVideoProcessor | None:
    """The processor saved beside the model at the same revision (None: the pipeline builds a default one)."""
    try:
        return FaceVideoProcessor.from_pretrained(model_id, revision=revision, local_files_only=local_only)
    except OSError:  # no preprocessor_config.json there
        return None


def loaded_commit(model_id: str, revision: str | None) -> str | None:
    """The commit of `model_id` at `revision` in the local Hub cache (None for a folder, or when unknown)."""
    if Path(model_id).is_dir():
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(model_id, "config.json", revision=revision)
    except Exception:  # noqa: BLE001 - not a repo id the cache knows: the commit is simply unknown
        return None
    if isinstance(cached, str) and Path(cached).parent.parent.name == "snapshots":
        return Path(cached).parent.name
    return None


def embedder_precision(pipe: FaceVideoAnalysisPipeline) -> str:
    """"bf16" or "fp32": what the pipeline's embedder runs at on its device ("auto" resolved)."""
    return pipe.precision
