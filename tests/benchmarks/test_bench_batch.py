"""The batch benchmark runs end to end (tiny model) and writes the figures the README and the issue ask for.

Only the shape of the report is checked: timings are never asserted in tests.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_bench_batch_writes_its_report(tmp_path):
    report = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_batch.py", "--tiny", "--videos", "2", "--repeats", "1", "--device", "cpu",
         "--json", str(report)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(report.read_text())
    for key in ("videos_per_s", "embedder_videos_per_s", "efficiency", "front_end_s_per_video", "startup_s",
                "whole_run_videos_per_s"):
        assert figures[key] > 0, key
    assert figures["efficiency"] == figures["videos_per_s"] / figures["embedder_videos_per_s"]
    # the rate once started leaves out the one-video run's time: (2 - 1) videos over the difference
    assert figures["videos_per_s"] == 1 / (figures["batch_s"] - figures["startup_s"])
    assert figures["faces_found"] == figures["frames_sampled"] == 2 * 6  # two copies of the clip, 6 tiny frames each
    assert figures["machine"]["cpu_model"] and figures["precision"] in ("fp32", "bf16")
    assert "efficiency" in done.stdout  # the printed table

