"""The library as a ``SearchProvider``: the FTS5 index (document folders, cached web
results, packs) and every registered ZIM archive, searched together and merged by score.

``open_library`` never fails a turn: a library that cannot be used (no FTS5, a database
that had to be set aside, a ZIM that will not open) becomes a notice of one sentence, and
searching goes on with whatever is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qwq_edge.errors import LibraryError, QwqEdgeError, SearchError
from qwq_edge.events import SearchHit
from qwq_edge.library import zim
from qwq_edge.library.index import Library
from qwq_edge.library.passages import Passage
from qwq_edge.library.semantic import Meaning
from qwq_edge.search.base import SearchResponse
from qwq_edge.search.fanout import merge

NAME = "library"
EMPTY = (
    "the local library is empty; add documents with `qwq-edge library add PATH` "
    "(a folder or a .zim)"
)


@dataclass(frozen=True)
class Excerpt:
    """A matched passage in its surroundings."""

    title: str
    url: str
    passages: tuple[Passage, ...]
    matched: int  # which of ``passages`` the hit came from


def _best(parts: list[Passage], content: str) -> int:
    """The passage that shares the most words with the hit's snippet."""
    words = set(content.casefold().split())
    scores = [len(words & set(p.text.casefold().split())) for p in parts]
    return max(range(len(parts)), key=lambda i: scores[i])


@dataclass
class LibraryProvider:
    """Searches the index and the archives; a ZIM that fails mid-search is left out of the
    answer (and named in ``notes``), not allowed to fail the search."""

    library: Library | None
    archives: list[zim.ZimArchive] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why parts of the library are missing
    meaning: Meaning | None = None  # search by meaning too (None: bm25 only)
    name: str = NAME

    def unavailable(self) -> str | None:
        if self.archives:
            return None
        if self.library is None:
            return self.notes[0] if self.notes else EMPTY
        # Empty, it would only answer "no results": better the model knows it cannot search.
        return EMPTY if self.library.counts()[1] == 0 else None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        hits: list[SearchHit] = []
        try:
            if self.library is not None:
                found = self.meaning.search(query, max_results) if self.meaning else None
                hits += found if found is not None else self.library.search(query, max_results)
        except LibraryError as exc:
            raise SearchError(str(exc), "library") from None
        if self.meaning is not None and self.meaning.note and self.meaning.note not in self.notes:
            self.notes.append(self.meaning.note)
        for archive in list(self.archives):
            try:
                hits += archive.search(query, max_results)
            except LibraryError as exc:
                self.archives.remove(archive)  # broken mid-run: the rest still answer
                self.notes.append(str(exc))
        return SearchResponse(query, merge(hits, max_results), NAME, cached=True)

    def around(self, url: str, content: str, context: int = 1) -> Excerpt | None:
        """The passage a hit came from, with ``context`` passages either side: what opening
        a library source shows. None: the library does not hold ``url``."""
        found: tuple[str, list[Passage]] | None = None
        if url.startswith("zim://"):
            name, _, entry = url.removeprefix("zim://").partition("/")
            archive = next((a for a in self.archives if a.name == name), None)
            if archive is not None:
                try:
                    found = archive.article(entry)
                except LibraryError:
                    found = None
        elif self.library is not None:
            found = self.library.document(url)
        if found is None or not found[1]:
            return None
        title, parts = found
        at = _best(parts, content)
        lo, hi = max(0, at - context), min(len(parts), at + context + 1)
        return Excerpt(title, url, tuple(parts[lo:hi]), at - lo)

    def close(self) -> None:
        for archive in self.archives:
            archive.close()
        if self.library is not None:
            self.library.close()


def open_library(path: Path) -> tuple[Library | None, list[str]]:
    """The index at ``path`` and what to tell the user about it (a set-aside file, no FTS5)."""
    try:
        library = Library(path)
    except QwqEdgeError as exc:  # no FTS5, or a file that cannot be opened at all
        return None, [str(exc)]
    return library, [library.notice] if library.notice else []


def library_provider(path: Path) -> LibraryProvider:
    """The index and every registered ZIM archive that opens."""
    library, notes = open_library(path)
    archives: list[zim.ZimArchive] = []
    if library is not None:
        for source in library.sources():
            if source.kind != "zim":
                continue
            try:
                archives.append(zim.open_archive(Path(source.path), source.name))
            except LibraryError as exc:
                notes.append(f"library source {source.name!r} is left out: {exc}")
    return LibraryProvider(library, archives, notes)
