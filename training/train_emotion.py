"""Train the emotion transformer: a clip's 7-emotion distribution from its EmoNeXt face embeddings (CMU-MOSEI).

Loss: class-weighted KL divergence between the target distribution and the model's softmax. Metrics as the original
reported them: predictions are binarised (no emotion when p[neutral] ≥ 6/7, else emotion k when p_k ≥ 1/7) and each
of the six emotions gets a binary macro F1 and a weighted accuracy; their means (`mean_f1`,
`mean_weighted_accuracy`), the per-emotion numbers and the KL divergence are reported. The best epoch is chosen on
the validation split by `mean_weighted_accuracy`; the final numbers come from the test split. The defaults are the
original's recipe: Adam, learning rate 3e-4, batch 2048, 120 epochs (plus early stopping, which it lacked).

Class weights (`--class_weights`, stored in the saved config's `class_weights`):

* `auto` (default): inverse presence frequency, normalised to mean 1. With f_j the share of training clips in which
  emotion j is present (target > 0), w_j = (1 / f_j) / mean_k(1 / f_k). On CMU-MOSEI's rates (neutral 14.5 %,
  anger 11.7, disgust 8.2, fear 3.5, happiness 43.4, sadness 15.1, surprise 3.6 %) this gives about
  0.52, 0.64, 0.92, 2.15, 0.17, 0.50, 2.09: like the original's hand-set [3, 10, 13, 20, 2, 15, 18], fear and
  surprise weigh most and happiness least.
  An emotion absent from the training split gets the largest of the other weights (its loss terms are 0 anyway).
* `config`: the weights in `--model_config` (the Hub config carries the original's).
* `uniform`: every emotion 1.
* seven comma-separated numbers, in the order neutral, anger, disgust, fear, happiness, sadness, surprise.

Examples:

    accelerate launch training/train_emotion.py --dataset data/mosei_table --output_dir runs/mosei-emotions

    accelerate launch training/train_emotion.py --dataset org/mosei-emonext --output_dir runs/mosei-emotions \\
        --class_weights config --push_to_hub --hub_model_id org/mosei-emotion-transformer
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from datasets import DatasetDict

from modeling import EMOTION_LABELS, EmotionTransformerConfig, EmotionTransformerModel
from training.cli import ArgumentParser
from training.sequence_training import SequenceTask, add_model_options, label_matrix, train_sequence_model
from training.trainer_metrics import EMOTION_SELECTION_METRIC, compute_emotion_metrics
from training.trainer_setup import (
    TrainingInputError,
    add_training_options,
    run_trainer,
)

HUB_CONFIGS = Path(__file__).resolve().parent.parent / "hub_configs"
DEFAULT_CONFIG = str(HUB_CONFIGS / "mosei-emotion-transformer")


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


def parse_class_weights(value: str) -> str | list[float]:
    """argparse type of --class_weights: a mode name or seven numbers."""
    if value in ("auto", "config", "uniform"):
        return value
    try:
        weights = [float(part) for part in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not auto, config, uniform or seven numbers") from None
    if len(weights) != len(EMOTION_LABELS) or min(weights) < 0:
        raise argparse.ArgumentTypeError(
            f"give {len(EMOTION_LABELS)} non-negative weights ({', '.join(EMOTION_LABELS)})"
        )
    return weights


def choose_class_weights(config: EmotionTransformerConfig, table: DatasetDict, args: argparse.Namespace) -> dict:
    """Sets `config.class_weights` as --class_weights asks; returns the run info to record."""
    choice = args.class_weights
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
    return {"class_weights": {"mode": choice if isinstance(choice, str) else "given", "weights": config.class_weights}}


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="train_emotion.py",
        description="Train the emotion transformer (7-emotion distribution, class-weighted KL loss) on a CMU-MOSEI "
                    "training table of face embeddings.",
        epilog=__doc__[__doc__.index("Class weights"):],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_options(parser, DEFAULT_CONFIG)
    parser.add_argument("--class_weights", type=parse_class_weights, default="auto", metavar="auto|config|uniform|W,..",
                        help="Weights of the KL loss per emotion (default: auto, from the training split; see below).")
    add_training_options(parser, num_train_epochs=120, learning_rate=3e-4, batch_size=2048, early_stopping_patience=15)
    return parser


def make_task(args: argparse.Namespace) -> SequenceTask:
    """What this trainer trains: the table column, model, metrics and selection metric."""
    return SequenceTask(
        target="emotions",
        model_class=EmotionTransformerModel,
        compute_metrics=compute_emotion_metrics,
        hub_repo="mosei-emotion-transformer",
        selection_metric=EMOTION_SELECTION_METRIC,
        configure=choose_class_weights,
    )


def train(args: argparse.Namespace) -> dict:
    """Runs the whole training; returns what it wrote to eval_results.json."""
    return train_sequence_model(args, make_task(args))


def main(argv: list[str] | None = None) -> int:
    return run_trainer("train_emotion.py", build_parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
