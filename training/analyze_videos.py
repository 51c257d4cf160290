"""Analyse many videos with the face-video-analysis pipeline: rows per video in a JSONL, CSV or Parquet file.

Inputs are files, folders (searched recursively for videos) and glob patterns. Each row holds the video's path, the
`person` it describes (empty for the main person; with `--people all`, one row per person seen, most prominent
first, holding the person's id), its seven emotion probabilities (`emotion_<label>`), its five trait scores
(`trait_<name>`), the face `detector` and the `precision` used, the sampled frames with a face (`frames_with_face`
of `frames_sampled`) and `error`: empty, or the one sentence saying why that video could not be analysed (a bad file
never stops the run). The output's extension (.jsonl, .csv, .parquet) chooses the format.

The run is resumable: finished rows are stored in small files beside the output as they come (each written under a
temporary name and renamed, so a killed run leaves no half-written row), and the output is rewritten from them at
the end. Run the same command again and every video already in the output, or in those files, is skipped. Under
`accelerate launch` the videos are split across the processes (one per GPU) and the main process writes the output;
on a CPU, `--processes N` does the same with N processes of one thread each (one per core is fastest over many
videos: `training/cpu_processes.py`).

With `--annotate DIR`, each video's annotated H.264 clip (each person's box, id and top emotion over the sampled
frames) is written to `DIR/<video stem>.annotated.mp4`; videos are then analysed one at a time (no prefetching).

Examples:

    python training/analyze_videos.py clips/ --output results.csv --model org/face-fusion
    python training/analyze_videos.py "interviews/**/*.mp4" extra.webm --output results.parquet --model ./run
    python training/analyze_videos.py clips/ --output results.jsonl --model org/face-fusion --processes 4  # 4 cores
    accelerate launch training/analyze_videos.py clips/ --output results.jsonl --model org/face-fusion
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import shutil
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from modeling.inference_precision import PRECISION_ENV, PRECISIONS, resolve_precision
from modeling.processing_face_video import FACE_DETECTORS, FaceDetectorFallbackWarning
from modeling.video_decoding import VIDEO_EXTENSIONS
from training.cli import ArgumentParser, UserError, first_line, positive_int, run_cli, warnings_as_lines
from training.cpu_processes import launched_by_a_launcher, refuse_on_a_gpu, run_on_cpu_processes
from training.process_progress import VideoProgress
from training.shards import TEMP_PREFIX, chunk_name, read_jsonl, write_text_atomically
from training.video_datasets import share_of_process

PROG = "analyze_videos.py"
FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}


class AnalysisError(UserError):
    """Input the command cannot work with (no videos, an unknown output format, a model that cannot be loaded)."""


# ---------------------------------------------------------------------------------------------------------------
# Which videos


def list_inputs(inputs: Iterable[str]) -> list[str]:
    """The videos named by files, folders (recursively, by video extension) and glob patterns, sorted, each once.

    A file named explicitly is taken whatever its extension (a bad one gets its error row); a folder or a pattern
    contributes its video files only.

    Raises:
        AnalysisError: An input that is neither a file, a folder nor a pattern matching anything; or no video at all.
    """
    found: dict[str, None] = {}
    for given in inputs:
        path = Path(given)
        if path.is_file():
            found[os.path.normpath(given)] = None
        elif path.is_dir():
            for candidate in sorted(path.rglob("*")):
                if candidate.is_file() and candidate.suffix.lower() in VIDEO_EXTENSIONS:
                    found[os.path.normpath(candidate)] = None
        elif glob.has_magic(given):
            matches = sorted(glob.glob(given, recursive=True))
            videos = [m for m in matches if os.path.isfile(m) and Path(m).suffix.lower() in VIDEO_EXTENSIONS]
            if not videos:
                raise AnalysisError(f"the pattern {given!r} matches no video file.")
            found.update(dict.fromkeys(os.path.normpath(m) for m in videos))
        else:
            raise AnalysisError(f"{given} does not exist (give video files, folders or glob patterns).")
    if not found:
        raise AnalysisError(f"no video file found in {', '.join(inputs)}.")
    return sorted(found)


def video_key(video: str) -> str:
    """What identifies a video across runs: its absolute, normalised path."""
    return os.path.abspath(video)


# ---------------------------------------------------------------------------------------------------------------
# Rows and the output file


def columns(emotion_labels: list[str], trait_names: list[str]) -> list[str]:
    """The output's columns, in order."""
    return [
        "video",
        "person",
        *(f"emotion_{label}" for label in emotion_labels),
        *(f"trait_{name}" for name in trait_names),
        "detector",
        "precision",
        "frames_with_face",
        "frames_sampled",
        "error",
    ]


