"""One progress bar over the work of every process `cpu_processes.run_processes` started, and one summary.

The processes report to the launcher through a pipe, a line at a time: the main process the total (once, before any
process starts working) and its summary (at the end, printed by the launcher once its bar is closed, so the two do
not run into each other); every process each video done and each failure. In a process started otherwise (alone, or
by `accelerate launch`) nothing listens: the tool shows its own bar and prints its own summary (`VideoProgress`,
`show_summary`). Under `accelerate launch` (or torchrun) the processes count their videos in the key-value store
through which they met (torch.distributed's), and the main process's bar reads every process's counts from it.
"""

from __future__ import annotations

import os
import threading

from tqdm.auto import tqdm

# Where a process started by run_processes writes its lines: the pipe's file descriptor number.
LAUNCHER_FD_ENV = "FACE_FUSION_LAUNCHER_FD"


def progress_bar(total: int, description: str, disable: bool = False) -> tqdm:
    """A command's progress bar over videos: videos done, videos/s and the time left, on stderr."""
    return tqdm(total=total, desc=description, unit="video", disable=disable, dynamic_ncols=True)


def launcher_listens() -> bool:
    """Whether this process was started by ``run_processes``, whose launcher shows the bar and the summary."""
    return LAUNCHER_FD_ENV in os.environ


def report_total(count: int) -> None:
    """The main process: how many videos all the processes will work on (before any starts)."""
    _tell(f"total {count}")


def show_summary(text: str) -> None:
    """The main process's closing lines: printed by the launcher after its bar, or here when none listens."""
    if launcher_listens():
        for line in text.splitlines():
            _tell(f"say {line}")
    else:
        print(text)


def _tell(line: str) -> None:
    """One line to the launcher (nothing when none listens): one short write, which a pipe never interleaves with
    another process's."""
    if launcher_listens():
        os.write(int(os.environ[LAUNCHER_FD_ENV]), f"{line}\n".encode())


class VideoProgress:
    """One process's progress over its share of the videos: its own bar (the main process's, unless ``quiet`` or a
    launcher shows the bar) and the reports to the launcher, where one listens. In a distributed run that no launcher
    of ours started (`accelerate launch`), the main process's bar counts every process's videos (``RunCounts``).

    Args:
        total: The videos of this process's share.
        description: The bar's label.
        failed_label: The name of the failures' count beside the bar (``failed=2``).
        is_main: Whether this is the main process (the others show no bar of their own).
        quiet: No bar.
        run_total: The videos of all the processes together (for the bar over all of them).
    """

    def __init__(
        self, total: int, description: str, failed_label: str, is_main: bool, quiet: bool = False,
        run_total: int | None = None,
    ):
        self.counts = RunCounts.of_this_run() if run_total is not None else None
        if self.counts is None and run_total not in (None, total):
            description += " (this process's share)"  # a distributed run whose store cannot be reached
        shown = run_total if self.counts is not None else total
        self.bar = progress_bar(shown, description, disable=not is_main or quiet or launcher_listens())
        self.failed_label, self.failed = failed_label, 0
        self._shown = (0, 0)  # the run's counts the bar last showed
        self._reader = None
        if self.counts is not None and not self.bar.disable:
            self._reader = _CountsReader(self.counts, self._show)
        self.bar.set_postfix({self.failed_label: 0}, refresh=False)

    def video_done(self) -> None:
        self.videos_done(1)

    def videos_done(self, count: int) -> None:
        if self.counts is not None:
            self.counts.add(count, 0)
        elif count:
            self.bar.update(count)
        for _ in range(count):
            _tell("done")

    def add_failures(self, count: int) -> None:
        """``count`` more failures (0 too: the count beside the bar is shown from the start). Told apart from the
        videos done: extraction knows some of them only once it embeds a batch of videos."""
        self.failed += count
        if self.counts is not None:
            self.counts.add(0, count)
        else:
            self.bar.set_postfix({self.failed_label: self.failed}, refresh=False)
        if count:
            _tell(f"failed {count}")

    def close(self) -> None:
        """Closes the bar; in a distributed run, call it once every process is done, so that it ends full."""
        if self._reader is not None:
            self._reader.stop()
        self.bar.close()

    def _show(self, done: int, failed: int) -> None:
        if (done, failed) == self._shown:  # unchanged since the last read: no line of its own
            return
        self._shown = (done, failed)
        self.bar.set_postfix({self.failed_label: failed}, refresh=False)
        if done != self.bar.n:
            self.bar.update(done - self.bar.n)
        else:
            self.bar.refresh()


class RunCounts:
    """Videos done and failed by all the processes of a distributed run, kept in the run's key-value store (the one
    torch.distributed's processes met through: a TCP store that every process reaches, GPUs or not)."""

    DONE, FAILED = "face_fusion/videos_done", "face_fusion/videos_failed"

    def __init__(self, store):
        self.store = store

    @classmethod
    def of_this_run(cls) -> RunCounts | None:
        """The counts of this distributed run; None for a single process, or where a launcher of ours counts."""
        import torch.distributed as dist

        if launcher_listens() or not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
            return None
        try:
            return cls(dist.distributed_c10d._get_default_store())
        except (AttributeError, RuntimeError):  # a torch without it: each bar counts its own process's share
            return None

    def add(self, done: int, failed: int) -> None:
        if done:
            self.store.add(self.DONE, done)
        if failed:
            self.store.add(self.FAILED, failed)

    def read(self) -> tuple[int, int]:
        return self.store.add(self.DONE, 0), self.store.add(self.FAILED, 0)


class _CountsReader:
    """Reads ``counts`` twice a second on a thread of its own and passes them to ``show``, until stopped."""

    def __init__(self, counts: RunCounts, show, interval_s: float = 0.5):
        self.counts, self.show, self.interval_s = counts, show, interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="run-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s) and self._read_and_show():
            pass

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._read_and_show()  # the final counts, whatever the last read saw

    def _read_and_show(self) -> bool:
        """False when the store no longer answers (the run is ending on an error): the bar then stays as it was,
        rather than a thread's traceback running into the tool's one sentence."""
        try:
            counts = self.counts.read()
        except Exception:  # noqa: BLE001 - any failure of the store's connection means the same here
            return False
        self.show(*counts)
        return True


class ProgressOfProcesses:
    """The launcher's side: reads the processes' lines (see the module doc) into one bar, then prints the summary.

    Args:
        description: The bar's label.
        failed_label: The name of the failures' count beside the bar (``failed=2``).
        quiet: No bar (the summary is still printed).
    """

    def __init__(self, description: str, failed_label: str, quiet: bool = False):
        self.description, self.failed_label, self.quiet = description, failed_label, quiet
        self.bar, self.failed = None, 0

    def __call__(self, line: str) -> None:
        kind, _, value = line.partition(" ")
        if kind == "total":
            self.bar = progress_bar(int(value), self.description, disable=self.quiet)
            self.bar.set_postfix({self.failed_label: 0}, refresh=False)
        elif kind == "done" and self.bar is not None:
            self.bar.update(1)
        elif kind == "failed" and self.bar is not None:
            self.failed += int(value)
            self.bar.set_postfix({self.failed_label: self.failed})
        elif kind == "say":
            self.close()
            print(value, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
