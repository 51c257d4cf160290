"""The front end's settings, measured: decoding and face detection in core-seconds per video, and the faces found.

Decoding and detection are timed apart, in CPU time of this process (all its threads: core-seconds, the cost a
batch job pays per video whatever the parallelism), on the 720p 15 s benchmark clip, and each detection setting also
counts the faces it finds there and on the tests' real-photo clips (training/testing/videos.py). Every setting runs in
this one process, alternating, `--repeats` times, and is reported as its median and as a ratio to the first setting
(the old default): on a machine shared with other work, ratios taken side by side hold better than absolute times.

Settings compared:
* decoders, one thread each: decord (the old default), PyAV decoding every frame up to each sample, PyAV
  skipping the frames neither sampled nor predicted from (the default), and the default without H.264's deblocking
  filter (FFmpeg's `skip_loop_filter`) on B-frames or on every frame, with how far that moves the sampled frames;
* Haar detection at several `detection_max_side`s, on every sampled frame or every k-th (`detect_every`: beyond 3,
  a person in view for 3 sampled frames can fall between two detected frames), its whole-frame search either where
  the LBP cascade proposes (`lbp+haar`, the default) or everywhere (`haar`). The first setting is the old default
  (400 px, every 2nd frame, Haar everywhere), run with today's schedule (faces between detected frames looked for
  again near where they are expected) and eye check; the second is today's default, the third the default before the
  LBP proposals.

The two whole-frame searches are also run on faces pasted on photos (`training/testing/pasted_faces.py`: the
astronaut's face at 11 sizes, tilted, blurred, noisy, partly covered or dark, and 100 LFW people), counting the faces
each finds, and on views of faceless photos, counting the false faces.

What bounds the default is reported too: the RGB conversion of the sampled frames (the part of decoding that is not
H.264's own work), the default's whole-frame detections alone (`whole_frame_detections`: every 3rd sampled frame
and the last), and the fewest whole-frame detections that any schedule meeting everyone in view for 3 sampled frames
must make (`fewest_whole_frame_detections`): the part of detection no schedule with the same guarantee can drop.

OpenCV runs on one thread, as when the pipeline, the batch command or the extraction analyse many videos
(`opencv_on_one_thread`): its thread pool costs more core-seconds.

Usage:
    python benchmarks/bench_front_end.py [--repeats 3] [--seconds 15] [--defaults_only] [--pasted_every 1]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from modeling import video_decoding as decoding
from modeling.detection_schedule import fewest_whole_frame_detections, whole_frame_detections
from modeling.face_detection import HaarFaceDetector, select_face_track
from modeling.processing_face_video import FaceVideoProcessor, opencv_on_one_thread
from training.cli import ArgumentParser, positive_int, run_cli
from training.testing import pasted_faces, videos

from machine import describe, machine_info, report

# (detection_max_side, detect_every, whole-frame search): the first is the old default, the second today's, the third
# today's before the LBP proposals.
DETECTION_SETTINGS = (
    (400, 2, "haar"), (320, 3, "lbp+haar"), (320, 3, "haar"), (640, 1, "lbp+haar"), (400, 1, "lbp+haar"),
    (320, 1, "lbp+haar"), (400, 3, "lbp+haar"), (320, 4, "lbp+haar"), (288, 3, "lbp+haar"), (256, 3, "lbp+haar"),
)
WHOLE_FRAME_SEARCHES = {"lbp+haar": True, "haar": False}  # -> HaarFaceDetector's lbp_proposals
TEST_CLIPS = {
    "moving": videos.moving_face_video,
    "gap": videos.face_gap_video,
    "two_faces": videos.two_faces_video,
    "red": videos.red_background_face_video,
    "rotated": videos.rotated_face_video,
}


def cpu_seconds(call) -> tuple[float, object]:
    start = time.process_time()
    result = call()
    return time.process_time() - start, result


def decoders(processor: FaceVideoProcessor) -> dict:
    """name -> a function decoding a path's sampled frames; the first is the old default."""

    def decord(path):
        return decoding._read_with_decord(str(path), processor.num_frames, "clip", str(path),
                                           decoding._Shrinker(processor.max_frame_side))

    def pyav(skip_unneeded: bool, codec_options: dict[str, str] | None = None):
        def read(path):
            return decoding._read_with_pyav(str(path), processor.num_frames, "clip", str(path),
                                            decoding._Shrinker(processor.max_frame_side), skip_unneeded, codec_options)

        return read

    return {"decord (old default)": decord, "pyav, every frame": pyav(False), "pyav (default)": pyav(True),
            "pyav, no deblocking on B-frames": pyav(True, {"skip_loop_filter": "bidir"}),
            "pyav, no deblocking at all": pyav(True, {"skip_loop_filter": "all"})}


