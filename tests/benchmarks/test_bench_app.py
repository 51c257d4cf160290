"""The page's benchmark starts the real server (tiny seeded model) and compares /predict with the pipeline called
directly, one request and several at once, with the server's memory.

Timings are never asserted in tests.
"""

from tests.benchmarks.bench_runs import run_benchmark
from training.testing import videos


def test_bench_app_measures_the_server_against_the_pipeline(tmp_path):
    clip = videos.moving_face_video(tmp_path / "face.mp4")
    figures, printed = run_benchmark(
        "bench_app.py", ["--video", str(clip), "--repeats", "1", "--warmup", "0", "--concurrent", "2"],
        tmp_path / "app.json",
    )
    direct, server = figures["direct"], figures["server"]
    assert direct["seconds"] and server["seconds"] and server["concurrent_requests"] == 2
    assert figures["overhead_s"] == server["median_s"] - direct["median_s"]
    assert 0 < server["idle_rss_mb"] <= server["peak_rss_sequential_mb"] <= server["peak_rss_mb"]
    assert server["startup_s"] > 0 and server["concurrent_wall_s"] > 0
    assert "tiny seeded face-fusion" in figures["model"] and figures["untrained_fallback"] is False
    assert "/predict through the server" in printed and figures["machine"]["cpu_isa"]
