"""Fetching face-alignment's weights on first use, against a local HTTP stand-in for its download host."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modeling.face_alignment_weights import (
    MIRROR_ENV,
    PROBE_TIMEOUT_S,
    FaceAlignmentWeightsUnavailable,
    face_alignment_checkpoint_dir,
    face_alignment_weight_files,
    fetch_face_alignment_weights,
    missing_face_alignment_weights,
)
from modeling.face_detection import FaceAlignmentDetector, HaarFaceDetector, build_face_detector
from tests.weights_server import WeightsServer, closed_port_url, planted_face_alignment_files

face_alignment = pytest.importorskip("face_alignment")


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory) -> dict[str, bytes]:
    return planted_face_alignment_files(tmp_path_factory.mktemp("served"))


@pytest.fixture
def online(monkeypatch, tmp_path) -> Path:
    """An empty TORCH_HOME, and the network allowed (the suite sets HF_HUB_OFFLINE)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return Path(face_alignment_checkpoint_dir())


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*") if p.name not in face_alignment_weight_files("sfd"))


def test_first_use_fetches_the_weights_and_face_alignment_loads_them(weight_files, online, monkeypatch, capfd):
    with WeightsServer(weight_files) as server:
        monkeypatch.setenv(MIRROR_ENV, server.url)
        detector, fallback = build_face_detector("auto")
        assert isinstance(detector, FaceAlignmentDetector) and fallback is None
        assert sorted(name for method, name in server.requests if method == "GET") == sorted(weight_files)
        for name, data in weight_files.items():
            assert (online / name).read_bytes() == data
        assert leftovers(online) == []
        assert "%" in capfd.readouterr().err  # torch.hub's progress bar

        server.requests.clear()
        assert fetch_face_alignment_weights("sfd") == [] and server.requests == []  # on disk: no request at all


def test_a_download_cut_off_midway_leaves_nothing_under_the_final_name(weight_files, online, monkeypatch):
    with WeightsServer(weight_files) as server:
        monkeypatch.setenv(MIRROR_ENV, server.url)
        server.cut = {name for name in weight_files if name.startswith("s3fd")}
        with pytest.raises(FaceAlignmentWeightsUnavailable) as caught:
            fetch_face_alignment_weights("sfd")
    message = str(caught.value)
    assert "s3fd" in message and "cut short" in message and "nothing was saved" in message
    assert message.endswith(".") and "\n" not in message
    cut = [name for name in weight_files if name.startswith("s3fd")]
    assert missing_face_alignment_weights("sfd") == cut  # FAN came whole and was kept
    assert leftovers(online) == []  # no staging or .partial file either

    with WeightsServer(weight_files) as server:  # the next try, on a good connection, fetches only what is missing
        monkeypatch.setenv(MIRROR_ENV, server.url)
        assert fetch_face_alignment_weights("sfd") == cut
    assert missing_face_alignment_weights("sfd") == []


def test_a_cut_download_makes_auto_fall_back_to_haar_and_an_explicit_request_fail(weight_files, online, monkeypatch):
    with WeightsServer(weight_files) as server:
        monkeypatch.setenv(MIRROR_ENV, server.url)
        server.cut = set(weight_files)
        detector, fallback = build_face_detector("auto")
        assert isinstance(detector, HaarFaceDetector) and "cut short" in fallback
        with pytest.raises(ValueError, match="face_detector='haar'"):
            build_face_detector("face_alignment")


def test_no_network_falls_back_to_haar_at_once(online, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, closed_port_url())
    start = time.monotonic()
    detector, fallback = build_face_detector("auto")
    assert time.monotonic() - start < PROBE_TIMEOUT_S
    assert isinstance(detector, HaarFaceDetector)
    assert "did not answer" in fallback and str(online) in fallback
    assert not online.exists() or leftovers(online) == []


def test_offline_mode_sends_no_request(weight_files, online, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with WeightsServer(weight_files) as server:
        monkeypatch.setenv(MIRROR_ENV, server.url)
        detector, fallback = build_face_detector("auto")
    assert isinstance(detector, HaarFaceDetector) and "HF_HUB_OFFLINE" in fallback
    assert server.requests == []


def test_the_mirror_serves_face_alignments_own_file_names(monkeypatch):
    from modeling.face_alignment_weights import face_alignment_weight_urls

    monkeypatch.delenv(MIRROR_ENV, raising=False)
    for detector in ("sfd", "blazeface"):
        real = face_alignment_weight_urls(detector)
        assert tuple(real) == face_alignment_weight_files(detector)
        assert all(url.startswith("https://") for url in real.values())
        monkeypatch.setenv(MIRROR_ENV, "http://mirror.example/weights/")
        assert face_alignment_weight_urls(detector) == {n: f"http://mirror.example/weights/{n}" for n in real}
        monkeypatch.delenv(MIRROR_ENV)


def test_the_processor_says_which_detector_runs_and_why(weight_files, online, monkeypatch):
    from modeling.processing_face_video import FaceVideoProcessor

    monkeypatch.setenv(MIRROR_ENV, closed_port_url())
    with pytest.warns(UserWarning, match="did not answer"):
        fallback = FaceVideoProcessor(num_frames=2, image_size=32)
        assert fallback.resolved_face_detector == "haar"
    assert fallback.face_detector_description.startswith("OpenCV's Haar cascade, because face-alignment's weights")
    assert "did not answer" in fallback.face_detector_description
    assert FaceVideoProcessor(face_detector="haar").face_detector_description == "OpenCV's Haar cascade"

    with WeightsServer(weight_files) as server:
        monkeypatch.setenv(MIRROR_ENV, server.url)
        fetched = FaceVideoProcessor(num_frames=2, image_size=32)
        assert fetched.resolved_face_detector == "face_alignment" and fetched.face_detector_fallback is None
    assert fetched.face_detector_description == "face-alignment (S3FD boxes, FAN landmarks)"
