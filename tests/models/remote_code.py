"""Loads saved model folders as remote code in a clean process and brings their outputs back for comparison.

Each family's test module has a `remote_cases(root, hf_home)` builder; the session fixture in `conftest.py` runs all
of them in ONE clean process (each such process pays ~8 s of imports), and each test asserts on its own case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from tests.hub_cache import run_clean_python

# Runs in the clean process: every case is loaded through its Auto class with trust_remote_code=True and run on the
# inputs the test wrote; outputs go back through safetensors, class identities through stdout.
_LOADER = """
import json
import torch, transformers
from safetensors.torch import load_file, save_file
cases = json.loads(open({manifest!r}).read())
report = {{}}
for name, case in cases.items():
    try:
        auto_class = getattr(transformers, case["auto_class"])
        model = auto_class.from_pretrained(case["folder"], trust_remote_code=True).eval()
        inputs = load_file(case["inputs"])
        with torch.no_grad():
            output = model(**inputs)
        save_file({{field: output[field].contiguous() for field in case["fields"]}}, case["outputs"])
        report[name] = {{
            "module": type(model).__module__, "class": type(model).__name__, "name_or_path": model.name_or_path,
            "error": None,
        }}
    except Exception as error:  # one failing case must not hide the others
        report[name] = {{
            "module": None, "class": None, "name_or_path": None, "error": f"{{type(error).__name__}}: {{error}}"[:500],
        }}
print("REPORT" + json.dumps(report))
"""


@dataclass
class RemoteCase:
    """One saved folder (or Hub repo id) to load with `auto_class` and run on `inputs`, keeping the output `fields`;
    `expected` holds what the same model gave in the test process, field by field."""

    folder: Path | str
    auto_class: str
    inputs: dict[str, torch.Tensor]
    expected: dict[str, torch.Tensor]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.expected)


@dataclass
class RemoteResult:
    """What the clean process got: the loaded class (name and module), the model's `name_or_path` and the requested
    output fields, or the error that loading or running raised (then the other fields are None)."""

    class_name: str | None
    module: str | None
    name_or_path: str | None
    outputs: dict[str, torch.Tensor] | None
    error: str | None
    case: RemoteCase

    def assert_matches_expected(self, atol: float = 1e-6):
        """Fails unless the case loaded and every field equals (within `atol`) what the test process computed."""
        assert self.error is None, self.error
        for field, expected in self.case.expected.items():
            torch.testing.assert_close(
                self.outputs[field], expected, atol=atol, rtol=0, msg=lambda m, field=field: f"{field}: {m}"
            )


def run_remote_code(
    cases: dict[str, RemoteCase], work_dir: Path, hf_home: Path | None = None
) -> dict[str, RemoteResult]:
    """Runs every case in ONE clean process (the project not importable, offline) and returns the results.

    A case that fails is reported in its `RemoteResult.error`, so each test can assert on its own case.

    Args:
        cases: What to load and run, by name.
        work_dir: Where the inputs, outputs and manifest are written.
        hf_home: The process's `HF_HOME` (its Hub cache is `hf_home / "hub"`); defaults to a fresh
            `work_dir / "hf_home"`.

    Raises:
        AssertionError: the process itself failed; the message holds its stderr.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, case in cases.items():
        stem = name.replace("/", "__")
        inputs_file, outputs_file = work_dir / f"{stem}-inputs.safetensors", work_dir / f"{stem}-outputs.safetensors"
        save_file({key: value.contiguous() for key, value in case.inputs.items()}, str(inputs_file))
        manifest[name] = {
            "folder": str(case.folder),
            "auto_class": case.auto_class,
            "inputs": str(inputs_file),
            "outputs": str(outputs_file),
            "fields": list(case.fields),
        }
    manifest_file = work_dir / "manifest.json"
    manifest_file.write_text(json.dumps(manifest))
    result = run_clean_python(
        _LOADER.format(manifest=str(manifest_file)),
        # Only HF_HOME decides where the Hub cache and the copied remote code live.
        env={
            "HF_HOME": str(hf_home or work_dir / "hf_home"),
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_CACHE": None,
            "HUGGINGFACE_HUB_CACHE": None,
            "HF_MODULES_CACHE": None,
        },
    )
    assert result.returncode == 0, f"clean process failed:\n{result.stderr[-4000:]}"
    report = json.loads(result.stdout.rsplit("REPORT", 1)[1])
    return {
        name: RemoteResult(
            class_name=report[name]["class"],
            module=report[name]["module"],
            name_or_path=report[name]["name_or_path"],
            outputs=None if report[name]["error"] else load_file(manifest[name]["outputs"]),
            error=report[name]["error"],
            case=cases[name],
        )
        for name in cases
    }
