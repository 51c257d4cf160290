"""Detection on every k-th sampled frame (modeling/detection_schedule.py) on real clips: the faces of a full detection,
for a fraction of the detector calls."""

from __future__ import annotations

import numpy as np
import pytest

from modeling.detection_schedule import detect_sparsely
from modeling.processing_face_video import FaceVideoProcessor
from training.testing import videos

CLIPS = {
    "moving": videos.moving_face_video,
    "gap": videos.face_gap_video,  # the face leaves the frame in the middle
    "two_faces": videos.two_faces_video,
    "rotated": videos.rotated_face_video,
}


@pytest.fixture(scope="module")
def clip_frames(tmp_path_factory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("schedule")
    reader = FaceVideoProcessor(num_frames=15, face_detector="haar")
    return {name: reader.read_frames(write(folder / f"{name}.mp4"))[0] for name, write in CLIPS.items()}


@pytest.mark.parametrize("every", [2, 3])
@pytest.mark.parametrize("clip", list(CLIPS))
def test_every_kth_frame_finds_the_faces_of_every_frame(clip_frames, clip, every):
    frames = clip_frames[clip]
    full = FaceVideoProcessor(num_frames=15, face_detector="haar", detect_every=1)
    sparse = FaceVideoProcessor(num_frames=15, face_detector="haar", detect_every=every)
    seen = []
    detect = sparse.detector.detect
    sparse.detector.detect = lambda batch: (seen.append(len(batch)), detect(batch))[1]

    boxes, found = sparse.detect(frames)
    full_boxes, full_found = full.detect(frames)

    np.testing.assert_array_equal(found, full_found)
    side = (full_boxes[:, 2:] - full_boxes[:, :2]).max(axis=1)
    assert (np.abs(boxes - full_boxes).max(axis=1)[found] < 0.15 * side[found]).all()  # within a few pixels
    assert sum(seen) < len(frames)  # the detector saw fewer frames
    if clip == "moving" and every == 2:  # neighbours 3 frames apart moved too far to pair up: detected too
        assert sum(seen) <= len(frames) // every + 2


def test_frames_between_differing_neighbours_are_detected_and_between_equal_ones_interpolated():
    face = np.array([[10.0, 10.0, 50.0, 50.0, 1.0]])
    moved = np.array([[20.0, 10.0, 60.0, 50.0, 0.5]])
    answers = {0: np.empty((0, 5)), 1: face, 2: face, 3: np.empty((0, 5)), 4: moved}
    detected = []

    def detect(batch):
        detected.extend(int(frame[0, 0, 0]) for frame in batch)
        return [answers[int(frame[0, 0, 0])] for frame in batch]

    frames = [np.full((4, 4, 3), t, np.uint8) for t in range(5)]
    result = detect_sparsely(detect, frames, every=2)

    assert detected == [0, 2, 4, 1]  # frame 1 lies between "no face" and "face": detected; frame 3 is not
    assert [len(boxes) for boxes in result] == [0, 1, 1, 1, 1]
    np.testing.assert_allclose(result[3][0], [15.0, 10.0, 55.0, 50.0, 0.5])  # half way from frame 2 to frame 4
