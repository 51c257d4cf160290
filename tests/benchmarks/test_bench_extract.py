"""The extraction benchmark runs the naive loop and the extraction on the same clip (tiny EmoNeXt) and reports both.

Timings are never asserted in tests.
"""

from tests.benchmarks.bench_runs import run_benchmark

STAGES = {"decode", "detect", "crop", "embed"}


def test_bench_extract_compares_the_naive_loop_with_the_extraction(tmp_path):
    figures, printed = run_benchmark(
        "bench_extract.py", ["--tiny", "--videos", "1", "--naive_videos", "1", "--seconds", "2"],
        tmp_path / "extract.json",
    )
    naive, extraction = figures["naive"], figures["extraction"]
    assert set(naive["seconds_per_video"]) == set(extraction["seconds_per_video"]) == STAGES
    assert all(seconds > 0 for seconds in naive["seconds_per_video"].values())
    assert extraction["embedded"] == 1 and extraction["device"] == "cpu"
    assert figures["speedup"] == extraction["videos_per_second"] / naive["videos_per_second"]
    assert figures["video_size"] == [1280, 720] and figures["num_frames"] == 30
    assert "speed-up:" in printed and figures["machine"]["cpu_isa"]
