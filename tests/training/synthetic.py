"""Running the trainers in tests: under `accelerate launch` in a subprocess, offline, or in-process on one thread.

The synthetic tables and images they train on are in `training/testing/synthetic.py`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def launch_command(script: str, *script_args: str) -> list[str]:
    """`accelerate launch` on one CPU process, with every launcher setting given so that it prints no warning.

    One torch thread: on two busy cores a second thread spins and makes each tiny step about ten times slower.
    """
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    return [
        accelerate, "launch", "--quiet", "--cpu", "--num_processes", "1", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--num_cpu_threads_per_process", "1",
        str(REPO_ROOT / "training" / script), *script_args,
    ]


def offline_environment(tmp_path: Path) -> dict[str, str]:
    """Offline, quiet, with caches in the test's folder."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_DATASETS_CACHE=str(tmp_path / "datasets-cache"),
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


def run_launched(script: str, *script_args: str, tmp_path: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """Runs a trainer under `accelerate launch` from the repository root and returns the finished process."""
    return subprocess.run(
        launch_command(script, *script_args),
        cwd=REPO_ROOT,
        env=offline_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class one_torch_thread:
    """Runs in-process training on one torch thread (see `launch_command`), then restores the thread count."""

    def __enter__(self):
        import torch

        self.previous = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc_info):
        import torch

        torch.set_num_threads(self.previous)


def kill_once_stored(command: list[str], env: dict[str, str], watched: Path, pattern: str = "chunk-*") -> None:
    """Runs `command` and SIGKILLs it as soon as `watched` holds a file matching `pattern` (its first stored work), as
    a power cut would; fails if the run ended before it could be killed."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any(watched.glob(pattern)) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"the run ended before it could be killed: {stderr[-500:]}"
