"""Video to prediction: the face-video-analysis pipeline beside the embedder alone, the naive loop and the floor.

All in one process, on the same 720p 15 s clip (training/testing/videos.py's benchmark clip, a real photo moving over
450 frames), with the production architecture (EmoNeXt-Base, 30 frames; random weights, which do not change speed):

* `pipeline_s`: `pipeline("face-video-analysis")(clip)` end to end (decode, faces, embed, fuse, JSON);
* `embedder_s`: EmoNeXt alone on the same 30 crops, at the pipeline's precision, memory format and batch size;
* `naive_s`: the extraction benchmark's naive loop (OpenCV seek-and-read per frame, Haar at full resolution, one
  crop at a time in fp32) plus the fusion;
* `floor_s`: the embedder's FLOPs over this machine's measured matrix-multiply rate (fp32, and bf16 where native).

Keys written with `--json`: `overhead_vs_embedder` (pipeline_s / embedder_s), `speedup_vs_naive` (naive_s /
pipeline_s), `embedder_vs_floor`, the per-stage seconds, the bf16 accuracy cost where bf16 is used, and with
`--memory` the peak RSS of one process analysing a 15 s clip and another analysing a one-hour clip, and the batch
command's peak memory on four copies of the clip, as one process and as one process per core (`--processes`): the
sum of its processes' proportional set sizes (PSS: memory two processes share, such as torch's libraries, is split
between them rather than counted twice), sampled every 50 ms.

Usage:
    python benchmarks/bench_pipeline.py [--tiny] [--repeats 3] [--memory] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import cv2
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoConfig, pipeline

import modeling  # noqa: F401 - registers the models and the pipeline task
from modeling import FaceFusionModel, FaceVideoProcessor
from modeling.inference_precision import precision_autocast
from training.cli import ArgumentParser, run_cli
from training.testing.videos import benchmark_video

from bench_extract import naive_video
from machine import describe, machine_info, report, usable_cores

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROG = "bench_pipeline.py"

STAGE_ORDER = ("decode", "faces", "embed", "predict")


def build_model_folder(folder: Path, tiny: bool) -> Path:
    """A saved FaceFusion (production size, or the tests' tiny one) with its processor."""
    if tiny:
        from training.testing.tiny_configs import NUM_FRAMES, tiny_fusion_config

        config, num_frames = tiny_fusion_config(), NUM_FRAMES
    else:
        config = AutoConfig.from_pretrained(PROJECT_ROOT / "hub_configs" / "face-fusion")
        num_frames = config.num_frames
    torch.manual_seed(0)
    FaceFusionModel(config).save_pretrained(folder)
    FaceVideoProcessor(num_frames=num_frames, image_size=config.embedder_config.image_size).save_pretrained(folder)
    return folder


def timed(call, repeats: int) -> tuple[float, object]:
    """Median seconds of `repeats` calls after one warm-up, and the last result."""
    result = call()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds)), result


def stage_seconds(pipe, video: Path) -> dict[str, float]:
    """Seconds spent in each pipeline stage, from its progress reports."""
    marks = []
    pipe(str(video), progress_callback=lambda stage, fraction: marks.append((stage, time.perf_counter())))
    end = time.perf_counter()
    starts = {}
    for stage, moment in marks:
        starts.setdefault(stage, moment)
    ordered = [stage for stage in STAGE_ORDER if stage in starts]
    bounds = [starts[stage] for stage in ordered] + [end]
    return {stage: bounds[i + 1] - bounds[i] for i, stage in enumerate(ordered)}


