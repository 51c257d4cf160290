"""The training run shared by the emotion and trait transformers: one table, one model, one `Trainer`.

`train_emotion.py` and `train_traits.py` each describe their task (`SequenceTask`: the table's target column, the
model class, the metrics, any change to the config) and hand it to `train_sequence_model`, which loads and checks the
table, builds the model to the table's (T, D), trains with evaluation and a checkpoint every epoch, reloads the best
checkpoint, saves it to `--output_dir`, and writes validation and test metrics (beside the trivial baseline's) to
`eval_results.json`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datasets import DatasetDict
from transformers import EarlyStoppingCallback, PreTrainedConfig, PreTrainedModel, set_seed

from training.sequence_inputs import model_inputs, stack_rows, table_shape
from training.tables import load_training_table
from training.trainer_metrics import baseline_metrics
from training.trainer_setup import (
    ProjectTrainer,
    clean_metrics,
    early_stopping,
    is_main_process,
    load_config,
    prepare_output_dir,
    push_to_hub,
    run_summary,
    save_best_model,
    training_arguments,
    write_eval_results,
)


@dataclass
class SequenceTask:
    """What differs between the emotion and the trait trainer."""

    target: str  # the table's label column: "emotions" or "traits"
    model_class: type[PreTrainedModel]
    compute_metrics: Callable
    selection_metric: str
    hub_repo: str  # the hub_configs/ repo it is published as
    configure: Callable[[PreTrainedConfig, DatasetDict, argparse.Namespace], dict] = field(default=lambda *_: {})


def add_model_options(parser: argparse.ArgumentParser, default_config: str) -> None:
    """--dataset, --model_config and the architecture overrides."""
    parser.add_argument("--dataset", required=True, metavar="PATH|ID",
                        help="Training table: a DatasetDict folder (save_to_disk) or a Hub dataset id.")
    model = parser.add_argument_group("model")
    model.add_argument("--model_config", default=default_config, metavar="PATH|ID",
                       help="Architecture: a folder with config.json, a JSON file or a Hub id (default: %(default)s). "
                            "embedding_dim and max_frames are taken from the table.")
    model.add_argument("--num_hidden_layers", type=int, help="Override the number of encoder layers.")
    model.add_argument("--hidden_dropout_prob", type=float, help="Override the dropout.")


def fit_config_to_table(config: PreTrainedConfig, table: DatasetDict, args: argparse.Namespace) -> None:
    """Sizes the model to the table's (T, D) and applies the architecture overrides."""
    num_frames, dim = table_shape(table)
    if (config.embedding_dim, config.max_frames) != (dim, num_frames) and is_main_process():
        print(f"note: the table holds {num_frames} frames of {dim}-d embeddings; the model is built for them "
              f"(--model_config says {config.max_frames} frames of {config.embedding_dim}).")
    config.embedding_dim, config.max_frames = dim, num_frames
    for name in ("num_hidden_layers", "hidden_dropout_prob"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))


def label_matrix(table: DatasetDict, split: str, target: str) -> np.ndarray:
    """A split's targets as an (N, labels) float64 array."""
    return np.asarray(table[split].with_format("numpy")[target][:], dtype=np.float64)


def build_trainer(args: argparse.Namespace, task: SequenceTask) -> tuple[ProjectTrainer, DatasetDict, str | None, dict]:
    """Loads the table and builds model and Trainer. Returns (trainer, table, checkpoint to resume, run info)."""
    resume = prepare_output_dir(args)
    training_args = training_arguments(args, metric_for_best_model=task.selection_metric, label_names=["labels"])
    with training_args.main_process_first(desc="loading the training table"):
        table = load_training_table(args.dataset, task.target)
    config = load_config(args.model_config, task.model_class.config_class, "--model_config")
    fit_config_to_table(config, table, args)
    run_info = task.configure(config, table, args)
    set_seed(args.seed)
    model = task.model_class(config)
    inputs = {split: model_inputs(table[split], task.target) for split in table}
    trainer = ProjectTrainer(
        model=model,
        args=training_args,
        train_dataset=inputs["train"],
        eval_dataset=inputs["validation"],
        data_collator=stack_rows,
        compute_metrics=task.compute_metrics,
        callbacks=early_stopping(args),
    )
    trainer.inference_ignore_keys = ("pooler_output", "last_hidden_state")
    run_info = {
        "dataset": str(args.dataset),
        "model_config": str(args.model_config),
        "rows": {split: len(table[split]) for split in table},
        "frames_and_dim": list(table_shape(table)),
        **run_info,
    }
    return trainer, table, resume, run_info


def train_sequence_model(args: argparse.Namespace, task: SequenceTask) -> dict:
    """Trains, saves the best model and writes eval_results.json; returns the results."""
    trainer, table, resume, run_info = build_trainer(args, task)
    trainer.train(resume_from_checkpoint=resume)
    trainer.remove_callback(EarlyStoppingCallback)  # the final evaluations below are not epochs to stop on
    save_best_model(trainer, Path(args.output_dir))  # the best checkpoint, reloaded by load_best_model_at_end

    train_targets = label_matrix(table, "train", task.target)
    results: dict = {}
    for split in ("validation", "test"):
        if split not in table:
            results[split] = None
            continue
        inputs = trainer.eval_dataset if split == "validation" else model_inputs(table[split], task.target)
        metrics = trainer.evaluate(inputs, metric_key_prefix=split)
        results[split] = clean_metrics(metrics, split)
        results.setdefault("baseline", {})[split] = baseline_metrics(
            task.target, train_targets, label_matrix(table, split, task.target)
        )
    results["run"] = {**run_summary(trainer), **run_info}
    write_eval_results(trainer, Path(args.output_dir), results)
    push_to_hub(trainer, args, task.hub_repo)
    return results
