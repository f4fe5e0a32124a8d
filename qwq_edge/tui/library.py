"""What the TUI reads from the local library and from the searches it has shown: the
library's counts for the status bar, the search results and opened pages seen in the session
on screen (the snippet each source's model saw, the passages it read), a library source's
matched passage in context, and the whole document an opened source was read from.

Everything here may block on SQLite, so the app calls it from thread workers; none of it
touches a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from qwq_edge.errors import ConfigError, QwqEdgeError
from qwq_edge.events import Origin, PageOpened, SearchHit, Source, ToolResult
from qwq_edge.library.index import Library
from qwq_edge.library.pages import stored_page, whole
from qwq_edge.library.passages import Passage
from qwq_edge.library.provider import Excerpt, LibraryProvider, library_provider
from qwq_edge.paths import paths
from qwq_edge.runtime import library_part, search_mode
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import SearchMode, Settings, source_set

# How each origin is labelled in the sources panel and the source screen.
ORIGIN_LABELS: dict[Origin, str] = {
    "web": "web",
    "cache": "cached",
    "pack": "pack",
    "zim": "zim",
    "file": "file",
    "page": "page",
}
# Origins whose sources are documents in the library: opening one shows its passages.
# A web result (live or from the cache) shows the snippet the model saw and when it was
# fetched; so does any source the library no longer holds.
DOCUMENT_ORIGINS: frozenset[Origin] = frozenset({"pack", "zim", "file"})
T = TypeVar("T")


@dataclass(frozen=True)
class LibraryState:
    """What the status bar says about the library: its counts, or why it is off."""

    counts: tuple[int, int] | None = None  # (sources, passages)
    off: str = ""  # why the library cannot be used (one sentence), else ""


def _count(library: Library) -> LibraryState:
    try:
        return LibraryState(library.counts())
    except Exception as exc:  # a damaged file: said on the status bar, never raised
        return LibraryState(off=f"the library could not be read ({exc})")


def library_state(settings: Settings, provider: SearchProvider | None) -> LibraryState | None:
    """The library of the session on screen (``provider``; None: no session yet, so the one
    the settings would search). None: searches do not use the library. Never raises."""
    if provider is not None:
        part = library_part(provider)
        if part is None:
            return None
        if part.library is None:
            return LibraryState(off=part.unavailable() or "the library is off")
        return _count(part.library)
    try:
        if "library" not in source_set(settings):
            return None
    except ConfigError:
        return None  # the settings screen and the first question say why
    path = paths().library
    if not path.exists():
        return LibraryState((0, 0))  # not created until a session opens it
    try:
        library = Library(path)
    except QwqEdgeError as exc:
        return LibraryState(off=str(exc))
    try:
        return _count(library)
    finally:
        library.close()


@dataclass(frozen=True)
class Seen:
    """One search result shown in the session: what the model saw, for which query, when."""

    hit: SearchHit
    query: str
    t: float  # when the result arrived


@dataclass
class SeenHits:
    """The search results and opened pages of the session on screen, to open a source with
    what the model saw and read. Filled from ``ToolResult`` and ``PageOpened`` events as they
    arrive (live, replayed or journaled)."""

    by_number: dict[tuple[int, str], Seen] = field(default_factory=dict)
    by_url: dict[str, Seen] = field(default_factory=dict)
    reads: dict[str, list[PageOpened]] = field(default_factory=dict)  # by URL, in order

    def add(self, result: ToolResult | PageOpened) -> None:
        if isinstance(result, PageOpened):
            if result.error is None and result.passages:
                urls = {result.url, result.source.url if result.source else result.url}
                for url in urls:
                    self.reads.setdefault(url, []).append(result)
            return
        for hit, source in zip(result.hits, result.sources, strict=False):
            seen = Seen(hit, result.query, result.t)
            self.by_number[(source.n, source.url)] = seen
            self.by_url[hit.url] = seen

    def get(self, source: Source) -> Seen | None:
        return self.by_number.get((source.n, source.url)) or self.by_url.get(source.url)

    def read(self, source: Source) -> tuple[PageOpened, ...]:
        """Every successful ``open`` of ``source``, oldest first."""
        return tuple(self.reads.get(source.url, ()))

    def clear(self) -> None:
        self.by_number.clear()
        self.by_url.clear()
        self.reads.clear()


def _in_library(
    provider: SearchProvider | None, library: Path | None, look: Callable[[LibraryProvider], T]
) -> T | None:
    """``look`` at the session's library (or, without one, the library on disk at
    ``library``); None when there is none or it fails. Never raises."""
    part = library_part(provider)
    if part is not None:
        try:
            return look(part)
        except Exception:
            return None
    path = library or paths().library
    if not path.exists():
        return None
    opened = library_provider(path)
    try:
        return look(opened)
    except Exception:
        return None
    finally:
        opened.close()


def excerpt_for(
    source: Source, content: str, provider: SearchProvider | None, library: Path | None = None
) -> Excerpt | None:
    """The passage ``source`` was found in, with its neighbours, from the session's library
    (or, without one, the library on disk at ``library``). None: not a library document, or
    the library does not hold it (any more). Never raises."""
    if source.origin not in DOCUMENT_ORIGINS:
        return None
    return _in_library(provider, library, lambda part: part.around(source.url, content))


def _document(part: LibraryProvider, url: str) -> tuple[str, list[Passage]] | None:
    """The passages ``open`` reads ``url`` from, as ``reading/reader.py`` finds them."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "zim":
        name, _, entry = url.removeprefix("zim://").partition("/")
        archive = next((a for a in part.archives if a.name == name), None)
        return archive.article(unquote(entry)) if archive is not None else None
    if part.library is None:
        return None
    if scheme == "file":
        return whole(part.library, url)
    page = stored_page(part.library, url)
    return (page[0], page[1]) if page is not None else None


def document_for(
    url: str, provider: SearchProvider | None, library: Path | None = None
) -> tuple[str, list[Passage]] | None:
    """The whole document an opened source was read from: a library file, a ZIM article,
    or the copy kept of a web page. None: the library does not hold it. Never raises."""
    found = _in_library(provider, library, lambda part: _document(part, url))
    return found if found is not None and found[1] else None


def human(n: int) -> str:
    """84213 → "84k": a count for the status bar."""
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M".replace(".0M", "M")


def describe(state: LibraryState) -> str:
    """The status bar's words for the library: "library: 2 sources · 84k passages"."""
    if state.counts is None:
        return "library off"
    sources, passages = state.counts
    if sources == 0:
        return "library empty"
    plural = "" if sources == 1 else "s"
    return f"library: {sources} source{plural} · {human(passages)} passages"


def shown_mode(
    settings: Settings, library: LibraryState | None, *, went_offline: bool = False
) -> SearchMode:
    """Where searches go, as the status bar and the welcome say it: the settings' mode, but
    "offline" once the session's web search found no network, and "no search key" rather
    than "library only" when the web is wanted, cannot be searched, and the library has
    nothing in it (a first run: the library is there, empty)."""
    mode = search_mode(settings, None)
    if went_offline and mode == "web":
        return "offline"
    empty = library is None or library.counts is None or library.counts[0] == 0
    try:
        wants_web = "web" in source_set(settings)
    except ConfigError:
        wants_web = True
    if mode == "library only" and wants_web and empty:
        return "no search key"
    return mode
