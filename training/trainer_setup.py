"""Plumbing shared by the trainers: options, `TrainingArguments`, checkpoints, loading models, `eval_results.json`.

Every trainer is a Hugging Face `Trainer` run (which runs on Accelerate), so one script works on a CPU, one GPU,
several GPUs or several machines under `accelerate launch`. This module holds what they have in common:

* the options, with the `TrainingArguments` names (`--output_dir`, `--num_train_epochs`, `--learning_rate`, ...);
* `training_arguments`: evaluation and a checkpoint every epoch, the best checkpoint (by the validation metric)
  loaded at the end, TensorBoard logs, bf16 where the GPU has it;
* `prepare_output_dir`: which checkpoint to resume from (`--resume_from_checkpoint latest` = the last complete one);
* model and config loading that turns a missing path into one sentence;
* `write_eval_results` and `push_to_hub`, the end of a run;
* `run_trainer`: bad input ends with one sentence on stderr and exit code 2, not a stack trace (`training/cli.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import datasets
import torch
from transformers import EarlyStoppingCallback, PreTrainedConfig, PreTrainedModel, Trainer, TrainingArguments

from training.cli import HubPushError, UserError, first_line, is_main_process, run_cli

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
EVAL_RESULTS = "eval_results.json"
RESUME_LATEST = ("latest", "last", "true", "True")
# Trainer speed counters: noise in a results file that is meant to be compared across runs.
_SPEED_KEYS = ("runtime", "samples_per_second", "steps_per_second", "epoch", "model_preparation_time")


class TrainingInputError(UserError):
    """A bad option, model path or output folder; the message is one sentence naming what is wrong."""


# ---------------------------------------------------------------------------------------------------------------
# Options


def add_training_options(
    parser: argparse.ArgumentParser,
    *,
    num_train_epochs: float,
    learning_rate: float,
    batch_size: int,
    early_stopping_patience: int,
    weight_decay: float = 0.0,
    lr_scheduler_type: str = "constant",
    warmup_steps: float = 0,
) -> None:
    """Adds the options every trainer shares; the defaults are each task's recipe."""
    run = parser.add_argument_group("run (Hugging Face TrainingArguments names)")
    run.add_argument("--output_dir", required=True, type=Path, metavar="DIR",
                     help=f"Checkpoints, TensorBoard logs (runs/), and at the end the best model and {EVAL_RESULTS}.")
    run.add_argument("--overwrite_output_dir", action="store_true",
                     help="Start over in an --output_dir that holds checkpoints (they are deleted).")
    run.add_argument("--resume_from_checkpoint", metavar="PATH|latest",
                     help="Continue a killed run: a checkpoint-N folder, or 'latest' for the last complete one in "
                          "--output_dir.")
    run.add_argument("--num_train_epochs", type=float, default=num_train_epochs, help="Epochs (default: %(default)s).")
    run.add_argument("--max_steps", type=int, default=-1,
                     help="Stop after this many optimizer steps (overrides epochs).")
    run.add_argument("--learning_rate", type=float, default=learning_rate,
                     help="Peak learning rate (default: %(default)s).")
    run.add_argument("--weight_decay", type=float, default=weight_decay,
                     help="AdamW weight decay (default: %(default)s).")
    run.add_argument("--lr_scheduler_type", default=lr_scheduler_type,
                     help="transformers scheduler name: constant, linear, cosine, ... (default: %(default)s).")
    run.add_argument("--warmup_steps", type=float, default=warmup_steps,
                     help="Warm-up steps, or a fraction of all steps when below 1 (default: %(default)s).")
    run.add_argument("--per_device_train_batch_size", type=int, default=batch_size,
                     help="Batch size per process (default: %(default)s).")
    run.add_argument("--per_device_eval_batch_size", type=int,
                     help="Evaluation batch size (default: the training one).")
    run.add_argument("--gradient_accumulation_steps", type=int, default=1, help="Batches per optimizer step.")
    run.add_argument("--seed", type=int, default=42, help="Seed of the initialisation and data order (default: 42).")
    run.add_argument("--early_stopping_patience", type=int, default=early_stopping_patience,
                     help="Stop after this many epochs without a better validation metric; 0 = never "
                          "(default: %(default)s).")
    run.add_argument("--bf16", choices=("auto", "yes", "no"), default="auto",
                     help="bf16 mixed precision; auto = on when the GPU supports it (default: auto).")
    run.add_argument("--dataloader_num_workers", type=int, default=0, help="Data-loading worker processes.")
    run.add_argument("--logging_steps", type=int, default=50, help="Log the training loss every N steps.")
    run.add_argument("--save_total_limit", type=int, default=3,
                     help="Checkpoints kept (the best one is always kept; default: %(default)s).")
    run.add_argument("--report_to", default="tensorboard",
                     help="Experiment trackers, comma-separated, or 'none' (default: tensorboard).")

    hub = parser.add_argument_group("Hugging Face Hub")
    hub.add_argument("--push_to_hub", action="store_true", help="Push the best model to --hub_model_id at the end.")
    hub.add_argument("--hub_model_id", metavar="ID", help="Hub model repo, e.g. org/face-fusion.")
    hub.add_argument("--hub_private_repo", action="store_true", help="Create the Hub repo as private.")


