"""Inference precision: bf16 autocast where the hardware computes bf16 natively, fp32 elsewhere.

On CUDA cards with bf16 and on CPUs with AVX-512 BF16 or AMX, autocast roughly halves EmoNeXt's time at a cosine
similarity above 0.9999 to the fp32 embeddings. On CPUs without them (plain AVX2) bf16 is emulated and much slower
than fp32, so it stays off there.
"""

import contextlib

import torch


def bf16_is_native(device: torch.device | str) -> bool:
    """Whether `device` computes bf16 in hardware (so autocast is a speed-up, not a slow-down)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, check, lambda: False)() for check in checks)
    return False


def inference_autocast(device: torch.device | str, enabled: bool | None = None) -> contextlib.AbstractContextManager:
    """bf16 autocast on `device` when `enabled` (None: when the hardware has native bf16), else a no-op context."""
    device = torch.device(device)
    if enabled is None:
        enabled = bf16_is_native(device)
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


__all__ = ["bf16_is_native", "inference_autocast"]
