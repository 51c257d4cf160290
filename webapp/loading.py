"""Loading the page's model: the face-video-analysis pipeline on the configured model, with the untrained
architecture as a fallback so the page always starts."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import modeling  # registers the Auto classes and the face-video-analysis task
from modeling.pipeline_face_video import TASK, FaceVideoAnalysisPipeline

logger = logging.getLogger("face-fusion-app")

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The untrained architecture used when the configured model cannot be loaded (tests point this at a tiny one).
FALLBACK_CONFIG = os.environ.get("FACE_FUSION_FALLBACK_CONFIG", str(PROJECT_DIR / "hub_configs" / "face-fusion"))


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face Hub answers at all within `timeout_s`.

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
    """The analysis pipeline for `model`, or for the untrained architecture when that cannot be loaded.

    Returns:
        The pipeline and, when it is the untrained fallback, why the configured model could not be loaded.
    """
    from transformers import AutoConfig, pipeline

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
