"""One short question to the Hugging Face Hub before loading from it, so that no network means no wait.

Without a network the Hub client retries each file for about 25 s before the local cache (or a fallback) is used;
one HEAD request with a short timeout answers the same question at once. The page and `fetch_weights.py` ask it.
"""

from __future__ import annotations

PROBE_TIMEOUT_S = 3.0


def hub_reachable(timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the Hub endpoint (`HF_ENDPOINT`) answers at all within `timeout_s`; False under `HF_HUB_OFFLINE`."""
    from huggingface_hub import constants, get_session

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        get_session().head(constants.ENDPOINT, timeout=timeout_s)
    except Exception:  # noqa: BLE001 - DNS failure, refused, timed out, proxy error: all mean "not now"
        return False
    return True


__all__ = ["PROBE_TIMEOUT_S", "hub_reachable"]
