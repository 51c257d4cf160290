"""The face photo shipped in the emonext-base Hub repo as its widget example: a crop of scikit-image's astronaut photo
(Eileen Collins, NASA, public domain), written at export time so no binary lives in git."""

from __future__ import annotations

import os
from pathlib import Path

EXAMPLE_IMAGE_NAME = "astronaut_face.png"
EXAMPLE_IMAGE_TITLE = "Astronaut (scikit-image sample photo), face crop"
# A square around the face with some margin, as the face-video processor cuts it: rows, then columns.
_FACE_BOX = (slice(30, 200), slice(140, 310))


def write_example_image(path: str | os.PathLike) -> Path:
    """Write the RGB face crop as a PNG (lossless, so every export writes the same pixels) and return its path."""
    from PIL import Image
    from skimage import data  # face-alignment already depends on scikit-image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()[_FACE_BOX]).save(path, format="PNG")
    return path
