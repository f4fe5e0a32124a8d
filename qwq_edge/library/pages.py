"""Whole documents for ``open``: a library document read whole (a PDF whose passages cite
single pages), and the web pages ``open`` fetched, kept as library documents (origin
"page") so that the next question finds them offline, by words at once and by meaning once
they are embedded."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from qwq_edge.library.index import Document, Library
from qwq_edge.library.passages import Passage

PAGES = "opened pages"  # the library source that keeps every page ``open`` fetched
_PASSAGES = (
    "SELECT p.title, p.heading, p.body, p.uri FROM chunks c"
    " JOIN passages p ON p.rowid = c.id WHERE c.doc = ? ORDER BY c.id"
)


def _parts(rows: list[sqlite3.Row]) -> list[Passage]:
    return [Passage(r["title"], r["heading"], r["body"], r["uri"]) for r in rows]


def whole(library: Library, uri: str) -> tuple[str, list[Passage]] | None:
    """Every passage of the document whose own URI is ``uri``, else the passages stored
    under ``uri`` (one PDF page, a cached result)."""
    with library.locked() as conn:
        doc = conn.execute(
            "SELECT id, title FROM documents WHERE uri = ? AND source != ? LIMIT 1", (uri, PAGES)
        ).fetchone()
        rows = conn.execute(_PASSAGES, (doc["id"],)).fetchall() if doc is not None else []
    if rows:
        return str(doc["title"]), _parts(rows)
    return library.document(uri)


def stored_page(library: Library, url: str) -> tuple[str, list[Passage], float] | None:
    """A web page opened before: its title, passages and when it was fetched."""
    with library.locked() as conn:
        doc = conn.execute(
            "SELECT id, title, mtime FROM documents WHERE source = ? AND key = ?", (PAGES, url)
        ).fetchone()
        rows = conn.execute(_PASSAGES, (doc["id"],)).fetchall() if doc is not None else []
    if doc is None or not rows:
        return None
    return str(doc["title"]), _parts(rows), float(doc["mtime"])


def keep_page(library: Library, url: str, title: str, parts: Sequence[Passage], when: float) -> int:
    """Keep an opened page, replacing an older copy of it. Returns the passages written."""
    library.add_source(PAGES, "cache", "opened pages")
    return library.put(PAGES, [Document(url, url, title, "page", parts, mtime=when)])
