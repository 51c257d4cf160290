r"""Fetch every weight file an analysis needs, so the machine works offline afterwards.

Two downloads, each skipped when already on disk:

* the face-fusion model repo from the Hugging Face Hub (``huggingface_hub.snapshot_download``, into the Hub cache
  that ``pipeline(...)`` and the page read), unless ``--model`` is a local folder;
* face-alignment's face detector and landmark network (into ``$TORCH_HOME/hub/checkpoints``, where face-alignment
  looks), with torch.hub's progress bar; a cut download is never kept (see ``modeling/face_alignment_weights.py``).

Usage:
    python training/fetch_weights.py [--model org/face-fusion] [--revision REV] [--face_alignment_detector sfd]

Then ``HF_HUB_OFFLINE=1 python app.py`` (or the pipeline, or the extraction) runs without any network, with
face-alignment finding the faces. Exit status 0 when everything is on disk, 1 with one sentence per failure.
"""

from __future__ import annotations

import argparse
import os
import sys

from modeling.face_alignment_weights import (
    FACE_ALIGNMENT_DETECTOR_WEIGHTS,
    FaceAlignmentWeightsUnavailable,
    face_alignment_checkpoint_dir,
    fetch_face_alignment_weights,
)
from modeling.hub_access import hub_reachable
from training.cli import ArgumentParser, UserError, first_line, print_error

# The model the page serves by default (app.DEFAULT_MODEL; FACE_FUSION_MODEL overrides both).
DEFAULT_MODEL = "org/face-fusion"


class FetchError(UserError):
    """One weight source that could not be fetched; the message is one sentence."""


def fetch_model(model: str, revision: str | None = None) -> str:
    """Download the model repo into the Hub cache (a no-op for a local folder); return where it is on disk."""
    if os.path.isdir(model):
        return model
    from huggingface_hub import constants, snapshot_download

    online = hub_reachable()
    try:
        return snapshot_download(model, revision=revision, local_files_only=not online)
    except Exception as error:
        if not online:
            reason = f"{constants.ENDPOINT} did not answer and it is not in the local Hub cache"
        else:
            reason = first_line(error)
        raise FetchError(f"the model {model} could not be fetched from the Hugging Face Hub: {reason}.") from error


def fetch_face_alignment(detector: str = "sfd") -> list[str]:
    """Download face-alignment's missing weight files for ``detector``; return the names downloaded."""
    try:
        return fetch_face_alignment_weights(detector)
    except FaceAlignmentWeightsUnavailable as error:
        raise FetchError(str(error)) from error


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="fetch_weights.py",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__[__doc__.index("Usage:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default=os.environ.get("FACE_FUSION_MODEL", DEFAULT_MODEL), help="Hub id or folder")
    parser.add_argument("--revision", help="model revision (branch, tag or commit); default main")
    parser.add_argument(
        "--face_alignment_detector", default="sfd", choices=sorted(FACE_ALIGNMENT_DETECTOR_WEIGHTS),
        help="face-alignment's box detector whose weights to fetch (the processor's default is sfd)",
    )
    parser.add_argument("--skip_model", action="store_true", help="fetch face-alignment's weights only")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    failures = []
    if not args.skip_model:
        try:
            print(f"Model {args.model}: on disk at {fetch_model(args.model, args.revision)}")
        except FetchError as error:
            failures.append(str(error))
    try:
        fetched = fetch_face_alignment(args.face_alignment_detector)
        done = f"downloaded {', '.join(fetched)}" if fetched else "already there"
        print(f"face-alignment weights ({args.face_alignment_detector}) in {face_alignment_checkpoint_dir()}: {done}")
    except FetchError as error:
        failures.append(str(error))
    for failure in failures:
        print_error("fetch_weights.py", f"{failure[:1].upper()}{failure[1:]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
