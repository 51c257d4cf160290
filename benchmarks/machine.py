"""What a benchmark ran on: CPU model and cores, library versions, and the GPU when there is one.

Every benchmark stores this beside its numbers, since a timing means nothing without the machine it came from.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from modeling.pipeline_face_video import usable_cores


def _cpuinfo(field: str) -> str | None:
    """The first value of ``field`` in Linux's /proc/cpuinfo (None elsewhere, or when absent)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(field):
                return line.split(":", 1)[1].strip()
    return None


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo), or what `platform` knows."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    return set((_cpuinfo("flags") or "").split())


def cpu_isa(flags: set[str]) -> str:
    """The vector instructions that set this project's CPU speed: bf16 is native only with AVX-512 BF16 or AMX."""
    if "amx_bf16" in flags:
        return "AVX-512 BF16 + AMX" if "avx512_bf16" in flags else "AMX"
    if "avx512_bf16" in flags:
        return "AVX-512 BF16"
    if "avx512f" in flags:
        return "AVX-512 (no BF16)"
    if "avx2" in flags:
        return "AVX2 only"
    return "no AVX2" if flags else platform.machine()


# Environment variables that make torch and oneDNN use fewer instructions than the CPU has (to run as an AVX2 machine
# would, on a newer one): a benchmark run under them is recorded as such.
ISA_CAPS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")


def machine_info() -> dict:
    """CPU, cores, Python, torch and GPU facts as a JSON-able dict."""
    import torch

    from modeling.inference_precision import bf16_is_native

    usable = usable_cores()
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_isa": cpu_isa(cpu_flags()),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "isa_caps": {name: os.environ[name] for name in ISA_CAPS if os.environ.get(name)},
        "bf16_native": bf16_is_native("cpu"),
        "cuda_available": torch.cuda.is_available(),
        "gpu": None,
        "gpu_count": 0,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
        info["cuda"] = torch.version.cuda
    return info


def describe(info: dict) -> str:
    """One line for a benchmark's printed table."""
    gpu = f", GPU {info['gpu']} x{info['gpu_count']}" if info.get("gpu") else ", no GPU"
    isa = info.get("cpu_isa", "instructions not recorded")
    if info.get("isa_caps"):
        isa += ", run capped to " + " ".join(f"{name}={value}" for name, value in info["isa_caps"].items())
    bf16 = "bf16 native" if info.get("bf16_native") else "bf16 emulated"
    return (
        f"{info['cpu_model']}, {isa}, {bf16} ({info['usable_cores']} of {info['logical_cores']} cores usable){gpu}; "
        f"Python {info['python']}, torch {info['torch']}"
    )


def report(results: dict, printed: str, json_path: str | os.PathLike | None) -> dict:
    """Prints a benchmark's table and, when asked, writes its figures (machine included) as JSON; returns them."""
    print(printed)
    if json_path:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2) + "\n")
    return results
