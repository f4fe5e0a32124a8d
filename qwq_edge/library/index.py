"""The library's own SQLite database: registered sources, their documents, and an FTS5 index
of passages ranked by bm25 with a title boost.

Queries are relaxed before they reach FTS5 (``library/query.py``: stopwords dropped, the
rest ORed). Writes take the database's write lock up front and wait for another qwq-edge
that holds it, saying so (``waiting``), instead of failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from qwq_edge.errors import LibraryError
from qwq_edge.events import Origin, SearchHit
from qwq_edge.library.locking import begin_write
from qwq_edge.library.passages import SEP, Passage
from qwq_edge.library.query import STOPWORDS, fts_query, or_terms, terms
from qwq_edge.sqlite import open_db

__all__ = ["STOPWORDS", "Document", "Library", "SourceInfo", "fts_query", "terms"]

SourceKind = Literal["folder", "zim", "cache"]
FTS_MODULE = "fts5"  # a name, so a test can ask the real SQLite for a module it lacks
NO_FTS = (
    "this Python's SQLite has no FTS5, so the local library is off; use a Python whose "
    "SQLite has FTS5 (python.org and most distributions ship it)"
)
# bm25 column weights: title, heading, body (a match in the title says most)
WEIGHTS = (6.0, 2.0, 1.0)
SNIPPET_TOKENS = 48
DF_CAP = 4000  # a term in this many passages or more is too common to rank anything
# snippet()'s time grows with the square of a row's matches (16 s for a 200 KB passage of
# query words). Passages are cut small (passages.MAX_CHARS), but an older index or a pack
# may hold bigger ones: those show their start instead (issue 28).
SNIPPET_MAX_CHARS = 12_000
_SNIPPET = (
    f"CASE WHEN length(body) <= {SNIPPET_MAX_CHARS}"
    f" THEN snippet(passages, 2, '', '', '…', {SNIPPET_TOKENS})"
    f" ELSE substr(body, 1, {SNIPPET_TOKENS * 8}) || '…' END"
)
_SEARCH = (
    "SELECT rowid id, title, heading, uri, origin,"
    f" bm25(passages, {', '.join(map(str, WEIGHTS))}) r, {_SNIPPET} s"
    " FROM passages WHERE passages MATCH ? ORDER BY r LIMIT ?"
)
_SOURCE = "SELECT kind, path FROM sources WHERE name = ?"
_COUNT = "SELECT COUNT(*) FROM (SELECT 1 FROM passages WHERE passages MATCH ? LIMIT ?)"

MIGRATIONS = [
    f"""
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        path TEXT NOT NULL,
        added REAL NOT NULL,
        indexed_at REAL,
        complete INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        entries INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        uri TEXT NOT NULL,
        title TEXT NOT NULL,
        origin TEXT NOT NULL,
        mtime REAL NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0,
        passages INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        UNIQUE (source, key)
    );
    CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc INTEGER NOT NULL, uri TEXT NOT NULL);
    CREATE INDEX chunks_doc ON chunks(doc);
    CREATE INDEX chunks_uri ON chunks(uri);
    CREATE VIRTUAL TABLE passages USING {FTS_MODULE}(
        title, heading, body, uri UNINDEXED, origin UNINDEXED,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )
    """,
    # Passage vectors for semantic search (library/semantic.py): float16, unit length.
    "CREATE TABLE vectors (chunk INTEGER PRIMARY KEY, vec BLOB NOT NULL)",
]


def fts_available() -> bool:
    """Probe the real SQLite for FTS5 (some Python builds ship without it)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE temp.probe USING {FTS_MODULE}(a)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


@dataclass(frozen=True)
class SourceInfo:
    name: str
    kind: SourceKind
    path: str
    added: float
    indexed_at: float | None
    complete: bool  # the last index run finished (an interrupted one resumes)
    failed: int  # documents that could not be read in the last run
    documents: int
    passages: int
    bytes: int  # text indexed (a ZIM: the archive's size on disk)


@dataclass(frozen=True)
class Document:
    key: str  # unique within its source: a path relative to the folder, a cache key, …
    uri: str
    title: str
    origin: Origin
    passages: Sequence[Passage]
    mtime: float = 0.0
    size: int = 0


