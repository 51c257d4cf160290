"""Emotion and trait metrics against hand-computed values."""

import json

import numpy as np
import pytest

from modeling.configuration_face_transformer import EMOTION_LABELS, TRAIT_LABELS
from training.metrics import (
    binarize_emotion_probabilities,
    binary_macro_scores,
    concordance_correlation,
    emotion_metrics,
    emotion_metrics_from_logits,
    emotion_prior_baseline,
    trait_mean_baseline,
    trait_metrics,
)

EMOTIONS = EMOTION_LABELS[1:]


def _distribution(**shares) -> list[float]:
    row = [0.0] * len(EMOTION_LABELS)
    for name, share in shares.items():
        row[EMOTION_LABELS.index(name)] = share
    return row


TARGETS = np.array(
    [
        _distribution(neutral=1.0),
        _distribution(happiness=0.5, sadness=0.5),
        _distribution(anger=0.75, disgust=0.25),
        _distribution(fear=0.2, surprise=0.8),
        _distribution(happiness=1.0),
    ]
)


def _presence_probabilities(targets: np.ndarray) -> np.ndarray:
    """Probabilities that binarise exactly to the targets' presence: spread evenly over the present emotions."""
    probabilities = np.zeros_like(targets)
    for row, target in enumerate(targets):
        present = np.flatnonzero(target[1:] > 0) + 1
        if len(present) == 0:
            probabilities[row, 0] = 1.0
        else:
            probabilities[row, present] = 1.0 / len(present)
    return probabilities


def test_perfect_predictions_score_one():
    results = emotion_metrics(_presence_probabilities(TARGETS), TARGETS)
    assert results["mean_f1"] == 1.0 and results["mean_weighted_accuracy"] == 1.0
    for name in EMOTIONS:
        assert results[f"f1_{name}"] == 1.0 and results[f"weighted_accuracy_{name}"] == 1.0


def test_known_confusion_counts():
    # TP 3, FN 1, FP 2, TN 4.
    y_true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])
    f1_positive = 2 * 3 / (2 * 3 + 2 + 1)
    f1_negative = 2 * 4 / (2 * 4 + 1 + 2)
    f1, weighted_accuracy = binary_macro_scores(y_true, y_pred)
    assert f1 == pytest.approx((f1_positive + f1_negative) / 2)
    assert weighted_accuracy == pytest.approx((3 / 4 + 4 / 6) / 2)

    # The same counts through emotion_metrics, on the anger column.
    targets = np.array([_distribution(anger=1.0) if t else _distribution(neutral=1.0) for t in y_true])
    probabilities = np.array(
        [_distribution(anger=0.9, neutral=0.1) if p else _distribution(neutral=1.0) for p in y_pred]
    )
    results = emotion_metrics(probabilities, targets)
    assert results["f1_anger"] == pytest.approx(f1)
    assert results["weighted_accuracy_anger"] == pytest.approx(weighted_accuracy)
    # Disgust never occurs and is never predicted: scikit-learn's report averages over class 0 only, giving 1.
    assert results["f1_disgust"] == 1.0
    assert results["mean_f1"] == pytest.approx((f1 + 5.0) / 6)


def test_neutral_at_six_sevenths_silences_every_emotion():
    at_threshold = _distribution(neutral=6 / 7, anger=1 / 7)  # anger ≥ 1/7, but neutral wins
    below = _distribution(neutral=0.85, anger=0.15)
    weak = _distribution(neutral=0.5, anger=0.14, happiness=0.36)  # anger under 1/7
    binary = binarize_emotion_probabilities(np.array([at_threshold, below, weak]))
    assert binary.shape == (3, 6)
    assert binary[0].tolist() == [0, 0, 0, 0, 0, 0]
    assert binary[1].tolist() == [1, 0, 0, 0, 0, 0]
    assert binary[2].tolist() == [0, 0, 0, 1, 0, 0]


def test_an_emotion_predicted_but_never_present_scores_below_one():
    targets = np.array([_distribution(neutral=1.0)] * 4)
    probabilities = np.array([_distribution(fear=1.0)] + [_distribution(neutral=1.0)] * 3)
    results = emotion_metrics(probabilities, targets)
    # Classes {0, 1} occur: class 0 recall 3/4, class 1 recall undefined → 0.
    assert results["weighted_accuracy_fear"] == pytest.approx((0.75 + 0.0) / 2)
    assert results["f1_fear"] == pytest.approx((2 * 3 / (6 + 1) + 0.0) / 2)


def test_logits_and_probabilities_give_the_same_metrics_and_are_not_confused():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((20, 7)) * 3
    targets = rng.dirichlet(np.ones(7), size=20)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    from_logits = emotion_metrics_from_logits(logits, targets)
    from_probabilities = emotion_metrics(probabilities, targets)
    assert from_logits.keys() == from_probabilities.keys()
    for key in from_logits:
        assert from_logits[key] == pytest.approx(from_probabilities[key], abs=1e-9)
    with pytest.raises(ValueError, match="for logits use emotion_metrics_from_logits"):
        emotion_metrics(logits, targets)


