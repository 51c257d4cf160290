"""What the page refuses before any heavy work: no video, too large, undecodable, too long, frames too big.

Run as the Analyze event's validator, so a bad file is answered at once, outside the queue, and the outputs keep
what they showed. Reasons about the file itself (a still image, a damaged header, no video stream) are the
processor's own sentences, passed through unchanged.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from modeling.processing_face_video import FaceVideoProcessor
from webapp.settings import Settings

logger = logging.getLogger("face-fusion-app")

NO_VIDEO = "Upload or record a video first, then press Analyze."


def check_video(path: str | None, settings: Settings) -> None:
    """Reject, with one sentence, what the page will not analyse.

    The length and frame size come from decoding one frame with the project's processor (cheap even for an hour-long
    file), so a bad or over-long file is refused before the analysis queue.

    Raises:
        ValueError: The reason, naming the file.
    """
    if not path:
        raise ValueError(NO_VIDEO)
    name = Path(path).name
    size_mb = os.path.getsize(path) / 2**20 if os.path.isfile(path) else 0.0
    if size_mb > settings.max_upload_mb:
        raise ValueError(f"{name} is {size_mb:.0f} MB, over this page's limit of {settings.max_upload_mb:g} MB.")
    _, _, meta = FaceVideoProcessor(num_frames=1, face_detector="haar").read_frames(path)
    if meta["duration"] > settings.max_duration_s:
        raise ValueError(
            f"{name} is {minutes(meta['duration'])} long, over this page's limit of "
            f"{minutes(settings.max_duration_s)}; trim it and try again."
        )
    megapixels = meta["width"] * meta["height"] / 1e6
    if megapixels > settings.max_megapixels:
        raise ValueError(
            f"{name} has {meta['width']}x{meta['height']} frames ({megapixels:.1f} megapixels), over this page's "
            f"limit of {settings.max_megapixels:g} megapixels; downscale it and try again."
        )


def upload_problem(path: str | None, settings: Settings) -> str | None:
    """The one sentence saying why the page will not analyse `path`, or None when it will."""
    try:
        check_video(path, settings)
    except ValueError as error:
        return str(error)
    except Exception as error:  # a decoder failure of a kind not foreseen: still one sentence, and logged
        logger.exception("Checking the upload %s failed", path)
        return f"{Path(path).name} could not be checked ({type(error).__name__}); please try another video."
    return None


def minutes(seconds: float) -> str:
    """A duration in words: seconds below two minutes, minutes above."""
    return f"{seconds:.0f} seconds" if seconds < 120 else f"{seconds / 60:.1f} minutes"