def use_bf16(choice: str) -> bool:
    """bf16 mixed precision: forced on or off, or on when a CUDA GPU with bf16 support is present."""
    if choice == "auto":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return choice == "yes"


def training_arguments(args: argparse.Namespace, *, metric_for_best_model: str, **overrides) -> TrainingArguments:
    """The `TrainingArguments` of a run: evaluate and checkpoint every epoch, keep and reload the best checkpoint."""
    report_to = [name.strip() for name in args.report_to.split(",") if name.strip()]
    values = dict(
        output_dir=str(args.output_dir),
        num_train_epochs=args.num_train_epochs,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        lr_scheduler_type=args.lr_scheduler_type,
        warmup_steps=args.warmup_steps,
        per_device_train_batch_size=args.per_device_train_batch_size,
        per_device_eval_batch_size=args.per_device_eval_batch_size or args.per_device_train_batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        seed=args.seed,
        bf16=use_bf16(args.bf16),
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="steps",
        logging_steps=args.logging_steps,
        save_total_limit=args.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model=metric_for_best_model,
        greater_is_better=True,
        # The early-stopping patience counter travels with the checkpoint, so a resumed run stops when it would have.
        restore_callback_states_from_checkpoint=True,
        report_to=report_to if report_to != ["none"] else "none",
        dataloader_num_workers=args.dataloader_num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        remove_unused_columns=False,  # the inputs are prepared with exactly the model's columns
        ddp_find_unused_parameters=False,  # every trainable parameter takes part in every loss (see FusionTrainer)
        push_to_hub=False,  # pushed once at the end, the best model only (see `push_to_hub`)
    )
    values.update(overrides)
    try:
        return TrainingArguments(**values)
    except ValueError as error:
        raise TrainingInputError(f"invalid training options: {first_line(error)}") from None


def early_stopping(args: argparse.Namespace) -> list[EarlyStoppingCallback]:
    """The early-stopping callback, or none when the patience is 0."""
    return [EarlyStoppingCallback(args.early_stopping_patience)] if args.early_stopping_patience > 0 else []


# ---------------------------------------------------------------------------------------------------------------
# Output folder and resuming


def complete_checkpoints(output_dir: Path) -> list[Path]:
    """`checkpoint-N` folders that were written to the end (the Trainer writes `trainer_state.json` last), by step."""
    if not output_dir.is_dir():
        return []
    found = []
    for child in output_dir.iterdir():
        match = CHECKPOINT_PATTERN.match(child.name)
        if match and child.is_dir() and (child / TRAINER_STATE).is_file():
            found.append((int(match.group(1)), child))
    return [path for _, path in sorted(found)]


