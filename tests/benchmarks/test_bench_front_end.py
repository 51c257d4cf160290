"""The front-end benchmark runs end to end on a short clip and reports what the README's front-end figures come from.

Timings are never asserted; the faces found are, since a cheaper default that loses faces must show.
"""

from modeling.detection_schedule import whole_frame_detections
from tests.benchmarks.bench_runs import run_benchmark


def test_bench_front_end_reports_the_defaults_cost_and_the_faces_they_find(tmp_path):
    figures, printed = run_benchmark(
        "bench_front_end.py",
        ["--repeats", "1", "--seconds", "2", "--defaults_only", "--pasted_every", "8"],
        tmp_path / "front_end.json",
    )
    assert figures["clip_seconds"] == 2 and figures["frames_sampled"] == 30
    decode = figures["decode"]
    assert list(decode) == ["decord (old default)", "pyav, every frame", "pyav (default)",
                            "pyav, no deblocking on B-frames", "pyav, no deblocking at all"]
    assert all(row["core_s"] > 0 for row in decode.values())
    assert decode["decord (old default)"]["vs_default"] == 1.0
    # every decoder the pipeline may use gives a full decode's frames; skipping the deblocking filter does not
    for name in ("decord (old default)", "pyav, every frame", "pyav (default)"):
        assert decode[name]["max_pixel_difference"] == 0, name
    assert decode["pyav, no deblocking at all"]["max_pixel_difference"] > 0

    # --defaults_only: the old default, today's, and today's before the LBP cascade proposed where to look
    old_default, default, haar_everywhere = figures["detect_haar"].values()
    assert list(figures["detect_haar"]) == [
        "400 px, every 2, haar", "320 px, every 3, lbp+haar", "320 px, every 3, haar"
    ]
    assert default["core_s"] > 0 and old_default["vs_old_default"] == 1.0
    # the issue's condition on a cheaper front end: no fewer faces on the tests' real-photo clips
    for earlier in (old_default, haar_everywhere):
        for clip, found in earlier["faces_test_clips"].items():
            assert default["faces_test_clips"][clip] >= found, clip
            assert default["all_faces_test_clips"][clip] >= earlier["all_faces_test_clips"][clip], clip
    assert default["faces_benchmark_clip"] == figures["frames_sampled"]  # the moving face, on every sampled frame
    assert default["all_faces_test_clips"]["two_faces"] == 2 * default["faces_test_clips"]["two_faces"]

    parts = figures["default_parts"]
    assert parts["whole_frame_detections"] == len(whole_frame_detections(30, 3))
    assert parts["fewest_whole_frame_detections"] == 10 < parts["whole_frame_detections"]  # frames 2, 5, ..., 29
    assert 0 < parts["whole_frame_detections_core_s"] and 0 < parts["rgb_conversion_core_s"]
    assert 0 < parts["fewest_whole_frame_detections_core_s"]
    assert "whole-frame detections alone" in printed and figures["machine"]["cpu_isa"]

    # the proposals keep the faces a Haar scan of the whole frame finds, and add no false ones, beyond the test clips
    pasted = figures["pasted_faces"]
    assert pasted["lbp+haar"]["pasted"] == pasted["haar"]["pasted"] > 100
    assert pasted["lbp+haar"]["found"] >= pasted["haar"]["found"]
    assert pasted["lbp+haar"]["kinds"]["false faces"][0] <= pasted["haar"]["kinds"]["false faces"][0]
    assert "faces pasted on photos" in printed
