"""annotate=: an H.264 clip of the sampled frames with each person's box, id and current top emotion."""

from __future__ import annotations

import av
import numpy as np
import pytest

from modeling.video_annotation import PERSON_COLORS
from training.testing.tiny_configs import NUM_FRAMES


@pytest.fixture(scope="module")
def clip(videos):
    return videos["two_people"]


def decoded(path) -> tuple[list[np.ndarray], str, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return frames, stream.codec_context.name, float(container.duration or 0) / 1e6


def near(pixel: np.ndarray, color: tuple[int, int, int], tolerance: int = 60) -> bool:
    return bool(np.abs(pixel.astype(int) - np.array(color)).max() <= tolerance)


def test_the_annotated_clip_draws_each_person_where_and_when_they_are_seen(analyze, clip, tmp_path):
    out = tmp_path / "annotated.mp4"
    result = analyze(str(clip), people="all", annotate=out)
    assert result["annotated_video"] == str(out) and "timeline" in result

    frames, codec, duration = decoded(out)
    assert codec == "h264" and len(frames) == NUM_FRAMES
    assert duration == pytest.approx(result["video"]["duration"], abs=0.5)  # plays in the video's own time
    for person in result["people"]:
        color = PERSON_COLORS[person["id"] % len(PERSON_COLORS)]
        for picture, frame in zip(frames, person["frames"], strict=True):
            if frame["face_found"]:
                x1, y1, x2, y2 = (int(round(v)) for v in frame["box"])
                edge = picture[(y1 + y2) // 2, max(x1, 0) : max(x1, 0) + 2]  # the box's left side, half way down
                assert any(near(pixel, color) for pixel in edge), (person["id"], frame["index"])
    # Where a person is absent, nothing is drawn at their last place (no box carried over).
    left = next(p for p in result["people"] if p["frames"][p["thumbnail_frame"]]["box"][0] < 160)
    last_seen = max(i for i, f in enumerate(left["frames"]) if f["face_found"])
    assert last_seen < NUM_FRAMES - 1
    x1, y1, x2, y2 = (int(round(v)) for v in left["frames"][last_seen]["box"])
    color = PERSON_COLORS[left["id"] % len(PERSON_COLORS)]
    assert not any(near(pixel, color, 40) for pixel in frames[-1][(y1 + y2) // 2, max(x1, 0) : max(x1, 0) + 2])


def test_annotate_takes_one_video(analyze, clip, tmp_path):
    with pytest.raises(ValueError, match="one video"):
        analyze([str(clip), str(clip)], annotate=tmp_path / "both.mp4")
