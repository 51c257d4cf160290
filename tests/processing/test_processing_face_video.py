"""FaceVideoProcessor on real H.264 files: decoding, face tracking, crops, errors, saving, remote code, backends."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from modeling import video_decoding
from modeling.face_alignment_weights import FACE_ALIGNMENT_DETECTOR_WEIGHTS, FAN_2D_WEIGHTS
from modeling.face_detection import (
    FaceAlignmentDetector,
    box_iou,
    eye_roll_angle,
    select_face_track,
)
from modeling.processing_face_video import (
    FaceVideoError,
    FaceVideoProcessor,
    NoFaceFoundError,
    VideoDecodeError,
)
from modeling.video_decoding import sample_by_time, sample_indices
from tests.hub_cache import run_clean_python
from training.testing import videos

REPO_ROOT = Path(__file__).resolve().parents[2]
NUM_FRAMES = 10
SIZE = (320, 240)  # the fixtures' default width, height
FIXTURE_FRAMES = 30  # 2 s at 15 fps


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Every fixture video of training/testing/videos.py, written once for this module."""
    folder = tmp_path_factory.mktemp("clips")
    makers = {
        "moving": videos.moving_face_video,
        "gap": videos.face_gap_video,
        "two_faces": videos.two_faces_video,
        "faceless": videos.faceless_video,
        "red": videos.red_background_face_video,
        "rotated": videos.rotated_face_video,
        "single_frame": videos.single_frame_video,
    }
    return {name: make(folder / f"{name}.mp4") for name, make in makers.items()}


@pytest.fixture(scope="module")
def haar() -> FaceVideoProcessor:
    return FaceVideoProcessor(num_frames=NUM_FRAMES, image_size=112, face_detector="haar")


def expected_t(frame_indices) -> np.ndarray:
    """Time fraction (0 first frame, 1 last) of each sampled frame of a 30-frame fixture."""
    return np.asarray(frame_indices, dtype=np.float64) / (FIXTURE_FRAMES - 1)


# ------------------------------------------------------------------------------------------------ outputs


def test_outputs_follow_the_contract(haar, clips):
    out = haar(clips["moving"])

    assert out["pixel_values"].shape == (NUM_FRAMES, 3, 112, 112) and out["pixel_values"].dtype == torch.float32
    assert out["attention_mask"].dtype == torch.int64 and out["attention_mask"].tolist() == [1] * NUM_FRAMES
    assert out["boxes"].shape == (NUM_FRAMES, 4) and out["boxes"].dtype == torch.float32
    assert out["face_found"].dtype == torch.bool and bool(out["face_found"].all())
    assert out["frame_indices"].tolist() == sample_indices(FIXTURE_FRAMES, NUM_FRAMES).tolist()
    np.testing.assert_allclose(out["timestamps"].numpy(), out["frame_indices"].numpy() / 15.0, atol=1e-3)
    assert (out["fps"], out["num_video_frames"], out["width"], out["height"]) == (15.0, 30, 320, 240)
    assert out["duration"] == pytest.approx(2.0, abs=0.07)
    assert len(out["face_crops"]) == NUM_FRAMES
    assert all(isinstance(c, Image.Image) and c.mode == "RGB" and c.size == (112, 112) for c in out["face_crops"])
    # pixel_values are exactly the displayed crops, normalised.
    crops = np.stack([np.asarray(c) for c in out["face_crops"]])
    torch.testing.assert_close(out["pixel_values"], haar.normalize(crops))


def test_extract_faces_gives_the_uint8_crops_behind_the_call(haar, clips):
    faces = haar.extract_faces(clips["moving"])
    out = haar(clips["moving"])
    assert faces["crops"].shape == (NUM_FRAMES, 112, 112, 3) and faces["crops"].dtype == np.uint8
    assert faces["angles"].tolist() == [0.0] * NUM_FRAMES  # Haar: no eye levelling
    torch.testing.assert_close(haar.normalize(faces["crops"]), out["pixel_values"])
    np.testing.assert_array_equal(faces["boxes"], out["boxes"].numpy())
    assert (faces["name"], faces["source"]) == ("moving.mp4", str(clips["moving"]))


def test_numpy_outputs_on_request(haar, clips):
    out = haar(clips["moving"], return_tensors="np")
    assert isinstance(out["pixel_values"], np.ndarray) and out["pixel_values"].dtype == np.float32
    assert isinstance(out["attention_mask"], np.ndarray)


def test_normalize_uses_the_mean_and_std():
    processor = FaceVideoProcessor(image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.25, 0.5])
    crops = np.zeros((2, 4, 4, 3), np.uint8)
    crops[..., 1] = 255
    pixels = processor.normalize(crops)
    assert pixels.shape == (2, 3, 4, 4)
    assert pixels[:, 0].unique().tolist() == [-1.0] and pixels[:, 1].unique().tolist() == [2.0]


def test_crops_are_rgb(haar, clips):
    """On a pure red background, the margin around the face must be red (a BGR crop would be blue)."""
    frames, _, _ = haar.read_frames(clips["red"])
    assert frames[0, 2, 2].tolist() == pytest.approx([255, 0, 0], abs=12)

    wide = FaceVideoProcessor(num_frames=2, image_size=64, face_detector="haar", face_margin=1.5)
    out = wide(clips["red"])  # the crop's corners lie beyond the head, on the background
    corner = np.asarray(out["face_crops"][0])[:6, :6].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 200 and corner[1] < 40 and corner[2] < 40, corner


