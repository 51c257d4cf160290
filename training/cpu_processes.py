"""Run a tool as several single-threaded processes on the CPU, the way `accelerate launch` runs one per GPU.

On a CPU, one process whose embedder keeps every core busy must fit its own front end (decoding and finding the faces
of the next video) into those cores, and its threads wait for each other at the end of every operation. One process
per core, each embedding on one thread and taking its share of the videos, has no such waits, and the time they
save pays for the front end (`benchmarks/bench_batch.py`, two cores, bf16, two runs: the batch rate once started was
0.86 and 0.90 of the embedder's alone with one process, 0.92 and 1.01 with one per core). Each process loads the
model, so it pays over many videos.

The processes form a torch.distributed group (gloo) from the usual environment variables (`RANK`, `WORLD_SIZE`,
`MASTER_ADDR`, ...), which `accelerate.Accelerator(cpu=True)` reads as a multi-CPU run, so the tool's distributed
code (its share of the work, the main process writing the output) serves both. The processes can tell the launcher
how the work goes (`tell_launcher`, one line at a time), so that one progress bar counts every process's work.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
from collections.abc import Callable

from training.cli import EXIT_INTERRUPTED

# The launcher's end of the pipe the processes write their lines to (a file descriptor number).
LAUNCHER_FD_ENV = "FACE_FUSION_LAUNCHER_FD"


def launched_by_a_launcher() -> bool:
    """Whether this process is one of a distributed run's (ours, `accelerate launch`, torchrun)."""
    return "LOCAL_RANK" in os.environ


def can_tell_launcher() -> bool:
    """Whether this process was started by ``run_processes`` with someone listening to ``tell_launcher``."""
    return LAUNCHER_FD_ENV in os.environ


def tell_launcher(line: str) -> None:
    """Sends one line to the launcher's ``on_line`` (nothing when there is none). A line is one write of a few bytes,
    which a pipe never interleaves with another process's."""
    if can_tell_launcher():
        os.write(int(os.environ[LAUNCHER_FD_ENV]), f"{line}\n".encode())


def run_processes(
    script: str, argv: list[str], processes: int, on_line: Callable[[str], None] | None = None
) -> int:
    """Runs ``python script *argv`` as ``processes`` ranks of one group, each with one thread; returns the exit code.

    The first failing process's code is returned, and the others are stopped then: they would otherwise wait for it
    at the next synchronisation until gloo's timeout. Ctrl-C reaches every process (they share the terminal's process
    group), each stops as the tool does on its own, and the launcher waits for them. Given ``on_line``, every line a
    process sends with ``tell_launcher`` is passed to it, in this process, as it comes.
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
