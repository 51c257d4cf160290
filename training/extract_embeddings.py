"""Extract EmoNeXt face embeddings from CMU-MOSEI or First Impressions V2 videos into a `datasets` table per split.

Each video becomes `num_frames` face crops (FaceVideoProcessor: sampled decode, face detection and tracking, square
crops), the crops of many videos are embedded together in batches, and the result is one `save_to_disk` table per
split with the columns `video_id` (the file name without its extension), `embeddings` (T, D) and `attention_mask`
(T int8, 1 where the face was really detected). `training/build_dataset.py` joins these tables with the labels.
With `--people all` every person seen often and large enough gets a row of their own, keyed
`<video_id>#<person_id>` (the main person first; person ids are the processor's, unique within a video). Every
container the decoders read is taken, in any case (``VIDEO_EXTENSIONS``: .mp4 .m4v .mov .mkv .webm .avi .mpg .mpeg
.wmv .flv .3gp .ts).

The progress bar counts a video once it is embedded: a chunk's crops are embedded batch by batch as its videos come
(``ChunkEmbedding``), in the batches one call on the whole chunk would make.

The run is resumable: videos are done in chunks, each finished chunk is stored atomically as a shard, and a rerun of
the same command skips every finished video (and every video already found unusable) and ends with the same table as
an uninterrupted run. Videos that cannot be decoded or show no face, and files that are not videos, are skipped and
listed, with the reason, in `<output_root>/<split>/failures.jsonl`. The settings, among them the compute precision
(`--precision`) and the embedder's weights fingerprint, are recorded in `extraction.json` (and the table's
description); resuming with other settings is refused. Under `accelerate launch` the videos are split across the
processes (one per GPU) and the main process merges their shards; on a CPU, `--processes N` does the same with N
processes of one thread each (one per core is fastest: `training/cpu_processes.py`).

Examples:

    python training/extract_embeddings.py --dataset cmu-mosei --split train \\
        --base_path emo_video --output_root emo_video_embeddings --model org/emonext-base

    accelerate launch training/extract_embeddings.py --dataset fiv2 --split train \\
        --folders training80_01 training80_02 --base_path FirstImpressionsV2 \\
        --output_root FirstImpressionsV2_embeddings --model org/face-fusion --format pt

    python training/extract_embeddings.py --dataset fiv2 --split val --base_path FirstImpressionsV2 \\
        --output_root fiv2_emb --model_config hub_configs/emonext-base   # ImageNet backbone, see --model_config

    python training/extract_embeddings.py --dataset cmu-mosei --split train --base_path emo_video \\
        --output_root emo_video_embeddings --model org/emonext-base --processes 4   # a CPU with 4 cores
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
import transformers
from datasets import Dataset
from transformers import PreTrainedConfig

from modeling import EmoNeXtConfig, EmoNeXtModel, FaceFusionConfig, FaceFusionModel
from modeling.inference_batching import default_embed_batch_size
from modeling.inference_precision import PRECISION_ENV, PRECISIONS, precision_autocast, resolve_precision
from modeling.pipeline_face_video import usable_cores
from modeling.processing_face_video import FACE_DETECTORS, FaceDetectorFallbackWarning, FaceVideoProcessor
from modeling.weights_fingerprint import weights_fingerprint
from training.cli import (
    ArgumentParser,
    UserError,
    first_line,
    non_negative_int,
    positive_int,
    run_cli,
    warnings_as_lines,
)
from training.cpu_processes import launched_by_a_launcher, refuse_on_a_gpu, run_on_cpu_processes
from training.process_progress import VideoProgress
from training.shards import ShardStore
from training.tables import EMBEDDING_DTYPES, embedding_features
from training.video_datasets import (
    DATASET_SPLITS,
    SkippedFile,
    VideoCropDataset,
    VideoCrops,
    VideoFile,
    keep_items,
    list_split_files,
    share_of_process,
    split_directory,
    video_of_row,
)

PROG = "extract_embeddings.py"
STAGES = ("decode", "detect", "crop", "embed")


class ExtractionError(UserError):
    """Bad input that is not a video (a model that cannot be loaded, impossible options); one sentence."""


# ---------------------------------------------------------------------------------------------------------------
# The embedder and the processor


def load_embedder(
    model: str | None = None,
    revision: str | None = None,
    model_config: str | None = None,
    seed: int = 0,
    pretrained_backbone: bool = False,
) -> EmoNeXtModel:
    """The EmoNeXt that embeds face crops, in eval mode.

    Args:
        model: A folder or Hub id of an EmoNeXt checkpoint (`EmoNeXtModel` or `EmoNeXtForImageClassification`), or of
            a FaceFusion checkpoint (its embedder is used).
        revision: Hub revision (branch, tag or commit) of `model`.
        model_config: Instead of `model`: a config.json (or a folder holding one) of an EmoNeXt or FaceFusion; the
            model is built from it, seeded with `seed`, with timm's ImageNet backbone when the config sets
            `use_pretrained_backbone`.
        seed: Seed of the weights `model_config` does not load.
        pretrained_backbone: With `model_config`: load timm's ImageNet backbone whatever the config says (the
            original scripts' embedder was exactly that: an ImageNet ConvNeXt inside EmoNeXt).

    Returns:
        The embedder.

    Raises:
        ExtractionError: The model cannot be found or loaded, or is not an EmoNeXt or FaceFusion.
    """
    if (model is None) == (model_config is None):
        raise ExtractionError("give exactly one of --model and --model_config.")
    source = model if model is not None else model_config
    try:
        config_dict, _ = PreTrainedConfig.get_config_dict(source, revision=revision)
    except (OSError, ValueError) as error:
        raise ExtractionError(f"no model config could be read from {source} ({first_line(error)}).") from None
    model_type = config_dict.get("model_type")
    if model_type not in (EmoNeXtConfig.model_type, FaceFusionConfig.model_type):
        raise ExtractionError(
            f"{source} is a {model_type or 'model of unknown type'} model, not an EmoNeXt or a FaceFusion."
        )

    if model is not None:
        # The project's own classes, not remote code: the code that made the weights is the code that runs them.
        model_class = EmoNeXtModel if model_type == EmoNeXtConfig.model_type else FaceFusionModel
        try:
            loaded = model_class.from_pretrained(model, revision=revision)
        except (OSError, ValueError, RuntimeError) as error:
            raise ExtractionError(f"the model {model} could not be loaded ({first_line(error)}).") from None
        embedder = loaded.embedder if isinstance(loaded, FaceFusionModel) else loaded
        return embedder.eval()

    if model_type == FaceFusionConfig.model_type:
        config = FaceFusionConfig.from_dict(config_dict).embedder_config
    else:
        config = EmoNeXtConfig.from_dict(config_dict)
    if pretrained_backbone:
        config.use_pretrained_backbone = True
    torch.manual_seed(seed)
    try:
        embedder = EmoNeXtModel(config)
    except Exception as error:  # noqa: BLE001 - timm/hub download failures come in many types
        raise ExtractionError(
            f"EmoNeXt could not be built from {source} ({first_line(error)}); with use_pretrained_backbone the "
            "ImageNet weights of the backbone must be downloadable or in the Hugging Face cache."
        ) from None
    if not config.use_pretrained_backbone:
        warnings.warn(
            f"{source} builds an EmoNeXt with untrained (seeded random) weights: its embeddings are good for timing "
            "and tests only.",
            stacklevel=2,
        )
    return embedder.eval()


def make_processor(
    num_frames: int, image_size: int, face_detector: str, device: str = "cpu"
) -> tuple[FaceVideoProcessor, str]:
    """The face processor, with "auto" resolved here once (fetching face-alignment's weights when missing, so decode
    workers do not each check the network or warn), and which detector that is, in words for the log."""
    try:
        probe = FaceVideoProcessor(num_frames, image_size, face_detector)
        resolved = probe.resolved_face_detector
        processor = FaceVideoProcessor(num_frames, image_size, resolved, device=device if resolved != "haar" else "cpu")
        return processor, probe.face_detector_description
    except ValueError as error:
        raise ExtractionError(str(error)) from None


def embed_crops(
    model: EmoNeXtModel,
    processor: FaceVideoProcessor,
    crops: torch.Tensor,
    batch_size: int,
    device: torch.device,
    precision: str = "fp32",
    pad: bool = True,
) -> torch.Tensor:
    """Embeds uint8 face crops in batches.

    With `pad`, every forward pass has exactly `batch_size` crops (the last batch is filled with zeros): the kernels
    then see one input shape only, so a crop's embedding does not depend on how many crops share its batch, and a
    resumed extraction gives bit-identical results to an uninterrupted one.

    Args:
        model: The embedder (eval mode, on `device`).
        processor: Normalises the crops (ImageNet mean and std).
        crops: (N, S, S, 3) uint8 RGB.
        batch_size: Crops per forward pass.
        device: Where the model runs.
        precision: "bf16" (autocast) or "fp32", as `resolve_precision` gives it.
        pad: Pad the last batch to `batch_size`.

    Returns:
        (N, D) float32 embeddings on the CPU.
    """
    outputs = []
    with torch.inference_mode(), precision_autocast(precision, device):
        for start in range(0, len(crops), batch_size):
            pixels = processor.normalize(crops[start : start + batch_size].numpy())
            count = len(pixels)
            if pad and count < batch_size:
                pixels = torch.cat([pixels, pixels.new_zeros((batch_size - count, *pixels.shape[1:]))])
            pixels = pixels.to(device, non_blocking=True)
            outputs.append(model(pixel_values=pixels).pooler_output[:count].float().cpu())
    if not outputs:
        return torch.empty(0, model.config.hidden_size)
    return torch.cat(outputs)


# ---------------------------------------------------------------------------------------------------------------
# One chunk of videos: embed, write .pt files, store the shard


def failure_record(item: VideoCrops) -> dict[str, Any]:
    """The failure log's line for a video that was skipped."""
    return {
        "video_id": item.video.video_id,
        "path": str(item.video.path),
        "error": item.error_type,
        "reason": item.error,
        "retry": item.retry,
    }


