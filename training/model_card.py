"""Model cards for the Hub repos: a `hub_configs/<repo>/README.md` template plus a run's measured metrics.

A template is a Markdown file with YAML front matter. `{{ name }}` placeholders anywhere in it are filled by
`render_card`; the tool then adds what depends on the run to the metadata: `model-index` (from the run's
`eval_results.json`) and, for face-fusion, `widget` (an example video with the pipeline's output on it). The
metadata is written by huggingface_hub's `ModelCardData`, so it is in the form the Hub reads.

`eval_results.json` (written by the trainers) may be flat or nested by split:

* flat: ``{"test_mean_f1": 0.55, "eval_mean_f1": 0.56, "epoch": 12}``. A key's split comes from its prefix (``test_``,
  ``eval_``/``validation_``/``val_``); keys without a prefix belong to the split named by a top-level ``"split"`` field
  (default "validation");
* nested: ``{"validation": {"mean_f1": 0.56}, "test": {...}}``.

For face-fusion, a metric may carry its task as a prefix: ``test_emotion_mean_f1`` or ``test_trait_mean_ccc``.
Non-numeric values and bookkeeping numbers (epoch, step, runtime, throughput) are left out.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCardData

from training.cli import UserError
from training.results_table import results_markdown

SPLIT_PREFIXES = {
    "test": "test",
    "eval": "validation",
    "validation": "validation",
    "val": "validation",
    "valid": "validation",
}
_BOOKKEEPING = re.compile(r"(^|_)(epoch|step|steps|runtime|samples_per_second|steps_per_second|global_step|seed)$")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


class ModelCardError(UserError):
    """A template or an eval_results.json that cannot make a card; the message is one sentence."""


@dataclass(frozen=True)
class MetricSpec:
    """One headline metric of a task, as it goes into `model-index`."""

    key: str  # name in eval_results.json (without split or task prefix)
    type: str  # Papers-with-Code metric id
    name: str  # human-readable name


@dataclass(frozen=True)
class TaskSpec:
    """A task a model is evaluated on: what `model-index` says about it, and which metrics count."""

    prefix: str  # task prefix a metric may carry in eval_results.json ("emotion", "trait", or "" for none)
    type: str
    name: str
    dataset_type: str
    dataset_name: str
    metrics: tuple[MetricSpec, ...]


EMOTION_TASK = TaskSpec(
    prefix="emotion",
    type="video-classification",
    name="Emotion recognition (7-way distribution, face only)",
    dataset_type="cmu-mosei",
    dataset_name="CMU-MOSEI",
    metrics=(
        MetricSpec("mean_weighted_accuracy", "accuracy", "Mean weighted accuracy over the 6 emotions"),
        MetricSpec("mean_f1", "f1", "Mean macro-F1 over the 6 emotions"),
    ),
)
TRAIT_TASK = TaskSpec(
    prefix="trait",
    type="video-classification",
    name="Apparent personality regression (Big Five, face only)",
    dataset_type="first-impressions-v2",
    dataset_name="ChaLearn First Impressions V2",
    metrics=(
        MetricSpec("mean_accuracy", "accuracy", "Mean accuracy (1 - MAE) over the 5 traits"),
        MetricSpec("mean_ccc", "ccc", "Mean concordance correlation coefficient over the 5 traits"),
    ),
)
EXPRESSION_TASK = TaskSpec(
    prefix="",
    type="image-classification",
    name="Facial expression recognition (7 classes)",
    dataset_type="fer2013",
    dataset_name="FER2013",
    metrics=(MetricSpec("accuracy", "accuracy", "Accuracy"), MetricSpec("macro_f1", "f1", "Macro-F1")),
)

REPO_TASKS: dict[str, tuple[TaskSpec, ...]] = {
    "emonext-base": (EXPRESSION_TASK,),
    "mosei-emotion-transformer": (EMOTION_TASK,),
    "fiv2-trait-transformer": (TRAIT_TASK,),
    "face-fusion": (EMOTION_TASK, TRAIT_TASK),
}


@dataclass
class EvalResults:
    """Metrics of a run, by split ("validation", "test", ...), each a {metric: value} dict."""

    splits: dict[str, dict[str, float]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # the file's content, for the trainers' results table

    @classmethod
    def read(cls, path: str | Path) -> EvalResults:
        """Read an `eval_results.json` (see the module docstring for the accepted shapes).

        Raises:
            ModelCardError: The file is not JSON or not an object.
        """
        path = Path(path)
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelCardError(f"{path} could not be read as JSON ({error}).") from error
        if not isinstance(content, dict):
            raise ModelCardError(f"{path} must hold a JSON object of metric names to numbers.")
        return cls.from_dict(content)

    @classmethod
    def from_dict(cls, content: dict[str, Any]) -> EvalResults:
        """Sort a flat or split-nested metrics dict into splits."""
        results = cls(raw=content)
        default_split = SPLIT_PREFIXES.get(str(content.get("split", "validation")), str(content.get("split")))
        for key, value in content.items():
            if isinstance(value, dict) and key in SPLIT_PREFIXES:
                for name, number in value.items():
                    results._add(SPLIT_PREFIXES[key], name, number)
                continue
            split, name = default_split, key
            head, _, rest = key.partition("_")
            if rest and head in SPLIT_PREFIXES:
                split, name = SPLIT_PREFIXES[head], rest
            results._add(split, name, value)
        return results

    def _add(self, split: str, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return
        if _BOOKKEEPING.search(name):
            return
        self.splits.setdefault(split, {})[name] = float(value)

    def lookup(self, split: str, task: TaskSpec, key: str) -> float | None:
        """A metric of `task` in `split`, with or without the task prefix (`emotion_mean_f1` or `mean_f1`)."""
        metrics = self.splits.get(split, {})
        names = [f"{task.prefix}_{key}", f"{task.prefix}s_{key}", key] if task.prefix else [key]
        for name in names:
            if name in metrics:
                return metrics[name]
        return None

    def model_index(self, tasks: tuple[TaskSpec, ...]) -> list[EvalResult]:
        """`model-index` entries: each task's headline metrics, test split first."""
        entries = []
        for split in self._ordered_splits():
            for task in tasks:
                for metric in task.metrics:
                    value = self.lookup(split, task, metric.key)
                    if value is None:
                        continue
                    entries.append(
                        EvalResult(
                            task_type=task.type,
                            task_name=task.name,
                            dataset_type=task.dataset_type,
                            dataset_name=task.dataset_name,
                            dataset_split=split,
                            metric_type=metric.type,
                            metric_name=metric.name,
                            metric_value=round(value, 4),
                        )
                    )
        return entries

    def markdown(self, tasks: tuple[TaskSpec, ...]) -> str:
        """The card's evaluation section: headline metrics, then every measured number, per split."""
        if not self.splits:
            return (
                "No evaluation results came with this checkpoint (its training folder had no `eval_results.json`), "
                "so no accuracy is claimed here."
            )
        lines = []
        rows = [
            f"| {task.dataset_name} | {split} | {metric.name} | {value:.4f} |"
            for split in self._ordered_splits()
            for task in tasks
            for metric in task.metrics
            if (value := self.lookup(split, task, metric.key)) is not None
        ]
        if rows:
            lines += ["| Dataset | Split | Metric | Value |", "|---|---|---|---|", *rows, ""]
        if "baseline" in self.raw:  # a trainer's eval_results.json: every metric beside the trivial baseline's
            return "\n".join([*lines, results_markdown(self.raw)]).rstrip()
        for split in self._ordered_splits():
            lines += [
                "<details>",
                f"<summary>All metrics measured on the {split} split</summary>",
                "",
                "| Metric | Value |",
                "|---|---|",
                *(f"| `{name}` | {value:.4f} |" for name, value in sorted(self.splits[split].items())),
                "",
                "</details>",
                "",
            ]
        return "\n".join(lines).rstrip()

    def _ordered_splits(self) -> list[str]:
        return sorted(self.splits, key=lambda s: (s != "test", s))


