"""The library as a ``SearchProvider``: the FTS5 index (document folders, cached web
results, packs) and every registered ZIM archive, searched together and merged by score.

``open_library`` never fails a turn: a library that cannot be used (no FTS5, a database
that had to be set aside, a ZIM that will not open) becomes a notice of one sentence, and
searching goes on with whatever is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qwq_edge.errors import LibraryError, SearchError
from qwq_edge.events import SearchHit
from qwq_edge.library import zim
from qwq_edge.library.index import Library
from qwq_edge.search.base import SearchResponse
from qwq_edge.search.fanout import merge

NAME = "library"
EMPTY = (
    "the local library is empty; add documents with `qwq-edge library add PATH` "
    "(a folder or a .zim)"
)


@dataclass
class LibraryProvider:
    """Searches the index and the archives; a ZIM that fails mid-search is left out of the
    answer (and named in ``notes``), not allowed to fail the search."""

    library: Library | None
    archives: list[zim.ZimArchive] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why parts of the library are missing
    name: str = NAME

    def unavailable(self) -> str | None:
        if self.library is None and not self.archives:
            return self.notes[0] if self.notes else EMPTY
        return None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        hits: list[SearchHit] = []
        try:
            if self.library is not None:
                hits += self.library.search(query, max_results)
        except LibraryError as exc:
            raise SearchError(str(exc), "library") from None
        for archive in list(self.archives):
            try:
                hits += archive.search(query, max_results)
            except LibraryError as exc:
                self.archives.remove(archive)  # broken mid-run: the rest still answer
                self.notes.append(str(exc))
        return SearchResponse(query, merge(hits, max_results), NAME, cached=True)

    def close(self) -> None:
        for archive in self.archives:
            archive.close()
        if self.library is not None:
            self.library.close()


def open_library(path: Path) -> tuple[Library | None, list[str]]:
    """The index at ``path`` and what to tell the user about it (a set-aside file, no FTS5)."""
    try:
        library = Library(path)
    except LibraryError as exc:
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
