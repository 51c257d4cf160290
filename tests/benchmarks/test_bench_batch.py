"""The batch benchmark runs end to end (tiny model, one process and two) and writes the figures the README and the
issue ask for.

Only the shape of the report is checked: timings are never asserted in tests.
"""

import pytest

from modeling.pipeline_face_video import usable_cores
from tests.benchmarks.bench_runs import PROJECT_ROOT, run_benchmark


@pytest.mark.skipif(usable_cores() < 2, reason="--processes runs one process per core: two need two cores")
def test_bench_batch_writes_its_report(tmp_path):
    figures, printed = run_benchmark(
        "bench_batch.py", ["--tiny", "--videos", "3", "--processes", "2", "--repeats", "1", "--device", "cpu"],
        tmp_path / "bench.json", {"PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"},
    )
    for key in ("embedder_videos_per_s", "front_end_s_per_video", "startup_s", "whole_run_videos_per_s"):
        assert figures[key] > 0, key
    # one process and two (--processes 2: each on one thread), the top-level figures the faster's; with the tiny
    # model two processes' rate is within their start-up's noise, so only one process's is checked for sense
    runs = figures["by_processes"]
    assert set(runs) == {"1", "2"} and runs["1"]["videos_per_s"] > 0
    assert figures["videos_per_s"] == max(run["videos_per_s"] for run in runs.values())
    assert figures["videos_per_s"] == runs[str(figures["processes"])]["videos_per_s"]
    for count, run in figures["by_processes"].items():
        assert run["efficiency"] == run["videos_per_s"] / figures["embedder_videos_per_s"]
        # the rate once started leaves out the run on one video per process: (3 - P) videos over the difference
        assert run["videos_per_s"] == (3 - int(count)) / (run["batch_s"] - run["startup_s"])
    assert figures["faces_found"] == figures["frames_sampled"] == 3 * 6  # three copies of the clip, 6 tiny frames each
    assert figures["machine"]["cpu_model"] and figures["precision"] in ("fp32", "bf16")
    assert "efficiency" in printed and "batch, 2 processes" in printed  # the printed table
