"""Talking to a llama-server (docs/architecture.md, "A model on a server"): one HTTP session,
the server's answers as JSON, and every way it can fail as one sentence.

The API key goes in the ``Authorization`` header and nowhere else: never into an error, a
log line or anything recorded. The server's URL is shown with credentials redacted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from qwq_edge.errors import ErrorKind, QwqEdgeError
from qwq_edge.settings import redact_url

READY_WAIT = 600.0  # seconds to wait for a server that is still loading its model
CONNECT_TIMEOUT = 5.0
QUICK = 15.0  # seconds for a GET (health, props): a server that is up answers at once


class ServerError(QwqEdgeError):
    """The llama-server could not be used; ``kind`` says how (``server``, ``network``,
    ``auth``, ``grammar``, ``context_full``, ``timeout``)."""

    def __init__(self, message: str, kind: ErrorKind = "server") -> None:
        super().__init__(message)
        self.kind = kind


class ServerApi:
    """JSON over HTTP to one llama-server; safe to use from several threads."""

    def __init__(self, url: str, key: str | None = None, timeout: float = 600.0) -> None:
        self.url = url.rstrip("/")
        self.shown = redact_url(self.url)
        self.timeout = timeout
        self._key = key
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            if self._key:
                session.headers["Authorization"] = f"Bearer {self._key}"
        return session

    def get(self, path: str) -> Any:
        # Status and metadata answer at once from a live server: no long wait on a hung one.
        return self.call("GET", path, timeout=QUICK)

    def post(self, path: str, body: dict[str, Any], timeout: float | None = None) -> Any:
        return self.call("POST", path, body, timeout)

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        where = self.shown
        try:
            r = self._session().request(
                method, self.url + path, json=body,
                timeout=(CONNECT_TIMEOUT, timeout or self.timeout),
            )  # fmt: skip
        except requests.ConnectionError as exc:
            if "Read" in type(exc).__name__ or "RemoteDisconnected" in str(exc):
                raise ServerError(
                    f"the connection to the llama-server at {where} dropped", "network"
                ) from None
            raise ServerError(
                f"the llama-server at {where} is not reachable; start it, or check --server",
                "network",
            ) from None
        except requests.Timeout:
            raise ServerError(
                f"the llama-server at {where} did not answer within {timeout or self.timeout:g} s",
                "timeout",
            ) from None
        except requests.RequestException:
            raise ServerError(f"the request to the llama-server at {where} failed") from None
        return self._data(r, path)

    def _data(self, r: requests.Response, path: str) -> Any:
        where = self.shown
        kind = r.headers.get("content-type", "")
        text = r.text
        if "json" not in kind:
            if "html" in kind or text.lstrip()[:1] == "<":
                raise ServerError(
                    f"{where} answered with an HTML page, not llama-server's API (a proxy or a "
                    "login page in the way?)"
                )
            raise ServerError(f"{where} is not a llama-server (no JSON answer to {path})")
        try:
            data = r.json()
        except ValueError:
            raise ServerError(f"{where} is not a llama-server (bad JSON from {path})") from None
        if r.status_code < 400:
            return data
        message = _message(data)
        if self._key:
            message = message.replace(self._key, "***")
        if r.status_code == 401:
            raise ServerError(
                f"the llama-server at {where} refused the API key (--server-key or "
                "QWQ_EDGE_SERVER_KEY)",
                "auth",
            )
        if r.status_code == 503:
            raise ServerError(f"the llama-server at {where} is still loading its model", "server")
        if r.status_code == 404:
            raise ServerError(f"{where} is not a llama-server ({path} is not there)")
        if "grammar" in message.lower():
            raise ServerError(f"the llama-server rejected the call grammar: {message}", "grammar")
        if "context" in message.lower() and ("exceed" in message.lower() or "size" in message):
            raise ServerError(
                f"the llama-server's context is too small for this session ({message}); start it "
                "with a larger --ctx-size, or start a new session",
                "context_full",
            )
        raise ServerError(f"the llama-server refused the request: {message}")

    def wait_ready(self, on_wait: Callable[[str], None] | None = None) -> None:
        """Return once the server answers ``/health`` with 200; while it loads its model
        (503), say so once and wait, up to ``READY_WAIT`` seconds."""
        deadline = time.monotonic() + READY_WAIT
        said = False
        while True:
            try:
                self.get("/health")
                return
            except ServerError as exc:
                if "still loading" not in str(exc) or time.monotonic() > deadline:
                    if said:
                        raise ServerError(f"{exc} (waited {READY_WAIT:g} s)", exc.kind) from None
                    raise
            if not said and on_wait is not None:
                on_wait(f"the llama-server at {self.shown} is loading its model; waiting")
            said = True
            time.sleep(0.5)


def _message(data: Any) -> str:
    """The error text of a llama-server error body, in one line."""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        text = str(err.get("message") or err.get("type") or "")
    else:
        text = str(err or data)
    return " ".join(text.split())[:300] or "no reason given"
