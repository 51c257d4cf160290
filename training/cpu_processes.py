"""Run a tool as several single-threaded processes on the CPU, the way `accelerate launch` runs one per GPU.

On a CPU, one process whose embedder keeps every core busy must fit its own front end (decoding and finding the faces
of the next video) into those cores, and its threads wait for each other at the end of every operation. One process
per core, each embedding on one thread and taking its share of the videos, has no such waits, and the time they
save pays for the front end (`benchmarks/bench_batch.py`, two cores, bf16, two runs: the batch rate once started was
0.86 and 0.90 of the embedder's alone with one process, 0.92 and 1.01 with one per core). Each process loads the
model, so it pays over many videos.

The processes form a torch.distributed group (gloo) from the usual environment variables (`RANK`, `WORLD_SIZE`,
`MASTER_ADDR`, ...), which `accelerate.Accelerator(cpu=True)` reads as a multi-CPU run, so the tool's distributed
code (its share of the work, the main process writing the output, its one progress bar over every process's videos:
`training/process_progress.py`) serves both.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from modeling.pipeline_face_video import usable_cores
from training.cli import EXIT_INTERRUPTED


def launched_by_a_launcher() -> bool:
    """Whether this process is one of a distributed run's (ours, `accelerate launch`, torchrun)."""
    return "LOCAL_RANK" in os.environ


def refuse_on_a_gpu(cpu_flag: bool) -> str | None:
    """Why ``--processes`` cannot run here (one sentence), or None: it is for the CPU."""
    import torch

    if torch.cuda.is_available() and not cpu_flag:
        return "--processes is for the CPU; on GPUs, run accelerate launch (one process per GPU), or add --cpu."
    return None


def processes_for_cores(asked: int, prog: str) -> int:
    """``asked``, or the cores this process may use when they are fewer, saying so on stderr: processes beyond one per
    core only share the cores (none is faster), and each holds its own copy of the model."""
    cores = usable_cores()
    if asked <= cores:
        return asked
    print(f"{prog}: --processes {asked} is more than the cores this machine lets it use ({cores}): running {cores}, "
          "one per core (more would only share the cores, each holding its own copy of the model).", file=sys.stderr)
    return cores


def run_on_cpu_processes(prog: str, script: str, argv: list[str], processes: int) -> int:
    """Runs tool ``prog``'s ``--processes`` run: ``processes`` copies of ``script`` on the CPU, at most one per core;
    the exit code."""
    return run_processes(script, [*argv, "--cpu"], processes_for_cores(processes, prog))


def run_processes(script: str, argv: list[str], processes: int) -> int:
    """Runs ``python script *argv`` as ``processes`` ranks of one group, each with one thread; returns the exit code.

    The first failing process's code is returned, and the others are stopped then: they would otherwise wait for it
    at the next synchronisation until gloo's timeout. Ctrl-C reaches every process (they share the terminal's process
    group), each stops as the tool does on its own, and the launcher waits for them.
    """
    port = _free_port()
    children = []
    for rank in range(processes):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(processes),
            "LOCAL_WORLD_SIZE": str(processes),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "OMP_NUM_THREADS": "1",  # torch's threads; the other processes have the other cores
        }
        children.append(subprocess.Popen([sys.executable, script, *argv], env=env))
    try:
        while True:
            codes = [child.poll() for child in children]
            failed = [code for code in codes if code not in (None, 0)]
            if failed:
                _stop(children)
                return failed[0]
            if all(code == 0 for code in codes):
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        for child in children:
            child.wait()
        return EXIT_INTERRUPTED


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def _free_port() -> int:
    """A TCP port free on this machine now, for the group's rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
