"""Runs a benchmark script as a user would, in a process of its own, and returns its figures and printed table."""

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(script: str, args: list[str], report: Path, env: dict | None = None) -> tuple[dict, str]:
    """`python benchmarks/<script> <args> --json <report>` from the project root; fails the test on a non-zero exit."""
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args, "--json", str(report)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(report.read_text()), done.stdout
