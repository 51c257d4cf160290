"""face-alignment's weight files: where they live, where they come from, and fetching them safely.

face-alignment downloads its networks from fixed URLs into ``$TORCH_HOME/hub/checkpoints`` the first time it is built
(torch.hub's ``download_url_to_file``). ``fetch_face_alignment_weights`` does that same download ahead of the build,
with two guarantees face-alignment alone does not give:

* **No wait without a network.** One short request (``PROBE_TIMEOUT_S``) first: no answer means a
  ``FaceAlignmentWeightsUnavailable`` at once, not a download that hangs. ``HF_HUB_OFFLINE=1`` skips the network.
* **A partial download is never used.** torch.hub moves its temporary file into place even when the server closed the
  connection early (urllib returns the short body without an error), so each file is downloaded to a staging name,
  loaded once to prove it is whole, and only then renamed to the name face-alignment looks for.

``FACE_FUSION_WEIGHTS_MIRROR`` (a base URL) fetches the same file names from a mirror instead of face-alignment's
host: for machines behind a proxy, and for the tests' local HTTP stand-in.
"""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import numpy as np
import torch

# File names face-alignment 1.4/1.5 stores in torch.hub's checkpoint folder (the basenames of its download URLs:
# face_alignment.api.models_urls and the detectors' models_urls). Checked against the installed package by a test.
FAN_2D_WEIGHTS = "2DFAN4-11f355bf06.pth.tar"
FACE_ALIGNMENT_DETECTOR_WEIGHTS: dict[str, tuple[str, ...]] = {
    "sfd": ("s3fd-619a316812.pth",),
    "blazeface": ("blazeface.pth", "anchors.npy"),
}
MIRROR_ENV = "FACE_FUSION_WEIGHTS_MIRROR"
PROBE_TIMEOUT_S = 3.0
# A download that stops sending for this long is abandoned (torch.hub itself would wait forever).
STALL_TIMEOUT_S = 60.0


class FaceAlignmentWeightsUnavailable(OSError):
    """face-alignment's weights are not on disk and could not be fetched; the message is one sentence saying why.

    Attributes:
        reason: The cause alone, to end another sentence ("HF_HUB_OFFLINE is set", "host did not answer (...)").
    """

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def face_alignment_checkpoint_dir() -> str:
    """The folder face-alignment downloads its weights into: ``$TORCH_HOME/hub/checkpoints`` by default."""
    return os.path.join(torch.hub.get_dir(), "checkpoints")


def face_alignment_weight_files(detector: str = "sfd") -> tuple[str, ...]:
    """The FAN and ``detector`` weight file names face-alignment needs."""
    return (FAN_2D_WEIGHTS, *FACE_ALIGNMENT_DETECTOR_WEIGHTS[detector])


def missing_face_alignment_weights(detector: str = "sfd") -> list[str]:
    """The FAN and ``detector`` weight files not yet in ``face_alignment_checkpoint_dir()`` (file names)."""
    folder = face_alignment_checkpoint_dir()
    return [name for name in face_alignment_weight_files(detector) if not os.path.isfile(os.path.join(folder, name))]


def face_alignment_installed() -> bool:
    try:
        import face_alignment  # noqa: F401
    except ImportError:
        return False
    return True


def face_alignment_weights_present(detector: str = "sfd") -> bool:
    """Whether face-alignment can be built with ``detector`` without any download.

    Args:
        detector: face-alignment detector name ("sfd" or "blazeface").

    Returns:
        True when the package imports and the FAN and detector weight files are already on disk.
    """
    return face_alignment_installed() and not missing_face_alignment_weights(detector)


def face_alignment_weight_urls(detector: str = "sfd") -> dict[str, str]:
    """File name -> download URL, as the installed face-alignment has them (or on ``$FACE_FUSION_WEIGHTS_MIRROR``)."""
    from face_alignment import api
    from face_alignment.detection.blazeface import blazeface_detector
    from face_alignment.detection.sfd import sfd_detector

    urls = [api.models_urls["2DFAN-4"]]
    if detector == "sfd":
        urls.append(sfd_detector.models_urls["s3fd"])
    else:
        blazeface = blazeface_detector.models_urls
        urls += [blazeface["blazeface_weights"], blazeface["blazeface_anchors"]]
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    named = {os.path.basename(urllib.parse.urlparse(url).path): url for url in urls}
    if mirror:
        named = {name: f"{mirror.rstrip('/')}/{name}" for name in named}
    return named


