"""A still photo, whatever its format or extension, is analysed as a one-frame video and says so."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from training.testing.videos import astronaut_head


@pytest.mark.parametrize("name", ["face.jpg", "face.png", "face.webp", "photo_named_like_a.mp4"])
def test_a_photo_is_a_one_frame_input_with_a_note(analyze, tmp_path, name):
    photo = Image.fromarray(astronaut_head())
    path = tmp_path / name
    if name.endswith(".mp4"):
        photo.save(tmp_path / "face.jpg")
        shutil.copyfile(tmp_path / "face.jpg", path)
    else:
        photo.save(path)

    result = analyze(str(path))
    assert result["video"]["still_image"] is True
    assert result["video"]["width"] == 180 and result["video"]["height"] == 220
    assert "one frame is weak evidence" in result["note"]
    assert {frame["index"] for frame in result["frames"]} == {0} and all(f["face_found"] for f in result["frames"])
    with open(path, "rb") as file:  # bytes too
        assert analyze(file.read())["video"]["still_image"] is True


def test_a_video_has_no_note(analyze, videos):
    result = analyze(str(videos["moving"]))
    assert result["video"]["still_image"] is False and "note" not in result