def prepare_output_dir(args: argparse.Namespace) -> str | None:
    """Checks the output and Hub options and returns the checkpoint to resume from (or None for a fresh run).

    Raises:
        TrainingInputError: Nothing to resume from, checkpoints in the way of a fresh run, or a Hub option missing.
    """
    if args.push_to_hub and not args.hub_model_id:
        raise TrainingInputError("--push_to_hub needs --hub_model_id (e.g. org/mosei-emotion-transformer).")
    output_dir: Path = args.output_dir
    if output_dir.exists() and not output_dir.is_dir():
        raise TrainingInputError(f"--output_dir {output_dir} is a file, not a folder.")
    checkpoints = complete_checkpoints(output_dir)
    resume = args.resume_from_checkpoint
    if resume is not None:
        if resume in RESUME_LATEST:
            if not checkpoints:
                raise TrainingInputError(
                    f"--resume_from_checkpoint {resume}: {output_dir} holds no complete checkpoint-N folder."
                )
            resume = str(checkpoints[-1])
        elif not (Path(resume) / TRAINER_STATE).is_file():
            raise TrainingInputError(
                f"--resume_from_checkpoint {resume}: not a complete Trainer checkpoint folder (no {TRAINER_STATE})."
            )
        if is_main_process():
            step = json.loads((Path(resume) / TRAINER_STATE).read_text()).get("global_step")
            print(f"resuming from {resume} (step {step})")
        return str(resume)
    leftovers = [child for child in output_dir.glob("checkpoint-*") if child.is_dir()] if output_dir.is_dir() else []
    if leftovers and not args.overwrite_output_dir:
        raise TrainingInputError(
            f"--output_dir {output_dir} already holds checkpoints; pass --resume_from_checkpoint latest to continue "
            "that run or --overwrite_output_dir to start over."
        )
    if leftovers and is_main_process():
        for child in leftovers:
            shutil.rmtree(child)
    return None


# ---------------------------------------------------------------------------------------------------------------
# Configs and models


def load_config(source: str | Path, config_class: type[PreTrainedConfig], option: str) -> PreTrainedConfig:
    """A model configuration from a folder with config.json, a JSON file or a Hub id, checked for its model type.

    Raises:
        TrainingInputError: It cannot be read, or it configures another kind of model.
    """
    try:
        values, _ = config_class.get_config_dict(str(source))
    except (OSError, ValueError) as error:
        raise TrainingInputError(f"{option} {source}: no readable model configuration ({first_line(error)}).") from None
    model_type = values.get("model_type")
    if model_type != config_class.model_type:
        raise TrainingInputError(
            f"{option} {source}: configures a {model_type or 'unknown'!r} model, not {config_class.model_type!r}."
        )
    values.pop("auto_map", None)  # the trained model gets its own remote-code map when saved
    try:
        return config_class.from_dict(values)
    except (TypeError, ValueError) as error:
        raise TrainingInputError(f"{option} {source}: invalid configuration ({first_line(error)}).") from None


def load_trained_model(source: str | Path, model_class: type[PreTrainedModel], option: str) -> PreTrainedModel:
    """A trained model from a `save_pretrained` folder or a Hub id, checked to be the expected kind.

    Raises:
        TrainingInputError: A missing folder, an unreachable Hub id, or a model of another kind.
    """
    config = load_config(source, model_class.config_class, option)
    try:
        model = model_class.from_pretrained(str(source), config=config)
    except (OSError, ValueError) as error:
        raise TrainingInputError(
            f"{option} {source}: the model weights cannot be loaded ({first_line(error)})."
        ) from None
    return model.eval()


# ---------------------------------------------------------------------------------------------------------------
# The Trainer


class ProjectTrainer(Trainer):
    """`Trainer` for this project's models.

    * Their `forward` takes `**kwargs`, which makes the stock Trainer believe they normalise their loss by
      `num_items_in_batch` and skip its own gradient-accumulation and multi-process scaling. They return a batch
      mean, so that belief is switched off here.
    * Outputs other than the predictions (hidden states, attention maps) are not gathered during evaluation.
    """

    inference_ignore_keys: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        if ignore_keys is None:
            ignore_keys = list(self.inference_ignore_keys)
        return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys)


# ---------------------------------------------------------------------------------------------------------------
# End of a run


