"""Evaluation metrics, computed as the original project did, in NumPy only.

Emotions (CMU-MOSEI): the predicted distribution is binarised (all six emotions absent when p[neutral] ≥ 6/7,
otherwise emotion k present when p_k ≥ 1/7), the target marks an emotion present when its share is > 0, and each of
the six emotions (neutral excluded) gets a binary macro-F1 and a weighted accuracy (TPR + TNR) / 2, which is
scikit-learn's macro-averaged recall. Their means are `mean_f1` and `mean_weighted_accuracy`.

Traits (First Impressions V2): per trait and averaged, `accuracy` = 1 − mean absolute error (the ChaLearn metric),
the concordance correlation coefficient (population form) and the mean squared error.

Every function returns a flat dict of Python floats, ready for `json.dump` and for experiment trackers.
"""

from __future__ import annotations

import numpy as np

from modeling.configuration_face_transformer import EMOTION_LABELS, TRAIT_LABELS

NEUTRAL_THRESHOLD = 6.0 / 7.0
EMOTION_THRESHOLD = 1.0 / 7.0


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) logits, computed stably in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _check_pair(predictions: np.ndarray, targets: np.ndarray, width: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Checks two (N, width) arrays with N ≥ 1 and finite values; returns them as float64."""
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    for name, array in (("predictions", predictions), ("targets", targets)):
        if array.ndim != 2 or array.shape[1] != width or array.shape[0] == 0:
            raise ValueError(f"{what} {name} must have shape (N, {width}) with N ≥ 1, got {array.shape}.")
        if not np.isfinite(array).all():
            raise ValueError(f"{what} {name} contain NaN or infinite values.")
    if predictions.shape[0] != targets.shape[0]:
        raise ValueError(f"{what}: {predictions.shape[0]} predictions but {targets.shape[0]} targets.")
    return predictions, targets


# ---------------------------------------------------------------------------------------------------------------
# Emotions


def binarize_emotion_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """The original's rule for turning a predicted 7-way distribution into six present/absent emotions.

    Args:
        probabilities: (N, 7) probabilities in `EMOTION_LABELS` order.

    Returns:
        (N, 6) int array (anger … surprise): all 0 when p[neutral] ≥ 6/7, else 1 where p_k ≥ 1/7.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    present = (probabilities[:, 1:] >= EMOTION_THRESHOLD).astype(np.int64)
    present[probabilities[:, 0] >= NEUTRAL_THRESHOLD] = 0
    return present


def binary_macro_scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """Macro-F1 and macro-recall of one binary column, as scikit-learn's `classification_report` "macro avg".

    Like scikit-learn, the average runs over the classes that occur in `y_true` or `y_pred` (so an emotion that is
    absent everywhere and never predicted scores 1, not 0.5), and an undefined precision, recall or F1 counts 0
    (`zero_division=0`). Over classes {0, 1} the macro recall is (TPR + TNR) / 2, the "weighted accuracy".

    Args:
        y_true: (N,) 0/1 targets.
        y_pred: (N,) 0/1 predictions.

    Returns:
        (macro F1, macro recall).
    """
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    f1s, recalls = [], []
    for positive in (False, True):
        if not ((y_true == positive).any() or (y_pred == positive).any()):
            continue
        tp = np.sum((y_true == positive) & (y_pred == positive))
        fp = np.sum((y_true != positive) & (y_pred == positive))
        fn = np.sum((y_true == positive) & (y_pred != positive))
        recalls.append(tp / (tp + fn) if tp + fn else 0.0)
        f1s.append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0)
    return float(np.mean(f1s)), float(np.mean(recalls))


