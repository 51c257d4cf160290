"""train_emonext.py: class folders mapped onto the project's emotions, the weight average, and a tiny image set on
which the trained EmoNeXt clearly beats the class prior on held-out images."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoModelForImageClassification

import modeling  # noqa: F401 - registers the Auto classes
from modeling import EMOTION_LABELS, EmoNeXtForImageClassification, EmoNeXtModel
from tests.training.synthetic import run_launched
from training.ema import EMA_WEIGHTS, WeightEMA
from training.fer_images import ImageSetError, emotion_mapping, image_transforms, load_image_set
from training.testing.synthetic import make_image_folder
from training.testing.tiny_configs import tiny_emonext_config
from training.trainer_setup import EVAL_RESULTS, complete_checkpoints


def test_fer2013_class_folders_map_onto_the_project_emotions():
    fer2013 = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
    mapping = emotion_mapping(fer2013, "fer2013")
    assert sorted(mapping.values()) == sorted(EMOTION_LABELS)
    assert mapping["Happy"] == "happiness" and mapping["Angry"] == "anger" and mapping["Sad"] == "sadness"
    with pytest.raises(ImageSetError, match="class 'Contempt' is not one of the emotions"):
        emotion_mapping(["Happy", "Contempt"], "affectnet")


def test_image_set_is_relabelled_and_gets_a_stratified_validation_split(tmp_path):
    make_image_folder(tmp_path / "images", {"train": 10, "test": 2}, classes=("Sad", "Angry", "happy"))
    images, mapping = load_image_set(str(tmp_path / "images"), 0.2, seed=0, cache_dir=str(tmp_path / "cache"))
    assert mapping == {"Angry": "anger", "Sad": "sadness", "happy": "happiness"}
    assert set(images) == {"train", "validation", "test"}
    assert images["train"].features["label"].names == list(EMOTION_LABELS)
    assert sorted(set(images["validation"]["label"])) == sorted(EMOTION_LABELS.index(e) for e in mapping.values())
    assert len(images["train"]) + len(images["validation"]) == 30


def test_transforms_give_normalised_rgb_crops_of_the_model_size():
    from PIL import Image

    gray = Image.fromarray(np.full((48, 48), 200, dtype=np.uint8))
    for train in (True, False):
        pixels = image_transforms(32, train=train)(gray.convert("RGB"))
        assert pixels.shape == (3, 32, 32)
    center = image_transforms(32, train=False)(gray.convert("RGB"))
    # 200/255 normalised with the ImageNet mean and std of each channel.
    expected = (200 / 255 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(center[:, 16, 16], expected, atol=1e-3)


def test_weight_average_warms_up_and_is_swapped_in_only_inside_the_block():
    model = torch.nn.Linear(2, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    ema = WeightEMA(model, decay=0.99, update_every=1)
    ema.on_train_begin(None, None, None)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(1)  # first update: decay min(0.99, 1 - 2^(-2/3)) = 0.37
    assert ema.average.module.weight[0, 0].item() == pytest.approx(1 - 0.37004, abs=1e-4)
    for step in range(2, 10_000):
        ema.update(step)
    assert ema.average.get_decay(ema.num_updates + 2) == 0.99
    with torch.no_grad():
        model.weight.fill_(5.0)
    with ema.swapped_in():
        assert model.weight[0, 0].item() == pytest.approx(1.0, abs=1e-3)
    assert model.weight[0, 0].item() == 5.0


def test_trained_emonext_beats_the_class_prior(tmp_path):
    make_image_folder(tmp_path / "images", {"train": 60, "val": 15, "test": 20})
    tiny_emonext_config().save_pretrained(tmp_path / "config")
    output_dir = tmp_path / "run"
    finished = run_launched(
        "train_emonext.py",
        "--dataset", str(tmp_path / "images"), "--output_dir", str(output_dir),
        "--model_config", str(tmp_path / "config"), "--num_train_epochs", "8", "--learning_rate", "2e-3",
        "--warmup_steps", "0.1", "--per_device_train_batch_size", "32",
        "--ema_decay", "0.9", "--ema_update_every", "1", "--report_to", "none", "--cache_dir", str(tmp_path / "cache"),
        tmp_path=tmp_path,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads((output_dir / EVAL_RESULTS).read_text())
    assert results["run"]["class_mapping"] == {"Happy": "happiness", "Sad": "sadness", "Surprise": "surprise"}

    # The saved classifier holds the best checkpoint's weight average, not its raw weights.
    best = output_dir / results["run"]["best_checkpoint"]
    assert all((checkpoint / EMA_WEIGHTS).is_file() for checkpoint in complete_checkpoints(output_dir))
    average, raw = load_file(str(best / EMA_WEIGHTS)), load_file(str(best / "model.safetensors"))
    saved = load_file(str(output_dir / "model.safetensors"))
    assert all(torch.equal(saved[name], average[name]) for name in saved)
    assert not all(torch.equal(saved[name], raw[name]) for name in saved)

    classifier = AutoModelForImageClassification.from_pretrained(output_dir)
    assert isinstance(classifier, EmoNeXtForImageClassification)
    assert classifier.config.use_pretrained_backbone is False
    embedder = AutoModel.from_pretrained(output_dir)  # what the extraction loads
    assert isinstance(embedder, EmoNeXtModel)

    # Held-out images: far above always answering the most frequent training class (one third here).
    assert results["baseline"]["test"]["accuracy"] == pytest.approx(1 / 3)
    assert results["test"]["accuracy"] > 0.75
    assert results["validation"]["accuracy"] == pytest.approx(results["run"]["best_metric"])


def test_resumed_run_continues_the_weight_average(tmp_path):
    from safetensors import safe_open

    from tests.training.synthetic import one_torch_thread
    from training import train_emonext

    make_image_folder(tmp_path / "images", {"train": 8, "val": 3})
    tiny_emonext_config().save_pretrained(tmp_path / "config")
    argv = ["--dataset", str(tmp_path / "images"), "--output_dir", str(tmp_path / "run"), "--model_config",
            str(tmp_path / "config"), "--per_device_train_batch_size", "8", "--ema_update_every", "1",
            "--report_to", "none", "--cache_dir", str(tmp_path / "cache"), "--early_stopping_patience", "0"]
    with one_torch_thread():
        assert train_emonext.main([*argv, "--num_train_epochs", "1"]) == 0
        first = complete_checkpoints(tmp_path / "run")[-1]
        with safe_open(str(first / EMA_WEIGHTS), "pt") as handle:
            assert handle.metadata()["num_updates"] == "3"  # 24 images, batches of 8, one update per step
        assert train_emonext.main([*argv, "--num_train_epochs", "2", "--resume_from_checkpoint", "latest"]) == 0
    last = complete_checkpoints(tmp_path / "run")[-1]
    with safe_open(str(last / EMA_WEIGHTS), "pt") as handle:
        assert handle.metadata()["num_updates"] == "6"  # carried on from 3, not restarted at 0
