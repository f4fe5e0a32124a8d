"""Opening one source whole: a web page (fetched, or the copy kept when it was opened
before), a library document (``file://``) or a ZIM article (``zim://``).

``PageReader`` is the seam the agent's ``open`` tool calls; ``Reader`` is the real one.
Only what the user allowed is read: ``http``/``https`` pages (``fetch.py`` guards the
network), and ``file://``/``zim://`` URIs that the library holds, never a file outside it.
Every page fetched is kept in the library at once (``library/pages.py``), so offline, and
in a re-run, the same URL opens from that copy.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlsplit

from qwq_edge.errors import LibraryError, QwqEdgeError, ReadError
from qwq_edge.events import Origin
from qwq_edge.library.pages import keep_page, stored_page, whole
from qwq_edge.library.passages import Passage
from qwq_edge.library.provider import LibraryProvider
from qwq_edge.reading.extract import extract
from qwq_edge.reading.fetch import fetch


def not_a_source(scheme: str) -> str:
    """The sentence for a scheme ``open`` does not read (``javascript:``, ``ftp:``, none)."""
    shown = f"{scheme}:" if scheme else "a URL without a scheme"
    return f"only web pages and library documents can be opened, not {shown}"


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    passages: tuple[Passage, ...]
    links: tuple[str, ...] = ()  # what the page links to (the model may open those next)
    origin: Origin = "web"
    cached: bool = False  # read from the library's copy, not fetched now
    fetch_seconds: float = 0.0
    fetched_at: float = 0.0
    cut: int = 0  # the body was longer than this many bytes and was read that far
    author: str = ""  # as the page's metadata states it (a stored copy does not keep it)
    published: str = ""  # the publication date it states (ISO, or a year)


class PageReader(Protocol):
    """Reads a source whole; raises ``ReadError`` (one sentence) when it cannot."""

    def read(self, url: str) -> Page: ...


class Reader:
    """The real reader. ``offline`` is asked at every open (a session can go offline)."""

    def __init__(
        self,
        library: LibraryProvider | None,
        *,
        timeout: float,
        max_bytes: int,
        allow_private: bool = False,
        offline: Callable[[], bool] = lambda: False,
    ) -> None:
        self.library = library
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.offline = offline

    def read(self, url: str) -> Page:
        try:
            return self._read(url)
        except ReadError:
            raise
        except ValueError:  # urlsplit on "http://[x/", a bad percent-escape
            raise ReadError("the URL is not a valid address", "invalid") from None
        except (QwqEdgeError, sqlite3.Error, OSError) as exc:  # the library's own trouble
            raise ReadError(f"the library could not be read ({exc})", "library") from None

    def _read(self, url: str) -> Page:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            return self._document(url)
        if scheme == "zim":
            return self._article(url)
        if scheme not in ("http", "https"):
            raise ReadError(not_a_source(scheme), "refused")
        return self._web(url)

    # -- the library -----------------------------------------------------------------

    def _index(self) -> LibraryProvider:
        if self.library is None or (self.library.library is None and not self.library.archives):
            raise ReadError(
                "the local library is not available, so it has nothing to open", "refused"
            )
        return self.library

    def _document(self, url: str) -> Page:
        index = self._index().library
        found = whole(index, url) if index is not None else None
        if not found:
            name = unquote(urlsplit(url).path)
            raise ReadError(
                f"{name} is not in the library, and only library files can be opened", "refused"
            )
        title, parts = found
        return Page(url, title, tuple(parts), origin="file", cached=True)

    def _article(self, url: str) -> Page:
        name, _, entry = url.removeprefix("zim://").partition("/")
        archive = next((a for a in self._index().archives if a.name == name), None)
        if archive is None:
            raise ReadError(f"no ZIM archive named {name!r} is in the library", "refused")
        try:
            title, parts = archive.article(unquote(entry))
        except LibraryError as exc:
            raise ReadError(str(exc), "unreadable") from None
        return Page(url, title, tuple(parts), origin="zim", cached=True)

    def _stored(self, url: str) -> Page | None:
        index = self.library.library if self.library is not None else None
        found = stored_page(index, url) if index is not None else None
        if found is None:
            return None
        title, parts, when = found
        return Page(url, title, tuple(parts), origin="page", cached=True, fetched_at=when)

    # -- the web -----------------------------------------------------------------------

    def _web(self, url: str) -> Page:
        if self.offline():
            stored = self._stored(url)
            if stored is None:
                raise ReadError("offline, and this page was never opened before", "offline")
            return stored
        t0 = time.perf_counter()
        try:
            got = fetch(
                url, timeout=self.timeout, max_bytes=self.max_bytes,
                allow_private=self.allow_private,
            )  # fmt: skip
            page = extract(got.url, got.content_type, got.body, got.charset)
        except ReadError as exc:
            stored = self._stored(url) if exc.kind in ("network", "timeout") else None
            if stored is None:
                raise
            return stored  # unreachable now, but read before: the kept copy
        when = time.time()
        index = self.library.library if self.library is not None else None
        if index is not None:
            # Under the URL the model asked for (a redirect's target is the same page).
            parts = [
                Passage(p.title, p.heading, p.text, _cite(url, p.uri, got.url))
                for p in page.passages
            ]
            # A full disk or a library locked too long: the page is read, not kept.
            with contextlib.suppress(sqlite3.Error, OSError, QwqEdgeError):
                keep_page(index, url, page.title, parts, when)
        return Page(
            url, page.title, page.passages, page.links, origin="web", cached=False,
            fetch_seconds=time.perf_counter() - t0, fetched_at=when, cut=got.cut,
            author=page.author, published=page.published,
        )  # fmt: skip


def _cite(asked: str, uri: str, final: str) -> str:
    """A passage's URI under the URL that was asked for (a PDF page keeps its ``#page=N``)."""
    return asked + uri[len(final) :] if uri.startswith(final) else uri
