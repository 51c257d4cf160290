"""The metrics the trainers report and select on, wired to `training/metrics.py` for the Hugging Face `Trainer`.

Selection metrics (validation split, higher is better):

* emotions: `mean_weighted_accuracy`, the original's mUAR / mWACC over the six emotions;
* traits: `mean_ccc`. The ChaLearn metric 1 − MAE (`mean_accuracy`) is reported too, but it is nearly flat: a model
  that predicts the training mean for every clip already scores about 0.88 on First Impressions V2, so epochs differ
  in the third decimal. The concordance correlation is 0 for such a constant and grows only when the predictions
  follow the targets, so it separates checkpoints better;
* fusion: `combined_score`, the mean of the two.
"""

from __future__ import annotations

import numpy as np
from transformers import EvalPrediction

from training.metrics import (
    emotion_metrics,
    emotion_metrics_from_logits,
    emotion_prior_baseline,
    trait_mean_baseline,
    trait_metrics,
)

EMOTION_SELECTION_METRIC = "mean_weighted_accuracy"
TRAIT_SELECTION_METRICS = ("mean_ccc", "mean_accuracy")
TRAIT_SELECTION_METRIC = "mean_ccc"
COMBINED_METRIC = "combined_score"


def _first(array_or_tuple):
    return array_or_tuple[0] if isinstance(array_or_tuple, (tuple, list)) else array_or_tuple


def compute_emotion_metrics(prediction: EvalPrediction) -> dict[str, float]:
    """Trainer hook: emotion logits and target distributions -> mean F1, mean weighted accuracy, per emotion, KL."""
    return emotion_metrics_from_logits(_first(prediction.predictions), _first(prediction.label_ids))


def compute_trait_metrics(prediction: EvalPrediction) -> dict[str, float]:
    """Trainer hook: trait scores and targets -> 1 − MAE accuracy, CCC and MSE, per trait and mean."""
    return trait_metrics(_first(prediction.predictions), _first(prediction.label_ids))


def combined_score(emotion_results: dict[str, float], trait_results: dict[str, float], trait_metric: str) -> float:
    """The fusion model's selection score: mean of the emotion and trait selection metrics."""
    return 0.5 * (emotion_results[EMOTION_SELECTION_METRIC] + trait_results[trait_metric])


def baseline_metrics(target: str, train_targets: np.ndarray, eval_targets: np.ndarray) -> dict[str, float]:
    """The scores of the trivial predictor a model must beat: the training class prior (emotions) or mean (traits)."""
    if target == "emotions":
        return emotion_metrics(emotion_prior_baseline(train_targets, len(eval_targets)), eval_targets)
    return trait_metrics(trait_mean_baseline(train_targets, len(eval_targets)), eval_targets)
