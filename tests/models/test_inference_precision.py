"""The precision setting: "auto" | "fp32" | "bf16", the environment variable, and both answers of the hardware
check on every machine (the checks are forced each way)."""

from __future__ import annotations

import pytest
import torch

from modeling.inference_precision import (
    PRECISION_ENV,
    bf16_is_native,
    precision_autocast,
    precision_setting,
    resolve_precision,
)


@pytest.fixture(autouse=True)
def no_environment_setting(monkeypatch):
    for variable in (PRECISION_ENV, "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA"):
        monkeypatch.delenv(variable, raising=False)


def force_cpu(monkeypatch, avx512_bf16: bool, amx: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)


@pytest.mark.parametrize(
    "avx512_bf16, amx, expected",
    [(False, False, "fp32"), (True, False, "bf16"), (False, True, "bf16"), (True, True, "bf16")],
)
def test_auto_is_bf16_exactly_where_the_cpu_computes_it_natively(monkeypatch, avx512_bf16, amx, expected):
    force_cpu(monkeypatch, avx512_bf16, amx)
    assert bf16_is_native("cpu") == (expected == "bf16")
    assert resolve_precision("auto", "cpu") == resolve_precision(None, "cpu") == expected
    assert resolve_precision("fp32", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"


@pytest.mark.parametrize(
    "variable, value, native",
    [
        ("ATEN_CPU_CAPABILITY", "avx2", False),
        ("ATEN_CPU_CAPABILITY", "default", False),
        ("ATEN_CPU_CAPABILITY", "avx512", True),
        ("ONEDNN_MAX_CPU_ISA", "AVX2", False),
        ("ONEDNN_MAX_CPU_ISA", "avx512_core", False),
        ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16", True),
        ("ONEDNN_MAX_CPU_ISA", "avx512_core_amx", True),
    ],
)
def test_a_process_capped_below_bf16_instructions_runs_fp32(monkeypatch, variable, value, native):
    """Capping torch's or oneDNN's instruction set (to run as an AVX2 CPU would) makes bf16 emulated: auto is fp32."""
    force_cpu(monkeypatch, True, True)
    monkeypatch.setenv(variable, value)
    assert bf16_is_native("cpu") is native
    assert resolve_precision("auto", "cpu") == ("bf16" if native else "fp32")


@pytest.mark.parametrize("supported", [True, False])
def test_auto_on_cuda_asks_the_card(monkeypatch, supported):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: supported)
    assert resolve_precision("auto", "cuda") == ("bf16" if supported else "fp32")
    assert resolve_precision("auto", "mps") == "fp32"  # no native-bf16 check there: fp32


def test_the_environment_variable_applies_only_where_the_caller_gives_no_setting(monkeypatch):
    force_cpu(monkeypatch, False, False)
    monkeypatch.setenv(PRECISION_ENV, " BF16 ")
    assert precision_setting(None) == "bf16" and resolve_precision(None, "cpu") == "bf16"
    assert resolve_precision("fp32", "cpu") == "fp32"
    monkeypatch.setenv(PRECISION_ENV, "")
    assert precision_setting(None) == "auto"
    monkeypatch.setenv(PRECISION_ENV, "fp16")
    with pytest.raises(ValueError, match=f"^the environment variable {PRECISION_ENV} must be one of auto, fp32, bf16"):
        resolve_precision(None, "cpu")
    with pytest.raises(ValueError, match=r"^precision must be one of auto, fp32, bf16, not 'half'\.$"):
        resolve_precision("half", "cpu")


def test_the_autocast_context_computes_at_the_precision_it_names():
    layer = torch.nn.Linear(8, 8)
    inputs = torch.randn(2, 8)
    with precision_autocast("bf16", "cpu"):
        assert layer(inputs).dtype == torch.bfloat16
    with precision_autocast("fp32", "cpu"):
        assert layer(inputs).dtype == torch.float32
    with pytest.raises(ValueError, match="resolved"):
        precision_autocast("auto", "cpu")
