"""Embedding extraction speed: training/extract_embeddings.py beside a naive loop, in the same process.

The naive loop is what the original scripts did, minus MediaPipe (not installable beside NumPy 2): for each video,
seek to each of the `num_frames` sampled frames with OpenCV (CAP_PROP_POS_FRAMES) and read it, run the Haar cascade
on the full-resolution frame, cut and resize the face, and embed the crops one at a time in float32.

The extraction is the real command (`extract_embeddings.extract`, into a temporary output root): PyAV's sampled
decode, detection on frames shrunk to 640 px, face tracking, crops of many videos embedded together in batches
(bf16 autocast on CUDA), decode workers feeding the model, shards and the final table.

Both time the same videos with the same EmoNeXt (random weights: speed does not depend on them) and the same Haar
detector. Per-stage numbers are seconds per video spent in that stage; for the extraction they are summed over its
decode workers, so they can add up to more than the wall time per video. `videos/s` is wall-clock throughput.

Usage:
    python benchmarks/bench_extract.py [--videos 4] [--video clip.mp4] [--tiny | --model_config CONFIG]
                                       [--num_frames 30] [--batch_size N] [--num_workers N] [--json OUT]

Without --video the 720p, 15 s, 30 fps clip of training/testing/videos.py is written (and copied `--videos` times).
The default model is the production EmoNeXt-Base (hub_configs/emonext-base); --tiny uses the tests' tiny one for a
quick run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import cv2
import numpy as np
import torch

from training.cli import ArgumentParser, run_cli

from machine import describe, machine_info, report

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROG = "bench_extract.py"

STAGES = ("decode", "detect", "crop", "embed")
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


# ---------------------------------------------------------------------------------------------------------------
# The naive baseline


def naive_video(path: Path, model, num_frames: int, device: torch.device, cascade) -> dict[str, float]:
    """One video the naive way; returns the seconds spent per stage."""
    seconds = dict.fromkeys(STAGES, 0.0)
    size = model.config.image_size

    start = time.perf_counter()
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in np.linspace(0, count - 1, num_frames).astype(int):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = capture.read()
        if ok:
            frames.append(frame)
    capture.release()
    seconds["decode"] = time.perf_counter() - start

    start = time.perf_counter()
    boxes = []
    for frame in frames:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        min_side = max(20, round(0.08 * min(grey.shape)))  # the processor's smallest face, at full resolution
        faces = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=6, minSize=(min_side, min_side))
        boxes.append(faces[0] if len(faces) else None)  # the first detection, as the original took
    seconds["detect"] = time.perf_counter() - start

    start = time.perf_counter()
    crops, previous = [], None
    for frame, box in zip(frames, boxes, strict=True):
        if box is not None:
            x, y, w, h = box
            face = cv2.cvtColor(frame[y : y + h, x : x + w], cv2.COLOR_BGR2RGB)
            previous = (cv2.resize(face, (size, size)).astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        if previous is not None:  # a missed face reuses the last crop; frames before the first face are dropped
            crops.append(torch.from_numpy(previous.transpose(2, 0, 1).copy()))
    seconds["crop"] = time.perf_counter() - start

    start = time.perf_counter()
    with torch.no_grad():
        for crop in crops:
            model(pixel_values=crop[None].to(device)).pooler_output.cpu()
    seconds["embed"] = time.perf_counter() - start
    return seconds


def run_naive(videos: list[Path], model, num_frames: int, device: torch.device) -> dict:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    with torch.no_grad():  # warm-up: first-call allocations are not the loop's cost
        model(pixel_values=torch.zeros(1, 3, model.config.image_size, model.config.image_size, device=device))
    totals = dict.fromkeys(STAGES, 0.0)
    start = time.perf_counter()
    for video in videos:
        for stage, value in naive_video(video, model, num_frames, device, cascade).items():
            totals[stage] += value
    wall = time.perf_counter() - start
    return {
        "seconds_per_video": {stage: value / len(videos) for stage, value in totals.items()},
        "wall_s": wall,
        "videos": len(videos),
        "videos_per_second": len(videos) / wall,
    }


# ---------------------------------------------------------------------------------------------------------------
# The extraction


def run_extraction(base: Path, output: Path, model_dir: Path, args: argparse.Namespace) -> dict:
    """The real command, in this process; wall time includes loading the model and writing the table."""
    from training.extract_embeddings import _quiet_libraries, build_parser, extract

    argv = [
        "--dataset", "cmu-mosei", "--split", "train", "--base_path", str(base), "--output_root", str(output),
        "--model", str(model_dir), "--num_frames", str(args.num_frames), "--face_detector", "haar",
        "--precision", args.precision,
    ]
    if args.batch_size is not None:
        argv += ["--batch_size", str(args.batch_size)]
    if args.num_workers is not None:
        argv += ["--num_workers", str(args.num_workers)]
    start = time.perf_counter()
    with _quiet_libraries():
        summary = extract(build_parser().parse_args(argv))
    wall = time.perf_counter() - start
    videos = summary["embedded_now"] + summary["skipped_now"]
    return {
        "seconds_per_video": summary["seconds_per_video"],
        "wall_s": wall,
        "videos_per_second": videos / wall,
        "loop_wall_s": summary["seconds"],
        "loop_videos_per_second": summary["videos_per_second"],
        "embedded": summary["embedded_now"],
        "device": summary["device"],
        "precision": summary["precision"],
        "num_workers": summary["num_workers"],
        "batch_size": summary["batch_size"],
    }


# ---------------------------------------------------------------------------------------------------------------


def build_model(args: argparse.Namespace, folder: Path):
    """The seeded EmoNeXt to time, saved where the extraction loads it from."""
    from modeling import EmoNeXtConfig, EmoNeXtModel

    if args.tiny:
        from training.testing.tiny_configs import tiny_emonext_config

        config = tiny_emonext_config()
    else:
        config = EmoNeXtConfig.from_pretrained(args.model_config)
        config.use_pretrained_backbone = False  # random weights time the same; nothing to download
    torch.manual_seed(0)
    model = EmoNeXtModel(config).eval()
    model.save_pretrained(folder)
    return model


def main(argv: list[str] | None = None) -> dict:
    parser = ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4, help="how many videos each side extracts")
    parser.add_argument("--naive_videos", type=int,
                        help="how many of them the naive loop times (default: all; it is slow, its rate is per video)")
    parser.add_argument("--video", help="video file to time (default: the 720p, 15 s, 30 fps benchmark clip)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the generated clip")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model_config", default=str(PROJECT_ROOT / "hub_configs" / "emonext-base"),
                       help="EmoNeXt config to time (default: the production EmoNeXt-Base)")
    model.add_argument("--tiny", action="store_true", help="the tests' tiny EmoNeXt (32 px crops), for a quick run")
    parser.add_argument("--num_frames", type=int, default=30)
    parser.add_argument("--batch_size", type=int, help="crops per forward pass of the extraction (default: its own)")
    parser.add_argument("--num_workers", type=int, help="decode workers of the extraction (default: its own)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="extraction precision (auto: bf16 on CUDA); the naive loop is always fp32")
    parser.add_argument("--json", dest="json_out", help="write the results here as JSON")
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        work = Path(tmp)
        if args.video:
            clip = Path(args.video)
        else:
            from training.testing.videos import benchmark_video

            clip = benchmark_video(work / "clip.mp4", seconds=args.seconds)
        videos = []
        for index in range(args.videos):
            videos.append(work / "mosei" / "train" / f"bench_{index:03d}.mp4")
            videos[-1].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(clip, videos[-1])
        embedder = build_model(args, work / "model")

        ours = run_extraction(work / "mosei", work / "out", work / "model", args)
        naive = run_naive(videos[: args.naive_videos or None], embedder.to(device), args.num_frames, device)
        width, height = _video_size(clip)

    results = {
        "video": args.video or f"training/testing/videos.py benchmark_video: 1280x720, {args.seconds:g} s, 30 fps",
        "video_size": [width, height],
        "videos": args.videos,
        "num_frames": args.num_frames,
        "model": (
            "tiny EmoNeXt (training/testing/tiny_configs.py)" if args.tiny else f"{args.model_config} (random weights)"
        ),
        "batch_size": ours["batch_size"],
        "naive": naive,
        "extraction": ours,
        "speedup": ours["videos_per_second"] / naive["videos_per_second"],
        "speedup_steady_state": ours["loop_videos_per_second"] / naive["videos_per_second"],
        "machine": machine_info(),
    }
    return report(results, table(results), args.json_out)


def _video_size(path: Path) -> tuple[int, int]:
    capture = cv2.VideoCapture(str(path))
    size = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    return size


def table(results: dict) -> str:
    naive, ours = results["naive"], results["extraction"]
    lines = [
        f"{results['videos']} videos of {results['video_size'][0]}x{results['video_size'][1]}, "
        f"{results['num_frames']} frames each; {results['model']}",
        f"{describe(results['machine'])}",
        f"extraction: {ours['device']}, {ours['precision']}, batch {results['batch_size']}, "
        f"{ours['num_workers']} decode worker(s); naive: fp32, one crop at a time",
        "",
        f"{'seconds per video':<24}{'naive':>10}{'extraction':>12}",
    ]
    for stage in STAGES:
        lines.append(f"{stage:<24}{naive['seconds_per_video'][stage]:>10.3f}{ours['seconds_per_video'][stage]:>12.3f}")
    count = results["videos"]
    lines += [
        f"{'wall per video':<24}{naive['wall_s'] / naive['videos']:>10.3f}{ours['wall_s'] / count:>12.3f}",
        f"{'videos/s':<24}{naive['videos_per_second']:>10.3f}{ours['videos_per_second']:>12.3f}",
        f"{'videos/s (loop only)':<24}{'':>10}{ours['loop_videos_per_second']:>12.3f}",
        "",
        f"speed-up: {results['speedup']:.2f}x end to end (model load and table writing included), "
        f"{results['speedup_steady_state']:.2f}x in the extraction loop",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(run_cli(PROG, main))
