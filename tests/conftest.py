"""Test-wide settings: everything runs offline and quietly."""

import os

# Nothing in the suite may reach the network: the Hub is read from local caches the tests build.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_addoption(parser):
    parser.addoption(
        "--bf16-native",
        choices=("host", "yes", "no"),
        default=os.environ.get("FACE_FUSION_TEST_BF16_NATIVE", "host"),
        help="Force this process's answer to 'does the CPU compute bf16 natively?' (the torch.cpu checks behind "
        "precision 'auto'): yes as on an AVX-512 BF16/AMX CPU, no as on an AVX2 one, host to ask the CPU. Runs the "
        "suite as either kind of CPU would. Default: $FACE_FUSION_TEST_BF16_NATIVE, else host.",
    )


def pytest_configure(config):
    choice = config.getoption("--bf16-native")
    if choice != "host":
        import torch

        native = choice == "yes"
        torch.cpu._is_avx512_bf16_supported = lambda: native
        torch.cpu._is_amx_tile_supported = lambda: native