def test_single_frame_video_gives_num_frames_rows(haar, clips):
    out = haar(clips["single_frame"])
    assert out["pixel_values"].shape[0] == NUM_FRAMES
    assert out["frame_indices"].tolist() == [0] * NUM_FRAMES
    assert out["num_video_frames"] == 1 and bool(out["face_found"].all())


def test_sample_indices_are_evenly_spaced_and_repeat_when_short():
    assert sample_indices(100, 5).tolist() == [0, 25, 50, 74, 99]
    assert sample_indices(3, 5).tolist() == [0, 0, 1, 2, 2]


# ------------------------------------------------------------------------------------------------ tracking


def test_boxes_follow_a_moving_zooming_face(haar, clips):
    out = haar(clips["moving"])
    boxes = out["boxes"].numpy()
    for box, t in zip(boxes, expected_t(out["frame_indices"]), strict=True):
        truth = videos.face_box(*videos.moving_face_position(t))
        assert box_iou(box, truth) > 0.6, (t, box, truth)
    centres_x = (boxes[:, 0] + boxes[:, 2]) / 2
    widths = boxes[:, 2] - boxes[:, 0]
    assert centres_x[-1] - centres_x[0] > 0.3 * SIZE[0]  # moved right by 40% of the width
    assert widths[-1] > 1.3 * widths[0]  # zoomed in by 1.5x


def test_frames_without_the_face_are_masked_with_no_box_and_a_black_crop(haar, clips):
    """Absent means absent: no box is carried over from a neighbouring frame, and the crop shows nothing."""
    out = haar(clips["gap"])
    t = expected_t(out["frame_indices"])
    mask = out["attention_mask"].numpy()
    boxes = out["boxes"].numpy()
    assert mask.tolist() == [0 if 1 / 3 <= x <= 2 / 3 else 1 for x in t]
    assert out["face_found"].numpy().tolist() == mask.astype(bool).tolist()
    assert (boxes[mask == 0] == 0).all() and (boxes[mask == 1][:, 2:] > 0).all()
    for i in np.flatnonzero(mask == 0):
        assert np.asarray(out["face_crops"][int(i)]).max() == 0
    assert np.asarray(out["face_crops"][int(np.flatnonzero(mask)[0])]).std() > 20  # a face crop has contrast


def test_the_bigger_of_two_faces_is_chosen_on_every_frame(haar, clips):
    frames, _, meta = haar.read_frames(clips["two_faces"])
    assert sum(len(d) >= 2 for d in haar.detect_all(frames)) >= NUM_FRAMES // 2  # the small face is seen too
    boxes, found = haar.detect(frames)
    assert found.all()
    for box, t in zip(boxes, expected_t(meta["frame_indices"]), strict=True):
        assert box_iou(box, videos.face_box(*videos.big_face_position(t))) > 0.6


def test_tracking_keeps_the_prominent_face_not_the_first_listed():
    """The small face is listed first on every frame and a big false positive flashes once: neither is chosen."""
    big = np.array([100.0, 100.0, 200.0, 200.0, 0.9])
    small = np.array([260.0, 40.0, 300.0, 80.0, 0.9])
    flash = np.array([0.0, 0.0, 230.0, 230.0, 0.9])
    detections = []
    for t in range(8):
        step = np.array([4.0 * t, 0, 4.0 * t, 0, 0])
        frame = [small + step, big + step]
        if t == 3:
            frame.append(flash)
        if t == 5:
            frame = [small + step]  # the big face is missed here
        detections.append(np.stack(frame))

    boxes, found = select_face_track(detections)

    assert found.tolist() == [True] * 5 + [False] + [True] * 2
    for t in range(8):
        expected = (big + [4.0 * t, 0, 4.0 * t, 0, 0])[:4] if t != 5 else np.zeros(4)  # missed: no box
        np.testing.assert_allclose(boxes[t], expected)


def test_no_detection_anywhere_gives_nothing_found():
    boxes, found = select_face_track([np.zeros((0, 5))] * 3)
    assert boxes.shape == (3, 4) and not found.any()


def test_large_frames_are_detected_downscaled_and_boxes_scaled_back(tmp_path):
    path = videos.moving_face_video(tmp_path / "big.mp4", size=(640, 480))
    processor = FaceVideoProcessor(num_frames=5, image_size=64, face_detector="haar", detection_max_side=320)
    out = processor(path)
    assert bool(out["face_found"].all())
    for box, t in zip(out["boxes"].numpy(), expected_t(out["frame_indices"]), strict=True):
        truth = videos.face_box(*videos.moving_face_position(t, size=(640, 480)))
        assert box_iou(box, truth) > 0.6


# ------------------------------------------------------------------------------------------------ crops


