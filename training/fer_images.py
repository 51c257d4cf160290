"""Facial-expression image sets for EmoNeXt: loading, class names to the project's emotions, and the paper's transforms.

An image set is a `datasets` image folder laid out like FER2013 (`<root>/<split>/<Class>/<image>`; splits named
train, validation/val, test) or a Hub dataset with an `image` column and a `label` ClassLabel column. Class names
are matched to `EMOTION_LABELS` case-insensitively (Angry → anger, Happy → happiness, Sad → sadness, ...), so the
trained head uses the same emotion order as every other model here; a set may hold only some of the seven.

Transforms follow EmoNeXt's training code: random horizontal and vertical flips, resize to 236/224 of the input
size, random rotation up to 20°, random crop; evaluation resizes and center-crops. Images become 3-channel RGB (a
grayscale FER2013 image has three equal channels) normalised with the ImageNet mean and standard deviation, as the
extraction's `FaceVideoProcessor` feeds the model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from datasets import ClassLabel, DatasetDict
from torchvision import transforms
from transformers.utils.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from modeling import EMOTION_LABELS
from training.cli import first_line
from training.tables import TableError

# Class-folder names of FER2013, RAF-DB, AffectNet, CK+ and friends, and the project's emotion each means.
CLASS_ALIASES = {
    "neutral": "neutral",
    "angry": "anger", "anger": "anger",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear", "scared": "fear",
    "happy": "happiness", "happiness": "happiness", "joy": "happiness",
    "sad": "sadness", "sadness": "sadness",
    "surprise": "surprise", "surprised": "surprise",
}
SPLIT_NAMES = {"train": "train", "validation": "validation", "valid": "validation", "val": "validation",
               "dev": "validation", "test": "test"}
RESIZE_RATIO = 236 / 224  # EmoNeXt resizes to 236 and crops 224


class ImageSetError(TableError):
    """An image set that cannot be trained on; the message is one sentence naming what is wrong."""


def load_image_set(
    source: str, validation_fraction: float, seed: int, cache_dir: str | None = None
) -> tuple[DatasetDict, dict[str, str]]:
    """Loads an image set and relabels it with the project's emotion indices.

    Args:
        source: A folder (`imagefolder` layout) or a Hub dataset id.
        validation_fraction: Share of the training images held out when the set has no validation split.
        seed: Seed of that hold-out.
        cache_dir: Where `datasets` caches the loaded set (default: its usual cache).

    Returns:
        The splits (`train`, `validation`, and `test` if present) with columns `image` and `label` (an index into
        `EMOTION_LABELS`), and the class-name → emotion mapping that was applied.

    Raises:
        ImageSetError: It cannot be loaded, lacks a column or split, is empty, or names an unknown class.
    """
    import datasets

    try:
        if Path(source).is_dir():
            loaded = datasets.load_dataset("imagefolder", data_dir=str(source), cache_dir=cache_dir)
        elif Path(source).exists():
            raise ImageSetError(f"--dataset {source} is a file; give an image folder or a Hub dataset id.")
        else:
            loaded = datasets.load_dataset(source, cache_dir=cache_dir)
    except ImageSetError:
        raise
    except Exception as error:  # noqa: BLE001 - datasets and the Hub raise many types; the user needs one sentence
        raise ImageSetError(f"--dataset {source}: cannot be loaded as an image set ({first_line(error)}).") from None

    splits = {}
    for name, split in loaded.items():
        if name.lower() not in SPLIT_NAMES:
            raise ImageSetError(f"--dataset {source}: unknown split {name!r} (expected train, validation/val, test).")
        splits[SPLIT_NAMES[name.lower()]] = split
    if "train" not in splits:
        raise ImageSetError(f"--dataset {source} has no train split (found: {', '.join(loaded) or 'none'}).")
    for name, split in splits.items():
        missing = [column for column in ("image", "label") if column not in split.column_names]
        if missing:
            raise ImageSetError(f"--dataset {source}: split {name!r} has no {' or '.join(missing)} column.")
        if len(split) == 0:
            raise ImageSetError(f"--dataset {source}: split {name!r} is empty.")
    label_feature = splits["train"].features["label"]
    if not isinstance(label_feature, ClassLabel):
        raise ImageSetError(f"--dataset {source}: the label column is not a ClassLabel with class names.")
    mapping = emotion_mapping(label_feature.names, source)

    order = [EMOTION_LABELS.index(mapping[name]) for name in label_feature.names]
    relabelled = DatasetDict()
    for name, split in splits.items():
        features = split.features.copy()
        features["label"] = ClassLabel(names=list(EMOTION_LABELS))
        # input_columns: only the label is read and rewritten; the images are not decoded.
        relabelled[name] = split.map(
            lambda label: {"label": order[label]}, input_columns="label", features=features, desc=f"relabelling {name}"
        )
    if "validation" not in relabelled:
        try:
            held_out = relabelled["train"].train_test_split(
                test_size=validation_fraction, seed=seed, stratify_by_column="label"
            )
        except ValueError as error:  # too few images for every class to appear on both sides
            raise ImageSetError(
                f"--dataset {source} has no validation split, and {validation_fraction:.0%} of its "
                f"{len(relabelled['train'])} training images cannot hold every class ({first_line(error)}); "
                "add a val/ folder or raise --validation_fraction."
            ) from None
        relabelled["train"], relabelled["validation"] = held_out["train"], held_out["test"]
    return relabelled, mapping


def emotion_mapping(class_names: list[str], source: str) -> dict[str, str]:
    """Class name → project emotion; stops on a name it does not know."""
    mapping = {}
    for name in class_names:
        emotion = CLASS_ALIASES.get(name.strip().lower())
        if emotion is None:
            raise ImageSetError(
                f"--dataset {source}: class {name!r} is not one of the emotions "
                f"({', '.join(EMOTION_LABELS)}, or FER2013's Angry, Happy, Sad, ...)."
            )
        mapping[name] = emotion
    if len(set(mapping.values())) != len(mapping):
        raise ImageSetError(f"--dataset {source}: two classes map to the same emotion ({mapping}).")
    return mapping


def image_transforms(
    image_size: int, train: bool, vertical_flip: bool = True, normalize: bool = True, ten_crop: bool = False
) -> transforms.Compose:
    """EmoNeXt's augmentations (train) or the deterministic resize and center crop (evaluation).

    Args:
        normalize: ImageNet mean and std (this project's recipe); False keeps raw [0, 1] pixels (the original's).
        ten_crop: Evaluation on the original's ten crops (corners, center, and their mirrors): (10, 3, S, S) per image.
    """
    resize = round(image_size * RESIZE_RATIO)
    normalise = [transforms.ToTensor()]
    if normalize:
        normalise.append(transforms.Normalize(IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD))
    if not train and ten_crop:
        to_tensor = transforms.Compose(normalise)
        return transforms.Compose([
            transforms.Resize(resize),
            transforms.TenCrop(image_size),
            transforms.Lambda(lambda crops: torch.stack([to_tensor(crop) for crop in crops])),
        ])
    if not train:
        return transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(image_size), *normalise])
    flips = [transforms.RandomHorizontalFlip()] + ([transforms.RandomVerticalFlip()] if vertical_flip else [])
    return transforms.Compose(
        [*flips, transforms.Resize(resize), transforms.RandomRotation(20), transforms.RandomCrop(image_size),
         *normalise]
    )


def with_transforms(
    images: DatasetDict, image_size: int, vertical_flip: bool, normalize: bool = True, ten_crop_test: bool = False
) -> DatasetDict:
    """Applies the transforms on the fly: rows become `pixel_values` (3, S, S), or (10, 3, S, S) for a ten-crop
    test split, and `labels`."""
    prepared = DatasetDict()
    for name, split in images.items():
        transform = image_transforms(
            image_size, train=name == "train", vertical_flip=vertical_flip, normalize=normalize,
            ten_crop=ten_crop_test and name == "test",
        )

        def apply(batch, transform=transform):
            return {
                "pixel_values": [transform(image.convert("RGB")) for image in batch["image"]],
                "labels": batch["label"],
            }

        prepared[name] = split.with_transform(apply)
    return prepared