def skipped_file_record(item: SkippedFile, split_folder: Path) -> dict[str, Any]:
    """The failure log's line for a file of the split's folders that is not a video (keyed by its relative path, so
    it cannot shadow a video's id)."""
    return {
        "video_id": item.path.relative_to(split_folder).as_posix(),
        "path": str(item.path),
        "error": "NotAVideoFile",
        "reason": f"{item.path.name} was skipped: {item.reason}.",
        "retry": False,
    }


class ChunkEmbedding:
    """A chunk's videos, embedded batch by batch as they come, so that a video counts as done once it is embedded.

    The crops of the chunk's usable videos go to the model in their order, ``batch_size`` at a time, the last batch
    padded (``embed_crops``): the batches a whole chunk would make in one call, so the embeddings are the same. Only
    what does not fill a batch waits for the next video or for ``finish``.

    Args:
        model, processor, batch_size, device, precision: As ``embed_crops`` takes them.
    """

    def __init__(
        self, model: EmoNeXtModel, processor: FaceVideoProcessor, batch_size: int, device: torch.device, precision: str
    ):
        self.model, self.processor, self.device, self.precision = model, processor, device, precision
        self.batch_size = batch_size
        self.items: list[VideoCrops] = []
        self.seconds = 0.0  # spent embedding
        self._waiting: list[torch.Tensor] = []  # crops added, not yet embedded
        self._outputs: list[torch.Tensor] = []
        self._added = self._embedded = 0  # crops
        self._video_ends: list[int] = []  # per video added: the crops added up to its end
        self._videos_counted = 0

    def add(self, rows: list[VideoCrops]) -> int:
        """Adds one video's rows (its people), embeds every batch now full, and returns how many videos added so far
        became wholly embedded (a video without crops, as soon as the videos before it are)."""
        self.items.extend(rows)
        for row in rows:
            if row.ok:
                self._waiting.append(row.crops)
                self._added += len(row.crops)
        self._video_ends.append(self._added)
        full = (self._added - self._embedded) // self.batch_size * self.batch_size
        if full:  # every full batch in one call: embed_crops makes the same batches, and the crops are joined once
            self._embed(full)
        return self._newly_embedded_videos()

    def finish(self) -> tuple[list[tuple[VideoFile, torch.Tensor, np.ndarray]], list[dict[str, Any]], int]:
        """Embeds what is left (the padded last batch) and splits the embeddings back per row.

        Returns:
            (video, (T, D) float32 embeddings, (T,) int8 mask) per embedded row, the failure records, and how many
            videos became wholly embedded since the last ``add``.
        """
        if self._added > self._embedded:
            self._embed(self._added - self._embedded)
        failures = [failure_record(item) for item in self.items if not item.ok]
        good = [item for item in self.items if item.ok]
        embeddings = torch.cat(self._outputs) if self._outputs else torch.empty(0, self.model.config.hidden_size)
        rows = []
        per_row = torch.split(embeddings, [len(item.crops) for item in good])
        for item, video_embeddings in zip(good, per_row, strict=True):
            if not torch.isfinite(video_embeddings).all():
                item.error = f"{item.video.path.name}: the model gave non-finite embeddings."
                item.error_type = "NonFinite"
                failures.append(failure_record(item))
                continue
            rows.append((item.video, video_embeddings, item.face_found.astype(np.int8)))
        return rows, failures, self._newly_embedded_videos()

    def _embed(self, count: int) -> None:
        """Embeds the first ``count`` waiting crops (whole batches, or the padded last one)."""
        waiting = torch.cat(self._waiting)
        self._waiting = [waiting[count:]] if len(waiting) > count else []
        start = time.perf_counter()
        self._outputs.append(
            embed_crops(self.model, self.processor, waiting[:count], self.batch_size, self.device, self.precision)
        )
        self.seconds += time.perf_counter() - start
        self._embedded += count

    def _newly_embedded_videos(self) -> int:
        done = self._videos_counted
        while done < len(self._video_ends) and self._video_ends[done] <= self._embedded:
            done += 1
        count, self._videos_counted = done - self._videos_counted, done
        return count


