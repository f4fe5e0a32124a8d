"""A misbehaving Tavily-compatible server for tests: it sends a 200 and its headers at once,
then one byte of the body every ``interval`` seconds (each read succeeds, so a per-read
timeout never fires), until the client goes away or ``duration`` passes."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class DripServer:
    def __init__(self, interval: float = 0.3, duration: float = 60.0) -> None:
        self.interval = interval
        self.duration = duration
        self.requests = 0
        self.gone = threading.Event()  # set once a client has hung up mid-drip
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                server.requests += 1
                body = b'{"query": "q", "results": [' + b" " * 10_000_000
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.flush()
                    end = time.monotonic() + server.duration
                    for i in range(len(body)):
                        if time.monotonic() > end:
                            return
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(server.interval)
                except (BrokenPipeError, ConnectionResetError):
                    server.gone.set()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> DripServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
