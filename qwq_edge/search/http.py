"""A ``requests`` session that bounds what one search may cost: a total deadline (not only a
per-read timeout: a server that drips a byte every few seconds still ends) and a size cap
on the body, read as it arrives. A JSON body cut at the cap is mended into valid JSON that
keeps whatever was complete, and marked with ``CUT_KEY`` (the cap, in bytes).

Per-request state (deadline, Retry-After) is per thread: a search abandoned at its deadline
may still be finishing on its worker thread while the next one starts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from qwq_edge.jsonfix import close_json
from qwq_edge.search.base import CUT_KEY

CHUNK = 64 * 1024


class BoundedSession(requests.Session):
    def __init__(self, max_bytes: int, *, mend_json: bool = True) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.mend_json = mend_json  # a page (``open``) is not JSON: cut it, never mend it
        self._local = threading.local()

    def begin(self, seconds: float) -> None:
        """The next request on this thread must be done within ``seconds``."""
        self._local.deadline = time.monotonic() + seconds
        self._local.retry_after = None
        self._local.cut = False

    @property
    def was_cut(self) -> bool:
        """Whether the last body on this thread was longer than ``max_bytes`` (and cut)."""
        return bool(getattr(self._local, "cut", False))

    @property
    def retry_after(self) -> float | None:
        """Seconds the last response on this thread asked to wait (``Retry-After``)."""
        value: float | None = getattr(self._local, "retry_after", None)
        return value

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise requests.Timeout("the search deadline passed")
            timeout = kwargs.get("timeout")
            kwargs["timeout"] = min(timeout, left) if isinstance(timeout, (int, float)) else left
        kwargs["stream"] = True
        response = super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]
        self._local.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        try:
            body = self._read(response, deadline)
        finally:
            response.close()
        content = bytes(body)
        self._local.cut = len(content) > self.max_bytes
        if len(content) > self.max_bytes:
            content = content[: self.max_bytes]
            if response.status_code == 200 and self.mend_json:
                content = mend(content, self.max_bytes)
        response._content = content
        response._content_consumed = True
        return response

    def _read(self, response: requests.Response, deadline: float | None) -> bytearray:
        """At most one byte past the cap, and never past the deadline: ``read1`` returns
        what has arrived, so the deadline is checked however slowly bytes come."""
        body = bytearray()
        while len(body) <= self.max_bytes:
            if deadline is not None and time.monotonic() > deadline:
                raise requests.Timeout("the search deadline passed")
            chunk = response.raw.read1(CHUNK, decode_content=True)
            if not chunk:
                break
            body += chunk
        return body


def refused(exc: BaseException) -> bool:
    """Whether a request failed because nothing listens at the URL (connection refused):
    the host answered, so the network is up and the URL, or the server, is what is wrong.
    Looked for along the exception's causes and the ``reason`` urllib3 wraps them in."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ConnectionRefusedError):
            return True
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None), *e.args]
    return "Connection refused" in str(exc)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def mend(data: bytes | bytearray, cap: int) -> bytes:
    """A JSON object cut short, made whole again: closed where it was cut, or (when that
    does not parse) cut back to one of the last few commas and closed there; then
    ``CUT_KEY`` added. A body that cannot be mended becomes an empty result list, marked."""
    text = bytes(data).decode("utf-8", errors="ignore")
    mended: Any = None
    for candidate in _cuts(text):
        try:
            mended = json.loads(candidate + close_json(candidate))
        except ValueError:
            continue
        if isinstance(mended, dict):
            break
    if not isinstance(mended, dict):
        mended = {"results": []}
    mended[CUT_KEY] = cap
    return json.dumps(mended, ensure_ascii=False).encode("utf-8")


def _cuts(text: str, tries: int = 5) -> Iterator[str]:
    """The text as cut, then cut back before each of its last few commas (one inside a
    string only gives a shorter string, which still closes)."""
    yield text
    end = len(text)
    for _ in range(tries):
        end = text.rfind(",", 0, end)
        if end < 0:
            return
        yield text[:end]
