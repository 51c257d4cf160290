"""Train the emotion transformer: a clip's 7-emotion distribution from its EmoNeXt face embeddings (CMU-MOSEI).

Loss: class-weighted KL divergence between the target distribution and the model's softmax. Metrics as the original
reported them: predictions are binarised (no emotion when p[neutral] ≥ 6/7, else emotion k when p_k ≥ 1/7) and each
of the six emotions gets a binary macro F1 and a weighted accuracy; their means (`mean_f1`,
`mean_weighted_accuracy`), the per-emotion numbers and the KL divergence are reported. The best epoch is chosen on
the validation split by `mean_weighted_accuracy`; the final numbers come from the test split. The defaults are the
original's: Adam, learning rate 3e-4, batch 2048, 120 epochs, plus early stopping, which it lacked.
`--recipe original` reproduces the original exactly: its class weights [3, 10, 13, 20, 2, 15, 18], all 120 epochs
with the last one scored, no gradient clipping, fp32. Every `TrainingArguments` option works, and a JSON or YAML
config file (`train_emotion.py run.yaml`).

Class weights (`--class_weights`, stored in the saved config's `class_weights`):

* `auto` (default): inverse presence frequency, normalised to mean 1. With f_j the share of training clips in which
  emotion j is present (target > 0), w_j = (1 / f_j) / mean_k(1 / f_k). On CMU-MOSEI's rates (neutral 14.5 %,
  anger 11.7, disgust 8.2, fear 3.5, happiness 43.4, sadness 15.1, surprise 3.6 %) this gives about
  0.52, 0.64, 0.92, 2.15, 0.17, 0.50, 2.09: like the original's hand-set [3, 10, 13, 20, 2, 15, 18], fear and
  surprise weigh most and happiness least.
  An emotion absent from the training split gets the largest of the other weights (its loss terms are 0 anyway).
* `config`: the weights in `--model_config`.
* `original`: the original's hand-set [3, 10, 13, 20, 2, 15, 18] (the default of `--recipe original`).
* `uniform`: every emotion 1.
* seven comma-separated numbers, in the order neutral, anger, disgust, fear, happiness, sadness, surprise.

Examples:

    accelerate launch training/train_emotion.py --dataset data/mosei_table --output_dir runs/mosei-emotions

    accelerate launch training/train_emotion.py --dataset org/mosei-emonext --output_dir runs/mosei-emotions \\
        --class_weights config --push_to_hub --hub_model_id org/mosei-emotion-transformer

    accelerate launch training/train_emotion.py --dataset data/mosei_table --output_dir runs/mosei-original \\
        --recipe original
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datasets import DatasetDict

from modeling import EMOTION_LABELS, EmotionTransformerConfig, EmotionTransformerModel
from training.sequence_training import (
    SequenceArguments,
    SequenceTask,
    architecture_field,
    label_matrix,
    sequence_recipe,
    train_sequence_model,
)
from training.trainer_args import ProjectTrainingArguments, parse_arguments
from training.trainer_metrics import EMOTION_SELECTION_METRIC, compute_emotion_metrics
from training.trainer_setup import TrainingInputError, run_trainer

HUB_CONFIGS = Path(__file__).resolve().parent.parent / "hub_configs"
DEFAULT_CONFIG = str(HUB_CONFIGS / "mosei-emotion-transformer")
# The original's hand-set weights, in EMOTION_LABELS order.
ORIGINAL_CLASS_WEIGHTS = (3.0, 10.0, 13.0, 20.0, 2.0, 15.0, 18.0)


@dataclass
class EmotionArguments(SequenceArguments):
    """The table, the architecture and the class weights of the emotion transformer."""

    model_config: str = architecture_field(DEFAULT_CONFIG)
    class_weights: str = field(
        default="auto",
        metadata={"help": "Weights of the KL loss per emotion: auto (from the training split), config, uniform, "
                          "original, or seven comma-separated numbers (see below)."},
    )


def recipe_defaults(recipe: str) -> dict:
    """This task's defaults for `--recipe`."""
    defaults = sequence_recipe(recipe, 120, 3e-4, 2048, EMOTION_SELECTION_METRIC)
    if recipe == "original":
        defaults["class_weights"] = "original"
    return defaults


