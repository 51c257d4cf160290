"""Run a tool as several single-threaded processes on the CPU, the way `accelerate launch` runs one per GPU.

On a CPU, one process whose embedder keeps every core busy must fit its own front end (decoding and finding the faces
of the next video) into those cores, and its threads wait for each other at the end of every operation. One process
per core, each embedding on one thread and taking its share of the videos, has no such waits, and the time they
save pays for the front end (`benchmarks/bench_batch.py`, two cores, bf16, two runs: the batch rate once started was
0.86 and 0.90 of the embedder's alone with one process, 0.92 and 1.01 with one per core). Each process loads the
model, so it pays over many videos.

The processes form a torch.distributed group (gloo) from the usual environment variables (`RANK`, `WORLD_SIZE`,
`MASTER_ADDR`, ...), which `accelerate.Accelerator(cpu=True)` reads as a multi-CPU run, so the tool's distributed
code (its share of the work, the main process writing the output) serves both. The launcher shows one progress bar
over every process's work, which the processes report to it (`training/process_progress.py`).
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
from collections.abc import Callable

from modeling.pipeline_face_video import usable_cores
from training.cli import EXIT_INTERRUPTED
from training.process_progress import LAUNCHER_FD_ENV, ProgressOfProcesses


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


def run_on_cpu_processes(
    prog: str, script: str, argv: list[str], processes: int, description: str, failed_label: str, quiet: bool
) -> int:
    """Runs tool ``prog``'s ``--processes`` run: ``processes`` copies of ``script`` on the CPU (at most one per core),
    one progress bar over all of them (``description``, the failures counted as ``failed_label``) and the main one's
    summary; the exit code."""
    processes = processes_for_cores(processes, prog)
    progress = ProgressOfProcesses(description, failed_label, quiet)
    try:
        return run_processes(script, [*argv, "--cpu"], processes, on_line=progress, on_interrupt=progress.close)
    finally:
        progress.close()


def run_processes(
    script: str,
    argv: list[str],
    processes: int,
    on_line: Callable[[str], None] | None = None,
    on_interrupt: Callable[[], None] | None = None,
) -> int:
    """Runs ``python script *argv`` as ``processes`` ranks of one group, each with one thread; returns the exit code.

    The first failing process's code is returned, and the others are stopped then: they would otherwise wait for it
    at the next synchronisation until gloo's timeout. Ctrl-C reaches every process (they share the terminal's process
    group), each stops as the tool does on its own, and the launcher waits for them. Given ``on_line``, every line a
    process writes to the pipe named by ``LAUNCHER_FD_ENV`` is passed to it, in this process, as it comes;
    ``on_interrupt`` is called as soon as Ctrl-C comes (to close a progress bar before the processes say they stopped).
    """
    port = _free_port()
    read_end, write_end = os.pipe() if on_line else (None, None)
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
            **({LAUNCHER_FD_ENV: str(write_end)} if on_line else {}),
        }
        pass_fds = (write_end,) if on_line else ()
        children.append(subprocess.Popen([sys.executable, script, *argv], env=env, pass_fds=pass_fds))
    if on_line:
        os.close(write_end)  # the processes hold it now: the pipe ends when they all have
    lines = _LineReader(read_end, on_line)
    try:
        while True:
            codes = [child.poll() for child in children]
            failed = [code for code in codes if code not in (None, 0)]
            if failed:
                _stop(children)
                return failed[0]
            if all(code == 0 for code in codes):
                lines.read_to_end()
                return 0
            lines.wait_and_read(0.2)
    except KeyboardInterrupt:
        if on_interrupt:
            on_interrupt()
        for child in children:
            child.wait()
        return EXIT_INTERRUPTED
    finally:
        lines.close()


class _LineReader:
    """The launcher's end of the processes' pipe: whole lines to ``on_line`` as they come (or a plain wait)."""

    def __init__(self, fd: int | None, on_line: Callable[[str], None] | None):
        self.fd, self.on_line, self.pending = fd, on_line, b""

    def wait_and_read(self, timeout: float) -> None:
        """Waits up to ``timeout`` seconds for lines, and passes on those that came."""
        if self.fd is None:
            select.select([], [], [], timeout)
        elif select.select([self.fd], [], [], timeout)[0]:
            self._take(os.read(self.fd, 65536))

    def read_to_end(self) -> None:
        """Every line still in the pipe once the processes have ended (without waiting for more)."""
        while self.fd is not None and select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 65536)
            if not data:  # every writer has closed it
                return
            self._take(data)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _take(self, data: bytes) -> None:
        *lines, self.pending = (self.pending + data).split(b"\n")
        for line in lines:
            self.on_line(line.decode())


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
