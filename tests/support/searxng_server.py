"""A local SearXNG-compatible HTTP server on 127.0.0.1 for tests.

It answers ``GET …/search?q=…&format=json`` the way a SearXNG instance does (the same
fields, in the same order, merged results from several engines, ``engines=`` honoured),
and can be told to misbehave: answer HTML (a login page in front of it), refuse JSON
with 403 as SearXNG does when ``search.formats`` lacks ``json``, answer any status with
extra headers (429 with Retry-After, 500), hang before answering, stall mid-body, send
a huge body, send JSON of the wrong shape, or ask for HTTP basic auth. Every request is
recorded: its path, query parameters and headers.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>"
    b'<form method="post" action="/login"><input name="user"><input name="password" '
    b'type="password"><button>Sign in</button></form></body></html>\n'
)
FORBIDDEN_PAGE = (  # what Flask's abort(403) sends
    b"<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n"
    b"<p>You don&#39;t have the permission to access the requested resource. It is either "
    b"read-protected or not readable by the server.</p>\n"
)


def _result(engine: str, title: str, url: str, content: str, score: float) -> dict[str, Any]:
    """One result as SearXNG's JSON output has it (after merging)."""
    host = urlsplit(url).netloc
    return {
        "url": url,
        "title": title,
        "content": content,
        "publishedDate": None,
        "thumbnail": "",
        "engine": engine,
        "template": "default.html",
        "parsed_url": ["https", host, urlsplit(url).path, "", "", ""],
        "img_src": "",
        "priority": "",
        "engines": [engine],
        "positions": [1],
        "score": score,
        "category": "general",
    }


DEFAULT_RESULTS = [
    _result(
        "duckduckgo",
        "Argentina win the 2022 FIFA World Cup",
        "https://example.com/world-cup-2022",
        "Argentina won the 2022 FIFA World Cup, beating France on penalties after a 3-3 "
        "draw in the final in Lusail, Qatar, on 18 December 2022.",
        4.5,
    ),
    _result(
        "wikipedia",
        "2022 FIFA World Cup final - Wikipedia",
        "https://en.wikipedia.org/wiki/2022_FIFA_World_Cup_final",
        "The final was played at Lusail Stadium; Lionel Messi scored twice and Kylian "
        "Mbappe scored a hat-trick before Argentina won the shoot-out 4-2.",
        3.0,
    ),
    _result(
        "brave",
        "World Cup 2022: the final in numbers",
        "https://example.org/final-numbers",
        "88,966 spectators, six goals, and the first hat-trick in a final since 1966.",
        1.5,
    ),
    _result(
        "duckduckgo",
        "Messi lifts the trophy",
        "https://example.net/messi",
        "Messi finally won the one trophy missing from his career.",
        0.75,
    ),
]


@dataclass
class Behaviour:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    results: list[dict[str, Any]] = field(default_factory=lambda: list(DEFAULT_RESULTS))
    answers: list[Any] = field(default_factory=list)
    unresponsive: list[list[str]] = field(default_factory=list)  # [[engine, reason], ...]
    json_enabled: bool = True  # False: 403 for format=json, as with search.formats: [html]
    html: bool = False  # True: a 200 login page whatever was asked
    body: bytes | None = None  # sent as is, with content_type, instead of the search
    content_type: str = "application/json"
    delay: float = 0.0  # seconds to hang before answering at all
    stall: float = 0.0  # seconds to stall after the headers and the first bytes of body
    auth: tuple[str, str] | None = None  # basic-auth user and password to insist on


class SearxngServer:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[dict[str, Any]] = []  # {"path", "params", "headers"} each
        self.release = threading.Event()  # set on exit: hung handlers stop waiting
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                server.requests.append(
                    {"path": parts.path, "params": params, "headers": dict(self.headers)}
                )
                b = server.behaviour
                if b.delay and server.release.wait(b.delay):
                    self.close_connection = True
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(b, parts.path, params)  # unless the client gave up first

            def _answer(self, b: Behaviour, path: str, params: dict[str, str]) -> None:
                if b.auth is not None and not self._authorized(b.auth):
                    self._send(401, b"Unauthorized", "text/plain",
                               {"WWW-Authenticate": 'Basic realm="searxng"'})  # fmt: skip
                elif b.html:
                    self._send(200, LOGIN_PAGE, "text/html; charset=utf-8")
                elif not path.endswith("/search"):
                    self._send(404, b"<h1>Not Found</h1>", "text/html; charset=utf-8")
                elif b.body is not None:
                    self._send(b.status, b.body, b.content_type, b.headers, b.stall)
                elif params.get("format", "html") != "json":
                    self._send(200, b"<html><body>results</body></html>", "text/html")
                elif not b.json_enabled:
                    self._send(403, FORBIDDEN_PAGE, "text/html; charset=utf-8")
                elif b.status != 200:
                    page = f"<h1>{b.status}</h1>".encode()
                    self._send(b.status, page, "text/html; charset=utf-8", b.headers)
                else:
                    data = json.dumps(self._search(b, params)).encode()
                    self._send(200, data, b.content_type, b.headers, b.stall)

            def _search(self, b: Behaviour, params: dict[str, str]) -> dict[str, Any]:
                results = b.results
                if params.get("engines"):
                    chosen = set(params["engines"].split(","))
                    results = [r for r in results if r.get("engine") in chosen]
                # SearXNG's order of keys: a body cut at the cap is cut inside "results".
                return {
                    "query": params.get("q", ""),
                    "number_of_results": 0,
                    "results": results,
                    "answers": b.answers,
                    "corrections": [],
                    "infoboxes": [],
                    "suggestions": ["2022 world cup final score"],
                    "unresponsive_engines": b.unresponsive,
                }

            def _authorized(self, auth: tuple[str, str]) -> bool:
                expected = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def _send(
                self,
                status: int,
                data: bytes,
                content_type: str,
                headers: dict[str, str] | None = None,
                stall: float = 0.0,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if stall:
                    self.wfile.write(data[:10])
                    self.wfile.flush()
                    if server.release.wait(stall):
                        return
                    data = data[10:]
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url_with_login(self, user: str, password: str, path: str = "") -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}{path}"

    def __enter__(self) -> SearxngServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def queries(self) -> list[str]:
        return [r["params"].get("q", "") for r in self.requests]


def huge_results(count: int, size: int) -> list[dict[str, Any]]:
    """``count`` results of ``size`` bytes of content each."""
    words = "word " * (size // 5)
    return [
        _result("duckduckgo", f"Big {i}", f"https://example.com/big/{i}", words, 1.0)
        for i in range(count)
    ]
