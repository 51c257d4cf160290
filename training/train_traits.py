"""Train the trait transformer: five OCEAN scores of a clip from its EmoNeXt face embeddings (First Impressions V2).

Loss: mean squared error. Metrics per trait and mean: accuracy as 1 − MAE (the ChaLearn metric), the concordance
correlation coefficient (CCC) and the MSE. The best epoch is chosen on the validation split by `mean_ccc` (or
`--metric_for_best_model mean_accuracy`), and the final numbers come from the test split. The defaults are the
original's recipe: Adam, learning rate 1e-5, batch 512, 100 epochs (plus early stopping, which it lacked).

Examples:

    accelerate launch training/train_traits.py --dataset data/fiv2_table --output_dir runs/fiv2-traits

    accelerate launch --multi_gpu --num_processes 4 training/train_traits.py --dataset org/fiv2-emonext \\
        --output_dir runs/fiv2-traits --push_to_hub --hub_model_id org/fiv2-trait-transformer

    accelerate launch training/train_traits.py --dataset data/fiv2_table --output_dir runs/fiv2-traits \\
        --resume_from_checkpoint latest      # after the run was killed
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from modeling import TraitTransformerModel
from training.cli import ArgumentParser
from training.sequence_training import SequenceTask, add_model_options, train_sequence_model
from training.trainer_metrics import (
    TRAIT_SELECTION_METRIC,
    TRAIT_SELECTION_METRICS,
    compute_trait_metrics,
)
from training.trainer_setup import add_training_options, run_trainer

HUB_CONFIGS = Path(__file__).resolve().parent.parent / "hub_configs"
DEFAULT_CONFIG = str(HUB_CONFIGS / "fiv2-trait-transformer")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="train_traits.py",
        description="Train the trait transformer (openness, conscientiousness, extraversion, agreeableness, "
                    "neuroticism; MSE loss) on a First Impressions V2 training table of face embeddings.",
        epilog="Examples:" + __doc__.split("Examples:", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_options(parser, DEFAULT_CONFIG)
    parser.add_argument("--metric_for_best_model", choices=TRAIT_SELECTION_METRICS, default=TRAIT_SELECTION_METRIC,
                        help="Validation metric that picks the best epoch (default: %(default)s).")
    add_training_options(parser, num_train_epochs=100, learning_rate=1e-5, batch_size=512, early_stopping_patience=15)
    return parser


def make_task(args: argparse.Namespace) -> SequenceTask:
    """What this trainer trains: the table column, model, metrics and selection metric."""
    return SequenceTask(
        target="traits",
        model_class=TraitTransformerModel,
        compute_metrics=compute_trait_metrics,
        hub_repo="fiv2-trait-transformer",
        selection_metric=args.metric_for_best_model,
    )


def train(args: argparse.Namespace) -> dict:
    """Runs the whole training; returns what it wrote to eval_results.json."""
    return train_sequence_model(args, make_task(args))


def main(argv: list[str] | None = None) -> int:
    return run_trainer("train_traits.py", build_parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
