"""What the page's command line (or a Space's environment variables) configures: one definition of each default.

Each field's default is written once, below; an environment variable named in `ENVIRONMENT` overrides it, and a
command-line flag of the field's name overrides both.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modeling.inference_precision import PRECISION_ENV, PRECISIONS
from modeling.processing_face_video import FACE_DETECTORS


@dataclass(frozen=True)
class Settings:
    """The page's settings; `help` of each field is its command-line help."""

    model: str = field(default="org/face-fusion", metadata={"help": "Hub id or folder of the face-fusion model"})
    revision: str | None = field(
        default=None, metadata={"help": "Hub branch, tag or commit of --model (pin a commit for a reproducible page)"}
    )
    precision: str = field(
        default="auto",
        metadata={"help": "embedder precision: bf16 where the hardware runs it natively (auto), or forced",
                  "choices": PRECISIONS},
    )
    host: str = field(default="127.0.0.1", metadata={"help": "address to serve on"})
    port: int = field(default=7860, metadata={"help": "port to serve on"})
    max_upload_mb: float = field(default=200.0, metadata={"help": "largest accepted upload, in MB"})
    max_duration_s: float = field(default=600.0, metadata={"help": "longest accepted video, in seconds"})
    max_megapixels: float = field(  # 4K UHD frames: bounds the memory one analysis holds
        default=8.3, metadata={"help": "largest accepted frame size (8.3: 4K UHD); bounds each analysis's memory"}
    )
    num_frames: int | None = field(default=None, metadata={"help": "frames sampled per video (model default)"})
    face_detector: str = field(default="auto", metadata={"help": "face detector", "choices": FACE_DETECTORS})
    timeline_window: int = field(default=5, metadata={"help": "frames per point of the emotion timeline"})
    concurrency: int = field(default=2, metadata={"help": "analyses run at the same time"})
    max_queue: int = field(default=16, metadata={"help": "requests waiting before new ones are refused"})
    mcp_server: bool = field(
        default=True, metadata={"help": "also serve the API as an MCP server (needs gradio[mcp]; off if missing)"}
    )


# Environment variables that override a default (a Space sets these as its variables).
ENVIRONMENT = {
    "model": "FACE_FUSION_MODEL",
    "revision": "FACE_FUSION_REVISION",
    "precision": PRECISION_ENV,  # shared with the pipeline and the extraction CLI
    "host": "GRADIO_SERVER_NAME",
    "port": "GRADIO_SERVER_PORT",
    "mcp_server": "GRADIO_MCP_SERVER",
}


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _converter(field_type: str):
    """The text-to-value function of a field's (string) annotation."""
    if field_type.startswith("int"):
        return int
    if field_type.startswith("float"):
        return float
    if field_type == "bool":
        return _parse_bool
    return str


def read_settings(argv: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from the defaults, then `environ` (default: `os.environ`), then the flags in `argv`.

    Raises:
        SystemExit: A bad flag or environment value (argparse's usage message, exit status 2).
    """
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description="Serve the face-fusion web page (and its /predict API).")
    for spec in dataclasses.fields(Settings):
        convert = _converter(str(spec.type))
        default = spec.default
        variable = ENVIRONMENT.get(spec.name)
        if variable and environ.get(variable, "").strip():
            try:
                default = convert(environ[variable])
            except (ValueError, argparse.ArgumentTypeError):
                parser.error(f"environment variable {variable}={environ[variable]!r} is not a valid {spec.name}")
        help_text = spec.metadata["help"] + (f" (environment variable {variable})" if variable else "")
        parser.add_argument(f"--{spec.name}", type=convert, default=default, choices=spec.metadata.get("choices"),
                            help=help_text)
    values = vars(parser.parse_args(list(argv)))
    for spec in dataclasses.fields(Settings):  # an environment value skips argparse's choices
        choices = spec.metadata.get("choices")
        if choices and values[spec.name] not in choices:
            parser.error(f"{spec.name} must be one of {', '.join(choices)}, not {values[spec.name]!r}")
    return Settings(**values)
