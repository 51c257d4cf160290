"""`python app.py` as a real server process on a free port: started, waited for until it serves, always stopped.

Shared by the app tests and `benchmarks/bench_app.py`.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout: app.py runs from there


@dataclass
class AppServer:
    url: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(
    options: Sequence[str], env: Mapping[str, str], log: Path, start_timeout_s: float
) -> Iterator[AppServer]:
    """`python app.py --port PORT *options` with `env`, its output in `log`; yields once it serves its page."""
    port = free_port()
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port), *options],
            cwd=PROJECT_ROOT, env=dict(env), stdout=log_file, stderr=subprocess.STDOUT,
        )
    server = AppServer(f"http://127.0.0.1:{port}/", process, log)
    try:
        wait_until_serving(server, start_timeout_s)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_serving(server: AppServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"app.py exited with {server.process.returncode}:\n{server.log_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "config", timeout=2) as response:
                json.load(response)
            return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"app.py did not serve within {timeout} s:\n{server.log_text()[-3000:]}")
