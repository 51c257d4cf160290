"""The page's settings: one default per setting, overridden by its environment variable, then by its flag."""

from __future__ import annotations

import dataclasses

import pytest

from webapp.settings import ENVIRONMENT, Settings, read_settings


def test_defaults_are_the_dataclass_defaults():
    assert read_settings([], environ={}) == Settings()


def test_environment_overrides_the_default_and_a_flag_overrides_both():
    environ = {"FACE_FUSION_MODEL": "someone/else", "FACE_FUSION_REVISION": "0" * 40, "GRADIO_SERVER_PORT": "8000"}
    from_env = read_settings([], environ=environ)
    assert (from_env.model, from_env.revision, from_env.port) == ("someone/else", "0" * 40, 8000)
    flagged = read_settings(["--model", "my/run", "--port", "9000", "--max_upload_mb", "5"], environ=environ)
    assert (flagged.model, flagged.revision, flagged.port, flagged.max_upload_mb) == ("my/run", "0" * 40, 9000, 5.0)


def test_every_setting_has_a_flag_and_every_variable_names_a_setting():
    names = {spec.name for spec in dataclasses.fields(Settings)}
    assert set(ENVIRONMENT) <= names
    assert read_settings([f"--{name}=1" for name in ("num_frames", "timeline_window")], environ={}).num_frames == 1


def test_precision_from_the_shared_variable_or_the_flag():
    assert read_settings([], environ={}).precision == "auto"
    assert read_settings([], environ={"FACE_FUSION_PRECISION": "bf16"}).precision == "bf16"
    assert read_settings(["--precision", "fp32"], environ={"FACE_FUSION_PRECISION": "bf16"}).precision == "fp32"


@pytest.mark.parametrize("argv, environ", [
    (["--face_detector", "dlib"], {}),
    ([], {"GRADIO_SERVER_PORT": "http"}),
    ([], {"FACE_FUSION_PRECISION": "fp16"}),
    (["--precision", "fp16"], {}),
])
def test_bad_values_stop_with_a_usage_message(argv, environ, capsys):
    with pytest.raises(SystemExit) as stopped:
        read_settings(argv, environ=environ)
    assert stopped.value.code == 2
    assert "usage:" in capsys.readouterr().err
