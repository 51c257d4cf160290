"""Fixtures of the app tests: a tiny exported face-fusion repo planted in an offline Hub cache, fixture videos, and
`python app.py` running as a real server process on a free port."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from modeling import FaceFusionModel
from modeling.processing_face_video import FaceVideoProcessor
from tests.hub_cache import plant_in_hf_cache
from training.testing.app_process import AppServer, running_app
from training.testing.photo_faces import two_people_video
from training.testing.tiny_configs import IMAGE_SIZE, NUM_FRAMES, tiny_fusion_config
from training.testing.videos import (
    audio_only_file,
    empty_file,
    face_gap_video,
    faceless_video,
    moving_face_video,
    phone_hevc_video,
    render_frames,
    still_image_file,
    text_file,
    truncated_video,
    write_video,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
MODEL_ID = "org/face-fusion"  # the app's default --model, served from the planted cache
# Limits of the launched app, small so that "too large" and "too long" files stay cheap to make.
MAX_UPLOAD_MB = 1
MAX_DURATION_S = 20
MAX_MEGAPIXELS = 0.2  # the fixture clips are 320x240 (0.08 megapixels)
START_TIMEOUT_S = 240



@pytest.fixture(scope="session")
def tiny_trained_run(tmp_path_factory) -> Path:
    """What a trainer's --output_dir holds: a tiny seeded face-fusion (save_pretrained) and its processor."""
    run = tmp_path_factory.mktemp("fusion-run")
    torch.manual_seed(0)
    FaceFusionModel(tiny_fusion_config()).eval().save_pretrained(run)
    FaceVideoProcessor(num_frames=NUM_FRAMES, image_size=IMAGE_SIZE, face_detector="auto").save_pretrained(run)
    return run


@pytest.fixture(scope="session")
def tiny_exported_model(tmp_path_factory, tiny_trained_run) -> Path:
    """The face-fusion Hub repo folder `training/export_hub.py` writes from that run."""
    from training.export_hub import export_model_repo

    return export_model_repo("face-fusion", tiny_trained_run, tmp_path_factory.mktemp("export") / "face-fusion")


@pytest.fixture(scope="session")
def tiny_fallback_config(tmp_path_factory) -> Path:
    """A tiny face-fusion config folder for FACE_FUSION_FALLBACK_CONFIG (the production one is slow on a CPU)."""
    folder = tmp_path_factory.mktemp("fallback-config")
    tiny_fusion_config().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    """Real H.264 clips, a phone's HEVC clip, and each kind of bad file the page must explain."""
    folder = tmp_path_factory.mktemp("app-videos")
    long_clip = write_video(folder / "long.mp4", render_frames(MAX_DURATION_S + 5, (64, 48), lambda c, t: None), fps=1)
    seed = moving_face_video(folder / "seed.mp4").read_bytes()
    too_large = folder / "large.mp4"  # a real clip padded past the upload limit
    too_large.write_bytes(seed + bytes(int(1.2 * MAX_UPLOAD_MB * 2**20)))
    still_image = still_image_file(folder / "photo.jpg")  # a photo uploaded as it is
    bad_header = folder / "bad_header.mp4"  # a real clip whose first bytes (the container's header) are zeroed
    bad_header.write_bytes(bytes(64) + seed[64:])
    return {
        "face": moving_face_video(folder / "astronaut.mp4"),
        "phone": phone_hevc_video(folder / "phone.mov"),
        "gap": face_gap_video(folder / "gap.mp4"),
        "faceless": faceless_video(folder / "cat.mp4"),
        "text": text_file(folder / "notes.mp4"),
        "empty": empty_file(folder / "empty.mp4"),
        "truncated": truncated_video(folder / "truncated.mp4"),
        "audio_only": audio_only_file(folder / "tone.m4a"),
        "too_long": long_clip,
        "too_large": too_large,
        "big_frames": moving_face_video(folder / "big_frames.mp4", size=(640, 480), seconds=1.0),
        "still_image": still_image,
        "bad_header": bad_header,
        "two_people": two_people_video(folder / "two_people.mp4"),
    }


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, tiny_exported_model) -> AppServer:
    """`python app.py` as a real process, offline, loading `org/face-fusion` from a planted Hub cache.

    TORCH_HOME is empty, so face-alignment's weights are missing and the bundled detector is used.
    """
    home = tmp_path_factory.mktemp("app-home")
    plant_in_hf_cache(tiny_exported_model, MODEL_ID, home / "hf" / "hub")
    env = {
        **os.environ,
        "HF_HOME": str(home / "hf"),
        "HF_HUB_CACHE": str(home / "hf" / "hub"),
        "HF_HUB_OFFLINE": "1",
        "TORCH_HOME": str(home / "torch"),
        "FACE_FUSION_EXAMPLES_DIR": str(home / "examples"),
        "GRADIO_TEMP_DIR": str(home / "gradio"),
        "GRADIO_EXAMPLES_CACHE": str(home / "examples-cache"),
        "PYTHONUNBUFFERED": "1",  # gradio prints what it caches: in the log at once
    }
    env.pop("FACE_FUSION_MODEL", None)
    options = ["--max_upload_mb", str(MAX_UPLOAD_MB), "--max_duration_s", str(MAX_DURATION_S)]
    options += ["--max_megapixels", str(MAX_MEGAPIXELS), "--precision", "fp32"]
    with running_app(options, env, home / "app.log", START_TIMEOUT_S) as server:
        yield server


@pytest.fixture(scope="session")
def client(app_server):
    from gradio_client import Client

    return Client(app_server.url, verbose=False)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
