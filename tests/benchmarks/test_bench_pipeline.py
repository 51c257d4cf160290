"""The pipeline benchmark runs end to end (tiny model) and writes the figures the README and the issue ask for.

Only the shape of the report is checked: timings are never asserted in tests.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from modeling.pipeline_face_video import usable_cores
from tests.benchmarks.bench_runs import PROJECT_ROOT, run_benchmark


def test_bench_pipeline_writes_its_report(tmp_path):
    """Run as an AVX2 machine would run it (instructions capped), which it records and which makes it fp32."""
    caps = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    figures, printed = run_benchmark("bench_pipeline.py", ["--tiny", "--repeats", "1"], tmp_path / "bench.json", caps)
    for key in ("speedup_vs_naive", "overhead_vs_embedder", "embedder_vs_floor", "pipeline_s", "embedder_s",
                "naive_s", "floor_s"):
        assert figures[key] > 0, key
    assert set(figures["pipeline_stages_s"]) == {"decode", "faces", "embed", "predict"}
    assert figures["machine"]["cpu_model"] and figures["video"]["width"] == 1280
    assert figures["machine"]["cpu_isa"] and figures["machine"]["torch_cpu_capability"] in ("AVX2", "DEFAULT")
    assert figures["machine"]["isa_caps"] == caps and figures["machine"]["bf16_native"] is False
    assert figures["bf16"] is False and "run capped to ATEN_CPU_CAPABILITY=avx2" in printed
    assert "overhead_vs_embedder" in printed  # the printed table


@pytest.mark.skipif(usable_cores() < 2, reason="--processes runs one process per core: two need two cores")
def test_batch_memory_counts_every_process_of_the_batch_command(tmp_path):
    """`--memory`'s batch figure sums the launcher's processes: two processes, each holding the model, weigh more than
    one (the one-hour clip of `--memory` is too slow to write here, so this part is run alone)."""
    code = textwrap.dedent("""
        import sys
        from pathlib import Path
        from bench_pipeline import batch_peak_mb, build_model_folder, copies
        from training.testing.videos import moving_face_video

        work = Path(sys.argv[1])
        model = build_model_folder(work / "model", tiny=True)
        clip = moving_face_video(work / "clip.mp4")
        peaks = [batch_peak_mb(model, copies(clip, work / name, 2), n) for name, n in (("one", 1), ("two", 2))]
        print(*peaks)
    """)
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=PROJECT_ROOT / "benchmarks", capture_output=True, text=True,
        timeout=300, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    one, two = map(float, done.stdout.split()[-2:])
    assert one > 100  # torch and a model: far above nothing, so the sampler saw the process
    assert two > 1.5 * one  # both processes counted (each holds torch and the model), not only the launcher
    assert all((tmp_path / f"{name}.jsonl").read_text().count("\n") == 2 for name in ("one", "two"))
