"""Shared fixtures of the Hub tests: a tiny trained-looking FaceFusion folder and real fixture videos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from modeling import EmoNeXtForImageClassification, EmotionTransformerModel, FaceFusionModel, TraitTransformerModel
from modeling.pipeline_face_video import TASK, FaceVideoAnalysisPipeline
from modeling.processing_face_video import FaceVideoProcessor
from training.testing.photo_faces import two_people_video
from training.testing.tiny_configs import (
    IMAGE_SIZE,
    NUM_FRAMES,
    tiny_emonext_config,
    tiny_emotion_config,
    tiny_fusion_config,
    tiny_trait_config,
)
from training.testing.videos import face_gap_video, faceless_video, moving_face_video, text_file

REPO_ID = "org/face-fusion"
# What a trainer writes beside the weights (keys as the fusion trainer may write them: split and task prefixes).
EVAL_RESULTS = {
    "test_emotion_mean_f1": 0.5123,
    "test_emotion_mean_weighted_accuracy": 0.6012,
    "test_trait_mean_accuracy": 0.8871,
    "test_trait_mean_ccc": 0.3456,
    "eval_emotion_mean_f1": 0.5301,
    "eval_trait_mean_ccc": 0.3602,
    "epoch": 7,
}


def ensure_task_registered() -> None:
    """`import modeling` registers the task once modeling/__init__.py has the lines for it; until then, do it here
    (test_import_modeling_registers_the_task says whether the package does it itself)."""
    if TASK not in PIPELINE_REGISTRY.supported_tasks:
        PIPELINE_REGISTRY.register_pipeline(
            TASK, pipeline_class=FaceVideoAnalysisPipeline, pt_model=AutoModel, type="video"
        )


def tiny_processor(**overrides) -> FaceVideoProcessor:
    values = dict(num_frames=NUM_FRAMES, image_size=IMAGE_SIZE, face_detector="haar")
    return FaceVideoProcessor(**{**values, **overrides})


@pytest.fixture(scope="session")
def fusion_dir(tmp_path_factory) -> Path:
    """A trainer's output folder: tiny FaceFusion (seeded), its processor and eval_results.json."""
    folder = tmp_path_factory.mktemp("fusion-run")
    torch.manual_seed(0)
    FaceFusionModel(tiny_fusion_config()).eval().save_pretrained(folder)
    tiny_processor().save_pretrained(folder)
    (folder / "eval_results.json").write_text(json.dumps(EVAL_RESULTS))
    return folder


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        "moving": moving_face_video(folder / "moving.mp4"),
        "gap": face_gap_video(folder / "gap.mp4"),
        "faceless": faceless_video(folder / "faceless.mp4"),
        "text": text_file(folder / "notes.mp4"),
        "two_people": two_people_video(folder / "two_people.mp4"),
    }


@pytest.fixture(scope="session")
def analyze(fusion_dir):
    """The pipeline as a user builds it, from the folder, at fp32 on every machine (tests comparing with it pin
    the precision of the other side too; the bf16 path has tests of its own)."""
    from transformers import pipeline

    ensure_task_registered()
    return pipeline(TASK, model=str(fusion_dir), device="cpu", precision="fp32")


def assert_one_sentence(message: str, *names: str) -> None:
    """A user-facing error: one line, one sentence ending in a full stop, naming what it is about."""
    assert "\n" not in message and "Traceback" not in message, message
    assert message.endswith("."), message
    for name in names:
        assert name in message, message


@pytest.fixture(scope="session")
def exported(fusion_dir, tmp_path_factory) -> Path:
    """The face-fusion repo folder, exported from `fusion_dir` (shared by the Hub test modules: exporting is slow)."""
    from training.export_hub import export_model_repo

    return export_model_repo("face-fusion", fusion_dir, tmp_path_factory.mktemp("export") / "face-fusion", REPO_ID)


@pytest.fixture(scope="session")
def part_dirs(tmp_path_factory) -> dict[str, Path]:
    """Trainer output folders of the three parts (tiny, seeded); only the emotion one has eval_results.json."""
    torch.manual_seed(0)
    models = {
        "emonext-base": EmoNeXtForImageClassification(tiny_emonext_config()),
        "mosei-emotion-transformer": EmotionTransformerModel(tiny_emotion_config()),
        "fiv2-trait-transformer": TraitTransformerModel(tiny_trait_config()),
    }
    folders = {}
    for repo, model in models.items():
        folders[repo] = tmp_path_factory.mktemp(repo)
        model.eval().save_pretrained(folders[repo])
    (folders["mosei-emotion-transformer"] / "eval_results.json").write_text(
        json.dumps({
            "test": {"mean_f1": 0.55, "mean_weighted_accuracy": 0.61}, "validation": {"mean_f1": 0.57},
            "run": {"learning_rate": 0.0003, "per_device_train_batch_size": 16, "seed": 7,
                    "dataset": "org/mosei-emonext"},
        })
    )
    return folders


@pytest.fixture(scope="session")
def exported_parts(part_dirs, tmp_path_factory) -> dict[str, Path]:
    from training.export_hub import export_model_repo

    out = tmp_path_factory.mktemp("parts")
    return {repo: export_model_repo(repo, folder, out / repo, f"org/{repo}") for repo, folder in part_dirs.items()}
