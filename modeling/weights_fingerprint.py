"""The identity of a model's weights, wherever they were loaded from: results and embedding tables record it."""

import hashlib

import torch


def weights_fingerprint(model: torch.nn.Module) -> str:
    """SHA-256 (hex) of the model's parameters and buffers: names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode("utf-8"))
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


__all__ = ["weights_fingerprint"]
