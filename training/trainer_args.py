"""The trainers' arguments, the Hugging Face way: dataclasses read by `HfArgumentParser`, from the command line or a
JSON / YAML file (as transformers' `examples/pytorch/*/run_*.py` do).

Each trainer reads two dataclasses: its own (data and model options, `--dataset`, `--model_config`, ...) and
`ProjectTrainingArguments`, which is transformers' `TrainingArguments` (every option of it works) with this
project's defaults: evaluation and a checkpoint every epoch, the best checkpoint (by the validation metric) reloaded
at the end, TensorBoard logs, bf16 where the GPU has it. It adds `--recipe`, `--early_stopping_patience` and
`--overwrite_output_dir`.

Defaults come in three layers, each overriding the one before: the task's defaults for the chosen `--recipe`
(`improved`, the default, or `original`: the original code's settings, see each trainer), then a config file, then
the command line. So `train_x.py --recipe original` reproduces the original, and any option given explicitly still
wins. A config file is the only argument (`train_x.py run.yaml`) or `--config run.yaml`, with options after it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import yaml
from transformers import HfArgumentParser, TrainingArguments
from transformers.trainer_utils import IntervalStrategy, SaveStrategy

from training.cli import EXIT_BAD_INPUT, first_line

RECIPES = ("improved", "original")
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


def _like(name: str, default):
    """A `TrainingArguments` field with another default; its help text is kept."""
    return field(default=default, metadata=TrainingArguments.__dataclass_fields__[name].metadata)


@dataclass
class ProjectTrainingArguments(TrainingArguments):
    """`TrainingArguments` with the project's defaults, plus `recipe`, `early_stopping_patience` and
    `overwrite_output_dir`.

    `--push_to_hub` does not make the `Trainer` push checkpoints: the finished run pushes its best model once, with
    its model card (`push_to_hub_at_end`). `--bf16` left out means on where a CUDA GPU supports it.
    """

    recipe: Literal["improved", "original"] = field(
        default="improved",
        metadata={"help": "improved: this project's recipe; original: the original code's settings, to compare "
                          "with its published numbers (options given explicitly still win)."},
    )
    early_stopping_patience: int = field(
        default=15,
        metadata={"help": "Stop after this many epochs without a better validation metric; 0 = never."},
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Start over in an --output_dir that holds checkpoints (they are deleted)."}
    )
    bf16: bool = field(
        default=None,
        metadata={"help": "bf16 mixed precision (default: on when a CUDA GPU supports it)."},
    )
    eval_strategy: IntervalStrategy | str = _like("eval_strategy", "epoch")
    save_strategy: SaveStrategy | str = _like("save_strategy", "epoch")
    logging_steps: float = _like("logging_steps", 50)
    save_total_limit: int | None = _like("save_total_limit", 3)
    load_best_model_at_end: bool = _like("load_best_model_at_end", True)
    # The early-stopping patience counter travels with the checkpoint, so a resumed run stops when it would have.
    restore_callback_states_from_checkpoint: bool = _like("restore_callback_states_from_checkpoint", True)
    report_to: None | str | list[str] = _like("report_to", "tensorboard")
    remove_unused_columns: bool = _like("remove_unused_columns", False)  # inputs hold exactly the model's columns
    ddp_find_unused_parameters: bool | None = _like("ddp_find_unused_parameters", False)

    def __post_init__(self):
        if self.bf16 is None:
            self.bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        if not torch.cuda.is_available():
            self.dataloader_pin_memory = False
        self.push_to_hub_at_end = self.push_to_hub
        self.push_to_hub = False
        super().__post_init__()
        if not self.load_best_model_at_end:
            self.early_stopping_patience = 0  # nothing to stop on without a best checkpoint


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class ArgumentsParser(HfArgumentParser):
    """`HfArgumentParser` whose usage errors are one line on stderr with exit code 2 (`training/cli.py`)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help).\n")


def split_config_file(argv: Sequence[str]) -> tuple[Path | None, list[str]]:
    """(config file, the other arguments): the file is the first argument when it ends in .json/.yaml/.yml, or
    the value of `--config`."""
    argv = list(argv)
    if argv and not argv[0].startswith("-") and argv[0].lower().endswith(CONFIG_SUFFIXES):
        return Path(argv[0]), argv[1:]
    for position, item in enumerate(argv):
        if item == "--config" and position + 1 < len(argv):
            return Path(argv[position + 1]), argv[:position] + argv[position + 2 :]
        if item.startswith("--config="):
            return Path(item.split("=", 1)[1]), argv[:position] + argv[position + 1 :]
    return None, argv


def read_config_file(parser: argparse.ArgumentParser, path: Path) -> dict:
    """The options in a JSON or YAML file, as a dict; a bad file is a usage error (one line, exit 2)."""
    try:
        text = path.read_text(encoding="utf-8")
        values = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
        parser.error(f"config file {path} cannot be read ({first_line(error)})")
    if not isinstance(values, dict):
        parser.error(f"config file {path} must hold a mapping of option names to values")
    known = {action.dest for action in parser._actions}
    unknown = sorted(str(key) for key in values if key not in known)
    if unknown:
        parser.error(f"config file {path} has unknown option(s): {', '.join(unknown)}")
    return values


def parse_arguments(
    dataclass_types: Sequence[type],
    argv: Sequence[str] | None,
    recipe_defaults: Callable[[str], dict],
    **parser_kwargs,
) -> tuple:
    """Reads the trainer's dataclasses from the command line and/or a config file.

    Args:
        dataclass_types: The trainer's own arguments, then `ProjectTrainingArguments`.
        argv: Command-line arguments (default: `sys.argv[1:]`).
        recipe_defaults: Recipe name → {option: default} of this task.
        **parser_kwargs: `prog`, `description`, `epilog` of the parser.

    Returns:
        One instance per dataclass type.

    Raises:
        SystemExit: A usage error or an option value the dataclasses refuse (one line on stderr, exit code 2).
    """
    parser = ArgumentsParser(dataclass_types, formatter_class=_HelpFormatter, **parser_kwargs)
    parser.add_argument("--config", metavar="FILE.json|FILE.yaml",
                        help="Read options from a JSON or YAML file (options given after it win).")
    config_path, argv = split_config_file(sys.argv[1:] if argv is None else argv)
    config = read_config_file(parser, config_path) if config_path is not None else {}

    recipe_parser = argparse.ArgumentParser(add_help=False)
    recipe_parser.add_argument("--recipe", choices=RECIPES)
    recipe = recipe_parser.parse_known_args(argv)[0].recipe or config.get("recipe", "improved")
    if recipe not in RECIPES:
        parser.error(f"recipe {recipe!r} is not one of {', '.join(RECIPES)}")
    parser.set_defaults(**{**recipe_defaults(recipe), **config})
    for action in parser._actions:
        if action.dest in config:
            action.required = False
    parser._option_string_actions["--output_dir"].required = "output_dir" not in config
    namespace = parser.parse_args(argv)
    namespace.recipe = recipe
    outputs = []
    for dtype in dataclass_types:
        names = {item.name for item in dataclasses.fields(dtype) if item.init}
        try:
            outputs.append(dtype(**{name: value for name, value in vars(namespace).items() if name in names}))
        except (TypeError, ValueError) as error:
            parser.error(f"invalid options ({first_line(error)})")
    return tuple(outputs)
