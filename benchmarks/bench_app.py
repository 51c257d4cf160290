"""How much the web server adds: `/predict` through `python app.py` beside the pipeline called directly.

Both sides analyse the same video with the same options (timeline and face crops, as the page asks for), so the ratio
of their latencies is the server's overhead: upload, the length check, queue, drawing the charts and gallery, and the
client downloading the results. Direct and served calls alternate, so drifting machine load hits both alike. The
server's peak memory is its resident-set high-water mark (Linux VmHWM), read after the one-at-a-time calls and again
after `--concurrent` requests sent at once (the app's queue runs two analyses at a time, the rest wait).

Load mode (`--clients N --requests M`): N gradio_client users at once, each sending M requests for the same clip,
one after the other; it counts the answers and failures (with their first lines) and the server's peak memory, and
skips the latency comparison. Without --video it uses a 5 s cut of the benchmark clip.

Usage:
    python benchmarks/bench_app.py [--model ID_OR_PATH | --production] [--video clip.mp4] [--repeats 5]
        [--concurrent 4] [--json OUT]
    python benchmarks/bench_app.py --production --clients 8 --requests 3 --json benchmarks/results/OUT.json

Without --model a tiny seeded face-fusion is exported to a temporary folder (seconds per call, so the overhead shows);
`--production` exports the production architecture untrained instead, for the memory figures. Without --video the
720p, 15 s, 30 fps benchmark clip of training/testing/videos.py is written.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from training.cli import ArgumentParser, first_line, run_cli
from training.testing.app_process import running_app

from machine import describe, machine_info, report

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROG = "bench_app.py"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def seeded_model(folder: Path, production: bool) -> Path:
    """A seeded face-fusion (tiny, or the production architecture untrained), exported as the repo the app loads.

    Untrained production weights take the same time and memory as trained ones.
    """
    import torch
    from transformers import AutoConfig

    from modeling import FaceFusionModel
    from modeling.processing_face_video import FaceVideoProcessor
    from training.export_hub import export_model_repo
    from training.testing.tiny_configs import NUM_FRAMES, tiny_fusion_config

    if production:
        config = AutoConfig.from_pretrained(PROJECT_ROOT / "hub_configs" / "face-fusion")
        config.embedder_config.use_pretrained_backbone = False  # no download: the weights are random anyway
        num_frames = config.num_frames
    else:
        config, num_frames = tiny_fusion_config(), NUM_FRAMES
    run = folder / "run"
    torch.manual_seed(0)
    FaceFusionModel(config).eval().save_pretrained(run)
    image_size = config.embedder_config.image_size
    FaceVideoProcessor(num_frames=num_frames, image_size=image_size, face_detector="auto").save_pretrained(run)
    return export_model_repo("face-fusion", run, folder / "face-fusion")


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def peak_rss_mb(pid: int) -> float:
    """The process's resident-set high-water mark, in MiB (Linux)."""
    return _status_mb(pid, "VmHWM")


def rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmRSS")


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/{pid}/status: memory figures need Linux")


