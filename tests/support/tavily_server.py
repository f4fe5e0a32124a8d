"""A local Tavily-compatible HTTP server on 127.0.0.1 for tests (the real client talks to it)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers


DEFAULT_RESULTS = [
    {
        "title": "Argentina win the 2022 FIFA World Cup",
        "url": "https://example.com/world-cup-2022",
        "content": "Argentina won the 2022 FIFA World Cup, beating France on penalties "
        "after a 3-3 draw in the final in Lusail, Qatar, on 18 December 2022.",
        "score": 0.98,
    },
    {
        "title": "2022 World Cup final report",
        "url": "https://example.org/final-report",
        "content": "Lionel Messi scored twice and Kylian Mbappe scored a hat-trick; "
        "Argentina won the shoot-out 4-2.",
        "score": 0.91,
    },
]


class TavilyServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.behaviour = Behaviour(results=list(DEFAULT_RESULTS))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                b = server.behaviour
                if b.delay:
                    time.sleep(b.delay)
                if b.status != 200:
                    payload: dict[str, Any] = {
                        "detail": {"error": b.detail or f"status {b.status}"}
                    }
                else:
                    payload = {
                        "query": body.get("query"),
                        "answer": None,
                        "results": b.results[: int(body.get("max_results", 5))],
                        "response_time": 0.01,
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(b.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in b.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out first

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> TavilyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def queries(self) -> list[str]:
        return [str(r.get("query")) for r in self.requests]
