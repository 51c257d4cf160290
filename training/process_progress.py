"""One progress bar over the work of every process `cpu_processes.run_processes` started, and one summary.

The processes report to the launcher through a pipe, a line at a time: the main process the total (once, before any
process starts working) and its summary (at the end, printed by the launcher once its bar is closed, so the two do
not run into each other); every process each video done and each failure. In a process started otherwise (alone, or
by `accelerate launch`) nothing listens: the tool shows its own bar and prints its own summary (`VideoProgress`,
`show_summary`).
"""

from __future__ import annotations

import os

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
    launcher shows the bar) and the reports to the launcher, where one listens.

    Args:
        total: The videos of this process's share.
        description: The bar's label.
        failed_label: The name of the failures' count beside the bar (``failed=2``).
        is_main: Whether this is the main process (the others show no bar of their own).
        quiet: No bar.
    """

    def __init__(self, total: int, description: str, failed_label: str, is_main: bool, quiet: bool = False):
        self.bar = progress_bar(total, description, disable=not is_main or quiet or launcher_listens())
        self.failed_label, self.failed = failed_label, 0

    def video_done(self) -> None:
        self.videos_done(1)

    def videos_done(self, count: int) -> None:
        if count:
            self.bar.update(count)
        for _ in range(count):
            _tell("done")

    def add_failures(self, count: int) -> None:
        """``count`` more failures (0 too: the count beside the bar is shown from the start). Told apart from the
        videos done: extraction knows some of them only once it embeds a batch of videos."""
        self.failed += count
        self.bar.set_postfix({self.failed_label: self.failed}, refresh=False)
        if count:
            _tell(f"failed {count}")

    def close(self) -> None:
        self.bar.close()


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
