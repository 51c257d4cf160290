"""The results table of a training run, in Markdown: each metric beside the trivial baseline's value on the same rows.

One function renders what the trainers write to `eval_results.json` (`recipe`, the `validation`, `test` and
`test_original_population` sections, `baseline` and `rows` for each, and the table's provenance under `run`), so the
model cards and anyone reading a run see the same table.
"""

from __future__ import annotations

from typing import Any

SECTION_TITLES = {
    "test": "test split, all clips",
    "test_original_population": "test split, the clips the original kept (face in the first sampled frame)",
    "validation": "validation split",
}


def _flat(metrics: dict[str, Any] | None, prefix: str = "") -> dict[str, float]:
    """Numbers of a (possibly per-task nested) metrics dict, keyed `task/metric`."""
    flat: dict[str, float] = {}
    for name, value in (metrics or {}).items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[f"{prefix}{name}"] = float(value)
    return flat


def _rows_text(rows: Any) -> str:
    if isinstance(rows, dict):
        return ", ".join(f"{task} {count}" for task, count in rows.items())
    return str(rows)


def _provenance_text(table: Any) -> str | None:
    """The training table's precision and embedder fingerprint, when recorded (per task for the fusion)."""
    if not isinstance(table, dict) or not table:
        return None
    if any(isinstance(value, dict) for value in table.values()):
        parts = [f"{task}: {text}" for task, value in table.items() if (text := _provenance_text(value))]
        return "; ".join(parts) or None
    return ", ".join(f"{key} `{value}`" for key, value in table.items() if value is not None) or None


def results_markdown(results: dict[str, Any]) -> str:
    """The Markdown table of a run's `eval_results.json` content (empty when it has no sections)."""
    baselines = results.get("baseline") or {}
    rows = results.get("rows") or {}
    lines: list[str] = []
    recipe = results.get("recipe")
    if recipe:
        lines.append(f"Training recipe: `{recipe}`.")
    provenance = _provenance_text((results.get("run") or {}).get("table"))
    if provenance:
        lines.append(f"Training table: {provenance}.")
    if lines:
        lines.append("")
    for section in ("test", "test_original_population", "validation"):
        metrics = _flat(results.get(section))
        if not metrics:
            continue
        baseline = _flat(baselines.get(section))
        title = SECTION_TITLES[section]
        count = f" ({_rows_text(rows[section])} rows)" if section in rows else ""
        lines += [f"**{title}**{count}", "", "| Metric | Model | Trivial baseline |", "|---|---|---|"]
        for name, value in metrics.items():
            reference = baseline.get(name)
            lines.append(f"| `{name}` | {value:.4f} | {'' if reference is None else f'{reference:.4f}'} |")
        lines.append("")
    return "\n".join(lines).rstrip()
