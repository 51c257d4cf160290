"""Offline Hugging Face helpers for tests: a hand-built Hub cache, and Python processes that cannot see the project.

* ``plant_in_hf_cache`` puts a saved model folder where ``from_pretrained("org/name")`` looks for it with
  ``HF_HUB_OFFLINE=1`` (the layout huggingface_hub itself writes), so the real repo-id loading code runs offline.
* ``run_clean_python`` runs code in a fresh interpreter whose ``sys.path`` lacks the project root, so remote code
  (``trust_remote_code=True``) is proven to work from the saved files alone, as it would on a user's machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Prepended to every clean process: drops the project root from sys.path (compared as whole resolved paths, because
# the venv's site-packages also lie under the project root) and fails loudly if the project is importable anyway.
_CLEAN_PREAMBLE = f"""\
import importlib.util as _importlib_util
import os as _os
import sys as _sys
_project_root = {str(PROJECT_ROOT)!r}
_sys.path[:] = [p for p in _sys.path if _os.path.realpath(p or _os.getcwd()) != _project_root]
# An editable install of the project (`pip install -e .`, as requirements.txt does) maps its packages through an import
# hook of setuptools', not through sys.path: drop that hook too, so a user's machine without the project is what runs.
_sys.meta_path[:] = [
    f for f in _sys.meta_path if not getattr(f, "__module__", "").startswith("__editable___face_fusion")
]
if _importlib_util.find_spec("modeling") is not None:
    raise RuntimeError("the project's `modeling` package is importable in a process meant to be clean")
"""


def plant_in_hf_cache(folder: str | os.PathLike, repo_id: str, cache_dir: str | os.PathLike) -> Path:
    """Copies a model folder into a Hugging Face Hub cache as the ``main`` revision of ``repo_id``.

    Builds ``cache_dir/models--{org}--{name}/snapshots/<40-hex>/<files>`` plus ``refs/main`` holding the hash
    (without ``refs/main`` offline loading by repo id fails). The hash is derived from the repo id and the file
    contents, so planting the same folder twice gives the same snapshot.

    Args:
        folder: A folder written by ``save_pretrained`` (or any files a Hub repo would hold); subfolders are kept.
        repo_id: ``"org/name"``.
        cache_dir: The hub cache directory, i.e. what ``HF_HUB_CACHE`` (or ``$HF_HOME/hub``) points at.

    Returns:
        The snapshot folder.
    """
    folder = Path(folder)
    digest = hashlib.sha1(repo_id.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    revision = digest.hexdigest()
    repo_dir = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / revision
    shutil.copytree(folder, snapshot, dirs_exist_ok=True)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    return snapshot


def run_clean_python(
    code: str, env: Mapping[str, str | None] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Runs ``code`` in a new interpreter that cannot import the project.

    The process starts in a fresh temporary directory, without ``PYTHONPATH``, and drops the project root from
    ``sys.path`` before ``code`` runs; it raises at once if ``modeling`` is still importable.

    Args:
        code: Python source to run.
        env: Variables added to (and overriding) the current environment, e.g. ``HF_HOME`` or ``HF_HUB_OFFLINE``;
            a value of ``None`` removes the variable. The process reads them at import time, which is why they
            must be set here and not in the test.
        timeout: Seconds before the process is killed (``subprocess.TimeoutExpired``).

    Returns:
        The completed process, with ``stdout`` and ``stderr`` as text; the caller checks ``returncode``.
    """
    full_env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    with tempfile.TemporaryDirectory(prefix="clean-python-") as cwd:
        return subprocess.run(
            [sys.executable, "-c", _CLEAN_PREAMBLE + code],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
