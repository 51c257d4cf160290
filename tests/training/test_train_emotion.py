"""train_emotion.py: class weights from the training split, and a run under `accelerate launch` whose saved model
clearly beats the class prior on held-out clips, with TensorBoard logs and eval_results.json."""

import json

import numpy as np
import pytest
import torch
from transformers import AutoModel

import modeling  # noqa: F401 - registers the Auto classes
from modeling import EmotionTransformerModel
from tests.training.synthetic import run_launched
from training.metrics import emotion_metrics, emotion_metrics_from_logits, emotion_prior_baseline
from training.testing.synthetic import make_table, save_table
from training.testing.tiny_configs import tiny_emotion_config
from training.train_emotion import class_weights_from_frequencies, parse_class_weights
from training.trainer_setup import EVAL_RESULTS, TrainingInputError


def test_class_weights_are_inverse_presence_frequencies_with_mean_one():
    # CMU-MOSEI's rates of "emotion present" (reference §1.5), as 1000 one-hot-ish rows per column.
    rates = np.array([0.145, 0.117, 0.082, 0.035, 0.434, 0.151, 0.036])
    targets = (np.arange(1000)[:, None] < rates[None, :] * 1000).astype(float)
    weights = class_weights_from_frequencies(targets)
    assert np.mean(weights) == pytest.approx(1.0)
    assert weights == pytest.approx([0.52, 0.64, 0.92, 2.15, 0.17, 0.50, 2.09], abs=0.01)
    # Like the original's hand-set weights [3, 10, 13, 20, 2, 15, 18]: fear weighs most, happiness least.
    assert np.argmax(weights) == 3 and np.argmin(weights) == 4


def test_an_emotion_absent_from_training_gets_the_largest_weight():
    targets = np.zeros((4, 7))
    targets[:, 0] = 1.0
    targets[:2, 1] = 0.5
    targets[:2, 0] = 0.5
    weights = class_weights_from_frequencies(targets)
    assert weights[0] < weights[1] == max(weights)
    assert weights[2:] == [weights[1]] * 5


def test_class_weight_option_accepts_modes_or_seven_numbers():
    assert parse_class_weights("auto") == "auto"
    assert parse_class_weights("3,10,13,20,2,15,18") == [3.0, 10.0, 13.0, 20.0, 2.0, 15.0, 18.0]
    for bad in ("1,2,3", "a,b,c,d,e,f,g", "1,1,1,1,1,1,-1"):
        with pytest.raises(TrainingInputError):
            parse_class_weights(bad)


def test_trained_emotion_model_beats_the_class_prior(tmp_path):
    table = make_table("emotions", seed=1)
    save_table(table, tmp_path / "table")
    tiny_emotion_config().save_pretrained(tmp_path / "config")
    output_dir = tmp_path / "run"
    finished = run_launched(
        "train_emotion.py",
        "--dataset", str(tmp_path / "table"), "--output_dir", str(output_dir),
        "--model_config", str(tmp_path / "config"),
        "--num_train_epochs", "12", "--learning_rate", "3e-3", "--per_device_train_batch_size", "32",
        "--early_stopping_patience", "4", "--seed", "1",
        tmp_path=tmp_path,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]

    results = json.loads((output_dir / EVAL_RESULTS).read_text())
    model = AutoModel.from_pretrained(output_dir).eval()
    assert isinstance(model, EmotionTransformerModel)
    # The class weights were derived from the training split and travel with the model.
    expected_weights = class_weights_from_frequencies(np.asarray(table["train"]["emotions"]))
    assert model.config.class_weights == pytest.approx(expected_weights)
    assert results["run"]["class_weights"] == {"mode": "auto", "weights": pytest.approx(expected_weights)}
    # TensorBoard event files were written.
    assert list((output_dir / "runs").rglob("events.out.tfevents.*"))

    def logits(split):
        split = table[split].with_format("torch")
        with torch.no_grad():
            return model(split["embeddings"][:].float(), split["attention_mask"][:]).logits.numpy()

    # The saved model is the best validation epoch, and eval_results.json holds its numbers.
    validation = emotion_metrics_from_logits(logits("validation"), np.asarray(table["validation"]["emotions"]))
    assert validation["mean_weighted_accuracy"] == pytest.approx(results["run"]["best_metric"], abs=1e-6)
    test_targets = np.asarray(table["test"]["emotions"])
    test = emotion_metrics_from_logits(logits("test"), test_targets)
    for name in ("mean_f1", "mean_weighted_accuracy", "kl_divergence", "f1_anger", "weighted_accuracy_surprise"):
        assert test[name] == pytest.approx(results["test"][name], abs=1e-5)

    # Held-out clips: clearly better than predicting the training class prior for every clip.
    prior_predictions = emotion_prior_baseline(np.asarray(table["train"]["emotions"]), len(test_targets))
    prior = emotion_metrics(prior_predictions, test_targets)
    assert results["baseline"]["test"]["kl_divergence"] == pytest.approx(prior["kl_divergence"])
    assert test["mean_weighted_accuracy"] > prior["mean_weighted_accuracy"] + 0.15
    assert test["mean_f1"] > prior["mean_f1"] + 0.2
    assert test["kl_divergence"] < 0.8 * prior["kl_divergence"]
