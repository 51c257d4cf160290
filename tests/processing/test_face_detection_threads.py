"""One detector shared by threads (the web page runs two analyses at once) finds the same faces as it does alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from modeling.face_detection import HaarFaceDetector
from training.testing.videos import moving_face_frames


def test_haar_detector_gives_each_thread_its_own_answer():
    frames = np.stack(list(moving_face_frames(size=(320, 240), seconds=1.0)))
    detector = HaarFaceDetector()
    alone = detector.detect(frames)
    assert all(len(boxes) for boxes in alone), "the astronaut is found on every frame"
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(lambda _: detector.detect(frames), range(6)))
    for boxes in together:
        assert len(boxes) == len(alone)
        for mine, reference in zip(boxes, alone, strict=True):
            np.testing.assert_array_equal(mine, reference)