def emotion_metrics(probabilities: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Emotion metrics of predicted PROBABILITIES (use `emotion_metrics_from_logits` for model logits).

    Args:
        probabilities: (N, 7) predicted distributions (softmax outputs) in `EMOTION_LABELS` order.
        targets: (N, 7) target distributions in the same order.

    Returns:
        `mean_f1`, `mean_weighted_accuracy`, `kl_divergence` (mean KL(target ‖ prediction), nats), and per emotion
        `f1_<name>` and `weighted_accuracy_<name>` (neutral excluded, as in the original).
    """
    probabilities, targets = _check_pair(probabilities, targets, len(EMOTION_LABELS), "emotion")
    if (probabilities < 0).any() or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("emotion predictions must be probabilities (rows ≥ 0 summing to 1); for logits use "
                         "emotion_metrics_from_logits.")
    log_probabilities = np.log(np.clip(probabilities, 1e-12, None))
    return _emotion_metrics(probabilities, log_probabilities, targets)


def emotion_metrics_from_logits(logits: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Emotion metrics of model LOGITS: applies a softmax, then the same metrics as `emotion_metrics`.

    Args:
        logits: (N, 7) unnormalised scores in `EMOTION_LABELS` order.
        targets: (N, 7) target distributions in the same order.

    Returns:
        The same keys as `emotion_metrics`.
    """
    logits, targets = _check_pair(logits, targets, len(EMOTION_LABELS), "emotion")
    return _emotion_metrics(softmax(logits), _log_softmax(logits), targets)


def _emotion_metrics(probabilities: np.ndarray, log_probabilities: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    predicted = binarize_emotion_probabilities(probabilities)
    present = (targets[:, 1:] > 0).astype(np.int64)
    results: dict[str, float] = {}
    f1s, accuracies = [], []
    for column, name in enumerate(EMOTION_LABELS[1:]):
        f1, weighted_accuracy = binary_macro_scores(present[:, column], predicted[:, column])
        results[f"f1_{name}"] = f1
        results[f"weighted_accuracy_{name}"] = weighted_accuracy
        f1s.append(f1)
        accuracies.append(weighted_accuracy)
    # KL(q ‖ p) = Σ q (log q − log p); terms with q = 0 contribute 0.
    safe_log_targets = np.log(np.where(targets > 0, targets, 1.0))
    kl = np.where(targets > 0, targets * (safe_log_targets - log_probabilities), 0.0).sum(axis=1)
    results["kl_divergence"] = float(kl.mean())
    results["mean_f1"] = float(np.mean(f1s))
    results["mean_weighted_accuracy"] = float(np.mean(accuracies))
    return results


# ---------------------------------------------------------------------------------------------------------------
# Traits


def concordance_correlation(predictions: np.ndarray, targets: np.ndarray) -> float:
    """Lin's concordance correlation coefficient, population form: 2 cov / (var_t + var_p + (mean_t − mean_p)²).

    When both vectors are the same constant the formula is 0/0; that perfect agreement is reported as 1.
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    mean_p, mean_t = predictions.mean(), targets.mean()
    covariance = np.mean((predictions - mean_p) * (targets - mean_t))
    denominator = predictions.var() + targets.var() + (mean_p - mean_t) ** 2
    if denominator == 0.0:
        return 1.0
    return float(2.0 * covariance / denominator)


def trait_metrics(predictions: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Trait metrics of predicted scores (raw regression outputs, no activation applied here).

    Args:
        predictions: (N, 5) predicted scores in `TRAIT_LABELS` order.
        targets: (N, 5) target scores in [0, 1] in the same order.

    Returns:
        `mean_accuracy` (mean of 1 − MAE), `mean_ccc`, `mean_mse`, and per trait `accuracy_<name>`, `ccc_<name>`,
        `mse_<name>`.
    """
    predictions, targets = _check_pair(predictions, targets, len(TRAIT_LABELS), "trait")
    results: dict[str, float] = {}
    for metric in ("accuracy", "ccc", "mse"):
        per_trait = []
        for column, name in enumerate(TRAIT_LABELS):
            p, t = predictions[:, column], targets[:, column]
            if metric == "accuracy":
                value = 1.0 - float(np.mean(np.abs(t - p)))
            elif metric == "ccc":
                value = concordance_correlation(p, t)
            else:
                value = float(np.mean((t - p) ** 2))
            results[f"{metric}_{name}"] = value
            per_trait.append(value)
        results[f"mean_{metric}"] = float(np.mean(per_trait))
    return results


# ---------------------------------------------------------------------------------------------------------------
# Trivial baselines: what a model must beat


def emotion_prior_baseline(train_targets: np.ndarray, num_samples: int) -> np.ndarray:
    """Predicts the training split's mean emotion distribution (the class prior) for every sample.

    Args:
        train_targets: (N_train, 7) training target distributions.
        num_samples: How many predictions to return.

    Returns:
        (num_samples, 7) probabilities, every row the training prior.
    """
    prior = np.asarray(train_targets, dtype=np.float64).mean(axis=0)
    return np.tile(prior / prior.sum(), (num_samples, 1))


def trait_mean_baseline(train_targets: np.ndarray, num_samples: int) -> np.ndarray:
    """Predicts the training split's mean trait scores for every sample.

    Args:
        train_targets: (N_train, 5) training trait scores.
        num_samples: How many predictions to return.

    Returns:
        (num_samples, 5) scores, every row the training mean.
    """
    mean = np.asarray(train_targets, dtype=np.float64).mean(axis=0)
    return np.tile(mean, (num_samples, 1))