def result_rows(video: str, result: dict | BaseException, emotion_labels: list[str], trait_names: list[str],
                detector: str, precision: str) -> list[dict[str, Any]]:
    """The output rows of one video: one for its main person, one per person with `--people all` (most prominent
    first, `person` holding the person's id), or one holding the error the video raised."""
    row: dict[str, Any] = dict.fromkeys(columns(emotion_labels, trait_names))
    row.update(video=video, detector=detector, precision=precision, error="")
    if isinstance(result, BaseException):
        row["error"] = error_sentence(video, result)
        return [row]
    row.update(detector=result.get("detector", detector), precision=result.get("precision", precision))
    people = result.get("people") or [
        {"emotions": result["emotions"], "traits": result["traits"], "frames_seen": result["video"]["faces_found"]}
    ]
    rows = []
    for person in people:
        emotions = {item["label"]: item["score"] for item in person["emotions"]}
        rows.append({
            **row,
            "person": person.get("id"),
            **{f"emotion_{label}": emotions[label] for label in emotion_labels},
            **{f"trait_{name}": person["traits"][name] for name in trait_names},
            "frames_with_face": person["frames_seen"],
            "frames_sampled": result["video"]["num_frames_sampled"],
        })
    return rows


def error_sentence(video: str, error: BaseException) -> str:
    """The one sentence of a failed video: the pipeline's own for bad input, else the error's first line."""
    from modeling.processing_face_video import FaceVideoError

    if isinstance(error, FaceVideoError):
        return str(error)
    message = first_line(error)
    detail = f": {message}" if message != type(error).__name__ else ""  # no message: the class name says it all
    return f"{Path(video).name}: unexpected {type(error).__name__}{detail}."


def output_format(output: Path) -> str:
    """"jsonl", "csv" or "parquet", from the output's extension."""
    fmt = FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise AnalysisError(f"{output} must end in {', '.join(FORMATS)} (the extension chooses the format).")
    return fmt


def check_output(output: Path) -> None:
    """Refuse an --output the run could not write: an unknown extension, or a folder that does not exist."""
    output_format(output)
    if not output.parent.is_dir():
        raise AnalysisError(f"the folder of --output {output} does not exist.")


def read_rows(output: Path) -> list[dict[str, Any]]:
    """The rows of an existing output file (none when it does not exist)."""
    if not output.is_file():
        return []
    fmt = output_format(output)
    try:
        if fmt == "jsonl":
            return read_jsonl(output)
        if fmt == "csv":
            with output.open(newline="", encoding="utf-8") as file:
                return list(csv.DictReader(file))
        import pyarrow.parquet as pq

        return pq.read_table(output).to_pylist()
    except Exception as error:  # noqa: BLE001 - a damaged or foreign file: refuse it, never overwrite it
        raise AnalysisError(
            f"{output} exists but cannot be read as {fmt} ({type(error).__name__}); move it away or choose another "
            "--output."
        ) from None


