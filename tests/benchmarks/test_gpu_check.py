"""The prepared GPU script runs anywhere with DRY_RUN=1 (tiny models, CPU), so it is known to work before a GPU is lent.

It is run as the README says, with bash; the figures' own checks are in the benchmarks' tests.
"""

import json
import os
import subprocess
import sys
import venv

from tests.benchmarks.bench_runs import PROJECT_ROOT

STEPS = ("extraction", "batch", "trainers")


def gpu_check(results, python: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "benchmarks/gpu_check.sh"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "DRY_RUN": "1", "RESULTS": str(results), "PYTHON": python},
    )


def test_gpu_check_dry_run_records_every_step_with_the_card(tmp_path):
    done = gpu_check(tmp_path, sys.executable)
    assert done.returncode == 0, done.stdout[-3000:]
    for step in STEPS:
        assert f"== {step}: exit 0 after" in done.stdout, step
    card = json.loads((tmp_path / "gpu_card.json").read_text())
    assert card["cpu_model"] and card["nvidia_smi"]  # no nvidia-smi here: the reason is recorded instead
    extraction = json.loads((tmp_path / "bench_extract_dryrun.json").read_text())
    assert extraction["videos"] == 2 and extraction["extraction"]["videos_per_second"] > 0
    batch = json.loads((tmp_path / "bench_batch_dryrun.json").read_text())
    assert batch["device"] == "cpu" and batch["processes"] == 1 and batch["videos_per_s"] > 0
    trainers = json.loads((tmp_path / "bench_train_dryrun.json").read_text())
    assert [row["task"] for row in trainers["results"]] == ["emotion", "traits", "fusion", "emonext"]
    log = next(tmp_path.glob("gpu_check_*.log")).read_text()
    assert all(f"== {step}: exit 0" in log for step in STEPS) and "s in all; results in" in log


def test_gpu_check_names_the_missing_packages_before_running_anything(tmp_path):
    """On a machine without the project's packages it says which, and runs no step."""
    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)
    done = gpu_check(tmp_path / "results", str(bare / "bin" / "python"))
    assert done.returncode == 2
    assert "gpu_check: missing Python packages: torch transformers accelerate" in done.stdout
    assert "carry them as wheels in $WHEELS" in done.stdout and "== extraction" not in done.stdout
    assert not list((tmp_path / "results").glob("*.json"))
