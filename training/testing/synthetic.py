"""Synthetic training inputs: tables whose labels are a known function of the embeddings, and a tiny image folder
with visually separable classes. Used by the trainer tests and `benchmarks/bench_train.py`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict

from training.tables import describe_training_table, training_features
from training.testing.tiny_configs import EMBEDDING_DIM, NUM_FRAMES

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
        for photo, name in zip(photos, classes, strict=False):  # fewer classes than photos is fine
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