def write_rows(output: Path, rows: list[dict[str, Any]], names: list[str]) -> None:
    """Writes all rows to the output in its format, under a temporary name renamed into place."""
    fmt = output_format(output)
    temporary = output.with_name(f"{TEMP_PREFIX}{output.name}-{os.getpid()}")
    if fmt == "jsonl":
        with temporary.open("w", encoding="utf-8") as file:
            for row in rows:
                file.write(json.dumps({name: row.get(name) for name in names}) + "\n")
    elif fmt == "csv":
        with temporary.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=names, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        def kind(name: str):
            if name.startswith(("emotion_", "trait_")):
                return pa.float64()
            return pa.int64() if name.startswith("frames_") or name == "person" else pa.string()

        schema = pa.schema([(name, kind(name)) for name in names])
        pq.write_table(pa.Table.from_pylist([{n: row.get(n) for n in names} for row in rows], schema=schema), temporary)
    os.replace(temporary, output)


class RowStore:
    """Finished rows of a run, kept until they are in the output: ``.<output name>.parts/chunk-*.jsonl``.

    Each chunk file is written whole under a temporary name and renamed, so the rows it holds are complete; the
    output is rewritten from the old output and every chunk, and only then are the chunks deleted.
    """

    def __init__(self, output: Path):
        self.output = output
        self.folder = output.with_name(f".{output.name}.parts")

    def recover(self) -> None:
        """Deletes temporary files of killed writes (call from one process, before any process writes)."""
        output_temporary = self.output.parent.glob(f"{TEMP_PREFIX}{self.output.name}-*")
        for leftover in [*self.folder.glob(f"{TEMP_PREFIX}*"), *output_temporary]:
            leftover.unlink(missing_ok=True)

    def rows(self) -> list[dict[str, Any]]:
        """The rows of every finished chunk."""
        if not self.folder.is_dir():
            return []
        return [row for path in sorted(self.folder.glob("chunk-*.jsonl")) for row in read_jsonl(path)]

    def write_chunk(self, rows: list[dict[str, Any]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = chunk_name([row["video"] for row in rows])
        write_text_atomically(self.folder / f"{name}.jsonl", "".join(json.dumps(row) + "\n" for row in rows))

    def publish(self, names: list[str]) -> int:
        """Rewrites the output with its old rows and every chunk's (each video's rows once, sorted by video, its
        people in their order); returns the row count."""
        merged: dict[str, list[dict[str, Any]]] = {}
        for source in (read_rows(self.output), *map(read_jsonl, sorted(self.folder.glob("chunk-*.jsonl")))):
            found: dict[str, list[dict[str, Any]]] = {}
            for row in source:
                found.setdefault(video_key(row["video"]), []).append(row)
            for key, video_rows in found.items():
                merged.setdefault(key, video_rows)  # a video's rows all come from the first place that has them
        rows = [row for key in sorted(merged) for row in merged[key]]
        write_rows(self.output, rows, names)
        shutil.rmtree(self.folder, ignore_errors=True)
        return len(rows)


# ---------------------------------------------------------------------------------------------------------------
# The run


def load_pipeline(args: argparse.Namespace, device: torch.device, precision: str):
    """The face-video-analysis pipeline for ``--model`` on ``device``."""
    import transformers

    import modeling  # noqa: F401  (registers the task)
    from modeling.pipeline_face_video import TASK

    options: dict[str, Any] = {"precision": precision}
    if args.batch_size:
        options["batch_size"] = args.batch_size
    try:
        pipe = transformers.pipeline(TASK, model=args.model, revision=args.revision, device=device, **options)
    except Exception as error:  # noqa: BLE001 - missing folder, no network, not a FaceFusion: one sentence
        raise AnalysisError(f"the model {args.model} could not be loaded ({first_line(error)}).") from None
    if args.face_detector:
        pipe.processor = pipe.processor_for(face_detector=args.face_detector)
    return pipe


def call_options(pipe, args: argparse.Namespace) -> dict[str, Any]:
    """The per-call pipeline arguments; --people only where the pipeline has that option."""
    options: dict[str, Any] = {}
    if args.num_frames is not None:
        options["num_frames"] = args.num_frames
    if args.people is not None:
        import inspect

        if "people" not in inspect.signature(pipe._sanitize_parameters).parameters:
            raise AnalysisError("this version of the pipeline has no people option; leave out --people.")
        options["people"] = args.people
    try:
        pipe._sanitize_parameters(**options)  # bad values stop here with the pipeline's sentence, not per video
    except (TypeError, ValueError) as error:
        raise AnalysisError(str(error)) from None
    return options


def annotated_path(folder: Path, video: str) -> Path:
    """Where --annotate writes a video's annotated clip: `<folder>/<video stem>.annotated.mp4`."""
    return folder / f"{Path(video).stem}.annotated.mp4"


def analysed(pipe, videos: list[str], args: argparse.Namespace, options: dict[str, Any]):
    """`(video, result or exception)` in order: the pipeline's prefetching batch loop, or with --annotate one call per
    video (an annotated clip is written per call)."""
    if args.annotate is None:
        yield from pipe.iter_results(videos, num_workers=args.num_workers, **options)
        return
    for video in videos:
        try:
            yield video, pipe(video, annotate=annotated_path(args.annotate, video), **options)
        except Exception as error:  # noqa: BLE001 - as iter_results does: one bad file does not end the run
            yield video, error


def labels(config) -> list[str]:
    return [config.id2label[i] for i in range(len(config.id2label))]


def analyze(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the analysis; returns counts (the main process's include the output's row count)."""
    from accelerate import Accelerator  # imported here: it costs a second, and --help should not pay it

    accelerator = Accelerator(cpu=args.cpu)
    rank, world, is_main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process
    check_output(args.output)
    videos = list_inputs(args.inputs)

    try:
        precision = resolve_precision(args.precision, accelerator.device)  # None: $FACE_FUSION_PRECISION, else auto
    except ValueError as error:
        raise AnalysisError(str(error)) from None
    pipe = load_pipeline(args, accelerator.device, precision)
    options = call_options(pipe, args)
    emotion_labels = labels(pipe.model.config.emotion_config)
    trait_names = labels(pipe.model.config.trait_config)
    names = columns(emotion_labels, trait_names)
    detector = pipe.processor.resolved_face_detector
    if is_main:
        print(f"Faces found with {pipe.processor.face_detector_description}.")
    if args.annotate is not None:
        try:
            args.annotate.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            message = f"the --annotate folder {args.annotate} cannot be created ({error.strerror})."
            raise AnalysisError(message) from None

    store = RowStore(args.output)
    if is_main:
        store.recover()
    accelerator.wait_for_everyone()
    done = {video_key(row["video"]) for row in [*read_rows(args.output), *store.rows()]}
    pending = [video for video in videos if video_key(video) not in done]
    share = share_of_process(pending, rank, world)
    accelerator.wait_for_everyone()  # every process has listed what is done before any process writes

    chunk: list[dict[str, Any]] = []
    # One bar over every process's videos (the main process's), closed once every process is done, so it ends full
    with VideoProgress(len(share), "videos", "failed", is_main, args.quiet, run_total=len(pending)) as progress:
        for video, result in analysed(pipe, share, args, options):
            rows = result_rows(video, result, emotion_labels, trait_names, detector, precision)
            chunk.extend(rows)
            if len(chunk) >= args.chunk_size:
                store.write_chunk(chunk)
                chunk = []
            progress.video_done()
            progress.add_failures(int(bool(rows[0]["error"])))
        if chunk:
            store.write_chunk(chunk)
        counts = [{"analysed": len(share), "failed": progress.failed}]
        accelerator.wait_for_everyone()
    if world > 1:
        from accelerate.utils import gather_object

        counts = gather_object(counts)
    summary = {
        "listed": len(videos),
        "done_before": len(videos) - len(pending),
        "analysed": sum(c["analysed"] for c in counts),
        "failed": sum(c["failed"] for c in counts),
        "is_main": is_main,
        "output": str(args.output),
    }
    if is_main:
        summary["rows"] = store.publish(names)
    accelerator.wait_for_everyone()
    return summary


# ---------------------------------------------------------------------------------------------------------------
# Command line



def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description=textwrap.fill(__doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[1], width=100),
        epilog="Examples:" + __doc__.split("Examples:", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="VIDEO",
                        help="Video files, folders (searched recursively) or glob patterns (quote them).")
    parser.add_argument("--output", required=True, type=Path,
                        help="The results file: .jsonl, .csv or .parquet. Videos already in it are skipped.")
    parser.add_argument("--model", required=True, help="Folder or Hub id of a FaceFusion model.")
    parser.add_argument("--revision", help="Hub revision of --model (branch, tag or commit).")
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="Embedder precision: auto is bf16 where the device computes it natively (CUDA, AVX-512 "
                             f"BF16 or AMX CPUs), fp32 elsewhere (default: ${PRECISION_ENV}, else auto).")
    parser.add_argument("--people", choices=("main", "all"), default=None,
                        help="Whose faces: the main person (the pipeline's default; one row per video) or everyone "
                             "(one row per person, with their id in the person column).")
    parser.add_argument("--num_frames", type=positive_int, default=None,
                        help="Frames sampled per video (default: the model's processor's).")
    parser.add_argument("--face_detector", choices=FACE_DETECTORS, default=None,
                        help="Face detector (default: the model's processor's).")
    parser.add_argument("--batch_size", type=positive_int, default=None,
                        help="Videos whose face crops go through the model together (default 1; more on a GPU).")
    parser.add_argument("--num_workers", type=int, default=None,
                        help="Threads decoding and finding faces ahead of the model (default: 1 on the CPU, the free "
                             "cores up to 8 on a GPU; 0: none).")
    parser.add_argument("--chunk_size", type=positive_int, default=16,
                        help="Rows stored together as the run goes: the most work a kill can lose.")
    parser.add_argument("--annotate", type=Path, metavar="DIR",
                        help="Also write each video's annotated clip (boxes, ids, top emotion) to "
                             "DIR/<video stem>.annotated.mp4.")
    parser.add_argument("--cpu", action="store_true", help="Run on the CPU even when a GPU is present.")
    parser.add_argument("--processes", type=positive_int, default=1,
                        help="On the CPU: run this many processes, each embedding on one thread and taking its share "
                             "of the videos (one per core is fastest over many videos; each loads the model). On GPUs, "
                             "use accelerate launch instead.")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    return parser


def _check_cpu_processes(args: argparse.Namespace) -> None:
    """Refuse --processes where it does not apply, before any process starts."""
    refusal = refuse_on_a_gpu(args.cpu)
    if refusal:
        raise AnalysisError(refusal)
    check_output(args.output)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 done, 2 bad input, 130 interrupted: `training/cli.py`)."""
    args = build_parser().parse_args(argv)
    if args.processes > 1 and not launched_by_a_launcher():
        code = run_cli(PROG, lambda: _check_cpu_processes(args))
        if code:
            return code
        argv = sys.argv[1:] if argv is None else argv
        return run_on_cpu_processes(PROG, os.path.abspath(__file__), argv, args.processes)

    def work() -> None:
        # The fallback to Haar is told once, with its reason, by "Faces found with ..."; as a warning it came again
        # from each prefetch thread's processor.
        with warnings_as_lines(PROG, silenced=(FaceDetectorFallbackWarning,)):
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()  # no weight-loading bar: only this tool's own
            summary = analyze(args)
        if summary["is_main"]:
            print(
                f"{summary['listed']} video{'s' * (summary['listed'] != 1)}: {summary['analysed']} analysed now "
                f"({summary['failed']} failed, see the error column), {summary['done_before']} done before; "
                f"{summary['output']} holds {summary['rows']} row{'s' * (summary['rows'] != 1)}."
            )

    return run_cli(PROG, work, on_interrupt="interrupted; run the same command again to resume.",
                   errors_on_main_process_only=True)


if __name__ == "__main__":
    sys.exit(main())