def test_crop_is_a_black_padded_square_centred_on_the_face():
    """A box in the frame's corner: the crop is centred on it, with black where the frame ends."""
    frame = np.full((100, 160, 3), 200, np.uint8)
    frame[0:20, 0:20] = (255, 0, 0)  # the "face", touching the top-left corner
    processor = FaceVideoProcessor(image_size=40, face_margin=1.0)
    crop = processor.crop(frame[None], np.array([[0.0, 0.0, 20.0, 20.0]]))[0]
    # 20 px box, margin 1.0 -> a 40 px square centred on (10, 10): rows/cols 0..9 lie outside the frame.
    assert crop.shape == (40, 40, 3)
    assert crop[2:8, 2:38].max() == 0 and crop[2:38, 2:8].max() == 0  # black padding above and left
    assert crop[12:28, 12:28].reshape(-1, 3).mean(axis=0).tolist() == pytest.approx([255, 0, 0], abs=3)
    assert crop[32:38, 32:38].mean() == pytest.approx(200, abs=3)  # the frame below-right of the face


def test_crop_shrinks_large_faces_without_aliasing():
    """A face box much larger than image_size goes through an area resize: fine stripes average to grey."""
    frame = np.zeros((800, 800, 3), np.uint8)
    frame[:, ::2] = 255  # 1-pixel stripes
    crop = FaceVideoProcessor(image_size=32, face_margin=0.0).crop(frame[None], np.array([[100.0, 100, 700, 700]]))[0]
    assert abs(float(crop.mean()) - 127.5) < 10 and crop.std() < 10


def test_eye_roll_angle_levels_the_eyes():
    landmarks = np.zeros((68, 2))
    landmarks[36:42] = (100.0, 120.0)  # eye on the image's left
    landmarks[42:48] = (160.0, 150.0)  # eye on the image's right, lower: the head is tilted
    angle = eye_roll_angle(landmarks)
    assert angle == pytest.approx(np.degrees(np.arctan2(30, 60)))
    rotation = cv2.getRotationMatrix2D((130.0, 135.0), angle, 1.0)
    eyes = np.array([[100.0, 120.0, 1.0], [160.0, 150.0, 1.0]]) @ rotation.T
    assert eyes[0, 1] == pytest.approx(eyes[1, 1], abs=1e-6)
    assert eyes[1, 0] > eyes[0, 0]  # levelled, not turned upside down


def test_crop_with_the_eye_angle_puts_tilted_eyes_on_one_row():
    frame = np.zeros((200, 200, 3), np.uint8)
    left, right = (70, 90), (130, 120)  # (x, y) of two "eyes", the right one lower
    for x, y in (left, right):
        cv2.circle(frame, (x, y), 4, (255, 255, 255), -1)
    landmarks = np.zeros((68, 2))
    landmarks[36:42], landmarks[42:48] = left, right
    processor = FaceVideoProcessor(image_size=100, face_margin=0.0)
    crop = processor.crop(frame[None], np.array([[50.0, 55.0, 150.0, 155.0]]), np.array([eye_roll_angle(landmarks)]))[0]
    grey = crop[..., 0].astype(np.float64)
    halves = grey[:, :50], grey[:, 50:]
    rows = [np.average(np.arange(100), weights=half.sum(axis=1)) for half in halves]
    assert abs(rows[0] - rows[1]) < 1.0, rows


# ------------------------------------------------------------------------------------------------ bad input


def test_faceless_video_raises_no_face_found_naming_the_file(haar, clips):
    with pytest.raises(NoFaceFoundError) as caught:
        haar(clips["faceless"])
    message = str(caught.value)
    assert message.startswith("faceless.mp4 ") and "no detectable face" in message
    assert isinstance(caught.value, FaceVideoError) and isinstance(caught.value, ValueError)
    assert caught.value.path == str(clips["faceless"])


