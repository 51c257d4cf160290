"""How many face crops go through EmoNeXt per forward pass when the caller does not say.

On a CPU, small batches are fastest: beyond about 8 crops, a stage's activations (for EmoNeXt-Base's first stage,
crops x 512 x 56 x 56 floats inside each block's MLP) no longer fit in cache. On a 2-core AVX2 EPYC, 8 crops per pass
embedded 30 crops 10-35 % faster than one pass of 30 (`benchmarks/bench_pipeline.py`). GPUs need large batches to keep
their cores busy, so there the caller's accelerator default applies.
"""

import torch

CPU_EMBED_BATCH_SIZE = 8


def default_embed_batch_size(device: torch.device | str, accelerator_batch_size: int) -> int:
    """Crops per forward pass on `device`: the cache-friendly CPU size, or `accelerator_batch_size` elsewhere."""
    return CPU_EMBED_BATCH_SIZE if torch.device(device).type == "cpu" else accelerator_batch_size


__all__ = ["CPU_EMBED_BATCH_SIZE", "default_embed_batch_size"]
