"""One clean process for every remote-code case of the model tests (see `remote_code.py`)."""

from __future__ import annotations

import pytest

from tests.models import (
    test_hub_loading,
    test_modeling_emonext,
    test_modeling_face_fusion,
    test_modeling_face_transformer,
)
from tests.models.remote_code import RemoteResult, run_remote_code

_BUILDERS = {
    "emonext": test_modeling_emonext.remote_cases,
    "face_transformer": test_modeling_face_transformer.remote_cases,
    "face_fusion": test_modeling_face_fusion.remote_cases,
    "hub": test_hub_loading.remote_cases,
}


@pytest.fixture(scope="session")
def remote_results(tmp_path_factory) -> dict[str, RemoteResult]:
    """Results by "<family>/<case>", from one process that cannot import the project and shares one HF_HOME."""
    root = tmp_path_factory.mktemp("remote-code")
    hf_home = root / "hf_home"
    cases = {}
    for family, build in _BUILDERS.items():
        for name, case in build(root / family, hf_home).items():
            cases[f"{family}/{name}"] = case
    return run_remote_code(cases, root / "run", hf_home=hf_home)
