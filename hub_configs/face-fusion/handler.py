"""Custom handler for Hugging Face Inference Endpoints: a video in, the face-video-analysis pipeline's JSON out.

Request body: {"inputs": <video>, "parameters": {...}}. The video is the file's bytes (a binary request body), a
base64 string of them, or an http(s) URL; `parameters` are the pipeline's options (e.g. `num_frames`,
`timeline_window`, `people`, `precision`). Bad input gets {"error": "<one sentence>"} back, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from transformers import pipeline

# Options whose output is not JSON (images) or that call back into the caller's process.
_NOT_OVER_HTTP = ("return_face_crops", "progress_callback")


class EndpointHandler:
    def __init__(self, path: str = ""):
        # The repo's config.json registers the pipeline under its pipeline_tag, so no task needs naming here.
        self.pipeline = pipeline(model=path or ".", trust_remote_code=True)

    def __call__(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            video = _video_of(data.get("inputs") if isinstance(data, dict) else None)
            parameters = data.get("parameters") or {}
            if not isinstance(parameters, dict):
                raise ValueError("'parameters' must be a JSON object of pipeline options.")
            refused = sorted(name for name in parameters if name in _NOT_OVER_HTTP)
            if refused:
                raise ValueError(f"{', '.join(refused)} cannot be used over HTTP.")
            return self.pipeline(video, **parameters)
        except (ValueError, TypeError) as error:  # the pipeline's own errors are one sentence already
            return {"error": _one_sentence(error)}


def _video_of(inputs: Any) -> bytes | str:
    """The file's bytes, or an http(s) URL the pipeline downloads."""
    if isinstance(inputs, (bytes, bytearray, memoryview)):
        if not inputs:
            raise ValueError("the request holds an empty video.")
        return bytes(inputs)
    if isinstance(inputs, str) and inputs.startswith(("http://", "https://")):
        return inputs
    if isinstance(inputs, str) and inputs:
        try:
            return base64.b64decode(inputs, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                "'inputs' is a string but neither an http(s) URL nor base64-encoded video bytes."
            ) from None
    raise ValueError("send the video as 'inputs': its bytes, a base64 string of them, or an http(s) URL.")


def _one_sentence(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if text.endswith(".") else text + "."