def clean_metrics(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    """Trainer metrics without their `<prefix>_` and without the speed counters."""
    cleaned = {}
    for key, value in metrics.items():
        name = key[len(prefix) + 1 :] if key.startswith(prefix + "_") else key
        if name not in _SPEED_KEYS:
            cleaned[name] = value
    return cleaned


def run_summary(trainer: Trainer) -> dict:
    """Where the best model came from, for eval_results.json."""
    state = trainer.state
    return {
        "metric_for_best_model": trainer.args.metric_for_best_model,
        "best_metric": state.best_metric,
        "best_checkpoint": Path(state.best_model_checkpoint).name if state.best_model_checkpoint else None,
        "global_step": state.global_step,
        "epochs_trained": state.epoch,
        "seed": trainer.args.seed,
        "bf16": trainer.args.bf16,
        "world_size": trainer.args.world_size,
        # The hyperparameters, for the model card's training section.
        "learning_rate": trainer.args.learning_rate,
        "per_device_train_batch_size": trainer.args.per_device_train_batch_size,
        "gradient_accumulation_steps": trainer.args.gradient_accumulation_steps,
        "num_train_epochs": trainer.args.num_train_epochs,
        "weight_decay": trainer.args.weight_decay,
        "warmup_steps": trainer.args.warmup_steps,
        "lr_scheduler_type": str(getattr(trainer.args.lr_scheduler_type, "value", trainer.args.lr_scheduler_type)),
    }


def write_json_atomically(path: Path, data: dict) -> None:
    """Writes JSON through a temporary file and a rename, so a reader never sees half a file."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(temporary, path)


def save_best_model(trainer: Trainer, output_dir: Path) -> None:
    """Saves the model the Trainer holds (the best checkpoint, reloaded at the end) as a save_pretrained folder.

    `Trainer.save_model` also pickles the TrainingArguments there (`training_args.bin`); each checkpoint keeps its
    copy, and the model folder stays free of pickles so that it can be published as it is.
    """
    trainer.save_model(str(output_dir))
    if trainer.is_world_process_zero():
        (Path(output_dir) / "training_args.bin").unlink(missing_ok=True)


def write_eval_results(trainer: Trainer, output_dir: Path, results: dict) -> None:
    """Writes eval_results.json on the main process; it is the last file written, so its presence means done."""
    if trainer.is_world_process_zero():
        write_json_atomically(output_dir / EVAL_RESULTS, results)
    trainer.accelerator.wait_for_everyone()


def push_to_hub(trainer: Trainer, args: argparse.Namespace, hub_repo: str) -> None:
    """With --push_to_hub, exports `--output_dir` as the `hub_configs/<hub_repo>` repo and uploads it (main process).

    The export (`training/export_hub.py: publish`) adds the model card with the measured metrics and the remote code.

    Raises:
        HubPushError: The export or the upload failed; the local output is complete.
    """
    if not args.push_to_hub or not trainer.is_world_process_zero():
        return
    from training.export_hub import publish

    try:
        url = publish(hub_repo, args.output_dir, args.hub_model_id, private=args.hub_private_repo)
    except Exception as error:  # noqa: BLE001 - export and Hub errors come in many types; the user needs one sentence
        raise HubPushError(
            f"the model was saved to {args.output_dir}, but pushing it to {args.hub_model_id} failed "
            f"({first_line(error)})."
        ) from None
    print(f"pushed {args.output_dir} to {url}")


# ---------------------------------------------------------------------------------------------------------------
# Command line


def run_trainer(
    prog: str, parser: argparse.ArgumentParser, train: Callable[[argparse.Namespace], object], argv=None
) -> int:
    """Parses the options and runs `train` under `training.cli.run_cli`.

    Returns:
        0 on success, 2 on bad input (table, options, model paths), 1 when only the Hub push failed.
    """
    args = parser.parse_args(argv)
    datasets.disable_progress_bars()  # loading a table is quick; its bars would bury a one-sentence error
    return run_cli(prog, lambda: train(args), errors_on_main_process_only=True)
