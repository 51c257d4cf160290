"""training/fetch_weights.py as a user runs it: a real process, face-alignment's host a local HTTP stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub_cache import plant_in_hf_cache
from tests.weights_server import WeightsServer, closed_port_url, planted_face_alignment_files

pytest.importorskip("face_alignment")
SCRIPT = Path(__file__).resolve().parents[2] / "training" / "fetch_weights.py"


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory) -> dict[str, bytes]:
    return planted_face_alignment_files(tmp_path_factory.mktemp("served"))


def run_fetch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=full_env, capture_output=True, text=True, timeout=300
    )


def test_one_command_fetches_everything_then_a_run_needs_no_network(weight_files, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "face-fusion"}))
    cache = tmp_path / "hf_cache"
    plant_in_hf_cache(model, "org/face-fusion", cache)  # the Hub's copy, as an earlier download left it
    torch_home = tmp_path / "torch_home"
    env = {"TORCH_HOME": str(torch_home), "HF_HUB_CACHE": str(cache), "HF_ENDPOINT": closed_port_url()}
    with WeightsServer(weight_files) as server:
        env["FACE_FUSION_WEIGHTS_MIRROR"] = server.url
        result = run_fetch(env, "--model", "org/face-fusion")
        assert result.returncode == 0, result.stderr
        assert sorted(name for _, name in server.requests if _ == "GET") == sorted(weight_files)
        assert "downloaded" in result.stdout and str(cache) in result.stdout

        server.requests.clear()
        again = run_fetch(env, "--model", "org/face-fusion")
        assert again.returncode == 0 and "already there" in again.stdout and server.requests == []

    checkpoints = torch_home / "hub" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == sorted(weight_files)
    # Offline afterwards, the default detector is face-alignment, built from what was fetched.
    code = (
        "from modeling.face_detection import build_face_detector as b; d, why = b('auto'); print(type(d).__name__, why)"
    )
    offline = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "TORCH_HOME": str(torch_home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(SCRIPT.parents[1])},
        capture_output=True, text=True, timeout=300,
    )
    assert offline.stdout.split() == ["FaceAlignmentDetector", "None"], offline.stderr


def test_without_network_each_failure_is_one_sentence(tmp_path):
    env = {
        "TORCH_HOME": str(tmp_path / "torch_home"),
        "HF_HUB_CACHE": str(tmp_path / "empty_cache"),
        "HF_ENDPOINT": closed_port_url(),
        "FACE_FUSION_WEIGHTS_MIRROR": closed_port_url(),
    }
    result = run_fetch(env, "--model", "org/not-cached")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("fetch_weights.py: error: ") for line in lines), result.stderr
    assert "org/not-cached" in lines[0] and "did not answer" in lines[1]
    assert "Traceback" not in result.stderr
