"""A still photo, whatever its format or extension, is refused with the true reason: one frame is too weak evidence."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from modeling.processing_face_video import VideoDecodeError
from training.testing.videos import astronaut_head


@pytest.mark.parametrize("name", ["face.jpg", "face.png", "face.webp", "photo_named_like_a.mp4"])
def test_a_photo_is_refused_because_one_frame_is_weak_evidence(analyze, tmp_path, name):
    photo = Image.fromarray(astronaut_head())
    path = tmp_path / name
    if name.endswith(".mp4"):
        photo.save(tmp_path / "face.jpg")
        shutil.copyfile(tmp_path / "face.jpg", path)
    else:
        photo.save(path)

    for given in (str(path), path.read_bytes()):
        with pytest.raises(VideoDecodeError) as caught:
            analyze(given)
        message = str(caught.value)
        assert "it is a still image" in message and "one frame is too weak evidence" in message
        assert "personality traits" in message and message.endswith(".") and "\n" not in message
