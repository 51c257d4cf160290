"""train_fusion.py: one-table batches, frozen parts that stay frozen and in eval mode under the Trainer, and a run under
`accelerate launch` whose saved model beats both trivial baselines."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel

import modeling  # noqa: F401 - registers the Auto classes
from modeling import EmoNeXtModel, FaceFusionModel
from tests.training.synthetic import one_torch_thread, run_launched
from training import train_emotion, train_fusion, train_traits
from training.metrics import emotion_metrics_from_logits, trait_metrics
from training.sequence_inputs import TaskBatchSampler
from training.testing.synthetic import make_table, save_table
from training.testing.tiny_configs import (
    tiny_emonext_config,
    tiny_emotion_config,
    tiny_fusion_config,
    tiny_trait_config,
)
from training.trainer_setup import EVAL_RESULTS


def test_task_batches_cover_each_table_once_per_epoch_one_table_per_batch():
    sampler = TaskBatchSampler((10, 7), batch_size=3, seed=5)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 4 + 3
    assert sorted(i for batch in batches for i in batch) == list(range(17))
    assert all(max(batch) < 10 or min(batch) >= 10 for batch in batches)
    sampler.set_epoch(1)
    assert list(sampler) != batches  # a new order every epoch ...
    sampler.set_epoch(0)
    assert list(sampler) == batches  # ... that a resumed run reproduces


def test_task_batches_come_in_runs_of_the_process_count():
    sampler = TaskBatchSampler((10, 7), batch_size=3, seed=0, group_size=2)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 4 + 4  # the second table's 3 batches are padded to a whole run of 2
    # Accelerate gives batch 2k to process 0, 2k+1 to 1
    for first, second in zip(batches[::2], batches[1::2], strict=True):
        assert (min(first) >= 10) == (min(second) >= 10)


@pytest.fixture(scope="module")
def trained_parts(tmp_path_factory):
    """Tables, an embedder, and emotion and trait transformers trained (in this process) on the tables."""
    root = tmp_path_factory.mktemp("fusion")
    emotions, traits = make_table("emotions", seed=2), make_table("traits", seed=2)
    save_table(emotions, root / "emotion_table")
    save_table(traits, root / "trait_table")
    torch.manual_seed(0)
    EmoNeXtModel(tiny_emonext_config()).save_pretrained(root / "embedder")
    # The weighted KL (about 1 here) dwarfs the trait MSE (about 0.1): at equal weights the emotion gradient owns the
    # shared layers for the first dozens of epochs. A trait weight of 10 balances them within this short run.
    tiny_fusion_config(trait_loss_weight=10.0, hidden_dropout_prob=0.1).save_pretrained(root / "fusion_config")
    parts = (("emotion", tiny_emotion_config(), train_emotion), ("trait", tiny_trait_config(), train_traits))
    for name, config, script in parts:
        config.save_pretrained(root / f"{name}_config")
        with one_torch_thread():
            code = script.main([
                "--dataset", str(root / f"{name}_table"), "--output_dir", str(root / f"{name}_model"),
                "--model_config", str(root / f"{name}_config"), "--num_train_epochs", "12", "--learning_rate", "3e-3",
                "--per_device_train_batch_size", "32", "--report_to", "none", "--early_stopping_patience", "0",
            ])
        assert code == 0
    return root, emotions, traits


def fusion_arguments(root: Path, output_dir: Path, *extra: str) -> list[str]:
    return [
        "--emotion_dataset", str(root / "emotion_table"), "--trait_dataset", str(root / "trait_table"),
        "--emotion_model", str(root / "emotion_model"), "--trait_model", str(root / "trait_model"),
        "--embedder_model", str(root / "embedder"), "--model_config", str(root / "fusion_config"),
        "--output_dir", str(output_dir), "--per_device_train_batch_size", "32", "--report_to", "none", *extra,
    ]


def test_frozen_parts_stay_in_eval_mode_and_batches_hold_one_table(trained_parts, tmp_path):
    root, _, _ = trained_parts
    args = train_fusion.parse(fusion_arguments(root, tmp_path / "run", "--max_steps", "6"))
    trainer = train_fusion.build_trainer(*args).trainer
    model: FaceFusionModel = trainer.model
    frozen_before = {name: value.clone() for name, value in model.emotion_model.state_dict().items()}
    modes, batches = [], []
    model.emotion_model.register_forward_pre_hook(lambda module, _: modes.append(("frozen", module.training)))
    model.trait_model.register_forward_pre_hook(lambda module, _: modes.append(("frozen", module.training)))
    model.emotion_encoder.register_forward_pre_hook(lambda module, _: modes.append(("fusion", module.training)))
    model.register_forward_pre_hook(
        lambda module, args, kwargs: batches.append((kwargs.get("emotion_labels") is not None,
                                                     kwargs.get("trait_labels") is not None, module.training)),
        with_kwargs=True,
    )
    with one_torch_thread():
        trainer.train()

    training_batches = [labels for *labels, training in batches if training]
    assert len(training_batches) == 6
    assert all(emotion != trait for emotion, trait in training_batches)  # each batch: one table's labels only
    assert {emotion for emotion, _ in training_batches} == {True, False}  # both tables are drawn
    assert ("frozen", True) not in modes and ("fusion", True) in modes
    assert not any(p.requires_grad for part in model.frozen_parts() for p in part.parameters())
    for name, value in model.emotion_model.state_dict().items():
        assert torch.equal(value, frozen_before[name]), name


def test_fusion_model_beats_both_baselines(trained_parts, tmp_path):
    root, emotions, traits = trained_parts
    output_dir = tmp_path / "run"
    finished = run_launched(
        "train_fusion.py",
        *fusion_arguments(root, output_dir, "--num_train_epochs", "12", "--learning_rate", "3e-3",
                          "--early_stopping_patience", "0"),
        tmp_path=tmp_path,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads((output_dir / EVAL_RESULTS).read_text())

    model = AutoModel.from_pretrained(output_dir).eval()
    assert isinstance(model, FaceFusionModel)
    # The frozen parts are byte for byte the trained models and the embedder given.
    saved = model.state_dict()
    for part in ("emotion_model", "trait_model", "embedder"):
        for name, value in load_file(str(root / part / "model.safetensors")).items():
            assert torch.equal(saved[f"{part}.{name}"], value), f"{part}.{name}"

    def predict(table, split):
        rows = table[split].with_format("torch")
        with torch.no_grad():
            return model(frame_embeddings=rows["embeddings"][:].float(), attention_mask=rows["attention_mask"][:])

    emotion_test = emotion_metrics_from_logits(predict(emotions, "test").emotion_logits.numpy(),
                                               np.asarray(emotions["test"]["emotions"]))
    trait_test = trait_metrics(predict(traits, "test").trait_logits.numpy(), np.asarray(traits["test"]["traits"]))
    reported = results["test"]["emotions"]["mean_weighted_accuracy"]
    assert emotion_test["mean_weighted_accuracy"] == pytest.approx(reported, abs=1e-5)
    assert trait_test["mean_mse"] == pytest.approx(results["test"]["traits"]["mean_mse"], abs=1e-5)
    validation = results["validation"]
    assert validation["combined_score"] == pytest.approx(
        0.5 * (validation["emotions"]["mean_weighted_accuracy"] + validation["traits"]["mean_ccc"])
    )
    assert validation["combined_score"] == pytest.approx(results["run"]["best_metric"])

    baseline = results["baseline"]["test"]
    assert emotion_test["mean_weighted_accuracy"] > baseline["emotions"]["mean_weighted_accuracy"] + 0.15
    assert emotion_test["kl_divergence"] < 0.8 * baseline["emotions"]["kl_divergence"]
    assert trait_test["mean_mse"] < 0.7 * baseline["traits"]["mean_mse"]
    assert trait_test["mean_ccc"] > 0.4