class Library:
    """One database file; safe to share between threads (one lock, WAL) and processes (a
    write waits for another process's: ``library/locking.py``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not fts_available():
            raise LibraryError(NO_FTS)
        self._conn, self.notice = open_db(
            path, "sources", MIGRATIONS, "library index", "sources", salvage_tables=("sources",)
        )
        self._lock = threading.Lock()
        # Told once, when a write has to wait for another process (a front end says so).
        self.waiting: Callable[[], None] | None = None

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, held for the caller alone (library/semantic.py's queries)."""
        with self._lock:
            yield self._conn

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """The connection in a write transaction (BEGIN IMMEDIATE: ``locking.py``),
        committed at the end, rolled back on an error."""
        with self._lock:
            if begin_write(self._conn, self.waiting):
                self.waiting = None  # said once
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- sources ---------------------------------------------------------------------

    def add_source(self, name: str, kind: SourceKind, path: str) -> bool:
        """Register a source (one already there must match). Returns whether it is new."""
        with self._lock:
            old = self._conn.execute(_SOURCE, (name,)).fetchone()
        if old is None:  # checked again under the write lock: another process may add it
            with self.writing() as conn:
                old = conn.execute(_SOURCE, (name,)).fetchone()
                if old is None:
                    conn.execute(
                        "INSERT INTO sources (name, kind, path, added) VALUES (?, ?, ?, ?)",
                        (name, kind, path, time.time()),
                    )
                    return True
        if (old["kind"], old["path"]) != (kind, path):
            raise LibraryError(
                f"the library already has a source named {name!r} ({old['path']}); "
                "choose another name with --name"
            )
        return False

    def source(self, name: str) -> SourceInfo:
        for info in self.sources():
            if info.name == name:
                return info
        known = ", ".join(s.name for s in self.sources()) or "none yet"
        raise LibraryError(f"the library has no source named {name!r} (sources: {known})")

    def sources(self) -> list[SourceInfo]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT s.*, COUNT(d.id) docs, COALESCE(SUM(d.passages), 0) n,"
                " COALESCE(SUM(d.bytes), 0) b FROM sources s"
                " LEFT JOIN documents d ON d.source = s.name GROUP BY s.name ORDER BY s.added"
            ).fetchall()
        return [
            SourceInfo(
                r["name"], r["kind"], r["path"], r["added"], r["indexed_at"], bool(r["complete"]),
                r["failed"], r["entries"] if r["kind"] == "zim" else r["docs"], r["n"],
                r["b"] if r["kind"] != "zim" else _size(r["path"]),
            )
            for r in rows
        ]  # fmt: skip

    def mark(self, name: str, *, complete: bool, failed: int = 0, entries: int = 0) -> None:
        """Record an index run: finished or not, how many documents failed."""
        with self.writing() as conn:
            conn.execute(
                "UPDATE sources SET indexed_at = ?, complete = ?, failed = ?, entries = ?"
                " WHERE name = ?",
                (time.time(), int(complete), failed, entries, name),
            )

    def remove_source(self, name: str) -> int:
        """Forget a source and its passages (the files themselves are never touched)."""
        self.source(name)
        with self.writing():
            ids = [r[0] for r in self._conn.execute(
                "SELECT id FROM documents WHERE source = ?", (name,)
            )]  # fmt: skip
            self._drop(ids)
            self._conn.execute("DELETE FROM sources WHERE name = ?", (name,))
        return len(ids)

    # -- documents -------------------------------------------------------------------

    def known(self, source: str) -> dict[str, tuple[float, int]]:
        """Every document of ``source``: key → (mtime, size), to skip unchanged files."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, mtime, size FROM documents WHERE source = ?", (source,)
            ).fetchall()
        return {r["key"]: (r["mtime"], r["size"]) for r in rows}

    def put(self, source: str, docs: Iterable[Document]) -> int:
        """Add or replace documents (one transaction). Returns the passages written."""
        written = 0
        with self.writing():
            for doc in docs:
                old = self._conn.execute(
                    "SELECT id FROM documents WHERE source = ? AND key = ?", (source, doc.key)
                ).fetchone()
                if old is not None:
                    self._drop([old["id"]])
                size = sum(len(p.text.encode("utf-8")) for p in doc.passages)
                cur = self._conn.execute(
                    "INSERT INTO documents (source, key, uri, title, origin, mtime, size,"
                    " passages, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (source, doc.key, doc.uri, doc.title, doc.origin, doc.mtime, doc.size,
                     len(doc.passages), size),
                )  # fmt: skip
                for p in doc.passages:
                    chunk = self._conn.execute(
                        "INSERT INTO chunks (doc, uri) VALUES (?, ?)", (cur.lastrowid, p.uri)
                    )
                    self._conn.execute(
                        "INSERT INTO passages (rowid, title, heading, body, uri, origin)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (chunk.lastrowid, p.title, p.heading, p.text, p.uri, doc.origin),
                    )
                written += len(doc.passages)
        return written

    def drop(self, source: str, keys: Iterable[str]) -> int:
        """Forget documents that are gone (a deleted file). Returns how many."""
        with self.writing():
            ids = []
            for key in keys:
                row = self._conn.execute(
                    "SELECT id FROM documents WHERE source = ? AND key = ?", (source, key)
                ).fetchone()
                if row is not None:
                    ids.append(row["id"])
            self._drop(ids)
        return len(ids)

    def _drop(self, ids: list[int]) -> None:
        for doc in ids:
            self._conn.execute(
                "DELETE FROM vectors WHERE chunk IN (SELECT id FROM chunks WHERE doc = ?)", (doc,)
            )
            self._conn.execute(
                "DELETE FROM passages WHERE rowid IN (SELECT id FROM chunks WHERE doc = ?)", (doc,)
            )
            self._conn.execute("DELETE FROM chunks WHERE doc = ?", (doc,))
            self._conn.execute("DELETE FROM documents WHERE id = ?", (doc,))

    # -- searching -------------------------------------------------------------------

    def search(self, query: str, limit: int = 5) -> list[SearchHit]:
        """The best passages for ``query``: title, uri, a snippet around the match, a score
        in (0, 1] (higher is better) and the origin.

        Two passes. A question names its subject with its rarest word (a name, a term of
        art), while its other words ("engineer", "designed", "river") match look-alike
        documents too; ORed, those can outrank the one passage that has the name. So the
        passages holding the rarest term come first, ranked by every term, and the plain
        OR of the terms fills the rest. Terms in most passages are left out of both: they
        rank nothing and make bm25 read long doclists."""
        best: dict[str, sqlite3.Row] = {}
        for r in self._rows(query, limit * 4, limit):  # one passage per source: its best
            best.setdefault(r["uri"], r)
        return [
            SearchHit(
                title=_label(r["title"], r["heading"]),
                url=r["uri"],
                content=r["s"],
                score=round(-r["r"] / (1.0 - r["r"]), 6),  # bm25 is negative: better is lower
                origin=r["origin"],
            )
            for r in list(best.values())[:limit]
        ]

    def ranked(self, query: str, n: int) -> list[int]:
        """The ids of the ``n`` best passages by bm25 (the lexical half of hybrid search)."""
        return [int(r["id"]) for r in self._rows(query, n, n)]

    def _rows(self, query: str, n: int, sources: int) -> list[sqlite3.Row]:
        """Up to ``n`` passages, best first; the second pass runs only while fewer than
        ``sources`` documents were found."""
        words = terms(query)
        if not words:
            return []
        with self._lock:
            try:
                found = {w: self._frequency(w) for w in words}
                present = [w for w in words if found[w] > 0]
                common = [w for w in present if found[w] >= DF_CAP]
                useful = [w for w in present if w not in common] or present
                if not useful:
                    return []  # not one of its words is in the library
                exprs = [or_terms(useful)]
                rarest = min(useful, key=lambda w: found[w])
                if len(useful) > 1:
                    exprs.insert(0, f'"{rarest}" AND ({or_terms(useful)})')
                rows: list[sqlite3.Row] = []
                seen: set[int] = set()
                for expr in exprs:
                    for r in self._conn.execute(_SEARCH, (expr, n)).fetchall():
                        if r["id"] not in seen:
                            seen.add(r["id"])
                            rows.append(r)
                    if len({r["uri"] for r in rows}) >= sources:
                        break
            except sqlite3.DatabaseError as exc:
                raise LibraryError(f"the library index could not be searched ({exc})") from None
        return rows[:n]

    def _frequency(self, word: str) -> int:
        """Passages holding ``word`` (through the index's own tokenizer and stemmer),
        counted up to ``DF_CAP``: beyond that a term is common, and exactness costs time."""
        row = self._conn.execute(_COUNT, (f'"{word}"', DF_CAP)).fetchone()
        return int(row[0])

    def document(self, uri: str) -> tuple[str, list[Passage]] | None:
        """The passages stored under ``uri``, in document order (opening a source)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT p.title, p.heading, p.body, p.uri FROM chunks c"
                " JOIN passages p ON p.rowid = c.id WHERE c.uri = ? ORDER BY c.id",
                (uri,),
            ).fetchall()
        if not rows:
            return None
        return rows[0]["title"], [
            Passage(r["title"], r["heading"], r["body"], r["uri"]) for r in rows
        ]

    def counts(self) -> tuple[int, int]:
        """(sources, passages) for the status bar."""
        with self._lock:
            n = self._conn.execute("SELECT COUNT(*) FROM sources").fetchone()[0]
            p = self._conn.execute("SELECT COALESCE(SUM(passages), 0) FROM documents").fetchone()[0]
        return int(n), int(p)


def _label(title: str, heading: str) -> str:
    """ "Doc › Section": the heading path without the document's own title at its top."""
    if heading == title or not heading:
        return title
    return f"{title}{SEP}{heading.removeprefix(title + SEP)}"


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
