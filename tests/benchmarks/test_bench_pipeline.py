"""The pipeline benchmark runs end to end (tiny model) and writes the figures the README and the issue ask for.

Only the shape of the report is checked: timings are never asserted in tests.
"""

import json
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_bench_pipeline_writes_its_report(tmp_path):
    report = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_pipeline.py", "--tiny", "--repeats", "1", "--json", str(report)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(report.read_text())
    for key in ("speedup_vs_naive", "overhead_vs_embedder", "embedder_vs_floor", "pipeline_s", "embedder_s",
                "naive_s", "floor_s"):
        assert figures[key] > 0, key
    assert set(figures["pipeline_stages_s"]) == {"decode", "faces", "embed", "predict"}
    assert figures["machine"]["cpu_model"] and figures["video"]["width"] == 1280
    assert "overhead_vs_embedder" in done.stdout  # the printed table
