"""The batch command's throughput beside the embedder alone on the same face crops.

`training/analyze_videos.py` runs over N copies of the 720p 15 s benchmark clip (training/testing/videos.py) with
the production architecture (EmoNeXt-Base, 30 frames; random weights, which do not change speed), in this process,
writing a JSONL file. Then EmoNeXt alone embeds the same videos' crops (made beforehand, not timed) at the
pipeline's precision, memory format and batch size. While the embedder works on one video the pipeline prepares the
next on another thread, so on a CPU `efficiency` (the batch rate over the embedder-only rate) says how much of the
front end (decode, faces, crop) is left showing. The two are timed alternately, `--repeats` times, medians kept.

The command runs as one process and, on a CPU, also with `--processes P` (default: one per core), each process then
embedding on one thread; the top-level figures are the faster one's (`processes` says which), and `by_processes`
holds both.

`videos_per_s` is the command's rate once it runs: (N - P) / (its time on N videos - its time on P, one per
process), so start-up (loading the model, each process's first front end, which nothing can overlap) is left out;
that is reported apart as `startup_s`, and `whole_run_videos_per_s` is N over the whole N-video run.

Keys written with `--json`: `processes`, `videos_per_s`, `embedder_videos_per_s` (on this process's torch threads),
`efficiency`, `whole_run_videos_per_s`, `startup_s`, `by_processes` (the same per process count), `faces_found`
(frames with a face, summed over the videos), `front_end_s_per_video` (decode, faces and crop on one thread, measured
apart: the median of 3 calls after a first) and `machine`.

Usage:
    python benchmarks/bench_batch.py [--tiny] [--videos 8] [--processes 2] [--repeats 2] [--device cuda] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import numpy as np
import torch
from transformers import pipeline

import modeling  # noqa: F401 - registers the models and the pipeline task
from modeling.inference_precision import precision_autocast, resolve_precision
from training.analyze_videos import main as analyze_videos
from training.cli import ArgumentParser, UserError, positive_int, run_cli
from training.testing.videos import benchmark_video

from bench_pipeline import build_model_folder, copies, timed
from machine import describe, machine_info, report, usable_cores


def bench(args: argparse.Namespace, workdir: Path) -> dict:
    model_dir = build_model_folder(workdir / "model", args.tiny)
    clip = benchmark_video(workdir / "clip_720p_15s.mp4")
    device = torch.device(args.device)
    precision = resolve_precision(args.precision, device)
    processes = sorted({1, args.processes})
    folders = {count: copies(clip, workdir / f"videos{count}", count) for count in {args.videos, *processes}}

    # The batch command, end to end (a warm-up run first: first-call costs are not throughput).
    common = ["--model", str(model_dir), "--precision", precision, "--quiet", "--face_detector", "haar"]
    common += ["--cpu"] if device.type == "cpu" else ["--batch_size", str(args.batch_size)]
    if args.num_workers is not None:
        common += ["--num_workers", str(args.num_workers)]

    def batch_run(target: Path, name: str, process_count: int) -> tuple[float, list[dict]]:
        output = workdir / f"{name}.jsonl"
        start = time.perf_counter()
        if analyze_videos([str(target), "--output", str(output), *common, "--processes", str(process_count)]) != 0:
            raise SystemExit("the batch command failed")
        seconds = time.perf_counter() - start
        return seconds, [json.loads(line) for line in output.read_text().splitlines()]

    batch_run(clip, "warmup", 1)

    # The embedder alone on the same crops, as the pipeline runs it.
    pipe = pipeline("face-video-analysis", model=str(model_dir), device=device, precision=precision)
    embedder, processor = pipe.model.embedder, pipe.processor_for(face_detector="haar")
    # After a warm-up: a first call (loading what the detector and decoder load once) took up to 1.4 s, later ones
    # 0.5-0.9. Every video is a copy of the clip: the same crops.
    front_end_s, faces = timed(lambda: processor.extract_faces(str(clip)), 3)
    crops = faces["crops"]
    pixels = [processor.normalize(crops).to(device).contiguous(memory_format=torch.channels_last)] * args.videos
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def embed_all() -> float:
        synchronize()
        start = time.perf_counter()
        with torch.inference_mode(), precision_autocast(precision, pipe.device):
            for video in pixels:
                for chunk in video.split(pipe.embed_batch_size):
                    embedder(chunk)
        synchronize()
        return time.perf_counter() - start

    # Alternating, so that other work on a shared machine weighs on both alike; the medians are kept.
    embed_all()  # warm-up
    times = {count: {"batch_s": [], "startup_s": []} for count in processes}
    embed_times = []
    for repeat in range(args.repeats):
        for count in processes:
            times[count]["startup_s"].append(batch_run(folders[count], f"startup{count}_{repeat}", count)[0])
            seconds, rows = batch_run(folders[args.videos], f"results{count}_{repeat}", count)
            times[count]["batch_s"].append(seconds)
            check_rows(rows, args.videos)
        embed_times.append(embed_all())
    embed_s = float(np.median(embed_times))
    embedder_videos_per_s = args.videos / embed_s
    by_processes = {
        str(count): rates(times[count], args.videos, count, embedder_videos_per_s) for count in processes
    }
    fastest = max(processes, key=lambda count: by_processes[str(count)]["videos_per_s"])
    return {
        "machine": machine_info(),
        "model": "tiny" if args.tiny else "production (EmoNeXt-Base, 30 frames)",
        "videos": args.videos,
        "torch_threads": torch.get_num_threads(),
        "video": "720p, 15 s, 30 fps (training/testing/videos.py benchmark_video)",
        "device": str(device),
        "precision": precision,
        "processes": fastest,
        **by_processes[str(fastest)],
        "embedder_s": embed_s,
        "embedder_videos_per_s": embedder_videos_per_s,
        "by_processes": by_processes,
        "repeats": {"embedder_s": embed_times, **{f"processes_{count}": times[count] for count in processes}},
        "front_end_s_per_video": front_end_s,
        "faces_found": sum(row["frames_with_face"] for row in rows),
        "frames_sampled": sum(row["frames_sampled"] for row in rows),
    }


def check_rows(rows: list[dict], videos: int) -> None:
    errors = [row["error"] for row in rows if row["error"]]
    if errors:
        raise SystemExit(f"the batch command could not analyse the clip: {errors[0]}")
    if len(rows) != videos:
        raise SystemExit(f"the batch command wrote {len(rows)} rows for {videos} videos")


def rates(times: dict[str, list[float]], videos: int, processes: int, embedder_videos_per_s: float) -> dict:
    """One configuration's figures from its timed runs (medians): the rate once started leaves out the run on one
    video per process, which holds the start-up (each process loads the model, its first front end overlaps
    nothing)."""
    batch_s, startup_s = (float(np.median(times[key])) for key in ("batch_s", "startup_s"))
    videos_per_s = (videos - processes) / (batch_s - startup_s)
    return {
        "batch_s": batch_s,
        "startup_s": startup_s,
        "videos_per_s": videos_per_s,
        "whole_run_videos_per_s": videos / batch_s,
        "efficiency": videos_per_s / embedder_videos_per_s,
    }


def table(results: dict) -> str:
    rows = [
        ("machine", describe(results["machine"])),
        ("model", results["model"]),
        ("videos", f"{results['videos']} x {results['video']}"),
        ("device, precision", f"{results['device']}, {results['precision']}"),
    ]
    for count, figures in results["by_processes"].items():
        rows.append((f"batch, {count} process{'es' * (count != '1')}",
                     f"{figures['videos_per_s']:.3f} videos/s once started, efficiency {figures['efficiency']:.2f} "
                     f"({figures['startup_s']:.1f} s of start-up; {figures['whole_run_videos_per_s']:.3f} videos/s "
                     f"over the whole {figures['batch_s']:.1f} s run)"))
    rows += [
        ("embedder alone", f"{results['embedder_videos_per_s']:.3f} videos/s ({results['embedder_s']:.1f} s, "
                           f"{results['torch_threads']} threads)"),
        ("efficiency", f"{results['efficiency']:.2f} with {results['processes']} process"
                       f"{'es' * (results['processes'] != 1)} (target >= 0.9 on the CPU)"),
        ("front end alone", f"{results['front_end_s_per_video']:.2f} s per video (decode, faces, crop)"),
        ("faces found", f"{results['faces_found']} of {results['frames_sampled']} sampled frames"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> dict:
    parser = ArgumentParser(
        prog="bench_batch.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny model (a quick smoke run)")
    parser.add_argument("--videos", type=positive_int, default=8, help="copies of the benchmark clip to analyse")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="where the model runs (default: the GPU when there is one)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default=None,
                        help="embedder precision (default: $FACE_FUSION_PRECISION, else auto)")
    parser.add_argument("--batch_size", type=int, default=8, help="videos per forward pass on a GPU")
    parser.add_argument("--num_workers", type=int, help="the batch command's front-end threads (default: its own)")
    parser.add_argument("--processes", type=positive_int, default=None,
                        help="the batch command's --processes, timed beside one process (default: one per core on "
                             "the CPU, 1 on a GPU)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating timed runs of each side (medians kept)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.processes is None:
        args.processes = usable_cores() if args.device == "cpu" else 1
    if args.processes > 1 and args.device != "cpu":
        raise UserError("--processes is for the CPU; on GPUs the batch command runs under accelerate launch.")
    if args.videos <= args.processes:
        raise UserError(f"--videos must be more than --processes ({args.processes}): the rate is timed beyond each "
                        "process's first video.")
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as workdir:
        results = bench(args, Path(workdir))
    return report(results, table(results), args.json)


if __name__ == "__main__":
    sys.exit(run_cli("bench_batch.py", main))
