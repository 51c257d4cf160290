"""A local HTTP stand-in for face-alignment's download host: a real ``http.server`` on 127.0.0.1.

It serves planted weight files by name (``FACE_FUSION_WEIGHTS_MIRROR`` points the fetch at it), records the requests
it answered, and can cut a file short: announce the whole length, send half, close the connection, as a dropped
download does.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch


class WeightsServer:
    """Serves ``files`` (name -> bytes) at ``url``; names in ``cut`` are sent half and the connection closed."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.cut: set[str] = set()
        self.requests: list[tuple[str, str]] = []  # (method, file name)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, body_wanted: bool):
                name = self.path.lstrip("/")
                server.requests.append((self.command, name))
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body_wanted:
                    self.wfile.write(data[: len(data) // 2] if name in server.cut else data)
                    self.wfile.flush()
                    if name in server.cut:
                        self.close_connection = True

            def do_HEAD(self):
                self._answer(False)

            def do_GET(self):
                self._answer(True)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> WeightsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused at once, as on a machine without network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def planted_face_alignment_files(folder: Path) -> dict[str, bytes]:
    """face-alignment's FAN and S3FD files as face-alignment loads them: real architectures, made-up weights."""
    import face_alignment
    from face_alignment.detection.sfd.net_s3fd import s3fd

    from modeling.face_alignment_weights import FACE_ALIGNMENT_DETECTOR_WEIGHTS, FAN_2D_WEIGHTS

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(face_alignment.models.FAN(4).state_dict(), folder / FAN_2D_WEIGHTS)
    torch.save(s3fd().state_dict(), folder / FACE_ALIGNMENT_DETECTOR_WEIGHTS["sfd"][0])
    return {path.name: path.read_bytes() for path in folder.iterdir()}


__all__ = ["WeightsServer", "closed_port_url", "planted_face_alignment_files"]
