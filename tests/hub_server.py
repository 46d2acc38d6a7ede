"""A tiny Hugging Face Hub on 127.0.0.1 for the download tests.

It answers what huggingface_hub asks of a Hub: ``HEAD``/``GET``
``/<owner>/<name>/resolve/<revision>/<file>`` with the headers it reads
(``X-Repo-Commit``, ``ETag``: the SHA-256 of large files as the Hub gives for LFS
files, git's blob SHA-1 of small ones; ``Content-Length``), and ``Range`` requests
(``206 Partial Content``). Other paths serve plain files (a data mirror). Every
request is logged; ``cut_once`` makes the next GET of a path stop halfway, as a
dropped connection does.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LFS_SUFFIXES = (".safetensors",)
RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


def hub_etag(name: str, body: bytes) -> str:
    """The ETag the Hub gives: SHA-256 for LFS files, git's blob SHA-1 for the others."""
    if name.endswith(LFS_SUFFIXES):
        return hashlib.sha256(body).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()


class FakeHub:
    """``FakeHub(files)``: files maps ``"owner/name/file"`` or ``"/data/x.txt"`` to bytes."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.log: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.cut_once: set[str] = set()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self):  # noqa: N802 (http.server's naming)
                hub._answer(self, body=False)

            def do_GET(self):  # noqa: N802
                hub._answer(self, body=True)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def gets(self, suffix: str) -> list[str | None]:
        """The Range headers of each GET whose path ends with ``suffix``."""
        return [rng for method, path, rng in self.log if method == "GET" and path.endswith(suffix)]

    def _answer(self, req: BaseHTTPRequestHandler, body: bool) -> None:
        path = req.path.split("?")[0]
        self.log.append((req.command, path, req.headers.get("Range")))
        match = RESOLVE.match(path)
        key = f"{match['repo']}/{match['file']}" if match else path
        data = self.files.get(key)
        if data is None:
            req.send_response(404)
            req.send_header("X-Error-Code", "EntryNotFound" if match else "NotFound")
            req.send_header("X-Repo-Commit", COMMIT)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        start = 0
        rng = re.fullmatch(r"bytes=(\d+)-", req.headers.get("Range") or "")
        if rng and body:
            start = int(rng[1])
        req.send_response(206 if start else 200)
        if match:
            req.send_header("X-Repo-Commit", COMMIT)
            req.send_header("ETag", f'"{hub_etag(key, data)}"')
        req.send_header("Accept-Ranges", "bytes")
        req.send_header("Content-Length", str(len(data) - start))
        if start:
            req.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        req.end_headers()
        if not body:
            return
        if req.command == "GET" and key in self.cut_once:
            self.cut_once.discard(key)
            req.wfile.write(data[start:start + (len(data) - start) // 2])
            req.wfile.flush()
            req.close_connection = True
            return
        req.wfile.write(data[start:])