def test_kl_divergence_by_hand():
    targets = np.array([_distribution(anger=1.0), _distribution(happiness=0.5, sadness=0.5)])
    predictions = np.array([_distribution(anger=0.5, fear=0.5), _distribution(happiness=0.5, sadness=0.5)])
    results = emotion_metrics(predictions, targets)
    assert results["kl_divergence"] == pytest.approx((np.log(2) + 0.0) / 2)


def test_results_are_flat_json_ready_python_floats():
    results = emotion_metrics(_presence_probabilities(TARGETS), TARGETS)
    expected = {"mean_f1", "mean_weighted_accuracy", "kl_divergence"}
    expected |= {f"{m}_{n}" for m in ("f1", "weighted_accuracy") for n in EMOTIONS}
    assert set(results) == expected
    assert all(type(value) is float for value in results.values())
    json.dumps(results)
    trait_results = trait_metrics(np.full((3, 5), 0.5), np.full((3, 5), 0.4))
    assert all(type(value) is float for value in trait_results.values())
    assert set(trait_results) == {f"{m}_{n}" for m in ("accuracy", "ccc", "mse") for n in TRAIT_LABELS} | {
        "mean_accuracy", "mean_ccc", "mean_mse"
    }
    json.dumps(trait_results)


def test_ccc_identical_shifted_and_by_hand():
    values = np.array([0.2, 0.4, 0.5, 0.9])
    assert concordance_correlation(values, values) == pytest.approx(1.0)
    assert concordance_correlation(values + 0.1, values) < 1.0
    # t = [0, 1], p = [0, 0.5]: cov 0.125, var_t 0.25, var_p 0.0625, (mean diff)² 0.0625 → 0.25 / 0.375.
    assert concordance_correlation(np.array([0.0, 0.5]), np.array([0.0, 1.0])) == pytest.approx(2 / 3)


def test_trait_metrics_by_hand():
    targets = np.array([[0.2, 0.4, 0.6, 0.8, 0.5], [0.4, 0.6, 0.2, 0.0, 1.0], [0.6, 0.1, 0.3, 0.5, 0.7]])
    perfect = trait_metrics(targets, targets)
    assert perfect["mean_accuracy"] == 1.0 and perfect["mean_mse"] == 0.0
    assert perfect["mean_ccc"] == pytest.approx(1.0)
    shifted = trait_metrics(targets + 0.1, targets)
    assert shifted["mean_accuracy"] == pytest.approx(0.9)
    assert shifted["mse_openness"] == pytest.approx(0.01)
    assert shifted["ccc_openness"] < 1.0


def test_trivial_baselines_are_beaten_by_a_good_model():
    rng = np.random.default_rng(1)
    train_traits, test_traits = rng.uniform(0.2, 0.8, (50, 5)), rng.uniform(0.2, 0.8, (30, 5))
    mean_prediction = trait_mean_baseline(train_traits, len(test_traits))
    assert mean_prediction.shape == (30, 5) and np.allclose(mean_prediction, train_traits.mean(axis=0))
    baseline = trait_metrics(mean_prediction, test_traits)
    assert baseline["mean_ccc"] == pytest.approx(0.0, abs=1e-12)  # a constant prediction has no concordance
    good = trait_metrics(test_traits + rng.normal(0, 0.02, test_traits.shape), test_traits)
    assert good["mean_accuracy"] > baseline["mean_accuracy"] and good["mean_ccc"] > 0.9

    prior = emotion_prior_baseline(TARGETS, len(TARGETS))
    assert prior.shape == (5, 7) and np.allclose(prior.sum(axis=1), 1.0)
    assert np.allclose(prior[0], TARGETS.mean(axis=0))
    prior_results = emotion_metrics(prior, TARGETS)
    perfect = emotion_metrics(_presence_probabilities(TARGETS), TARGETS)
    assert prior_results["mean_weighted_accuracy"] < perfect["mean_weighted_accuracy"]


@pytest.mark.parametrize(
    "predictions, targets, message",
    [
        (np.zeros((3, 6)), np.zeros((3, 7)), "shape \\(N, 7\\)"),
        (np.zeros((0, 7)), np.zeros((0, 7)), "N ≥ 1"),
        (np.full((2, 7), 1 / 7), np.full((3, 7), 1 / 7), "2 predictions but 3 targets"),
        (np.full((2, 7), np.nan), np.full((2, 7), 1 / 7), "NaN"),
    ],
)
def test_bad_shapes_are_refused(predictions, targets, message):
    with pytest.raises(ValueError, match=message):
        emotion_metrics_from_logits(predictions, targets)
