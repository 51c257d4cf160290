"""The one convention of the project's command-line tools (`training/` and `benchmarks/`).

Bad input ends a tool with one sentence on stderr, `<tool>.py: error: <sentence>`, never a traceback. The pieces:

* `UserError`: the base class of every error whose message is meant for the user (a bad option, file, table or
  model). The video processor's `FaceVideoError` counts as one too (`modeling/` imports nothing from here).
* `HubPushError`: the work is saved locally, only pushing it to the Hub failed.
* `ArgumentParser`: argparse whose usage errors are one line as well.
* `first_line`: an exception's first line, to quote a library's error inside one of ours.
* `run_cli`: runs a tool's work, prints a user error and returns the exit code.
* `warnings_as_lines`: a tool's warnings as one line each, `<tool>.py: warning: <message>`.

Exit codes:

* 0: done.
* 1: the work is saved locally, but pushing it to the Hub failed (`HubPushError`).
* 2: bad input: an unusable option, file, table or model (`UserError`, or an argparse usage error).
* 130: interrupted (Ctrl-C).

Anything else (a bug) keeps its traceback and Python's exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EXIT_OK = 0
EXIT_PUSH_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class UserError(ValueError):
    """An error whose message is one sentence for the user, naming what is wrong; the tool exits with `exit_code`."""

    exit_code = EXIT_BAD_INPUT


class HubPushError(UserError):
    """Pushing to the Hub failed (network, permissions), after the result was saved locally."""

    exit_code = EXIT_PUSH_FAILED


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr with exit code 2, like every other bad input."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help).\n")


def positive_int(text: str) -> int:
    """An argparse `type`: a whole number of at least 1 (a usage error otherwise)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse `type`: a whole number of 0 or more (a usage error otherwise)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def first_line(error: BaseException) -> str:
    """The first line of an exception's message without its full stop (its class name when it has no message)."""
    lines = str(error).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(error).__name__


def is_user_error(error: BaseException) -> bool:
    """True for `UserError` and the video processor's `FaceVideoError`: their message is the whole story."""
    if isinstance(error, UserError):
        return True
    modeling = sys.modules.get("modeling")  # not imported: its errors cannot have happened
    face_video_error = getattr(modeling, "FaceVideoError", None)
    return face_video_error is not None and isinstance(error, face_video_error)


def print_error(prog: str, error: BaseException | str) -> None:
    """`<prog>: error: <message>` on stderr, one line."""
    print(f"{prog}: error: {error}", file=sys.stderr)


def is_main_process() -> bool:
    """True on the first process of a distributed run (`accelerate launch`, torchrun) and in a plain run."""
    return os.environ.get("RANK", "0") == "0"


def run_cli(
    prog: str,
    work: Callable[[], object],
    *,
    on_interrupt: str = "interrupted.",
    errors_on_main_process_only: bool = False,
) -> int:
    """Runs a tool's `work`; a user error becomes one sentence on stderr and the exit code (see the module doc).

    Args:
        prog: The tool's name as the user typed it (`train_fusion.py`), the prefix of its messages.
        work: Does the whole job; raises `UserError` (or `FaceVideoError`) for bad input.
        on_interrupt: What to tell the user after Ctrl-C (e.g. how to resume).
        errors_on_main_process_only: In a distributed run, print a user error, and the line after Ctrl-C, on the
            first process only (for tools whose processes all check the same input and would print the same sentence).

    Returns:
        The exit code: 0 done, 1 Hub push failed, 2 bad input, 130 interrupted.
    """
    try:
        work()
    except KeyboardInterrupt:
        if is_main_process() or not errors_on_main_process_only:  # Ctrl-C reaches every process: one says so
            print(f"{prog}: {on_interrupt}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if not is_user_error(error):
            raise
        if is_main_process() or not errors_on_main_process_only:
            print_error(prog, error)
        return getattr(error, "exit_code", EXIT_BAD_INPUT)
    return EXIT_OK


@contextmanager
def warnings_as_lines(prog: str, silenced: tuple[type[Warning], ...] = ()) -> Iterator[None]:
    """Within it, each warning is shown once, as one line on stderr without a source location; the ``silenced``
    categories are not shown (a tool that states the same thing itself), and in a distributed run only the main
    process shows any (every process loads the same model and reads the same input: the main one warns for all)."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for category in silenced:
            warnings.simplefilter("ignore", category)
        if not is_main_process():
            warnings.simplefilter("ignore")
        warnings.showwarning = lambda message, *_, **__: print(f"{prog}: warning: {message}", file=sys.stderr)
        yield