def bench(model: str, video: Path, repeats: int, warmup: int, concurrent: int, workdir: Path) -> dict:
    """Direct and served calls alternate, so a change in the machine's load hits both sides alike."""
    from gradio_client import Client, handle_file

    from webapp.loading import load_pipeline
    from webapp.settings import Settings

    env = {**os.environ, "FACE_FUSION_EXAMPLES_DIR": str(workdir / "examples")}
    started = time.perf_counter()
    with running_app(["--model", model], env, workdir / "app.log", start_timeout_s=600) as server:
        startup_s = time.perf_counter() - started
        process, url = server.process, server.url
        idle_mb = rss_mb(process.pid)
        # loaded as the app loads it, called as the app calls it
        pipe, fallback_reason = load_pipeline(Settings(model=model))
        client = Client(url, verbose=False)

        def direct():
            pipe(str(video), timeline_window=Settings().timeline_window, return_face_crops=True)

        def served():
            client.predict(handle_file(str(video)), api_name="/predict")

        for _ in range(warmup):
            direct()
            served()
        direct_s, served_s = [], []
        for _ in range(repeats):
            direct_s.append(timed(direct))
            served_s.append(timed(served))

        def concurrently():  # the queue runs two analyses at a time by default
            threads = [threading.Thread(target=served) for _ in range(concurrent)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        sequential_peak_mb = peak_rss_mb(process.pid)
        concurrent_s = timed(concurrently)
        return {
            "untrained_fallback": fallback_reason is not None,
            "direct": direct_s,
            "server": {
                "seconds": served_s,
                "startup_s": startup_s,
                "idle_rss_mb": idle_mb,
                "peak_rss_sequential_mb": sequential_peak_mb,
                "peak_rss_mb": peak_rss_mb(process.pid),
                "concurrency_limit": Settings().concurrency,
                "concurrent_requests": concurrent,
                "concurrent_wall_s": concurrent_s,
            },
        }


def failure_line(error: BaseException) -> str:
    """A failed request as counted in the report: the error's class and the first line of its message."""
    return f"{type(error).__name__}: {first_line(error)[:200]}"


def load(model: str, video: Path, clients: int, requests: int, workdir: Path) -> dict:
    """`clients` users at once, each sending `requests` requests for `video` one after the other."""
    from gradio_client import Client, handle_file

    from webapp.settings import Settings

    env = {**os.environ, "FACE_FUSION_EXAMPLES_DIR": str(workdir / "examples")}
    started = time.perf_counter()
    with running_app(["--model", model], env, workdir / "app.log", start_timeout_s=600) as server:
        startup_s = time.perf_counter() - started
        idle_mb = rss_mb(server.process.pid)
        answers, failures, lock = [], [], threading.Lock()

        def user():
            try:
                client = Client(server.url, verbose=False)
            except Exception as error:  # noqa: BLE001 - counted, like a failed request
                with lock:
                    failures.extend([failure_line(error)] * requests)
                return
            for _ in range(requests):
                begin = time.perf_counter()
                try:
                    client.predict(handle_file(str(video)), api_name="/predict")
                except Exception as error:  # noqa: BLE001 - every kind of failure is what is counted
                    with lock:
                        failures.append(failure_line(error))
                else:
                    with lock:
                        answers.append(time.perf_counter() - begin)

        threads = [threading.Thread(target=user) for _ in range(clients)]
        wall = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall_s = time.perf_counter() - wall
        return {
            "clients": clients,
            "requests_per_client": requests,
            "succeeded": len(answers),
            "failed": len(failures),
            "failures": failures,
            "wall_s": wall_s,
            "request_s": summary(answers) if answers else None,
            "startup_s": startup_s,
            "idle_rss_mb": idle_mb,
            "peak_rss_mb": peak_rss_mb(server.process.pid),
            "concurrency_limit": Settings().concurrency,
            "server_log_tracebacks": server.log_text().count("Traceback"),
        }


def load_table(results: dict) -> str:
    lines = [
        f"machine: {describe(results['machine'])}",
        f"model: {results['model']}; video: {results['video']}",
        f"{results['clients']} clients x {results['requests_per_client']} requests "
        f"(the queue runs {results['concurrency_limit']} at a time)",
        f"answers: {results['succeeded']}, failures: {results['failed']}, wall {results['wall_s']:.1f} s",
        f"server memory: idle {results['idle_rss_mb']:.0f} MiB, peak {results['peak_rss_mb']:.0f} MiB",
    ]
    lines += [f"  failure: {failure}" for failure in results["failures"]]
    return "\n".join(lines)


def summary(seconds: list[float]) -> dict:
    return {"median_s": statistics.median(seconds), "mean_s": statistics.fmean(seconds), "min_s": min(seconds)}


def main(argv: list[str] | None = None) -> dict:
    parser = ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    models = parser.add_mutually_exclusive_group()
    models.add_argument("--model", help="Hub id or folder (default: a tiny seeded model, exported to a temp folder)")
    models.add_argument("--production", action="store_true",
                        help="the production architecture (EmoNeXt-Base), untrained, exported to a temp folder")
    parser.add_argument("--video", help="video file (default: the 720p, 15 s, 30 fps benchmark clip)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--concurrent", type=int, default=4, help="requests sent at once in the concurrency run")
    parser.add_argument("--clients", type=int, help="load mode: this many users at once")
    parser.add_argument("--requests", type=int, default=3, help="load mode: requests per user, one after the other")
    parser.add_argument("--json", dest="json_out", help="write the results here as JSON")
    args = parser.parse_args(argv)
    if args.clients:
        return main_load(args)

    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        workdir = Path(tmp)
        model = args.model or str(seeded_model(workdir, args.production))
        if args.video:
            video = Path(args.video)
        else:
            from training.testing.videos import benchmark_video

            video = benchmark_video(workdir / "benchmark.mp4")
        measured = bench(model, video, args.repeats, args.warmup, args.concurrent, workdir)

    direct_summary, server_summary = summary(measured["direct"]), summary(measured["server"]["seconds"])
    results = {
        "model": args.model or ("production architecture, untrained (hub_configs/face-fusion)" if args.production
                                else "tiny seeded face-fusion (training/testing/tiny_configs.py)"),
        "untrained_fallback": measured["untrained_fallback"],
        "video": args.video or "training/testing/videos.py benchmark_video: 1280x720, 15 s, 30 fps",
        "repeats": args.repeats,
        "direct": {**direct_summary, "seconds": measured["direct"]},
        "server": {**server_summary, **measured["server"]},
        "overhead_ratio": server_summary["median_s"] / direct_summary["median_s"],
        "overhead_s": server_summary["median_s"] - direct_summary["median_s"],
        "machine": machine_info(),
    }
    return report(results, table(results), args.json_out)


def main_load(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        workdir = Path(tmp)
        model = args.model or str(seeded_model(workdir, args.production))
        if args.video:
            video, described = Path(args.video), args.video
        else:
            from training.testing.videos import benchmark_video

            video = benchmark_video(workdir / "benchmark_5s.mp4", seconds=5.0)
            described = "training/testing/videos.py benchmark_video: 1280x720, 5 s, 30 fps"
        measured = load(model, video, args.clients, args.requests, workdir)
    results = {
        "model": args.model or ("production architecture, untrained (hub_configs/face-fusion)" if args.production
                                else "tiny seeded face-fusion (training/testing/tiny_configs.py)"),
        "video": described,
        **measured,
        "machine": machine_info(),
    }
    return report(results, load_table(results), args.json_out)


def table(results: dict) -> str:
    direct, server = results["direct"], results["server"]
    rows = [
        ("pipeline called directly", f"{direct['median_s']:.3f}", f"{direct['min_s']:.3f}", ""),
        ("/predict through the server", f"{server['median_s']:.3f}", f"{server['min_s']:.3f}", ""),
        ("server overhead", f"{results['overhead_s']:+.3f}", "", f"x{results['overhead_ratio']:.2f}"),
        (f"{server['concurrent_requests']} concurrent requests (wall)", f"{server['concurrent_wall_s']:.3f}", "", ""),
        ("server start-up (to first page)", f"{server['startup_s']:.1f}", "", ""),
        ("server memory: idle RSS (MiB)", f"{server['idle_rss_mb']:.0f}", "", ""),
        ("server peak RSS, one request at a time", "", "", f"{server['peak_rss_sequential_mb']:.0f}"),
        (f"server peak RSS, {server['concurrent_requests']} at once (limit {server['concurrency_limit']})", "", "",
         f"{server['peak_rss_mb']:.0f}"),
    ]
    lines = [
        f"machine: {describe(results['machine'])}",
        f"model: {results['model']}" + (" (untrained fallback)" if results["untrained_fallback"] else ""),
        f"video: {results['video']}; {results['repeats']} timed calls each",
        "",
        f"| {'measure':<40} | {'median s':>9} | {'min s':>7} | {'ratio/peak':>10} |",
        f"|{'-' * 42}|{'-' * 11}|{'-' * 9}|{'-' * 12}|",
    ]
    lines += [f"| {name:<40} | {a:>9} | {b:>7} | {c:>10} |" for name, a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(run_cli(PROG, main))
