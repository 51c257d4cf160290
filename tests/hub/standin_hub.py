"""A stand-in for the Hugging Face Hub's upload API on 127.0.0.1, for testing pushes without the real Hub.

It answers the requests huggingface_hub's `create_repo` and `upload_folder` make (read from huggingface_hub 2.x:
`hf_api.create_repo`, `_commit_api._fetch_upload_modes` / `_send_commit`, `lfs.post_lfs_batch_info` /
`_upload_single_part`) and keeps what arrives, so a test can compare the received files with the folder it pushed
(`{type}` is model, space or dataset):

* ``POST /api/repos/create``                                   -> the repo is recorded
* ``POST /api/validate-yaml``                                  -> accepted (README metadata check)
* ``POST /api/{type}s/{ns}/{name}/preupload/{rev}``             -> "lfs" for weights, videos and tables, else "regular"
* ``POST /[{type}s/]{ns}/{name}.git/info/lfs/objects/batch``    -> basic-transfer upload URLs on this server
* ``PUT  /lfs-upload/{oid}``                                   -> the LFS object (its sha256 is checked)
* ``POST /api/{type}s/{ns}/{name}/commit/{rev}``                -> the files of the commit (base64 or LFS pointers)

and the reads a client makes of what it pushed (``datasets``' ``push_to_hub`` and ``load_dataset`` make them), all
for the repo's latest files whatever the revision asked for:

* ``GET  /api/{type}s/{ns}/{name}[/revision/{rev}]``            -> the repo's info (``sha``, ``siblings``)
* ``GET  /api/{type}s/{ns}/{name}/tree/{rev}[/{path}]``         -> the files and folders under ``path``
* ``POST /api/{type}s/{ns}/{name}/paths-info/{rev}``            -> the files and folders asked for that exist
* ``HEAD|GET /[{type}s/]{ns}/{name}/resolve/{rev}/{path}``      -> a file, with the commit and ETag headers

Uploads must go the LFS "basic" way: run the client with ``HF_HUB_DISABLE_XET=1`` (Xet storage is another service).
The real Hub is unreachable here; this is the only fake in the test suite.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote

LFS_SUFFIXES = (".safetensors", ".mp4", ".bin", ".pt", ".parquet", ".arrow")  # as the Hub's .gitattributes


@dataclass
class Repo:
    repo_type: str
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)  # commit titles
    created_with: dict = field(default_factory=dict)  # the create_repo payload

    @property
    def sha(self) -> str:
        """The head commit's id: it changes with every commit."""
        return hashlib.sha1(json.dumps(self.commits).encode()).hexdigest()

    def entry(self, path: str) -> dict | None:
        """``path``'s entry as the Hub's tree and paths-info list it, or None when neither a file nor a folder."""
        if path in self.files:
            data = self.files[path]
            entry = {"type": "file", "path": path, "size": len(data), "oid": _git_oid(data)}
            if path.endswith(LFS_SUFFIXES):
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            return entry
        if any(name.startswith(path.rstrip("/") + "/") for name in self.files):
            return {"type": "directory", "path": path.rstrip("/"), "oid": hashlib.sha1(path.encode()).hexdigest()}
        return None


@dataclass
class Raw:
    """A response that is a file's bytes (or only its headers, for HEAD), not JSON."""

    data: bytes
    headers: dict[str, str]


