"""Inference precision: one setting, "auto" | "fp32" | "bf16", resolved the same way by the pipeline, the
extraction CLI and the page.

"auto" is bf16 autocast where the hardware computes bf16 natively and fp32 elsewhere. On CUDA cards with bf16 and on
CPUs with AVX-512 BF16 or AMX, autocast roughly halves EmoNeXt's time at a cosine similarity above 0.9999 to the fp32
embeddings. On CPUs without them (plain AVX2) bf16 is emulated and much slower than fp32, so "auto" keeps fp32 there;
forcing "bf16" still works there, only slowly. Since the two give slightly different numbers (trait scores up to
about 0.004 apart on the production model), every result and every embedding table records the precision it used.

The environment variable ``FACE_FUSION_PRECISION`` sets the precision wherever the caller does not.
"""

import contextlib
import os

import torch

PRECISIONS = ("auto", "fp32", "bf16")
PRECISION_ENV = "FACE_FUSION_PRECISION"


# ONEDNN_MAX_CPU_ISA values that still let oneDNN use bf16 instructions (its convolutions and matmuls under autocast).
_ONEDNN_BF16_ISAS = {
    "ALL", "DEFAULT", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16",
    "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2",
}


def bf16_is_native(device: torch.device | str) -> bool:
    """Whether `device` computes bf16 in hardware (so autocast is a speed-up, not a slow-down)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, check, lambda: False)() for check in checks) and not cpu_isa_capped()
    return False


def cpu_isa_capped() -> bool:
    """Whether this process is told to use less of the CPU than bf16 needs: ``ATEN_CPU_CAPABILITY`` below avx512 or
    ``ONEDNN_MAX_CPU_ISA`` below AVX512_CORE_BF16 (how one runs as an AVX2 machine would, on a newer one).

    Then bf16 is emulated: 5-16x slower than fp32 for ConvNeXt-Base on an AVX-512 BF16 CPU capped to AVX2.
    """
    aten = os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower()
    onednn = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    return (aten not in ("", "avx512")) or (onednn not in ("", *_ONEDNN_BF16_ISAS))


def precision_setting(setting: str | None = None) -> str:
    """The setting in force: `setting` when given, else ``$FACE_FUSION_PRECISION``, else "auto".

    Raises:
        ValueError: A setting (or the environment variable) that is not one of "auto", "fp32", "bf16".
    """
    if setting is None:
        setting = os.environ.get(PRECISION_ENV, "").strip() or "auto"
        where = f"the environment variable {PRECISION_ENV}"
    else:
        where = "precision"
    setting = str(setting).strip().lower()
    if setting not in PRECISIONS:
        raise ValueError(f"{where} must be one of {', '.join(PRECISIONS)}, not {setting!r}.")
    return setting


def resolve_precision(setting: str | None, device: torch.device | str) -> str:
    """The precision a computation on `device` runs at, "fp32" or "bf16".

    Args:
        setting: "auto", "fp32", "bf16", or None for ``$FACE_FUSION_PRECISION`` (default "auto"). "auto" is bf16
            where `device` computes bf16 natively (`bf16_is_native`), fp32 elsewhere.
        device: Where the model runs.

    Raises:
        ValueError: An unknown setting.
    """
    setting = precision_setting(setting)
    if setting == "auto":
        return "bf16" if bf16_is_native(device) else "fp32"
    return setting


def precision_autocast(precision: str, device: torch.device | str) -> contextlib.AbstractContextManager:
    """The context to run a model in at a resolved `precision`: bf16 autocast on `device`, or a no-op for fp32."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be resolved to 'fp32' or 'bf16' first, not {precision!r}.")
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


__all__ = [
    "PRECISIONS",
    "PRECISION_ENV",
    "bf16_is_native",
    "cpu_isa_capped",
    "precision_autocast",
    "precision_setting",
    "resolve_precision",
]