def rows_to_table(
    rows: list[tuple[VideoFile, torch.Tensor, np.ndarray]], num_frames: int, dim: int, dtype: str
) -> Dataset:
    """A chunk's embedded videos as a table with the embedding-table features."""
    return Dataset.from_dict(
        {
            "video_id": [video.video_id for video, _, _ in rows],
            "embeddings": [embeddings.numpy().astype(dtype) for _, embeddings, _ in rows],
            "attention_mask": [mask.tolist() for _, _, mask in rows],
        },
        features=embedding_features(num_frames, dim, dtype),
    )


def write_pt_file(split_dir: Path, video: VideoFile, embeddings: torch.Tensor, mask: np.ndarray) -> Path:
    """The original scripts' per-video file, `<split>[/<folder>]/<stem>.pt` = {"emb": (T, D) float32, "length": T}.

    `attention_mask` is added beside them (old notebooks only read the first two keys).
    """
    folder = split_dir / video.folder if video.folder else split_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{video.video_id}.pt"
    temporary = folder / f".tmp-{video.video_id}.pt-{os.getpid()}"
    content = {"emb": embeddings.clone(), "length": len(embeddings), "attention_mask": torch.from_numpy(mask.copy())}
    torch.save(content, temporary)
    os.replace(temporary, path)
    return path