class StandInHub:
    """Start with `with StandInHub() as hub:`; push to `hub.endpoint`; read `hub.repos[(type, id)]`, `hub.requests`."""

    def __init__(self):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) in arrival order
        self.authorizations: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client_env(self, hf_home: Path) -> dict[str, str]:
        """The environment that points a Hugging Face client in another process at this stand-in, online, by the LFS
        way, with a token and its own ``HF_HOME``."""
        return {"HF_ENDPOINT": self.endpoint, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
                "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": "hf_standin", "HF_HOME": str(hf_home)}

    def __enter__(self) -> StandInHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------------------------------------ handlers

    def _handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict | None]:
        with self._lock:
            self.requests.append((method, path))
            if headers.get("authorization"):
                self.authorizations.add(headers["authorization"])
        path, _, query = path.partition("?")
        path = unquote(path)
        if method == "POST" and path == "/api/repos/create":
            payload = json.loads(body)
            repo_type = payload.get("type") or "model"
            repo_id = f"{payload['organization']}/{payload['name']}"
            with self._lock:
                self.repos.setdefault((repo_type, repo_id), Repo(repo_type, created_with=payload))
            prefix = "" if repo_type == "model" else f"{repo_type}s/"
            return 200, {"url": f"{self.endpoint}/{prefix}{repo_id}", "name": repo_id}
        if method == "POST" and path == "/api/validate-yaml":
            return 200, {"errors": [], "warnings": []}
        if (answer := self._read(path, query, body)) is not None:
            return answer
        if match := re.fullmatch(r"/api/(model|space|dataset)s/([^/]+/[^/]+)/preupload/[^/]+", path):
            files = json.loads(body)["files"]
            modes = [
                {
                    "path": f["path"],
                    "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) and f["size"] > 0 else "regular",
                    "shouldIgnore": False,
                    "oid": None,
                }
                for f in files
            ]
            return (200, {"files": modes}) if self._repo(match) else (404, {"error": "Repository not found"})
        if match := re.fullmatch(r"/(?:(space|dataset)s/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch", path):
            objects = json.loads(body)["objects"]
            actions = [
                {
                    "oid": o["oid"],
                    "size": o["size"],
                    "authenticated": True,
                    "actions": {"upload": {"href": f"{self.endpoint}/lfs-upload/{o['oid']}"}},
                }
                for o in objects
            ]
            return 200, {"transfer": "basic", "objects": actions}
        if method == "PUT" and (match := re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", path)):
            if hashlib.sha256(body).hexdigest() != match.group(1):
                return 400, {"error": "sha256 mismatch"}
            with self._lock:
                self.lfs_objects[match.group(1)] = body
            return 200, {}
        if match := re.fullmatch(r"/api/(model|space|dataset)s/([^/]+/[^/]+)/commit/[^/]+", path):
            repo = self._repo(match)
            if repo is None:
                return 404, {"error": "Repository not found"}
            received, deleted = {}, []
            title = ""
            for line in body.splitlines():
                item = json.loads(line)
                value = item["value"]
                if item["key"] == "header":
                    title = value["summary"]
                elif item["key"] == "file":
                    received[value["path"]] = base64.b64decode(value["content"])
                elif item["key"] == "lfsFile":
                    if value["oid"] not in self.lfs_objects:
                        return 400, {"error": f"LFS object of {value['path']} was never uploaded"}
                    received[value["path"]] = self.lfs_objects[value["oid"]]
                elif item["key"] in ("deletedFile", "deletedFolder"):
                    deleted.append(value["path"])
            with self._lock:
                for gone in deleted:
                    for name in [n for n in repo.files if n == gone or n.startswith(gone.rstrip("/") + "/")]:
                        del repo.files[name]
                repo.files.update(received)
                repo.commits.append(title)
            oid = hashlib.sha1((title + "".join(sorted(received))).encode()).hexdigest()
            return 200, {"commitUrl": f"{self.endpoint}/{match.group(2)}/commit/{oid}", "commitOid": oid,
                         "pullRequestUrl": None}
        return 404, {"error": f"the stand-in Hub does not serve {method} {path}"}

    def _repo(self, match: re.Match) -> Repo | None:
        return self.repos.get((match.group(1) or "model", match.group(2)))

    def _read(self, path: str, query: str, body: bytes) -> tuple[int, dict | list | Raw] | None:
        """The read endpoints (see the module's docstring); None for a path that is not one of them."""
        api = re.fullmatch(r"/api/(model|space|dataset)s/([^/]+/[^/]+?)(?:/(revision|tree|paths-info)/([^/]+)(/.*)?)?",
                           path)
        resolve = re.fullmatch(r"/(?:(space|dataset)s/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if not (api or resolve) or (repo := self._repo(api or resolve)) is None:
            return (404, {"error": "Repository not found"}) if (api or resolve) else None
        with self._lock:
            files = dict(repo.files)
        if resolve:
            name = resolve.group(4)
            if name not in files:
                return _entry_not_found(name)
            headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{_git_oid(files[name])}"'}
            return 200, Raw(files[name], headers)
        kind, inside = api.group(3), (api.group(5) or "").strip("/")
        if kind is None or kind == "revision":
            siblings = [{"rfilename": name, "size": len(data)} for name, data in sorted(files.items())]
            return 200, {"id": api.group(2), "sha": repo.sha, "private": False, "disabled": False, "gated": False,
                         "tags": [], "siblings": siblings, "lastModified": "2026-01-01T00:00:00.000Z"}
        if kind == "tree":
            recursive = parse_qs(query).get("recursive", ["false"])[0].lower() == "true"
            prefix = f"{inside}/" if inside else ""
            below = [name[len(prefix):] for name in sorted(files) if name.startswith(prefix)]
            if inside and not below:
                return _entry_not_found(inside)
            paths = below if recursive else sorted({part.split("/")[0] for part in below})
            if recursive:  # the folders too, as the Hub lists them
                folders = {name.rsplit("/", depth)[0] for name in below for depth in range(1, name.count("/") + 1)}
                paths = sorted(set(paths) | folders)
            return 200, [repo.entry(prefix + name) for name in paths]
        asked = parse_qs(body.decode()).get("paths", [])  # huggingface_hub posts them as a form
        return 200, [entry for name in asked if (entry := repo.entry(name)) is not None]

    def _handler_class(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _respond(self):
                method = "GET" if self.command == "HEAD" else self.command
                status, payload = hub._handle(method, self.path, _lower(self.headers), self._body())
                raw = payload if isinstance(payload, Raw) else Raw(json.dumps(payload or {}).encode(), {})
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **raw.headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw.data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(raw.data)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            do_GET = do_HEAD = do_POST = do_PUT = _respond

            def log_message(self, *args):  # keep pytest output clean
                pass

        return Handler


def _entry_not_found(path: str) -> tuple[int, Raw]:
    """The Hub's answer for a file or folder the repo lacks: huggingface_hub raises EntryNotFoundError on its code."""
    return 404, Raw(json.dumps({"error": f"{path} is not in the repo"}).encode(), {"X-Error-Code": "EntryNotFound"})


def _git_oid(data: bytes) -> str:
    """A file's git blob id, as the Hub reports it for files not stored by LFS."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _lower(headers) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}
