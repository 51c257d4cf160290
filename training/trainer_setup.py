"""Plumbing shared by the trainers: checkpoints, loading models, the end of a run, `eval_results.json`.

Every trainer is a Hugging Face `Trainer` run (which runs on Accelerate), so one script works on a CPU, one GPU,
several GPUs or several machines under `accelerate launch`. Their options are `training/trainer_args.py`'s. This
module holds what they have in common:

* `prepare_output_dir`: which checkpoint to resume from (`--resume_from_checkpoint latest` = the last complete one);
* model and config loading that turns a missing path into one sentence;
* `TrainerRun`, what every trainer's `build_trainer` returns, and `finish_run`, the end of every run: the best (or,
  for the original recipe, the last) model saved, validation and test evaluated beside the trivial baseline,
  `eval_results.json` written, the model pushed;
* `run_trainer`: bad input ends with one sentence on stderr and exit code 2, not a stack trace (`training/cli.py`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import datasets
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


def early_stopping(args: TrainingArguments) -> list[EarlyStoppingCallback]:
    """The early-stopping callback, or none when the patience is 0."""
    patience = getattr(args, "early_stopping_patience", 0)
    return [EarlyStoppingCallback(patience)] if patience > 0 else []


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


def prepare_output_dir(args: TrainingArguments) -> str | None:
    """Checks the output and Hub options and returns the checkpoint to resume from (or None for a fresh run).

    Raises:
        TrainingInputError: Nothing to resume from, checkpoints in the way of a fresh run, or a Hub option missing.
    """
    if args.push_to_hub_at_end and not args.hub_model_id:
        raise TrainingInputError("--push_to_hub needs --hub_model_id (e.g. org/mosei-emotion-transformer).")
    output_dir = Path(args.output_dir)
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


class Section(NamedTuple):
    """One reported section of eval_results.json: the model's metrics, the trivial baseline's on the same rows."""

    metrics: dict | None
    baseline: dict | None
    rows: int | dict


@dataclass
class TrainerRun:
    """What every trainer's `build_trainer` returns: the Trainer and what `finish_run` needs to end the run.

    Attributes:
        trainer: The configured Trainer.
        resume: The checkpoint to resume from, or None.
        hub_repo: The `hub_configs/` repo the model is published as.
        sections: The reported sections, in order (`validation`, `test`, `test_original_population`).
        evaluate: Section name → its `Section`, or None when the data has no such split.
        info: What else eval_results.json records about the run (data, model, settings).
        before_save: Run before the model is saved (e.g. putting the weight average in).
    """

    trainer: Trainer
    resume: str | None
    hub_repo: str
    sections: tuple[str, ...]
    evaluate: Callable[[str], Section | None]
    info: dict = field(default_factory=dict)
    before_save: Callable[[], None] | None = None


def run_summary(trainer: Trainer) -> dict:
    """Which model was kept and how it was trained, for eval_results.json."""
    state, args = trainer.state, trainer.args
    best_epoch = args.load_best_model_at_end
    return {
        "selection": "best validation epoch" if best_epoch else "last epoch",
        "metric_for_best_model": args.metric_for_best_model,
        "best_metric": state.best_metric,
        "best_checkpoint": Path(state.best_model_checkpoint).name
        if best_epoch and state.best_model_checkpoint else None,
        "global_step": state.global_step,
        "epochs_trained": state.epoch,
        "seed": args.seed,
        "bf16": args.bf16,
        "max_grad_norm": args.max_grad_norm,
        "early_stopping_patience": getattr(args, "early_stopping_patience", 0),
        "world_size": args.world_size,
        # The hyperparameters, for the model card's training section.
        "learning_rate": args.learning_rate,
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "num_train_epochs": args.num_train_epochs,
        "weight_decay": args.weight_decay,
        "warmup_steps": args.warmup_steps,
        "lr_scheduler_type": str(getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)),
    }


def finish_run(run: TrainerRun) -> dict:
    """Ends a trained run, the same way for every trainer; returns what it wrote to eval_results.json.

    The early-stopping callback is dropped (the final evaluations are not epochs to stop on), the model is saved
    to `--output_dir` (the best checkpoint, reloaded by `load_best_model_at_end`, or the last one), every section is
    evaluated beside the trivial baseline on the same rows, eval_results.json is written and, with
    `--push_to_hub`, the model is published.
    """
    trainer, args = run.trainer, run.trainer.args
    output_dir = Path(args.output_dir)
    trainer.remove_callback(EarlyStoppingCallback)
    if run.before_save is not None:
        run.before_save()
    save_best_model(trainer, output_dir)
    results: dict = {"recipe": getattr(args, "recipe", "improved")}
    baselines, rows = {}, {}
    for name in run.sections:
        section = run.evaluate(name)
        results[name] = section.metrics if section is not None else None
        if section is not None:
            baselines[name], rows[name] = section.baseline, section.rows
    results["baseline"], results["rows"] = baselines, rows
    results["run"] = {**run_summary(trainer), **run.info}
    write_eval_results(trainer, output_dir, results)
    push_to_hub(trainer, run.hub_repo)
    return results


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


def push_to_hub(trainer: Trainer, hub_repo: str) -> None:
    """With --push_to_hub, exports `--output_dir` as the `hub_configs/<hub_repo>` repo and uploads it (main process).

    The export (`training/export_hub.py: publish`) adds the model card with the measured metrics and the remote code.

    Raises:
        HubPushError: The export or the upload failed; the local output is complete.
    """
    args = trainer.args
    if not getattr(args, "push_to_hub_at_end", False) or not trainer.is_world_process_zero():
        return
    from training.export_hub import publish

    try:
        url = publish(hub_repo, Path(args.output_dir), args.hub_model_id, private=bool(args.hub_private_repo))
    except Exception as error:  # noqa: BLE001 - export and Hub errors come in many types; the user needs one sentence
        raise HubPushError(
            f"the model was saved to {args.output_dir}, but pushing it to {args.hub_model_id} failed "
            f"({first_line(error)})."
        ) from None
    print(f"pushed {args.output_dir} to {url}")


# ---------------------------------------------------------------------------------------------------------------
# Command line


def run_trainer(prog: str, parse: Callable[[list[str] | None], tuple], train: Callable[..., object], argv=None) -> int:
    """Parses the options (see `training/trainer_args.py`) and runs `train(*parsed)` under `training.cli.run_cli`.

    Returns:
        0 on success, 2 on bad input (table, options, model paths), 1 when only the Hub push failed.
    """
    parsed = parse(argv)
    datasets.disable_progress_bars()  # loading a table is quick; its bars would bury a one-sentence error
    return run_cli(prog, lambda: train(*parsed), errors_on_main_process_only=True)
