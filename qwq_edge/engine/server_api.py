"""Talking to a llama-server (docs/architecture.md, "A model on a server"): one HTTP session,
the server's answers as JSON, and every way it can fail as one sentence.

The API key goes in the ``Authorization`` header as a Bearer token and nowhere else: never
into an error, a log line or anything recorded; nothing else (a ``.netrc``) may replace it. A
``user:password`` in the URL is sent as Basic auth, and refused beside a key (both need the
one ``Authorization`` header). The server's URL is shown with credentials redacted.

Nothing a server says is trusted to be small: a body is read up to ``MAX_BODY``, and the
``check_*`` helpers bound every id, count and size taken from an answer, each failure one
sentence.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from qwq_edge.errors import ErrorKind, QwqEdgeError
from qwq_edge.settings import redact_url

READY_WAIT = 600.0  # seconds to wait for a server that is still loading its model
CONNECT_TIMEOUT = 5.0
QUICK = 15.0  # seconds for a GET (health, props): a server that is up answers at once
MAX_BODY = 32 << 20  # bytes: the largest answer read (a /completion echoes its prompt)
MAX_PIECE = 1024  # bytes in one token's piece (the longest in real vocabularies: ~256)
MAX_TOKEN_ID = 2**31 - 1  # llama.cpp's ids are int32, and so is what the journal keeps
BODY_CHUNK = 64 << 10


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
        self._key = key or None
        self._local = threading.local()
        try:
            parts = urlsplit(self.url)
            login, self._password = bool(parts.username or parts.password), parts.password
        except ValueError:
            login, self._password = False, None  # not a URL: the first request says so
        if login and self._key:
            raise ServerError(
                f"the server URL {self.shown} carries a user:password and a server key is set "
                "too, and both would need the one Authorization header: keep the key "
                "(--server-key or QWQ_EDGE_SERVER_KEY) or the user:password, not both",
                "config",
            )

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            if self._key:
                # As the session's auth, not a header: requests would replace a header with
                # Basic auth from the URL or from ~/.netrc.
                session.auth = _Bearer(self._key)
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
                timeout=(CONNECT_TIMEOUT, timeout or self.timeout), stream=True,
            )  # fmt: skip
            try:
                r._content = self._read(r, path)
            finally:
                r.close()
        except ServerError:
            raise
        except requests.exceptions.ChunkedEncodingError:
            raise ServerError(
                f"the connection to the llama-server at {where} dropped", "network"
            ) from None
        except requests.ConnectionError as exc:
            if "Read timed out" in str(exc):  # mid-body: requests says ConnectionError
                raise ServerError(
                    f"the llama-server at {where} did not answer within "
                    f"{timeout or self.timeout:g} s",
                    "timeout",
                ) from None
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

    def _read(self, r: requests.Response, path: str) -> bytes:
        """The body, refused past ``MAX_BODY`` whatever the server says its length is."""
        body = bytearray()
        for chunk in r.iter_content(BODY_CHUNK):
            body += chunk
            if len(body) > MAX_BODY:
                raise ServerError(
                    f"{self.shown} sent more than {MAX_BODY >> 20} MiB in answer to {path}; "
                    "that is not a llama-server's answer"
                )
        return bytes(body)

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
        for secret in (self._key, self._password):
            if secret:
                message = message.replace(secret, "***")
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


class _Bearer(AuthBase):
    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._key}"
        return r


def check_ids(value: Any, n_vocab: int, shown: str, most: int) -> list[int]:
    """Token ids from a server's answer: a list of at most ``most`` ints, each inside the
    vocabulary (``n_vocab`` ids; 0 when the server did not say: int32 then)."""
    if not isinstance(value, list):
        raise ServerError(f"{shown} is not a llama-server (its token ids are not a list)")
    if len(value) > most:
        raise ServerError(
            f"the llama-server at {shown} returned {len(value):,} tokens where at most "
            f"{most:,} can come; its answer was not used"
        )
    limit = n_vocab if n_vocab > 0 else MAX_TOKEN_ID + 1
    for t in value:
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < limit:
            what = repr(t) if len(repr(t)) <= 24 else repr(t)[:21] + "..."
            size = f"its vocabulary of {n_vocab:,} tokens" if n_vocab > 0 else "the int32 range"
            raise ServerError(
                f"the llama-server at {shown} returned token id {what}, outside {size}; "
                "its answer was not used"
            )
    return list(value)


def check_piece(item: Any, asked: Collection[int], shown: str) -> tuple[int, bytes]:
    """One ``{id, piece}`` of ``/tokenize`` with ``with_pieces``: an id that was asked for,
    and a piece (text, or a list of byte values) of at most ``MAX_PIECE`` bytes."""
    tid = item.get("id") if isinstance(item, dict) else None
    if isinstance(tid, bool) or not isinstance(tid, int) or tid not in asked:
        raise ServerError(
            f"the llama-server at {shown} returned a piece for a token id it was not asked for"
        )
    piece = item.get("piece")
    raw: bytes | None = None
    if isinstance(piece, str) and len(piece) <= MAX_PIECE:
        raw = piece.encode("utf-8", "replace")
    elif (
        isinstance(piece, list)
        and len(piece) <= MAX_PIECE
        and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in piece)
    ):
        raw = bytes(piece)
    if raw is None or len(raw) > MAX_PIECE:
        raise ServerError(
            f"the llama-server at {shown} returned a piece for token {tid} that is not text "
            f"or bytes of at most {MAX_PIECE:,}; its answer was not used"
        )
    return tid, raw


def check_count(value: Any, most: int) -> int:
    """A count from a server's answer (timings, sizes, slots): an int in 0..``most``, else 0."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        return 0
    return value


def check_seconds(value: Any) -> float:
    """Milliseconds from a server's timings, as seconds: finite and not negative, else 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    ms = float(value)
    return ms / 1000 if math.isfinite(ms) and 0 <= ms < 1e12 else 0.0


def _message(data: Any) -> str:
    """The error text of a llama-server error body, in one line."""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        text = str(err.get("message") or err.get("type") or "")
    else:
        text = str(err or data)
    return " ".join(text.split())[:300] or "no reason given"
