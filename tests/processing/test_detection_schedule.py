"""Detection on every k-th sampled frame (modeling/detection_schedule.py) on real clips: the faces of a full detection,
for a fraction of the detector calls."""

from __future__ import annotations

import numpy as np
import pytest

from modeling.detection_schedule import (
    CONFIRM_REACH,
    CONFIRM_SIDE,
    detect_sparsely,
    fewest_whole_frame_detections,
    whole_frame_detections,
)
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
    seen = []  # the shape of every image the detector was given
    detect = sparse.detector.detect
    sparse.detector.detect = lambda batch: (seen.extend(image.shape for image in batch), detect(batch))[1]

    boxes, found = sparse.detect(frames)
    full_boxes, full_found = full.detect(frames)

    np.testing.assert_array_equal(found, full_found)
    side = (full_boxes[:, 2:] - full_boxes[:, :2]).max(axis=1)
    assert (np.abs(boxes - full_boxes).max(axis=1)[found] < 0.15 * side[found]).all()  # within a few pixels
    whole_frames = sum(shape == frames.shape[1:] for shape in seen)
    assert whole_frames < len(frames)  # the detector saw fewer frames ...
    assert all(shape == (CONFIRM_SIDE, CONFIRM_SIDE, 3) for shape in seen if shape != frames.shape[1:])  # + squares
    if clip == "moving" and every == 2:  # neighbours 3 frames apart moved too far to pair up: detected too
        assert whole_frames <= len(frames) // every + 2


@pytest.mark.parametrize("face_on_frame_3", [True, False])
def test_frames_between_differing_neighbours_are_detected_and_between_equal_ones_checked_near_the_face(face_on_frame_3):
    face = np.array([[10.0, 10.0, 50.0, 50.0, 1.0]])
    moved = np.array([[20.0, 10.0, 60.0, 50.0, 0.5]])
    answers = {0: np.empty((0, 5)), 1: face, 2: face, 3: moved if face_on_frame_3 else np.empty((0, 5)), 4: moved}
    detected, squares = [], []

    def detect(batch):
        """Frame t is filled with t + 1; a face is where ``answers`` says on whole frames, and at the centre of a
        square cut from a frame that shows one."""
        results = []
        for image in batch:
            t = int(image[image.shape[0] // 2, image.shape[1] // 2, 0]) - 1
            if image.shape[0] == CONFIRM_SIDE:
                squares.append(t)
                half = CONFIRM_SIDE / CONFIRM_REACH / 2
                centre = CONFIRM_SIDE / 2
                results.append(np.array([[centre - half, centre - half, centre + half, centre + half, 0.9]])
                               if len(answers[t]) else np.empty((0, 5)))
            else:
                detected.append(t)
                results.append(answers[t])
        return results

    frames = [np.full((64, 64, 3), t + 1, np.uint8) for t in range(5)]
    result = detect_sparsely(detect, frames, every=2)

    assert squares == [3]  # frame 3 lies between two frames with the same face: only looked for near it
    if face_on_frame_3:  # found there: the box found, which is where the neighbours say, half way
        assert detected == [0, 2, 4, 1]  # frame 1 lies between "no face" and "face": detected in full
        np.testing.assert_allclose(result[3][0], [15.0, 10.0, 55.0, 50.0, 0.9])
    else:  # not there: frame 3 is detected in full, and has no face
        assert detected == [0, 2, 4, 1, 3]
    assert [len(boxes) for boxes in result] == [0, 1, 1, int(face_on_frame_3), 1]


def test_a_face_found_in_its_square_is_put_back_in_frame_pixels_also_at_the_border():
    """A 200 px "face" (a white block) at the bottom right of a 720p frame: its square is shrunk fourfold and reaches
    past the frame's edges, and what is found in it must land on the block again."""
    block = np.array([1000.0, 500.0, 1200.0, 700.0, 1.0])
    frames = np.zeros((3, 720, 1280, 3), np.uint8)
    frames[:, 500:700, 1000:1200] = 255
    squares = []

    def detect_sized(images, face_side):
        squares.extend(images)
        rows, cols = np.nonzero(images[0][..., 0] > 127)
        return [np.array([[cols.min(), rows.min(), cols.max() + 1, rows.max() + 1, 0.9]])]

    result = detect_sparsely(lambda batch: [block[None]] * len(batch), frames, every=2, detect_sized=detect_sized)

    assert len(squares) == 1 and squares[0].shape == (CONFIRM_SIDE, CONFIRM_SIDE, 3)
    np.testing.assert_allclose(result[1][0, :4], block[:4], atol=3)  # within a pixel of the square's, 4 px each


@pytest.mark.parametrize("every", [2, 3])
def test_a_face_gone_from_one_frame_between_two_detected_frames_is_not_invented_there(tmp_path, every):
    """The face is on every frame but the middle one, which lies between two detected frames that both show it:
    the schedule must not fill it in from its neighbours."""
    clip = videos.face_missing_once_video(tmp_path / "missing_once.mp4", num=15)
    processor = FaceVideoProcessor(num_frames=15, face_detector="haar", detect_every=every)
    frames, _, meta = processor.read_frames(clip)
    middle = 7
    assert meta["frame_indices"].tolist() == list(range(15))  # every frame sampled once: frame 7 is the empty one
    assert middle % every != 0  # not a frame the schedule detects on anyway

    faces = processor.detect_all(frames)
    full = FaceVideoProcessor(num_frames=15, face_detector="haar", detect_every=1).detect_all(frames)

    assert [len(boxes) for boxes in full] == [1] * middle + [0] + [1] * (14 - middle)
    assert [len(boxes) for boxes in faces] == [len(boxes) for boxes in full]
    assert not processor.detect(frames)[1][middle]


@pytest.mark.parametrize("every", [1, 2, 3, 4])
@pytest.mark.parametrize("count", [1, 2, 3, 7, 15, 30, 31, 32])
def test_any_every_consecutive_frames_hold_a_whole_frame_detection_and_the_fewest_is_the_lower_bound(count, every):
    """The schedule's guarantee (a person in view for ``every`` frames in a row meets a whole-frame detection), and
    the floor the front-end benchmark reports: ``count // every`` disjoint runs of ``every`` frames need one each."""
    windows = [set(range(start, start + every)) for start in range(count - every + 1)]
    for keys in (whole_frame_detections(count, every), fewest_whole_frame_detections(count, every)):
        assert all(window & set(keys) for window in windows), keys
    fewest = fewest_whole_frame_detections(count, every)
    assert len(fewest) == max(count // every, 1)
    assert len(fewest) <= len(whole_frame_detections(count, every)) <= len(fewest) + 2
