"""A local server on 127.0.0.1 that serves files the way the Hugging Face Hub does.

``HEAD /{repo}/resolve/{revision}/{file}`` answers 302 to a CDN-style URL with the Hub's
metadata headers (``X-Repo-Commit``, ``X-Linked-Etag`` = the sha256, ``X-Linked-Size``);
``GET`` of that URL honours ``Range: bytes=N-``. Switches make it cut a download short,
fail with a status, or advertise a wrong checksum.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HubServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}  # "repo/file" -> content
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        self.cut_after: int | None = None  # next GET sends this many bytes, then hangs up
        self.fail_status: int | None = None  # every later GET answers this
        self.wrong_sha = False
        self.cdn_host = "127.0.0.1"  # "localhost": the redirect leaves the Hub's host
        self.auth: list[str | None] = []  # Authorization header of each CDN GET
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _resolve(self) -> None:
                server.requests.append(("HEAD", self.path, None))
                m = re.match(r"^/(.+?/.+?)/resolve/([^/]+)/(.+)$", self.path)
                key = f"{m.group(1)}/{m.group(3)}" if m else ""
                cdn = self.path.startswith("/cdn/")
                if cdn:  # huggingface_hub follows a same-host redirect with another HEAD
                    key = self.path[len("/cdn/") :]
                if key not in server.files:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = server.files[key]
                sha = hashlib.sha256(data).hexdigest()
                if server.wrong_sha:
                    sha = "0" * 64
                self.send_response(200 if cdn else 302)
                if not cdn:
                    location = f"http://{server.cdn_host}:{server.port}/cdn/{key}"
                    self.send_header("Location", location)
                self.send_header("X-Repo-Commit", "a" * 40)
                self.send_header("X-Linked-Etag", f'"{sha}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("ETag", f'"{sha}"' if cdn else '"git-oid"')
                self.send_header("Content-Length", str(len(data)) if cdn else "0")
                self.end_headers()

            def do_HEAD(self) -> None:
                self._resolve()

            def do_GET(self) -> None:
                rng = self.headers.get("Range")
                server.requests.append(("GET", self.path, rng))
                if not self.path.startswith("/cdn/"):
                    self._resolve()
                    return
                server.auth.append(self.headers.get("Authorization"))
                data = server.files.get(self.path[len("/cdn/") :])
                if data is None or (server.fail_status and server.cut_after is None):
                    self.send_response(server.fail_status or 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = int(re.match(r"bytes=(\d+)-", rng).group(1)) if rng else 0
                body = data[start:]
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                cut = server.cut_after
                if cut is not None:
                    server.cut_after = None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
