"""Tracking on frames composed from real photos: a track is one real person, the main track is a real face."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from modeling.face_detection import (
    HaarFaceDetector,
    box_iou,
    find_face_tracks,
    select_face_track,
)
from training.testing import videos
from training.testing.photo_faces import LFW_PEOPLE, compose, lfw_face

SIZE = (640, 360)


@pytest.fixture(scope="module")
def haar() -> HaarFaceDetector:
    return HaarFaceDetector()


def gravel() -> np.ndarray:
    return np.repeat(data.gravel()[..., None], 3, axis=2)


def test_a_persisting_large_non_face_detection_is_not_the_main_person(haar):
    """Two real people side by side and a false detection on a textured patch (a suit, a wall) in every frame,
    larger and as confident as either face: the main track is the bigger real face, because only faces have eyes."""
    people = [(lfw_face(LFW_PEOPLE[0]), (330, 170), 150), (gravel(), (530, 200), 260)]
    frames = np.stack([compose(SIZE, [(videos.astronaut_head(), (130 + 2 * t, 180), 220), *people]) for t in range(6)])
    detections = haar.detect(frames)
    assert all(len(d) == 2 for d in detections)  # both real faces, every frame
    texture = np.array([420.0, 90.0, 630.0, 300.0, 1.0])  # on the gravel, bigger than both faces
    planted = [np.vstack([d, texture]) for d in detections]

    boxes, found = select_face_track(planted, frames)
    assert found.all()
    for box, frame_boxes in zip(boxes, detections, strict=True):
        astronaut = frame_boxes[np.argmin(frame_boxes[:, 0])]  # the face on the left
        lfw = frame_boxes[np.argmax(frame_boxes[:, 0])]
        expected = astronaut if box_area(astronaut) > box_area(lfw) else lfw
        assert box_iou(box, expected[:4]) > 0.99
    tracks = find_face_tracks(planted, frames)
    false_track = [t for t in tracks if box_iou(t.last, texture) > 0.99]
    assert len(false_track) == 1 and false_track[0].face_score == 0.0 and not false_track[0].is_face
    assert tracks[-1] is false_track[0]  # ranked last, though it is the largest
    # By size and frames alone (no frames to check), the texture would have been taken for the person.
    np.testing.assert_allclose(select_face_track(planted)[0][0], texture[:4])


def box_area(box: np.ndarray) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))


@pytest.mark.parametrize(
    "first, second",
    [("astronaut", LFW_PEOPLE[0]), (LFW_PEOPLE[0], LFW_PEOPLE[1])],
    ids=["astronaut-to-lfw", "lfw-to-lfw"],
)
def test_a_hard_cut_to_another_person_at_the_same_place_starts_a_new_track(haar, first, second):
    def face(who):
        return (videos.astronaut_head(), (320, 180), 300) if who == "astronaut" else (lfw_face(who), (320, 180), 170)

    shots = [first] * 4 + [second] * 4 + [first] * 3  # cut, then cut back
    frames = np.stack([compose(SIZE, [face(who)]) for who in shots])
    detections = haar.detect(frames)
    assert all(len(d) == 1 for d in detections)

    tracks = find_face_tracks(detections, frames)
    frames_of = sorted(sorted(track.boxes) for track in tracks)
    # The first person's two shots are one person again after the cut back, but never merged with the second.
    assert all(set(f) <= {0, 1, 2, 3, 8, 9, 10} or set(f) <= {4, 5, 6, 7} for f in frames_of)
    assert [4, 5, 6, 7] in frames_of
    # By position alone, both people would be one track.
    assert [sorted(t.boxes) for t in find_face_tracks(detections)] == [list(range(11))]


def test_a_person_is_absent_where_not_seen_and_no_box_is_carried_over(haar):
    """The main person leaves after a cut: those frames have no box at all, not the last one seen."""
    frames = np.stack(
        [compose(SIZE, [(videos.astronaut_head(), (320, 180), 300)])] * 5
        + [compose(SIZE, [(gravel(), (320, 180), 360)])] * 3
    )
    boxes, found = select_face_track(haar.detect(frames), frames)
    assert found.tolist() == [True] * 5 + [False] * 3
    assert (boxes[5:] == 0).all() and (boxes[:5] > 0).all()


def test_the_same_face_moving_and_zooming_stays_one_track(haar):
    frames = np.stack(list(videos.moving_face_frames(seconds=2.0)))[::3]
    detections = haar.detect(frames)
    tracks = find_face_tracks(detections, frames)
    assert len(tracks[0].boxes) == sum(len(d) > 0 for d in detections) == len(frames)
