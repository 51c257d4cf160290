"""The pipeline over many videos: prepared ahead on threads, in input order, each bad file handed back as its error."""

from __future__ import annotations

import threading

import pytest

from modeling.processing_face_video import NoFaceFoundError, VideoDecodeError
from tests.hub.test_pipeline_face_video import _close


@pytest.mark.parametrize("num_workers", [0, 1, 3])
def test_iter_results_gives_each_video_its_result_or_its_error_in_order(analyze, videos, num_workers):
    inputs = [videos["moving"], videos["text"], videos["gap"], videos["faceless"], videos["moving"]]
    single = {name: analyze(str(videos[name])) for name in ("moving", "gap")}

    results = list(analyze.iter_results([str(v) for v in inputs], num_workers=num_workers, batch_size=2))

    assert [video for video, _ in results] == [str(v) for v in inputs]
    assert isinstance(results[1][1], VideoDecodeError) and isinstance(results[3][1], NoFaceFoundError)
    for index, name in [(0, "moving"), (2, "gap"), (4, "moving")]:
        assert _close(results[index][1], single[name])
    assert not [t for t in threading.enumerate() if t.name.startswith("face-video-prefetch")]  # none left running


def test_a_list_with_a_bad_file_raises_that_files_error(analyze, videos):
    with pytest.raises(VideoDecodeError) as error:
        analyze([str(videos["moving"]), str(videos["text"])])
    assert "notes.mp4" in str(error.value)