def matmul_rate(dtype: torch.dtype, size: int = 2048, repeats: int = 8) -> float:
    """This machine's dense matrix-multiply rate in FLOP/s (the ceiling for a convnet's pointwise layers)."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def embedder_flops(embedder, pixel_values: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        embedder(pixel_values)
    return counter.get_total_flops()


def peak_rss_mb(model_dir: Path, video: Path) -> float:
    """Peak resident memory of a fresh process that loads the pipeline and analyses `video` once."""
    code = (
        "import resource, sys; import modeling; from transformers import pipeline;"
        "pipe = pipeline('face-video-analysis', model=sys.argv[1]); pipe(sys.argv[2]);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(model_dir), str(video)],
        capture_output=True, text=True, check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def copies(clip: Path, folder: Path, count: int) -> Path:
    """A folder holding ``count`` copies of the clip."""
    folder.mkdir()
    for index in range(count):
        shutil.copyfile(clip, folder / f"clip{index:03d}.mp4")
    return folder


def batch_peak_mb(model_dir: Path, folder: Path, processes: int) -> float:
    """Peak memory of the batch command on ``folder``, all its processes together (sampled PSS, in MB)."""
    import psutil  # accelerate's dependency

    command = [sys.executable, str(PROJECT_ROOT / "training" / "analyze_videos.py"), str(folder),
               "--output", str(folder.with_suffix(".jsonl")), "--model", str(model_dir), "--cpu", "--quiet",
               "--processes", str(processes)]
    launcher = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while launcher.poll() is None:
        total = 0
        for process in [launcher, *launcher.children(recursive=True)]:
            try:
                total += process.memory_full_info().pss
            except psutil.NoSuchProcess:  # a process that ended between the listing and the reading
                pass
        peak = max(peak, total / 2**20)
        time.sleep(0.05)
    if launcher.returncode != 0:
        raise SystemExit(f"the batch command failed: {launcher.stderr.read().decode().strip()}")
    return peak


def long_video(path: Path, hours: float = 1.0) -> Path:
    """A 720p clip of `hours` at 2 fps: as long as a one-hour recording, written in reasonable time."""
    return benchmark_video(path, seconds=3600.0 * hours, fps=2)


def bench(args: argparse.Namespace, workdir: Path) -> dict:
    model_dir = build_model_folder(workdir / "model", args.tiny)
    video = benchmark_video(workdir / "clip_720p_15s.mp4")
    pipe = pipeline("face-video-analysis", model=str(model_dir))
    model, processor = pipe.model, pipe.processor

    pipeline_s, result = timed(lambda: pipe(str(video)), args.repeats)
    stages = stage_seconds(pipe, video)

    inputs = processor(str(video))
    pixel_values = inputs["pixel_values"].contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        def embed():
            with precision_autocast(pipe.precision, pipe.device):
                chunks = pixel_values.split(pipe.embed_batch_size)
                return torch.cat([model.embedder(chunk).pooler_output.float() for chunk in chunks])

        embedder_s, embeddings = timed(embed, args.repeats)
        bf16_used = pipe.precision == "bf16"
        accuracy = {}
        if bf16_used:  # the accuracy cost of the speed: bf16 outputs against fp32 outputs on the same crops
            fp32 = model.embedder(pixel_values).pooler_output
            mask = inputs["attention_mask"][None]
            out32 = model(frame_embeddings=fp32[None], attention_mask=mask)
            out16 = model(frame_embeddings=embeddings[None], attention_mask=mask)
            accuracy = {
                "embedding_min_cosine": float(torch.nn.functional.cosine_similarity(fp32, embeddings).min()),
                "emotion_prob_max_abs_diff": float((out32.emotion_probs - out16.emotion_probs).abs().max()),
                "trait_max_abs_diff": float((out32.trait_logits - out16.trait_logits).abs().max()),
            }

        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        embedder_fp32 = model.embedder.to(memory_format=torch.contiguous_format)

        def naive():
            seconds = naive_video(video, embedder_fp32, processor.num_frames, torch.device("cpu"), cascade)
            model(frame_embeddings=torch.zeros(1, processor.num_frames, model.config.embedder_config.hidden_size))
            return seconds

        naive_s, naive_stages = timed(naive, max(1, args.repeats // 2))
        model.embedder.to(memory_format=torch.channels_last)

    flops = embedder_flops(model.embedder, pixel_values)
    rate_fp32 = matmul_rate(torch.float32)
    rate = matmul_rate(torch.bfloat16) if bf16_used else rate_fp32
    floor_s = flops / rate
    results = {
        "machine": machine_info(),
        "model": "tiny" if args.tiny else "production (EmoNeXt-Base, 30 frames)",
        "video": {"path": video.name, "width": result["video"]["width"], "height": result["video"]["height"],
                  "duration": result["video"]["duration"], "frames_sampled": result["video"]["num_frames_sampled"]},
        "bf16": bool(bf16_used),
        "pipeline_s": pipeline_s,
        "pipeline_stages_s": stages,
        "embedder_s": embedder_s,
        "naive_s": naive_s,
        "naive_stages_s": naive_stages,
        "embedder_gflops": flops / 1e9,
        "matmul_gflops_per_s": {"fp32": rate_fp32 / 1e9, **({"bf16": rate / 1e9} if bf16_used else {})},
        "floor_s": floor_s,
        "overhead_vs_embedder": pipeline_s / embedder_s,
        "speedup_vs_naive": naive_s / pipeline_s,
        "embedder_vs_floor": embedder_s / floor_s,
        "bf16_accuracy": accuracy,
    }
    if args.memory:
        clip_mb = peak_rss_mb(model_dir, video)
        hour_mb = peak_rss_mb(model_dir, long_video(workdir / "clip_720p_1h.mp4"))
        results["memory"] = {
            "peak_rss_15s_mb": clip_mb, "peak_rss_1h_mb": hour_mb, "ratio_1h_vs_15s": hour_mb / clip_mb
        }
        for processes in sorted({1, usable_cores()}):
            folder = copies(video, workdir / f"batch_memory_{processes}", 4)
            results["memory"][f"batch_peak_pss_{processes}_processes_mb"] = batch_peak_mb(model_dir, folder, processes)
    return results


def table(results: dict) -> str:
    rows = [
        ("machine", describe(results["machine"])),
        ("model", results["model"]),
        ("video", f"{results['video']['width']}x{results['video']['height']}, {results['video']['duration']:.1f} s, "
                  f"{results['video']['frames_sampled']} frames sampled"),
        ("precision", "bf16 autocast" if results["bf16"] else "fp32 (no native bf16 here)"),
        ("pipeline, end to end", f"{results['pipeline_s']:.2f} s"),
        ("  stages", ", ".join(f"{k} {v:.2f} s" for k, v in results["pipeline_stages_s"].items())),
        ("embedder alone (30 crops)", f"{results['embedder_s']:.2f} s"),
        ("naive loop", f"{results['naive_s']:.2f} s"),
        ("floor (FLOPs / matmul rate)", f"{results['floor_s']:.2f} s ({results['embedder_gflops']:.0f} GFLOP)"),
        ("overhead_vs_embedder", f"{results['overhead_vs_embedder']:.2f}x (target <= 1.3x)"),
        ("speedup_vs_naive", f"{results['speedup_vs_naive']:.2f}x (target >= 3x)"),
        ("embedder_vs_floor", f"{results['embedder_vs_floor']:.2f}x"),
    ]
    for key, value in results["bf16_accuracy"].items():
        rows.append((f"bf16 {key}", f"{value:.5f}"))
    for key, value in results.get("memory", {}).items():
        rows.append((key, f"{value:.2f}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> dict:
    parser = ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny model (a quick smoke run)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per measurement, after one warm-up")
    parser.add_argument("--memory", action="store_true", help="also the peak RSS for a 15 s and a one-hour clip")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as workdir:
        results = bench(args, Path(workdir))
    return report(results, table(results), args.json)


if __name__ == "__main__":
    sys.exit(run_cli(PROG, main))
