"""Synthetic inputs for the trainer tests: training tables whose labels are a known function of the embeddings, a tiny
image folder with visually separable classes, and a helper that runs a trainer under `accelerate launch`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict

from tests.tiny_configs import EMBEDDING_DIM, NUM_FRAMES
from training.tables import describe_training_table, training_features

REPO_ROOT = Path(__file__).resolve().parents[2]
SPLIT_SIZES = {"train": 256, "validation": 64, "test": 64}


def _masked_mean(embeddings: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype(np.float64)
    return (embeddings * weights).sum(axis=1) / weights.sum(axis=1)


def make_table(
    target: str,
    seed: int = 0,
    sizes: dict[str, int] | None = None,
    num_frames: int = NUM_FRAMES,
    dim: int = EMBEDDING_DIM,
) -> DatasetDict:
    """A training table whose labels are a fixed function of the mean embedding over the frames with a face.

    Traits: sigmoid(2 · z) with z a standardised linear read-out of the mean embedding, so they spread over (0, 1).
    Emotions: softmax(3 · z) over seven read-outs, kept on the two largest entries and renormalised, so each clip has
    two present emotions (like CMU-MOSEI's sparse targets) and the original's binarised metrics are meaningful.
    Frames past a random length are masked out and filled with large noise that a model must learn to ignore.
    """
    sizes = sizes or SPLIT_SIZES
    rng = np.random.default_rng(seed)
    width = 5 if target == "traits" else 7
    readout = np.random.default_rng(1000 + seed).normal(size=(dim, width))  # the same function in every split
    splits = {}
    for split, size in sizes.items():
        embeddings = rng.normal(size=(size, num_frames, dim))
        lengths = rng.integers(max(1, num_frames // 2), num_frames + 1, size=size)
        mask = (np.arange(num_frames)[None, :] < lengths[:, None]).astype(np.int8)
        embeddings[mask == 0] *= 5.0
        # A linear read-out of the masked mean, scaled so that z has a standard deviation near 1.
        scores = _masked_mean(embeddings, mask) @ readout * np.sqrt(0.75 * num_frames / dim)
        if target == "traits":
            labels = 1.0 / (1.0 + np.exp(-2.0 * scores))
        else:
            logits = 3.0 * scores
            top_two = np.argsort(-logits, axis=1)[:, :2]
            kept = np.zeros_like(logits, dtype=bool)
            np.put_along_axis(kept, top_two, True, axis=1)
            weights = np.where(kept, np.exp(logits - logits.max(axis=1, keepdims=True)), 0.0)
            labels = weights / weights.sum(axis=1, keepdims=True)
        splits[split] = Dataset.from_dict(
            {
                "video_id": [f"{target}-{split}-{i:04d}" for i in range(size)],
                "embeddings": embeddings.astype(np.float16),
                "attention_mask": mask,
                target: labels.astype(np.float32),
            },
            features=training_features(num_frames, dim, target),
        )
        splits[split].info.description = describe_training_table(target)
    return DatasetDict(splits)


def save_table(table: DatasetDict, path: Path) -> Path:
    table.save_to_disk(str(path))
    return path


def make_image_folder(root: Path, images_per_class: dict[str, int], classes=("Happy", "Sad", "Surprise"), seed=0):
    """FER2013-style folders `<root>/<split>/<Class>/*.png` of 48-pixel grayscale crops.

    Each class is a random large crop (70-100 % of the short side) of a different scikit-image photo (astronaut,
    coffee, chelsea), with noise: a small network can tell them apart, while the pixels vary from image to image.
    """
    from PIL import Image
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea()]
    rng = np.random.default_rng(seed)
    for split, count in images_per_class.items():
        for photo, name in zip(photos, classes):
            gray = np.asarray(Image.fromarray(photo).convert("L"), dtype=np.float64)
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                side = int(rng.integers(int(0.7 * min(gray.shape)), min(gray.shape)))
                top = int(rng.integers(0, gray.shape[0] - side + 1))
                left = int(rng.integers(0, gray.shape[1] - side + 1))
                crop = Image.fromarray(gray[top : top + side, left : left + side].astype(np.uint8)).resize((48, 48))
                pixels = np.asarray(crop, dtype=np.float64) + rng.normal(0, 12, size=(48, 48))
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / f"{index:03d}.png")
    return root


def launch_command(script: str, *script_args: str) -> list[str]:
    """`accelerate launch` on one CPU process, with every launcher setting given so that it prints no warning.

    One torch thread: on two busy cores a second thread spins and makes each tiny step about ten times slower.
    """
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    return [
        accelerate, "launch", "--quiet", "--cpu", "--num_processes", "1", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--num_cpu_threads_per_process", "1",
        str(REPO_ROOT / "training" / script), *script_args,
    ]


def offline_environment(tmp_path: Path) -> dict[str, str]:
    """Offline, quiet, with caches in the test's folder."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_DATASETS_CACHE=str(tmp_path / "datasets-cache"),
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


def run_launched(script: str, *script_args: str, tmp_path: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """Runs a trainer under `accelerate launch` from the repository root and returns the finished process."""
    return subprocess.run(
        launch_command(script, *script_args),
        cwd=REPO_ROOT,
        env=offline_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class one_torch_thread:
    """Runs in-process training on one torch thread (see `launch_command`), then restores the thread count."""

    def __enter__(self):
        import torch

        self.previous = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc_info):
        import torch

        torch.set_num_threads(self.previous)
