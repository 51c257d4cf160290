"""One progress bar over the videos of every process of a run.

A tool's processes (`--processes`, `accelerate launch`, torchrun) form a torch.distributed group. Each counts the videos
it is done with, and those that failed, in the key-value store through which the group met (`RunCounts`), and the
main process's bar reads every process's counts from it (`VideoProgress`); the others show none. A process alone
counts on its own bar.
"""

from __future__ import annotations

import threading

from tqdm.auto import tqdm


class VideoProgress:
    """A run's progress over its videos, from this process's side: the main process shows the bar (unless ``quiet``),
    and every process adds its own videos to it. Use it as a context manager: it closes the bar however the run ends
    (before Ctrl-C's line, so that the line starts a line of its own).

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
        self.counts = RunCounts.of_this_run()
        if self.counts is None and run_total not in (None, total):
            description += " (this process's share)"  # a distributed run whose store cannot be reached
        shown = run_total if self.counts is not None and run_total is not None else total
        self.bar = tqdm(total=shown, desc=description, unit="video", disable=not is_main or quiet, dynamic_ncols=True)
        self.bar.set_postfix({failed_label: 0}, refresh=False)
        self.failed_label, self.failed = failed_label, 0
        self._shown = (0, 0)  # the run's counts the bar last showed
        self._reader = _CountsReader(self.counts, self._show) if self.counts and not self.bar.disable else None

    def __enter__(self) -> VideoProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def video_done(self) -> None:
        self.videos_done(1)

    def videos_done(self, count: int) -> None:
        if self.counts is not None:
            self.counts.add(count, 0)
        elif count:
            self.bar.update(count)

    def add_failures(self, count: int) -> None:
        """``count`` more failures. Told apart from the videos done: extraction knows some of them only once it embeds
        a batch of videos."""
        self.failed += count
        if self.counts is not None:
            self.counts.add(0, count)
        elif count:
            self.bar.set_postfix({self.failed_label: self.failed}, refresh=False)

    def close(self) -> None:
        """Closes the bar (once; later calls do nothing). In a run of several processes, close it once every process
        is done, so that it ends full."""
        if self._reader is not None:
            self._reader.stop()
            self._reader = None
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
        """The counts of this distributed run; None for a single process."""
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
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