def fetch_face_alignment_weights(detector: str = "sfd", progress: bool = True) -> list[str]:
    """Download whichever of face-alignment's weight files for ``detector`` are missing.

    Args:
        detector: face-alignment detector name ("sfd" or "blazeface").
        progress: Show torch.hub's progress bar (on stderr) for each file.

    Returns:
        The names of the files downloaded (empty when all were present).

    Raises:
        FaceAlignmentWeightsUnavailable: The package is missing, the machine is offline, the host did not answer
            within ``PROBE_TIMEOUT_S``, or a download failed or came incomplete (nothing is left under the final name).
    """
    if not face_alignment_installed():
        raise FaceAlignmentWeightsUnavailable(
            "the face-alignment package is not installed.", "the face-alignment package is not installed"
        )
    missing = missing_face_alignment_weights(detector)
    if not missing:
        return []
    folder = face_alignment_checkpoint_dir()
    urls = face_alignment_weight_urls(detector)
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise FaceAlignmentWeightsUnavailable(
            f"face-alignment's weights are not in {folder} and HF_HUB_OFFLINE is set, so they were not downloaded.",
            "HF_HUB_OFFLINE is set",
        )
    reason = _unreachable_reason(urls[missing[0]])
    if reason:
        reason = f"{_host(urls[missing[0]])} did not answer ({reason})"
        raise FaceAlignmentWeightsUnavailable(f"face-alignment's weights are not in {folder} and {reason}.", reason)
    os.makedirs(folder, exist_ok=True)
    for name in missing:
        _download_whole(urls[name], os.path.join(folder, name), progress)
    return missing


def _unreachable_reason(url: str) -> str | None:
    """None when the host answers a HEAD request within ``PROBE_TIMEOUT_S`` (any HTTP status), else why not."""
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "torch.hub"})
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S):
            return None
    except urllib.error.HTTPError:  # an answer, even 403/405: the network is there, the download will say more
        return None
    except urllib.error.URLError as error:
        return _reason(error.reason)
    except Exception as error:  # noqa: BLE001 - timeouts, resets
        return _reason(error)


def _download_whole(url: str, final: str, progress: bool) -> None:
    """torch.hub's download into a staging name, a full load to prove the file whole, then the rename."""
    staging = f"{final}.{os.getpid()}.download"
    name = os.path.basename(final)

    def unavailable(reason: str) -> FaceAlignmentWeightsUnavailable:
        _remove(staging)
        return FaceAlignmentWeightsUnavailable(
            f"face-alignment's {name} could not be downloaded from {url} ({reason}), so nothing was saved as {final}.",
            f"the download of {name} failed ({reason})",
        )

    try:
        with _stall_timeout(STALL_TIMEOUT_S):
            torch.hub.download_url_to_file(url, staging, progress=progress)
    except Exception as error:
        raise unavailable(_reason(error)) from error
    try:
        _check_loads(staging, name)
    except Exception as error:
        raise unavailable("the download was cut short: the file is incomplete") from error
    os.replace(staging, final)


def _check_loads(path: str, name: str) -> None:
    """Raise when a downloaded weight file is incomplete (a cut download fails to load as a whole)."""
    if name.endswith(".npy"):
        np.load(path, allow_pickle=False)
    else:
        torch.load(path, map_location="cpu", weights_only=True)


@contextmanager
def _stall_timeout(seconds: float):
    """torch.hub opens its connection with the socket default timeout, which is none: bound it for the download."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc or url


def _reason(error: object) -> str:
    """An exception (or a reason) as the end of a sentence: "connection refused", "timed out"."""
    text = (getattr(error, "strerror", None) or str(error) or type(error).__name__).strip().rstrip(".")
    text = text.splitlines()[0] if text else type(error).__name__
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