# ---------------------------------------------------------------------------------------------------------------
# The whole run


def extraction_settings(
    args: argparse.Namespace, model: EmoNeXtModel, processor: FaceVideoProcessor, precision: str
) -> dict[str, Any]:
    """What decides the embeddings' values: a resumed run must match all of it."""
    processor_settings = {k: v for k, v in processor.to_dict().items() if k not in ("device", "image_processor_type")}
    return {
        "dataset": args.dataset,
        "split": args.split,
        "weights_sha256": weights_fingerprint(model),
        "embedding_dim": model.config.hidden_size,
        "num_frames": processor.num_frames,
        "image_size": processor.image_size,
        "face_detector": processor.face_detector,
        "processor": processor_settings,
        "precision": precision,
        "dtype": args.dtype,
        "people": args.people,  # "all": rows keyed <video_id>#<person_id>; a table without it has one row per video
    }


def default_num_workers(num_processes: int) -> int:
    """Decode workers per process: the cores this process may use, less one for the main loop, at most 8."""
    return max(0, min(8, usable_cores() // num_processes - 1))


@contextmanager
def _opencv_single_threaded(active: bool) -> Iterator[None]:
    """OpenCV without its thread pool while decode workers are forked from this process.

    A forked child inherits the pool's locks but not its threads, so touching the pool there can hang (seen here: a
    worker stuck in pthread_cond_destroy inside cv2.setNumThreads). With the pool shut down in the parent first, each
    worker runs OpenCV on its own thread; the workers are the parallelism.
    """
    if not active:
        yield
        return
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(0)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


def extract(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the extraction of one split.

    Returns:
        The summary of all processes' work (the main process's also has the published table's counts).
    """
    from accelerate import Accelerator  # imported here: it costs a second, and --help should not pay it

    accelerator = Accelerator(cpu=args.cpu)
    rank, world, is_main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process
    device = accelerator.device

    listing = list_split_files(args.dataset, args.base_path, args.split, args.folders)
    videos = listing.videos
    split_folder = split_directory(args.dataset, args.base_path, args.split)
    model = load_embedder(args.model, args.revision, args.model_config, args.seed, args.pretrained_backbone)
    model = model.to(device)
    processor, detector = make_processor(args.num_frames, model.config.image_size, args.face_detector, str(device))
    if is_main:
        print(f"Faces found with {detector}.")
    try:
        precision = resolve_precision(args.precision, device)  # None: $FACE_FUSION_PRECISION, else "auto"
    except ValueError as error:
        raise ExtractionError(str(error)) from None
    if args.batch_size is None:
        args.batch_size = default_embed_batch_size(device, 160)
    settings = extraction_settings(args, model, processor, precision)
    num_frames, dim = processor.num_frames, model.config.hidden_size

    split_dir = Path(args.output_root) / args.split
    store = ShardStore(split_dir)
    if is_main:
        store.recover()
    accelerator.wait_for_everyone()
    store.check_settings(settings)  # every process, so all of them stop on a mismatch
    if is_main:
        store.record_settings(settings)
    done, failed = store.finished()
    done_videos = {video_of_row(row_id) for row_id in done} if args.people == "all" else done
    pending = [video for video in videos if video.video_id not in done_videos and video.video_id not in failed]
    share = share_of_process(pending, rank, world)
    skipped_records = [skipped_file_record(item, split_folder) for item in listing.skipped]
    accelerator.wait_for_everyone()  # every process has listed the shards before any process writes one
    new_skipped = [record for record in skipped_records if record["video_id"] not in failed]
    if is_main and new_skipped:  # logged once: a rerun finds them among the failures
        store.write_chunk(rows_to_table([], num_frames, dim, args.dtype), new_skipped)

    num_workers = default_num_workers(world) if args.num_workers is None else args.num_workers
    loader = torch.utils.data.DataLoader(
        VideoCropDataset(share, processor, args.people),
        batch_size=1,
        collate_fn=keep_items,
        num_workers=num_workers,
        # let the workers decode a whole chunk ahead while the model embeds the current one
        prefetch_factor=max(2, math.ceil(args.chunk_size / num_workers)) if num_workers else None,
        # CUDA (face-alignment on the GPU) cannot be used in forked workers
        multiprocessing_context="spawn" if num_workers and processor.device.startswith("cuda") else None,
    )

    seconds = dict.fromkeys(STAGES, 0.0)
    embedded, failures_now = 0, []
    start = time.perf_counter()

    def new_chunk() -> ChunkEmbedding:
        return ChunkEmbedding(model, processor, args.batch_size, device, precision)

    chunk = new_chunk()
    # One bar over every process's videos (the main process's), closed once every process is done, so it ends full
    with (VideoProgress(len(share), f"{args.dataset} {args.split}", "skipped", is_main, run_total=len(pending))
          as progress, _opencv_single_threaded(num_workers > 0)):
        for index, (item,) in enumerate(loader):
            for stage, value in item.seconds.items():
                seconds[stage] += value
            progress.videos_done(chunk.add(item.rows()))  # counted as embedded, not as decoded
            if len(chunk.items) < args.chunk_size and index + 1 < len(share):
                continue
            rows, failures, finished = chunk.finish()
            progress.videos_done(finished)
            seconds["embed"] += chunk.seconds
            if args.format == "pt":
                for video, video_embeddings, mask in rows:
                    write_pt_file(split_dir, video, video_embeddings, mask)
            store.write_chunk(rows_to_table(rows, num_frames, dim, args.dtype), failures)
            embedded += len(rows)
            failures_now += failures
            progress.add_failures(len(failures))
            chunk = new_chunk()
        wall = time.perf_counter() - start
        accelerator.wait_for_everyone()
    mine = {"videos": len(share), "embedded": embedded, "errors": [f["error"] for f in failures_now],
            "seconds": seconds, "wall": wall}
    if world > 1:
        from accelerate.utils import gather_object

        everyone = gather_object([mine])
    else:
        everyone = [mine]
    summary = summarize(everyone, len(videos), len(videos) - len(pending))
    summary.update(files_seen=len(videos) + len(listing.skipped), not_videos=len(listing.skipped))
    summary.update(dataset=args.dataset, split=args.split, output=str(split_dir), process_index=rank,
                   num_processes=world, device=str(device), precision=precision, num_workers=num_workers,
                   batch_size=args.batch_size)
    if is_main:
        if store.chunk_dirs() or not store.has_published_table():
            table, failures = store.merge()
            if table is None:
                table = rows_to_table([], num_frames, dim, args.dtype)
            description = {"face_fusion_extraction": {**settings, "model": args.model or args.model_config}}
            table.info.description = json.dumps(description, sort_keys=True)
            extraction = {
                **settings,
                "model": args.model or args.model_config,
                "model_revision": args.revision,
                "batch_size": args.batch_size,  # not checked on resume: another size changes values by ~1e-6 only
                "rows": len(table),
                "failures": len(failures),
                "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                             "datasets": datasets.__version__},
            }
            store.publish(table, failures, extraction)
        summary["table_rows"], summary["failures_total"] = _published_counts(split_dir)
    return summary


def summarize(processes: list[dict[str, Any]], listed: int, done_before: int) -> dict[str, Any]:
    """Counts and speed of a run, over all its processes."""
    videos = sum(p["videos"] for p in processes)
    wall = max(p["wall"] for p in processes)
    errors = [error for p in processes for error in p["errors"]]
    seconds = {stage: sum(p["seconds"][stage] for p in processes) for stage in STAGES}
    return {
        "videos_listed": listed,
        "already_done": done_before,
        "embedded_now": sum(p["embedded"] for p in processes),
        "skipped_now": len(errors),
        "skipped_now_by_error": {error: errors.count(error) for error in sorted(set(errors))},
        "seconds": wall,
        "videos_per_second": videos / wall if videos and wall > 0 else None,
        # time spent in each stage per video, summed over decode workers and processes (not wall time)
        "seconds_per_video": {stage: value / videos for stage, value in seconds.items()} if videos else {},
    }


def _published_counts(split_dir: Path) -> tuple[int, int]:
    extraction = json.loads((split_dir / "extraction.json").read_text("utf-8"))
    return extraction["rows"], extraction["failures"]


def summary_text(summary: dict[str, Any]) -> str:
    """The end-of-run report (main process), two or three lines."""
    skipped = summary["skipped_now"]
    reasons = ", ".join(f"{count} {error}" for error, count in summary["skipped_now_by_error"].items())
    not_videos = summary["not_videos"]
    others = f" and {not_videos} other file(s), skipped as not videos" if not_videos else ""
    lines = [
        f"{summary['dataset']} {summary['split']}: {summary['files_seen']} files: {summary['videos_listed']} videos"
        f"{others}; "
        f"{summary['embedded_now']} embedded now, {summary['already_done']} done before, {skipped} skipped now"
        + (f" ({reasons})" if skipped else "") + "."
    ]
    if summary["seconds_per_video"]:
        stages = ", ".join(f"{stage} {value:.3f} s" for stage, value in summary["seconds_per_video"].items())
        rate = summary["videos_per_second"]
        lines.append(f"{rate:.2f} videos/s on {summary['device']} ({summary['precision']}); per video: {stages}.")
    lines.append(
        f"table: {summary['output']} ({summary['table_rows']} videos); skipped files and reasons: "
        f"{Path(summary['output']) / 'failures.jsonl'} ({summary['failures_total']})."
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Command line




def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description=textwrap.fill(__doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[2], width=100),
        epilog="Examples:" + __doc__.split("Examples:", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("videos")
    data.add_argument("--dataset", required=True, choices=tuple(DATASET_SPLITS), help="Which dataset layout to read.")
    data.add_argument(
        "--split", required=True,
        help="cmu-mosei: train (<base>/train), dev or test (<base>/test_full/<split>); fiv2: train, val or test "
             "(<base>/<split>/<folder>).",
    )
    data.add_argument("--base_path", required=True, type=Path, help="Root folder of the dataset's videos.")
    data.add_argument("--folders", nargs="+", metavar="FOLDER",
                      help="fiv2: the sub-folders of the split to read, e.g. training80_01 (default: all).")
    data.add_argument("--output_root", required=True, type=Path,
                      help="Output root; the table goes to <output_root>/<split>/ (a save_to_disk folder).")
    data.add_argument("--format", choices=("datasets", "pt"), default="datasets",
                      help="pt: also write the original per-video <output_root>/<split>[/<folder>]/<stem>.pt files "
                           '{"emb": float32 (T, D), "length": T} for old notebooks (for the videos this run embeds).')

    model = parser.add_argument_group("model")
    model.add_argument("--model", help="Folder or Hub id of an EmoNeXt checkpoint, or of a FaceFusion (its embedder).")
    model.add_argument("--revision", help="Hub revision of --model (branch, tag or commit).")
    model.add_argument(
        "--model_config", metavar="CONFIG",
        help="Instead of --model: an EmoNeXt config.json or its folder (e.g. hub_configs/emonext-base). Builds the "
             "model from it: timm's ImageNet backbone if the config sets use_pretrained_backbone, else seeded random "
             "weights (meaningless embeddings, for timing and tests).",
    )
    model.add_argument("--pretrained_backbone", action="store_true",
                       help="With --model_config: load timm's ImageNet ConvNeXt weights into the backbone (what the "
                            "original scripts embedded with); they must be downloadable or in the Hugging Face cache.")
    model.add_argument("--seed", type=int, default=0, help="Seed of the weights --model_config does not load.")
    model.add_argument("--face_detector", choices=FACE_DETECTORS, default="auto",
                       help="face_alignment (weights must be in the torch hub cache), haar (OpenCV, always "
                            "available), or auto: face_alignment when its weights are present, else haar.")
    model.add_argument("--people", choices=("main", "all"), default="main",
                       help="main: one row per video (its most prominent person); all: one row per person seen in "
                            "at least 3 sampled frames with a face of at least 5%% of the frame, with the row id "
                            "<video_id>#<person_id> (main person first).")
    model.add_argument("--num_frames", type=positive_int, default=30, help="Frames sampled per video (T).")
    model.add_argument("--dtype", choices=EMBEDDING_DTYPES, default="float16", help="Storage type of the embeddings.")
    model.add_argument("--precision", choices=PRECISIONS, default=None,
                       help="Compute precision: auto is bf16 autocast where the device has native bf16 "
                       "(CUDA, AVX-512 BF16 or AMX CPUs), fp32 elsewhere. Recorded in the table and extraction.json; "
                       f"a resumed run must use the same. Default: ${PRECISION_ENV}, else auto.")

    run = parser.add_argument_group("speed and resumption")
    run.add_argument(
        "--batch_size", type=positive_int, default=None,
        help="Face crops per forward pass, across videos (default: 160 on a GPU, 8 on the CPU, where small batches "
             "stay in cache). Every pass has exactly this many (the last is padded), so results do not depend on "
             "batch composition.",
    )
    run.add_argument("--chunk_size", type=positive_int, default=32,
                     help="Videos per shard: the most work a kill can lose.")
    run.add_argument("--num_workers", type=non_negative_int, default=None,
                     help="Decode/detect worker processes per process (default: the free cores, at most 8; 0: none).")
    run.add_argument("--cpu", action="store_true", help="Run on the CPU even when a GPU is present.")
    run.add_argument("--processes", type=positive_int, default=1,
                     help="On the CPU: run this many processes, each embedding on one thread and taking its share of "
                          "the videos (one per core is fastest; each loads the model). On GPUs, use accelerate launch "
                          "instead.")
    return parser


@contextmanager
def _quiet_libraries() -> Iterator[None]:
    """No per-shard progress bars or load reports from datasets and transformers, only this tool's own bar."""
    caching, verbosity = datasets.is_caching_enabled(), transformers.logging.get_verbosity()
    bars = datasets.utils.logging.is_progress_bar_enabled()
    datasets.disable_caching()  # temporary files of sort/select go to a temp dir, not beside the shards
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        yield
    finally:
        if caching:
            datasets.enable_caching()
        if bars:
            datasets.enable_progress_bars()
        transformers.logging.set_verbosity(verbosity)
        transformers.logging.enable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 done, 2 bad input, 130 interrupted: `training/cli.py`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.split not in DATASET_SPLITS[args.dataset]:
        choices = ", ".join(DATASET_SPLITS[args.dataset])
        parser.error(f"{args.dataset} has no split {args.split!r}; choose one of {choices}")
    if (args.model is None) == (args.model_config is None):
        parser.error("give exactly one of --model and --model_config")
    if args.pretrained_backbone and args.model_config is None:
        parser.error("--pretrained_backbone goes with --model_config (a checkpoint given by --model has its weights)")
    if args.folders and args.dataset != "fiv2":
        parser.error("--folders is for --dataset fiv2 only")
    if not args.base_path.is_dir():
        parser.error(f"--base_path {args.base_path} is not a folder")
    if args.processes > 1 and not launched_by_a_launcher():
        refusal = refuse_on_a_gpu(args.cpu)
        if refusal:
            parser.error(refusal)
        argv = sys.argv[1:] if argv is None else argv
        return run_on_cpu_processes(PROG, os.path.abspath(__file__), argv, args.processes)

    def work() -> None:
        # The fallback to Haar is told once, with its reason, by "Faces found with ...".
        with _quiet_libraries(), warnings_as_lines(PROG, silenced=(FaceDetectorFallbackWarning,)):
            summary = extract(args)
        if summary["process_index"] == 0:
            print(summary_text(summary))

    return run_cli(PROG, work, on_interrupt="interrupted; run the same command again to resume.",
                   errors_on_main_process_only=True)


if __name__ == "__main__":
    sys.exit(main())