def sampled_pyav_frames(path: Path, num_frames: int) -> list:
    """The default's sampled frames as PyAV decodes them, before their conversion to RGB (to time that apart)."""
    with av.open(str(path)) as container:
        pts, _ = decoding._packet_times(container)
        time_base = float(container.streams.video[0].time_base)
    wanted = set(pts[decoding.sample_by_time((pts - pts[0]) * time_base, num_frames)].tolist())
    with av.open(str(path)) as container:
        return [frame for frame in container.decode(video=0) if frame.pts in wanted]


def faces_found(processor: FaceVideoProcessor, frames: np.ndarray) -> tuple[int, int]:
    """Frames where the main person is found, and every face on every frame (a bystander too: a setting that misses a
    small face on one frame shows there), from one detection."""
    detections = processor.detect_all(frames)
    return int(select_face_track(detections, frames)[1].sum()), sum(len(boxes) for boxes in detections)


def bench(args: argparse.Namespace, workdir: Path) -> dict:
    clip = videos.benchmark_video(workdir / f"clip_720p_{args.seconds:g}s.mp4", seconds=args.seconds)
    test_clips = {name: write(workdir / f"{name}.mp4") for name, write in TEST_CLIPS.items()}
    opencv_on_one_thread()
    base = FaceVideoProcessor(face_detector="haar")
    detectors = {}
    for side, every, search in DETECTION_SETTINGS[:3] if args.defaults_only else DETECTION_SETTINGS:
        processor = FaceVideoProcessor(face_detector="haar", detection_max_side=side, detect_every=every)
        processor.detector.lbp_proposals = WHOLE_FRAME_SEARCHES[search]
        detectors[side, every, search] = processor

    decode_times: dict[str, list[float]] = {name: [] for name in decoders(base)}
    detect_times: dict[tuple, list[float]] = {setting: [] for setting in detectors}
    frames = base.read_frames(clip)[0]
    decoded = sampled_pyav_frames(clip, base.num_frames)
    keys = whole_frame_detections(len(frames), base.detect_every)
    fewest = fewest_whole_frame_detections(len(frames), base.detect_every)
    conversion_times, scan_times, fewest_times = [], [], []
    differences = {}  # decoder -> largest pixel difference of its sampled frames from a full decode's (the default's)
    for _ in range(args.repeats):
        for name, read in decoders(base).items():
            seconds, (sampled, *_) = cpu_seconds(lambda read=read: read(clip))
            decode_times[name].append(seconds)
            if name not in differences:  # the first run's frames: every run decodes the same ones
                differences[name] = int(np.abs(sampled.astype(np.int16) - frames).max())
        for setting, processor in detectors.items():
            detect_times[setting].append(cpu_seconds(lambda processor=processor: processor.detect(frames))[0])
        conversion_times.append(cpu_seconds(lambda: [decoding._to_rgb(frame) for frame in decoded])[0])
        scan_times.append(cpu_seconds(lambda: base.detector.detect([frames[t] for t in keys]))[0])
        fewest_times.append(cpu_seconds(lambda: base.detector.detect([frames[t] for t in fewest]))[0])

    test_frames = {name: base.read_frames(path)[0] for name, path in test_clips.items()}
    detection = {}
    default = np.median(detect_times[DETECTION_SETTINGS[0]])
    for setting, processor in detectors.items():
        main, everyone = faces_found(processor, frames)
        tests = {name: faces_found(processor, f) for name, f in test_frames.items()}
        detection[f"{setting[0]} px, every {setting[1]}, {setting[2]}"] = {
            "core_s": float(np.median(detect_times[setting])),
            "vs_old_default": float(np.median(detect_times[setting]) / default),
            "faces_benchmark_clip": main,
            "faces_test_clips": {name: found[0] for name, found in tests.items()},
            "all_faces_benchmark_clip": everyone,
            "all_faces_test_clips": {name: found[1] for name, found in tests.items()},
        }
    default_decode = np.median(decode_times["decord (old default)"])
    decode_rows = {
        name: {"core_s": float(np.median(t)), "vs_default": float(np.median(t) / default_decode),
               "max_pixel_difference": differences[name]}
        for name, t in decode_times.items()
    }
    default_parts = {
        "rgb_conversion_core_s": float(np.median(conversion_times)),
        "whole_frame_detections_core_s": float(np.median(scan_times)),
        "whole_frame_detections": len(keys),
        "fewest_whole_frame_detections_core_s": float(np.median(fewest_times)),
        "fewest_whole_frame_detections": len(fewest),
    }
    return {"machine": machine_info(), "repeats": args.repeats, "clip_seconds": args.seconds,
            "frames_sampled": len(frames),
            "decode": decode_rows, "detect_haar": detection, "default_parts": default_parts,
            "pasted_faces": pasted_faces_found(args.pasted_every)}


