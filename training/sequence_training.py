"""The training run shared by the emotion and trait transformers: one table, one model, one `Trainer`.

`train_emotion.py` and `train_traits.py` each describe their task (`SequenceTask`: the table's target column, the
model class, the metrics, any change to the config) and hand it to `train_sequence_model`, which loads and checks the
table, builds the model to the table's (T, D), trains with evaluation and a checkpoint every epoch, and ends the run
with `finish_run`: validation and test metrics beside the trivial baseline's, on the whole test split and on the
clips the original kept (`test_original_population`).

Recipes (`--recipe`): `improved` (default) picks the best validation epoch, stops early, clips gradients at 1.0 and
uses bf16 where the GPU has it; `original` trains the fixed number of epochs and keeps the last (the original scored
its last epoch), without early stopping, without gradient clipping, in fp32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from datasets import Dataset, DatasetDict
from transformers import PreTrainedConfig, PreTrainedModel, set_seed

from training.sequence_inputs import model_inputs, original_population, stack_rows, table_shape
from training.tables import load_training_table, table_provenance
from training.trainer_args import ProjectTrainingArguments
from training.trainer_metrics import baseline_metrics
from training.trainer_setup import (
    ProjectTrainer,
    Section,
    TrainerRun,
    clean_metrics,
    early_stopping,
    finish_run,
    is_main_process,
    load_config,
    prepare_output_dir,
)

SECTIONS = ("validation", "test", "test_original_population")


def sequence_recipe(
    recipe: str, num_train_epochs: int, learning_rate: float, batch_size: int, selection_metric: str
) -> dict:
    """The defaults of a face-sequence task for a recipe (see the module docstring)."""
    defaults = dict(
        metric_for_best_model=selection_metric,
        num_train_epochs=num_train_epochs,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        lr_scheduler_type="constant",
        weight_decay=0.0,  # the original's Adam
    )
    if recipe == "original":
        defaults.update(load_best_model_at_end=False, early_stopping_patience=0, max_grad_norm=0.0, bf16=False)
    return defaults


def architecture_field(default: str = ""):
    """The `model_config` option: each task's dataclass names its own production architecture as the default."""
    help_text = "Architecture: a folder with config.json, a JSON file or a Hub id. embedding_dim and max_frames are "
    return field(default=default, metadata={"help": help_text + "taken from the table."})


@dataclass
class SequenceArguments:
    """The table and the architecture of a face-sequence model."""

    dataset: str = field(metadata={"help": "Training table: a DatasetDict folder (save_to_disk) or a Hub dataset id."})
    model_config: str = architecture_field()
    num_hidden_layers: int | None = field(default=None, metadata={"help": "Override the number of encoder layers."})
    hidden_dropout_prob: float | None = field(default=None, metadata={"help": "Override the dropout."})


@dataclass
class SequenceTask:
    """What differs between the emotion and the trait trainer."""

    target: str  # the table's label column: "emotions" or "traits"
    model_class: type[PreTrainedModel]
    compute_metrics: Callable
    selection_metric: str
    hub_repo: str  # the hub_configs/ repo it is published as
    configure: Callable[[PreTrainedConfig, DatasetDict, SequenceArguments], dict] = field(default=lambda *_: {})


def fit_config_to_table(config: PreTrainedConfig, table: DatasetDict, args: SequenceArguments) -> None:
    """Sizes the model to the table's (T, D) and applies the architecture overrides."""
    num_frames, dim = table_shape(table)
    if (config.embedding_dim, config.max_frames) != (dim, num_frames) and is_main_process():
        print(f"note: the table holds {num_frames} frames of {dim}-d embeddings; the model is built for them "
              f"(--model_config says {config.max_frames} frames of {config.embedding_dim}).")
    config.embedding_dim, config.max_frames = dim, num_frames
    for name in ("num_hidden_layers", "hidden_dropout_prob"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))


def label_matrix(table: DatasetDict | Dataset, split: str | None, target: str) -> np.ndarray:
    """A split's targets as an (N, labels) float64 array (`split` None: `table` is the split)."""
    rows = table if split is None else table[split]
    return np.asarray(rows.with_format("numpy")[target][:], dtype=np.float64)


def section_rows(table: DatasetDict, section: str) -> Dataset | None:
    """The rows a section reports on: a split, or the test clips the original kept; None when absent."""
    if section == "test_original_population":
        return original_population(table["test"]) if "test" in table else None
    return table[section] if section in table else None


def build_trainer(
    args: SequenceArguments, training_args: ProjectTrainingArguments, task: SequenceTask
) -> TrainerRun:
    """Loads the table and builds model and Trainer."""
    resume = prepare_output_dir(training_args)
    training_args.label_names = ["labels"]
    with training_args.main_process_first(desc="loading the training table"):
        table = load_training_table(args.dataset, task.target)
    config = load_config(args.model_config, task.model_class.config_class, "--model_config")
    fit_config_to_table(config, table, args)
    run_info = task.configure(config, table, args)
    set_seed(training_args.seed)
    model = task.model_class(config)
    validation_inputs = model_inputs(table["validation"], task.target)
    trainer = ProjectTrainer(
        model=model,
        args=training_args,
        train_dataset=model_inputs(table["train"], task.target),
        eval_dataset=validation_inputs,
        data_collator=stack_rows,
        compute_metrics=task.compute_metrics,
        callbacks=early_stopping(training_args),
    )
    trainer.inference_ignore_keys = ("pooler_output", "last_hidden_state")
    train_targets = label_matrix(table, "train", task.target)

    def evaluate(section: str) -> Section | None:
        rows = section_rows(table, section)
        if rows is None:
            return None
        if len(rows) == 0:
            return Section(None, None, 0)
        inputs = validation_inputs if section == "validation" else model_inputs(rows, task.target)
        metrics = clean_metrics(trainer.evaluate(inputs, metric_key_prefix=section), section)
        baseline = baseline_metrics(task.target, train_targets, label_matrix(rows, None, task.target))
        return Section(metrics, baseline, len(rows))

    info = {
        "dataset": str(args.dataset),
        "model_config": str(args.model_config),
        "rows": {split: len(table[split]) for split in table},
        "frames_and_dim": list(table_shape(table)),
        "table": table_provenance(table),  # the embeddings' precision and embedder fingerprint
        **run_info,
    }
    return TrainerRun(trainer, resume, task.hub_repo, SECTIONS, evaluate, info)


def train_sequence_model(args: SequenceArguments, training_args: ProjectTrainingArguments, task: SequenceTask) -> dict:
    """Trains, saves the model and writes eval_results.json; returns the results."""
    run = build_trainer(args, training_args, task)
    run.trainer.train(resume_from_checkpoint=run.resume)
    return finish_run(run)
