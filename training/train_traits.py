"""Train the trait transformer: five OCEAN scores of a clip from its EmoNeXt face embeddings (First Impressions V2).

Loss: mean squared error. Metrics per trait and mean: accuracy as 1 − MAE (the ChaLearn metric), the concordance
correlation coefficient (CCC) and the MSE. The best epoch is chosen on the validation split by `mean_ccc` (or
`--metric_for_best_model mean_accuracy`), and the final numbers come from the test split. The defaults are the
original's: Adam, learning rate 1e-5, batch 512, 100 epochs, plus early stopping, which it lacked.
`--recipe original` reproduces the original exactly: all 100 epochs with the last one scored, no gradient
clipping, fp32. Every `TrainingArguments` option works, and a JSON or YAML config file (`train_traits.py run.yaml`).

Examples:

    accelerate launch training/train_traits.py --dataset data/fiv2_table --output_dir runs/fiv2-traits

    accelerate launch --multi_gpu --num_processes 4 training/train_traits.py --dataset org/fiv2-emonext \\
        --output_dir runs/fiv2-traits --push_to_hub --hub_model_id org/fiv2-trait-transformer

    accelerate launch training/train_traits.py --dataset data/fiv2_table --output_dir runs/fiv2-traits \\
        --resume_from_checkpoint latest      # after the run was killed
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from modeling import TraitTransformerModel
from training.sequence_training import (
    SequenceArguments,
    SequenceTask,
    architecture_field,
    sequence_recipe,
    train_sequence_model,
)
from training.trainer_args import ProjectTrainingArguments, parse_arguments
from training.trainer_metrics import (
    TRAIT_SELECTION_METRIC,
    TRAIT_SELECTION_METRICS,
    compute_trait_metrics,
)
from training.trainer_setup import TrainingInputError, run_trainer

HUB_CONFIGS = Path(__file__).resolve().parent.parent / "hub_configs"
DEFAULT_CONFIG = str(HUB_CONFIGS / "fiv2-trait-transformer")


@dataclass
class TraitArguments(SequenceArguments):
    """The table and the architecture of the trait transformer."""

    model_config: str = architecture_field(DEFAULT_CONFIG)


def recipe_defaults(recipe: str) -> dict:
    """This task's defaults for `--recipe`."""
    return sequence_recipe(recipe, 100, 1e-5, 512, TRAIT_SELECTION_METRIC)


def parse(argv: list[str] | None = None) -> tuple[TraitArguments, ProjectTrainingArguments]:
    """The options, from the command line and/or a config file."""
    return parse_arguments(
        (TraitArguments, ProjectTrainingArguments),
        argv,
        recipe_defaults,
        prog="train_traits.py",
        description="Train the trait transformer (openness, conscientiousness, extraversion, agreeableness, "
                    "neuroticism; MSE loss) on a First Impressions V2 training table of face embeddings.",
        epilog="Examples:" + __doc__.split("Examples:", 1)[1],
    )


def make_task(training_args: ProjectTrainingArguments) -> SequenceTask:
    """What this trainer trains: the table column, model, metrics and selection metric."""
    if training_args.metric_for_best_model not in TRAIT_SELECTION_METRICS:
        raise TrainingInputError(
            f"--metric_for_best_model {training_args.metric_for_best_model}: choose one of "
            f"{', '.join(TRAIT_SELECTION_METRICS)}."
        )
    return SequenceTask(
        target="traits",
        model_class=TraitTransformerModel,
        compute_metrics=compute_trait_metrics,
        hub_repo="fiv2-trait-transformer",
        selection_metric=training_args.metric_for_best_model,
    )


def train(args: TraitArguments, training_args: ProjectTrainingArguments) -> dict:
    """Runs the whole training; returns what it wrote to eval_results.json."""
    return train_sequence_model(args, training_args, make_task(training_args))


def main(argv: list[str] | None = None) -> int:
    return run_trainer("train_traits.py", parse, train, argv)


if __name__ == "__main__":
    sys.exit(main())