def pasted_faces_found(every: int) -> dict:
    """Each whole-frame search's faces found among every ``every``-th pasted face, its false faces on faceless
    photos, and the core-seconds all that took."""
    rows = {}
    for search, lbp_proposals in WHOLE_FRAME_SEARCHES.items():
        detector = HaarFaceDetector(max_side=pasted_faces.FRAME_SIZE[0], lbp_proposals=lbp_proposals)
        seconds, counts = cpu_seconds(lambda detector=detector: pasted_faces.count_found(detector.detect, every))
        faces = [row for kind, row in counts.items() if kind != "false faces"]
        rows[search] = {"core_s": seconds, "found": sum(row[0] for row in faces),
                        "pasted": sum(row[1] for row in faces), "kinds": counts}
    return rows


def table(results: dict) -> str:
    lines = [describe(results["machine"]),
             "decoding, core-s per video (ratio to the old default), largest pixel difference from a full decode:"]
    for name, row in results["decode"].items():
        lines.append(f"  {name:<32} {row['core_s']:.3f} ({row['vs_default']:.2f}x)  {row['max_pixel_difference']}")
    lines.append("Haar detection (detection_max_side, detect_every, whole-frame search): core-s, ratio to the old "
                 "default (the first), frames with the main person (all faces found) on the benchmark clip / test "
                 "clips:")
    for setting, row in results["detect_haar"].items():
        tests = ", ".join(f"{k} {v} ({row['all_faces_test_clips'][k]})" for k, v in row["faces_test_clips"].items())
        lines.append(f"  {setting:<26}  {row['core_s']:.3f} ({row['vs_old_default']:.2f}x)  "
                     f"{row['faces_benchmark_clip']}/{results['frames_sampled']} "
                     f"({row['all_faces_benchmark_clip']})  [{tests}]")
    parts = results["default_parts"]
    lines.append(f"the default's parts: RGB conversion of the sampled frames {parts['rgb_conversion_core_s']:.3f}, "
                 f"the {parts['whole_frame_detections']} whole-frame detections alone "
                 f"{parts['whole_frame_detections_core_s']:.3f}, the fewest that keep its guarantee "
                 f"({parts['fewest_whole_frame_detections']}) {parts['fewest_whole_frame_detections_core_s']:.3f} "
                 "core-s")
    lines.append("whole-frame searches on faces pasted on photos: faces found of those pasted, false faces on "
                 "faceless views (per kind: found/pasted):")
    for search, row in results["pasted_faces"].items():
        false_faces, views = row["kinds"]["false faces"]
        kinds = ", ".join(f"{kind} {found}/{pasted}" for kind, (found, pasted) in row["kinds"].items()
                          if kind != "false faces")
        lines.append(f"  {search:<9} {row['found']}/{row['pasted']}, {false_faces} false on {views} views, "
                     f"{row['core_s']:.1f} core-s  [{kinds}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = ArgumentParser(
        prog="bench_front_end.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of every setting")
    parser.add_argument("--seconds", type=positive_int, default=15,
                        help="length of the 720p benchmark clip (15 s is the recorded figure; shorter is a smoke run)")
    parser.add_argument("--defaults_only", action="store_true",
                        help="time only the first three detection settings (the old default, today's, and "
                             "today's before the LBP proposals)")
    parser.add_argument("--pasted_every", type=positive_int, default=1,
                        help="run the whole-frame searches on every n-th pasted face only (1, all, is the recorded "
                             "figure)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_front_end_") as workdir:
        results = bench(args, Path(workdir))
    return report(results, table(results), args.json)


if __name__ == "__main__":
    sys.exit(run_cli("bench_front_end.py", main))