def class_weights_from_frequencies(targets: np.ndarray) -> list[float]:
    """Inverse presence frequency of each emotion, normalised to mean 1 (see the module docstring).

    Args:
        targets: (N, 7) training target distributions.

    Returns:
        Seven weights in `EMOTION_LABELS` order.
    """
    presence = (np.asarray(targets) > 0).mean(axis=0)
    inverse = np.zeros_like(presence)
    inverse[presence > 0] = 1.0 / presence[presence > 0]
    if (presence == 0).any():
        inverse[presence == 0] = inverse.max() if inverse.any() else 1.0
    return [round(float(weight), 6) for weight in inverse / inverse.mean()]


def parse_class_weights(value: str | list) -> str | list[float]:
    """--class_weights: a mode name or seven numbers.

    Raises:
        TrainingInputError: Neither.
    """
    if isinstance(value, str) and value in ("auto", "config", "uniform"):
        return value
    if value == "original":
        return list(ORIGINAL_CLASS_WEIGHTS)
    try:
        weights = [float(part) for part in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        raise TrainingInputError(
            f"--class_weights {value!r} is not auto, config, uniform, original or seven numbers."
        ) from None
    if len(weights) != len(EMOTION_LABELS) or min(weights) < 0:
        raise TrainingInputError(
            f"--class_weights: give {len(EMOTION_LABELS)} non-negative weights ({', '.join(EMOTION_LABELS)})."
        )
    return weights


def choose_class_weights(config: EmotionTransformerConfig, table: DatasetDict, args: EmotionArguments) -> dict:
    """Sets `config.class_weights` as --class_weights asks; returns the run info to record."""
    choice = parse_class_weights(args.class_weights)
    if choice == "auto":
        config.class_weights = class_weights_from_frequencies(label_matrix(table, "train", "emotions"))
    elif choice == "uniform":
        config.class_weights = [1.0] * len(EMOTION_LABELS)
    elif choice == "config":
        if config.class_weights is None:
            raise TrainingInputError(
                f"--class_weights config: --model_config {args.model_config} has no class_weights."
            )
    else:
        config.class_weights = list(choice)
    mode = choice if isinstance(choice, str) else "original" if args.class_weights == "original" else "given"
    return {"class_weights": {"mode": mode, "weights": config.class_weights}}


def parse(argv: list[str] | None = None) -> tuple[EmotionArguments, ProjectTrainingArguments]:
    """The options, from the command line and/or a config file."""
    return parse_arguments(
        (EmotionArguments, ProjectTrainingArguments),
        argv,
        recipe_defaults,
        prog="train_emotion.py",
        description="Train the emotion transformer (7-emotion distribution, class-weighted KL loss) on a CMU-MOSEI "
                    "training table of face embeddings.",
        epilog=__doc__[__doc__.index("Class weights"):],
    )


def make_task() -> SequenceTask:
    """What this trainer trains: the table column, model, metrics and selection metric."""
    return SequenceTask(
        target="emotions",
        model_class=EmotionTransformerModel,
        compute_metrics=compute_emotion_metrics,
        hub_repo="mosei-emotion-transformer",
        selection_metric=EMOTION_SELECTION_METRIC,
        configure=choose_class_weights,
    )


def train(args: EmotionArguments, training_args: ProjectTrainingArguments) -> dict:
    """Runs the whole training; returns what it wrote to eval_results.json."""
    return train_sequence_model(args, training_args, make_task())


def main(argv: list[str] | None = None) -> int:
    return run_trainer("train_emotion.py", parse, train, argv)


if __name__ == "__main__":
    sys.exit(main())