BAD_FILES = {
    "empty.mp4": (videos.empty_file, "the file is empty"),
    "notes.mp4": (videos.text_file, "not a video file"),
    "truncated.mp4": (videos.truncated_video, "truncated"),
    "speech.mp4": (videos.audio_only_file, "no video stream"),
    "no_frames.mp4": (videos.zero_frame_video, "no video stream"),
    "photo.jpg": (videos.still_image_file, "it is a still image (JPEG), not a video"),
    "photo_as_video.mp4": (videos.still_image_file, "it is a still image (JPEG), not a video"),
    "photo.png": (lambda path: videos.still_image_file(path, "PNG"), "it is a still image (PNG), not a video"),
    "broken_header.mp4": (videos.corrupted_header_video, "its header is damaged"),
    "missing.mp4": (None, "does not exist"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_one_sentence_naming_the_file(haar, tmp_path, capfd, name):
    make, reason = BAD_FILES[name]
    path = make(tmp_path / name) if make else tmp_path / name

    with pytest.raises(VideoDecodeError) as caught:
        haar(path)

    message = str(caught.value)
    assert message.startswith(f"{name} could not be decoded: ") and reason in message
    assert message.endswith(".") and "\n" not in message and message.count(". ") == 0
    assert caught.value.path == str(path)
    assert capfd.readouterr().err == ""  # the decoders' noise is kept off stderr


def test_damaged_frames_are_skipped_and_the_rest_is_used(haar, tmp_path, capfd):
    """Noise in the middle of the H.264 data: PyAV skips the broken packets (decord would give up on the file)."""
    out = haar(videos.damaged_video(tmp_path / "damaged.mp4"))
    assert out["pixel_values"].shape[0] == NUM_FRAMES and bool(out["face_found"].all())
    assert (np.diff(out["timestamps"].numpy()) >= 0).all()
    assert capfd.readouterr().err == ""  # no decoder noise on stderr


def test_a_folder_is_not_a_video(haar, tmp_path):
    with pytest.raises(VideoDecodeError, match="is a folder"):
        haar(tmp_path)


def test_wrong_input_type_is_a_type_error(haar):
    with pytest.raises(TypeError):
        haar.read_frames(42)


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError):
        FaceVideoProcessor(face_detector="mtcnn")
    with pytest.raises(ValueError):
        FaceVideoProcessor(face_alignment_detector="dlib")
    with pytest.raises(ValueError):
        FaceVideoProcessor(num_frames=0)


# ------------------------------------------------------------------------------------------------ inputs and decoders


def test_bytes_input_matches_path_input_and_leaves_no_temp_file(haar, clips):
    before = set(Path(tempfile.gettempdir()).glob("face_video_*"))
    from_bytes = haar(clips["moving"].read_bytes())
    from_path = haar(clips["moving"])
    torch.testing.assert_close(from_bytes["pixel_values"], from_path["pixel_values"])
    assert set(Path(tempfile.gettempdir()).glob("face_video_*")) == before

    with pytest.raises(VideoDecodeError, match=r"^The uploaded video \(12 bytes\) could not be decoded: "):
        haar(b"not a video!")
    assert set(Path(tempfile.gettempdir()).glob("face_video_*")) == before


@pytest.fixture(scope="module")
def webcam_clip(tmp_path_factory) -> Path:
    # Written in a fresh process: once decord has decoded a video in this one, its bundled libvpx shadows PyAV's and
    # the VP8 encoder refuses to open ("ABI version mismatch").
    path = tmp_path_factory.mktemp("webcam") / "recording.webm"
    code = "import sys; from training.testing.videos import webcam_recording; webcam_recording(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=Path(__file__).resolve().parents[2], check=True)
    return path


def test_webcam_recording_without_a_stated_length_is_sampled_across_it(haar, webcam_clip):
    """A MediaRecorder WebM states no duration or frame count, and decord refuses it: PyAV counts its packets
    (an estimate from the header said 1 frame, so every sampled frame was frame 0)."""
    with av.open(str(webcam_clip)) as container:
        stream = container.streams.video[0]
        assert container.duration is None and not stream.duration and not stream.frames
    if video_decoding.decord is not None:
        with pytest.raises((RuntimeError, video_decoding.decord._ffi.base.DECORDError)):
            video_decoding.decord.VideoReader(str(webcam_clip))

    frames, timestamps, meta = haar.read_frames(webcam_clip)

    indices = sample_by_time(videos.webcam_frame_times() / 1000, NUM_FRAMES)  # its frames come at irregular times
    assert meta["frame_indices"].tolist() == indices.tolist() and meta["num_video_frames"] == FIXTURE_FRAMES
    np.testing.assert_allclose(timestamps, videos.webcam_frame_times()[indices] / 1000, atol=1e-6)  # real times
    assert meta["duration"] == pytest.approx(2.0, abs=0.1) and meta["fps"] == pytest.approx(15, abs=1)
    source = np.stack(list(videos.moving_face_frames()))
    errors = np.abs(frames.astype(int) - source[indices]).mean(axis=(1, 2, 3))
    assert errors.max() < 4, errors  # each sampled frame is the frame its index names
    from_bytes, _, _ = haar.read_frames(webcam_clip.read_bytes())
    np.testing.assert_array_equal(from_bytes, frames)


def test_rotated_video_is_decoded_upright(haar, clips):
    frames, _, meta = haar.read_frames(clips["rotated"])
    upright = videos.upright_face_frames()[0]
    assert frames.shape[1:] == upright.shape and (meta["width"], meta["height"]) == (240, 320)
    assert np.abs(frames[0].astype(int) - upright).mean() < 5


def test_frames_over_max_frame_side_are_shrunk_and_boxes_stay_in_video_pixels(haar, clips):
    shrinking = FaceVideoProcessor(num_frames=NUM_FRAMES, image_size=112, face_detector="haar", max_frame_side=240)
    frames, _, meta = shrinking.read_frames(clips["moving"])
    assert frames.shape[1:3] == (180, 240), "a 320x240 clip is kept at 240x180"
    assert (meta["width"], meta["height"], meta["frame_scale"]) == (320, 240, 0.75)

    shrunk = shrinking(clips["moving"])
    assert (shrunk["width"], shrunk["height"]) == (320, 240)
    for box, t in zip(shrunk["boxes"].numpy(), expected_t(shrunk["frame_indices"]), strict=True):
        assert box_iou(box, videos.face_box(*videos.moving_face_position(t))) > 0.6, "boxes in the video's pixels"
    # Same boxes, fewer pixels: the crop squares (150-225 px of the video) still hold at least the crop's 112 px
    # at 3/4 size, so the crops change less than moving the box by one pixel (detection jitters more than that).
    full_frames, _, _ = haar.read_frames(clips["moving"])
    boxes, _ = haar.detect(full_frames)
    sharp, soft = haar.crop(full_frames, boxes), shrinking.crop(frames, boxes * meta["frame_scale"])
    jittered = haar.crop(full_frames, boxes + np.float32([1, 1, 1, 1]))
    shrink_change, jitter_change = np.abs(sharp.astype(int) - soft).mean(), np.abs(sharp.astype(int) - jittered).mean()
    assert shrink_change < jitter_change, (shrink_change, jitter_change)
    assert haar.max_frame_side == 1920, "by default only frames above 1080p are shrunk"


_PYAV_READER = """
import sys
sys.modules["decord"] = None  # decord is not importable in this process
import numpy as np
from modeling import processing_face_video as module, video_decoding
assert video_decoding.decord is None
processor = module.FaceVideoProcessor(num_frames={num_frames}, face_detector="haar")
for name, path in {paths!r}.items():
    frames, timestamps, meta = processor.read_frames(path)
    np.savez({out!r} + name + ".npz", frames=frames, timestamps=timestamps,
             meta=np.array([meta["fps"], meta["num_video_frames"], meta["width"], meta["height"]]))
shrinking = module.FaceVideoProcessor(num_frames={num_frames}, face_detector="haar", max_frame_side=160)
frames, _, meta = shrinking.read_frames({paths!r}["moving"])
print("SHRUNK:", frames.shape[1:3], meta["width"], meta["height"], meta["frame_scale"])
try:
    processor.read_frames({bad!r})
except module.VideoDecodeError as error:
    print("ERROR:" + str(error))
"""


def test_without_decord_pyav_reads_the_same_frames_as_decord(haar, clips, tmp_path, monkeypatch):
    """Where decord has no wheel, nothing changes: PyAV, in a process where decord cannot be imported, gives the
    frames, times and sizes decord gives."""
    monkeypatch.setattr(video_decoding, "DECODERS", ("decord",))
    paths = {name: str(clips[name]) for name in ("moving", "rotated", "single_frame")}
    bad = str(videos.audio_only_file(tmp_path / "speech.mp4"))
    code = _PYAV_READER.format(num_frames=NUM_FRAMES, paths=paths, out=str(tmp_path) + "/", bad=bad)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ERROR:speech.mp4 could not be decoded: it contains no video stream." in result.stdout
    assert "SHRUNK: (120, 160) 320 240 0.5" in result.stdout
    for name, path in paths.items():
        frames, timestamps, meta = haar.read_frames(path)
        fallback = np.load(tmp_path / f"{name}.npz")
        assert fallback["frames"].shape == frames.shape
        assert np.abs(fallback["frames"].astype(int) - frames).mean() < 1.0
        np.testing.assert_allclose(fallback["timestamps"], timestamps, atol=1e-3)
        assert fallback["meta"].tolist() == [meta["fps"], meta["num_video_frames"], meta["width"], meta["height"]]


# ------------------------------------------------------------------------------------------------ time-true sampling


@pytest.fixture(params=["pyav", "decord"])
def decoder(request, monkeypatch) -> str:
    """Each test of sampling runs on both decoders: PyAV, and decord first (with PyAV for a file it refuses)."""
    if request.param == "decord" and video_decoding.decord is None:
        pytest.skip("decord is not installed here")
    monkeypatch.setattr(video_decoding, "DECODERS", ("pyav",) if request.param == "pyav" else ("decord", "pyav"))
    return request.param


def packet_times(path: Path) -> np.ndarray:
    """Every frame's presentation time (s, from the first frame), read independently: demuxing, no decoding."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pts = sorted(p.pts for p in container.demux(stream) if p.size and p.pts is not None)
        return (np.array(pts) - pts[0]) * float(stream.time_base)


def decodable_indices(path: Path) -> set[int]:
    """The indices (in presentation order) of the frames PyAV can decode, reading the whole file in order."""
    decoded = set()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = []
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None:
                packets.append(packet.pts)
            try:
                decoded |= {frame.pts for frame in packet.decode()}
            except av.error.InvalidDataError:
                continue
    return {index for index, pts in enumerate(sorted(packets)) if pts in decoded}


def test_variable_frame_rate_is_sampled_evenly_in_time(tmp_path, decoder):
    """2 s at 30 fps then 4 s at 5 fps: a third of the samples in the first 2 s (sampling by frame count put 23 of
    30 there), each frame reported at its own time and index."""
    path = videos.variable_frame_rate_video(tmp_path / "vfr.mp4")
    frames, timestamps, meta = FaceVideoProcessor(num_frames=30, face_detector="haar").read_frames(path)

    times = packet_times(path)
    np.testing.assert_allclose(times, videos.variable_frame_rate_times(), atol=1e-4)
    assert meta["num_video_frames"] == 80 and len(frames) == 30
    assert np.count_nonzero(timestamps < 2.0) == 10
    assert np.diff(timestamps).max() < 0.2 + 1e-3  # no gap wider than one slow frame
    np.testing.assert_allclose(timestamps, times[meta["frame_indices"]], atol=1e-6)  # index and time agree
    assert meta["frames_repeated"] == meta["frames_missing"] == 0
    assert meta["duration"] == pytest.approx(5.8 + 1 / 30, abs=0.05)
    for frame, seconds in zip(frames, timestamps, strict=True):
        # each frame shows the head where it was at that time: 1.8 measured, 6.3 for the frame 0.2 s later
        assert np.abs(frame.astype(int) - videos.variable_frame_rate_frame(seconds)).mean() < 3
        assert np.abs(frame.astype(int) - videos.variable_frame_rate_frame(seconds + 0.2)).mean() > 5


def test_a_damaged_stream_reports_its_stand_ins_and_keeps_index_and_time_together(tmp_path, decoder, capfd):
    """Noise in the middle of the H.264 data: some frames do not decode. Their samples show the nearest frame that
    does, report that frame's own index and time, and are counted."""
    path = videos.damaged_video(tmp_path / "damaged.mp4")
    frames, timestamps, meta = FaceVideoProcessor(num_frames=30, face_detector="haar").read_frames(path)

    times, decodable = packet_times(path), decodable_indices(path)
    intended = sample_by_time(times, 30)
    missing = [index for index in intended.tolist() if index not in decodable]
    assert missing, "the damage must hit sampled frames for this test to mean anything"
    assert meta["frames_missing"] == len(missing)
    used = meta["frame_indices"]
    assert set(used.tolist()) <= decodable
    for target, stand_in in zip(intended.tolist(), used.tolist(), strict=True):
        assert abs(stand_in - target) == min(abs(index - target) for index in decodable)
    np.testing.assert_allclose(timestamps, times[used], atol=1e-6)
    assert meta["frames_repeated"] == np.count_nonzero(np.diff(used) == 0) > 0
    assert len(frames) == 30 and capfd.readouterr().err == ""


def test_frames_nothing_needs_are_not_decoded_and_the_sampled_ones_are_unchanged(tmp_path):
    """PyAV skips the frames that are neither sampled nor predicted from (about half of an H.264 stream with
    B-frames); the sampled frames are bit for bit those of a full decode, and of decord's."""
    path = videos.moving_face_video(tmp_path / "long.mp4", seconds=4.0, fps=30)
    with av.open(str(path)) as container:
        pts, _ = video_decoding._packet_times(container)
    wanted = sample_by_time((pts - pts[0]).astype(np.float64), 8)
    decoded = {}
    for skip in (True, False):
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "NONE"
            needed = set(pts[wanted].tolist()) if skip else None
            decoded[skip] = [frame.pts for frame in video_decoding._decode_skipping_damage(container, stream, needed)]
    assert len(decoded[False]) == len(pts) and len(decoded[True]) < 0.75 * len(pts), (len(decoded[True]), len(pts))
    assert set(pts[wanted].tolist()) <= set(decoded[True])

    shrink = video_decoding._Shrinker(None)
    skipped, used, missing = video_decoding._decode_frames(str(path), pts, wanted, True, shrink, skip_unneeded=True)
    full, used_full, _ = video_decoding._decode_frames(str(path), pts, wanted, True, shrink, skip_unneeded=False)
    np.testing.assert_array_equal(skipped, full)
    assert used.tolist() == used_full.tolist() == wanted.tolist() and missing == 0
    if video_decoding.decord is not None:
        reader = video_decoding.decord.VideoReader(str(path), num_threads=1)
        np.testing.assert_array_equal(skipped, reader.get_batch(wanted.tolist()).asnumpy())


def test_a_file_pyav_fails_on_goes_to_decord(haar, clips, monkeypatch):
    if video_decoding.decord is None:
        pytest.skip("decord is not installed here")
    expected, _, _ = haar.read_frames(clips["moving"])

    def failing(*args):
        raise RuntimeError("PyAV failed")

    monkeypatch.setattr(video_decoding, "_read_with_pyav", failing)
    frames, _, _ = haar.read_frames(clips["moving"])
    np.testing.assert_array_equal(frames, expected)
    monkeypatch.setattr(video_decoding, "decord", None)
    with pytest.raises(VideoDecodeError, match=r"^moving\.mp4 could not be decoded: "):
        haar.read_frames(clips["moving"])


def test_a_short_clip_repeats_frames_and_says_so(clips, decoder):
    frames, timestamps, meta = FaceVideoProcessor(num_frames=40, face_detector="haar").read_frames(clips["moving"])
    assert len(frames) == 40 and meta["num_video_frames"] == FIXTURE_FRAMES
    assert meta["frames_repeated"] == 40 - FIXTURE_FRAMES and meta["frames_missing"] == 0
    np.testing.assert_allclose(timestamps, meta["frame_indices"] / 15, atol=1e-6)


# ------------------------------------------------------------------------------------------------ saving and loading


def test_save_and_from_pretrained_round_trip(tmp_path):
    processor = FaceVideoProcessor(
        num_frames=8,
        image_size=160,
        face_detector="haar",
        face_alignment_detector="blazeface",
        align_faces=False,
        face_margin=0.4,
        detection_max_side=320,
        image_mean=[0.5] * 3,
        image_std=[0.2] * 3,
        device="cpu",
    )
    assert processor.detector is not None  # built: it must still stay out of the JSON
    processor.save_pretrained(tmp_path)

    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert not any(key.startswith("_") for key in saved)
    loaded = FaceVideoProcessor.from_pretrained(tmp_path)
    assert loaded.to_dict() == processor.to_dict()
    for key in (
        "num_frames",
        "image_size",
        "face_detector",
        "face_alignment_detector",
        "align_faces",
        "face_margin",
        "detection_max_side",
        "image_mean",
        "image_std",
        "device",
    ):
        assert getattr(loaded, key) == getattr(processor, key) == saved[key]
    assert FaceVideoProcessor.from_pretrained(tmp_path, num_frames=4).num_frames == 4


_REMOTE_LOADER = """
import importlib.util, json, sys
assert importlib.util.find_spec("modeling") is None, "the project must not be importable here"
import numpy as np
from transformers import AutoImageProcessor, AutoProcessor
processor = AutoProcessor.from_pretrained({folder!r}, trust_remote_code=True)
image_processor = AutoImageProcessor.from_pretrained({folder!r}, trust_remote_code=True)
out = processor({video!r})
np.save({out!r}, out["pixel_values"].numpy())
print("LOADED" + json.dumps({{"class": type(processor).__name__, "module": type(processor).__module__,
    "image_class": type(image_processor).__name__, "num_frames": processor.num_frames}}))
"""


def test_auto_processor_loads_it_as_remote_code_in_a_clean_process(clips, tmp_path):
    folder = tmp_path / "processor"
    processor = FaceVideoProcessor(num_frames=4, image_size=64, face_detector="haar")
    registered = FaceVideoProcessor._auto_class
    FaceVideoProcessor.register_for_auto_class("AutoProcessor")
    try:
        processor.save_pretrained(folder)
    finally:
        FaceVideoProcessor._auto_class = registered  # as `import modeling` left it
    assert {"processing_face_video.py", "video_decoding.py", "face_detection.py", "preprocessor_config.json"} <= {
        p.name for p in folder.iterdir()
    }
    auto_map = json.loads((folder / "preprocessor_config.json").read_text())["auto_map"]
    assert auto_map["AutoProcessor"] == "processing_face_video.FaceVideoProcessor"

    env = {"HF_HOME": str(tmp_path / "hf_home"), "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    code = _REMOTE_LOADER.format(folder=str(folder), video=str(clips["moving"]), out=str(tmp_path / "pixels.npy"))
    # without the project, even where it is installed editable (run_clean_python drops its import hook)
    result = run_clean_python(code, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.split("LOADED", 1)[1])
    assert report["class"] == report["image_class"] == "FaceVideoProcessor"
    assert report["module"].startswith("transformers_modules.") and report["num_frames"] == 4
    np.testing.assert_allclose(np.load(tmp_path / "pixels.npy"), processor(clips["moving"])["pixel_values"].numpy())


def test_a_copy_or_pickle_does_not_carry_the_built_detector(haar):
    import copy
    import pickle

    assert haar.detector is not None
    for clone in (copy.deepcopy(haar), pickle.loads(pickle.dumps(haar))):
        assert clone._detector is None and clone.to_dict() == haar.to_dict()


# ------------------------------------------------------------------------------------------------ detector choice


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(self, address, *args):
        raise AssertionError(f"network connection attempted to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a))


def fallback_warnings(caught) -> list:
    return [w for w in caught if "Haar cascade" in str(w.message)]


def test_auto_without_weights_falls_back_to_haar_with_one_warning(clips, tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    processor = FaceVideoProcessor(num_frames=4, image_size=64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert processor.resolved_face_detector == "haar"
        processor(clips["moving"])
        processor(clips["moving"])
    assert len(fallback_warnings(caught)) == 1
    message = str(fallback_warnings(caught)[0].message)
    assert "checkpoints" in message and "HF_HUB_OFFLINE" in message and "fetch_weights" in message
    assert processor.face_detector_fallback.rstrip(".")[1:] in message
    assert processor.resolved_face_detector == "haar"


@pytest.mark.parametrize("detector", sorted(FACE_ALIGNMENT_DETECTOR_WEIGHTS))
def test_face_alignment_without_weights_is_one_clear_error_not_a_download(
    detector, clips, tmp_path, monkeypatch, no_network
):
    pytest.importorskip("face_alignment")
    checkpoints = tmp_path / "empty_torch_home" / "hub" / "checkpoints"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    processor = FaceVideoProcessor(
        num_frames=2, image_size=64, face_detector="face_alignment", face_alignment_detector=detector
    )
    with pytest.raises(ValueError) as caught:  # chosen, so no quiet fallback to Haar; offline, so no download
        processor(clips["moving"])
    with pytest.raises(ValueError):
        _ = processor.resolved_face_detector  # the property builds the detector

    message = str(caught.value)
    assert all(name in message for name in (FAN_2D_WEIGHTS, *FACE_ALIGNMENT_DETECTOR_WEIGHTS[detector]))
    assert str(checkpoints) in message and "face_detector='haar'" in message
    assert message.endswith(".") and "\n" not in message and message.count(". ") == 0


def test_weight_file_names_match_the_installed_face_alignment():
    face_alignment = pytest.importorskip("face_alignment")
    from face_alignment.detection.blazeface import blazeface_detector
    from face_alignment.detection.sfd import sfd_detector

    def name(url: str) -> str:
        return os.path.basename(url.split("?")[0])

    assert FAN_2D_WEIGHTS == name(face_alignment.api.models_urls["2DFAN-4"])
    assert FACE_ALIGNMENT_DETECTOR_WEIGHTS["sfd"] == (name(sfd_detector.models_urls["s3fd"]),)
    assert FACE_ALIGNMENT_DETECTOR_WEIGHTS["blazeface"] == (
        name(blazeface_detector.models_urls["blazeface_weights"]),
        name(blazeface_detector.models_urls["blazeface_anchors"]),
    )


def blazeface_anchors() -> np.ndarray:
    """BlazeFace's 896 front-model anchors (16x16 cells x 2, then 8x8 cells x 6), as (x, y, w, h) in [0, 1]."""
    rows = []
    for grid, per_cell in ((16, 2), (8, 6)):
        for y in range(grid):
            for x in range(grid):
                rows += [((x + 0.5) / grid, (y + 0.5) / grid, 1.0, 1.0)] * per_cell
    return np.array(rows, np.float32)


def blazeface_state_dict():
    """BlazeFace weights whose heads ignore the image: every anchor scores ~0.9 with a box 30% of the image wide.

    Random heads give NaN/degenerate boxes that make face-alignment's weighted NMS loop forever; this plants a
    detector result instead.
    """
    from face_alignment.detection.blazeface.net_blazeface import BlazeFace

    state = BlazeFace().state_dict()
    for key in state:
        if key.startswith(("classifier_", "regressor_")):
            state[key] = torch.zeros_like(state[key])
            if key.startswith("classifier_") and key.endswith("bias"):
                state[key] += 2.2  # sigmoid(2.2) = 0.9 > min_score_thresh
            if key.startswith("regressor_") and key.endswith("bias"):
                per_anchor = state[key].view(-1, 16)
                per_anchor[:, 2:4] = 0.3 * 128  # box width and height: 0.3 of the 128 px input
    return state


@pytest.fixture(scope="module")
def planted_torch_home(tmp_path_factory) -> Path:
    """A TORCH_HOME whose hub/checkpoints holds face-alignment's files: real architectures, made-up weights."""
    face_alignment = pytest.importorskip("face_alignment")
    from face_alignment.detection.sfd.net_s3fd import s3fd

    home = tmp_path_factory.mktemp("torch_home")
    checkpoints = home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(face_alignment.models.FAN(4).state_dict(), checkpoints / FAN_2D_WEIGHTS)
    torch.save(s3fd().state_dict(), checkpoints / FACE_ALIGNMENT_DETECTOR_WEIGHTS["sfd"][0])
    torch.save(blazeface_state_dict(), checkpoints / FACE_ALIGNMENT_DETECTOR_WEIGHTS["blazeface"][0])
    np.save(checkpoints / FACE_ALIGNMENT_DETECTOR_WEIGHTS["blazeface"][1], blazeface_anchors())
    return home


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory) -> Path:
    return videos.moving_face_video(tmp_path_factory.mktemp("small") / "small.mp4", size=(160, 120), seconds=1.0)


@pytest.mark.parametrize("detector, align_faces", [("sfd", True), ("blazeface", False)])
def test_auto_with_planted_weights_runs_face_alignment(
    detector, align_faces, planted_torch_home, small_clip, monkeypatch, no_network
):
    """With the weight files present, "auto" builds face-alignment (no warning, no download) and a call runs its
    detector and, when aligning, its 68-landmark network. The weights are made up, so only the contract is checked."""
    monkeypatch.setenv("TORCH_HOME", str(planted_torch_home))
    processor = FaceVideoProcessor(
        num_frames=2, image_size=64, face_alignment_detector=detector, align_faces=align_faces
    )
    assert processor.resolved_face_detector == "face_alignment"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = processor(small_clip)
    assert not fallback_warnings(caught)
    assert isinstance(processor.detector, FaceAlignmentDetector)
    assert out["pixel_values"].shape == (2, 3, 64, 64) and out["boxes"].shape == (2, 4)
    assert out["attention_mask"].tolist() == out["face_found"].int().tolist() and bool(out["face_found"].any())

    frames, _, _ = processor.read_frames(small_clip)
    detections = processor.detect_all(frames)
    assert len(detections) == 2 and all(d.ndim == 2 and d.shape[1] == 5 and d.dtype == np.float64 for d in detections)
    boxes, found = select_face_track(detections, frames)
    np.testing.assert_allclose(boxes, out["boxes"].numpy())
    angles = processor.face_angles(frames, boxes, found)
    if align_faces:
        assert angles.shape == (2,) and (np.abs(angles) <= 45).all()
        expected = processor.normalize(processor.crop(frames, boxes, angles, found))
        torch.testing.assert_close(out["pixel_values"], expected)
    else:
        assert angles is None


def test_landmark_heatmaps_decode_to_frame_coordinates():
    """FAN's 64x64 heatmaps cover a square of side 200 * (w + h) / 195 around the box; peaks map back to pixels."""
    from modeling.face_detection import _decode_heatmaps, _fan_crop, _fan_crop_geometry

    box = np.array([40.0, 30.0, 140.0, 150.0])
    center, side = _fan_crop_geometry(box, reference_scale=195.0)
    np.testing.assert_allclose(center, [90.0, 90.0 - 0.12 * 120])
    assert side == pytest.approx(200.0 * 220 / 195)

    truth = np.random.default_rng(0).uniform(3, 61, (68, 2))  # peak positions in heatmap units
    ys, xs = np.mgrid[0:64, 0:64] + 0.5
    maps = np.exp(-((xs[None] - truth[:, :1, None]) ** 2 + (ys[None] - truth[:, 1:, None]) ** 2) / 4)
    decoded = _decode_heatmaps(maps.astype(np.float32))
    assert np.abs(decoded - truth).max() <= 0.5  # argmax pixel centre +- a quarter pixel

    frame = np.zeros((200, 200, 3), np.uint8)
    frame[90, 90] = 255  # the crop centre maps to the middle of FAN's 256 px input
    crop = _fan_crop(frame, np.array([90.0, 90.0]), 64.0)
    peak = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    assert abs(peak[0] - 128) <= 2 and abs(peak[1] - 128) <= 2