def fill_placeholders(template: str, values: dict[str, str], source: str = "the template") -> str:
    """Replace every `{{ name }}` in `template`.

    Raises:
        ModelCardError: A placeholder has no value (so no card goes out half-filled).
    """
    missing = sorted({name for name in _PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise ModelCardError(f"{source} uses placeholders the export tool does not fill: {', '.join(missing)}.")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template)


def split_front_matter(text: str, source: str = "the template") -> tuple[dict[str, Any], str]:
    """(YAML metadata, Markdown body) of a card.

    Raises:
        ModelCardError: No `---` delimited YAML block at the top, or YAML that is not a mapping.
    """
    match = re.match(r"\A---\n(.*?)\n---\n(.*)\Z", text, flags=re.DOTALL)
    if not match:
        raise ModelCardError(f"{source} must start with YAML metadata between two '---' lines.")
    try:
        metadata = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        raise ModelCardError(f"{source} has invalid YAML metadata ({error}).") from error
    if not isinstance(metadata, dict):
        raise ModelCardError(f"{source} has YAML metadata that is not a mapping.")
    return metadata, match.group(2)


def render_card(
    template: str,
    values: dict[str, str],
    *,
    model_name: str,
    tasks: tuple[TaskSpec, ...] = (),
    eval_results: EvalResults | None = None,
    widget: list[dict[str, Any]] | None = None,
    metadata_overrides: dict[str, Any] | None = None,
    metadata_additions: dict[str, list[Any]] | None = None,
    source: str = "the template",
) -> str:
    """The README.md of a Hub repo: filled template, metadata completed with `model-index` and `widget`.

    Args:
        template: The template text (YAML front matter + Markdown).
        values: Placeholder values; `metrics_section` is added here from `eval_results`.
        model_name: Name shown in `model-index`.
        tasks: Which metrics go into `model-index`.
        eval_results: The run's metrics (None or empty: no `model-index`, and the card says so).
        widget: Widget entries (`src`, `example_title`, static `output`).
        metadata_overrides: Metadata keys to set or replace (e.g. `pipeline_tag`).
        metadata_additions: Entries appended to list keys (e.g. `tags`, `datasets`), each once.
        source: What error messages call the template.
    """
    eval_results = eval_results or EvalResults()
    values = {"metrics_section": eval_results.markdown(tasks), **values}
    metadata, body = split_front_matter(fill_placeholders(template, values, source), source)
    metadata.update(metadata_overrides or {})
    for key, entries in (metadata_additions or {}).items():
        merged = list(metadata.get(key) or [])
        merged += [entry for entry in entries if entry not in merged]
        if merged:
            metadata[key] = merged
    index = eval_results.model_index(tasks)
    if index:
        metadata["model_name"] = model_name
        metadata["eval_results"] = index
    if widget:
        metadata["widget"] = widget
    card_data = ModelCardData(**metadata)
    return f"---\n{card_data.to_yaml()}\n---\n{body.lstrip()}"


# ------------------------------------------------------------------------------------------ training procedure

# Run settings shown first in the card's training section, when the run recorded them.
_HYPERPARAMETER_ORDER = (
    "learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "world_size", "num_train_epochs",
    "epochs_trained", "weight_decay", "warmup_steps", "lr_scheduler_type", "seed", "bf16", "metric_for_best_model",
    "best_metric", "best_checkpoint",
)


def training_section(run: dict[str, Any]) -> str:
    """The card's "Training procedure" text: the hyperparameters and provenance the trainer recorded in the `run`
    part of `eval_results.json`, as a table (nested settings as compact JSON)."""
    if not run:
        return "The training run recorded no settings with this checkpoint (its `eval_results.json` has no `run` part)."
    names = [name for name in _HYPERPARAMETER_ORDER if name in run] + sorted(set(run) - set(_HYPERPARAMETER_ORDER))
    rows = [f"| `{name}` | {_cell(run[name])} |" for name in names if run[name] is not None]
    return "\n".join(["The run's settings, as the trainer recorded them in `eval_results.json`:", "",
                      "| Setting | Value |", "|---|---|", *rows])


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "))
    return "`" + str(text).replace("|", "\\|").replace("`", "'") + "`"
