"""A SQLite cache of search responses that wraps any provider, and search packs.

Modes: ``online`` reads through and stores misses; ``offline`` answers from disk only (a miss
is a clear tool response, never a network call); ``refresh`` always fetches, then stores.
An online cache that finds the network unreachable switches itself to offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from qwq_edge.errors import QwqEdgeError, SearchError
from qwq_edge.events import SearchHit
from qwq_edge.search.base import CUT_KEY, SearchProvider, SearchResponse
from qwq_edge.sqlite import open_db, transaction

CacheMode = Literal["online", "offline", "refresh"]

MIGRATIONS = [
    """
    CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        query TEXT NOT NULL,
        norm_query TEXT NOT NULL,
        params TEXT NOT NULL,
        response TEXT NOT NULL,
        fetched_at REAL NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX entries_fetched ON entries(fetched_at)
    """,
]


_UPSERT = """
INSERT INTO entries (key, provider, query, norm_query, params, response, fetched_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(key) DO UPDATE SET
    response = excluded.response, fetched_at = excluded.fetched_at, query = excluded.query
"""


def normalize(query: str) -> str:
    """NFKC, case-folded, whitespace collapsed: 'Gold  PRICE' and 'gold price' are one entry."""
    return " ".join(unicodedata.normalize("NFKC", query).casefold().split())


def cache_key(provider: str, query: str, params: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"provider": provider, "query": normalize(query), "params": params},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheStats:
    path: Path
    entries: int
    hits: int
    bytes: int
    oldest: float | None
    newest: float | None


def _encode(response: SearchResponse) -> str:
    hits = [
        {"title": h.title, "url": h.url, "content": h.content, "score": h.score}
        for h in response.hits
    ]
    return json.dumps({"hits": hits, "raw": response.raw}, ensure_ascii=False)


def _decode(query: str, provider: str, text: str, key: str, fetched_at: float) -> SearchResponse:
    data = json.loads(text)
    hits = tuple(SearchHit(**h) for h in data.get("hits", []))
    raw = data.get("raw", {})
    cut = raw.get(CUT_KEY, 0) if isinstance(raw, dict) else 0
    return SearchResponse(
        query, hits, provider, cached=True, raw=raw, key=key, fetched_at=fetched_at,
        cut=cut if isinstance(cut, int) else 0,
    )  # fmt: skip


class SearchCache:
    """The on-disk store. Safe to share between threads and processes (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._conn, self.notice = open_db(
                path, "entries", MIGRATIONS, "search cache", "entries"
            )
        except (QwqEdgeError, sqlite3.Error, OSError) as exc:
            # A full or read-only disk: searches still work, this run's are not kept.
            why = str(exc) if isinstance(exc, QwqEdgeError) else f"cannot open {path}: {exc}"
            self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.executescript(MIGRATIONS[0])
            self.notice = f"{why}; this run's searches are not cached"
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def get(self, key: str, max_age: float | None = None) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(
                "SELECT * FROM entries WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            if max_age is not None and time.time() - row["fetched_at"] > max_age:
                return None
            with contextlib.suppress(sqlite3.Error):  # a full disk: the count is not kept
                self._conn.execute("UPDATE entries SET hits = hits + 1 WHERE key = ?", (key,))
            return row

    def put(self, key: str, response: SearchResponse, params: dict[str, Any], when: float) -> None:
        with self._lock:
            self._conn.execute(
                _UPSERT,
                (
                    key,
                    response.provider,
                    response.query,
                    normalize(response.query),
                    json.dumps(params, sort_keys=True),
                    _encode(response),
                    when,
                ),
            )

    def stats(self) -> CacheStats:
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) n, COALESCE(SUM(hits), 0) h, MIN(fetched_at) lo,"
                " MAX(fetched_at) hi, COALESCE(SUM(LENGTH(response)), 0) b FROM entries"
            ).fetchone()
        return CacheStats(self.path, row["n"], row["h"], row["b"], row["lo"], row["hi"])

    def clear(self) -> int:
        with self._lock:
            n: int = self._conn.execute("DELETE FROM entries").rowcount
            self._conn.execute("VACUUM")
        return n

    def export(self, target: Path) -> int:
        """Write every entry to one SQLite file (a search pack) for another machine."""
        if target.exists():
            raise SearchError(f"{target} already exists; choose a new file name", "export")
        with self._lock:
            self._conn.execute("VACUUM INTO ?", (str(target),))
        return self.stats().entries

    def import_pack(self, source: Path) -> tuple[int, int]:
        """Merge a search pack; an entry never replaces a newer one. Returns (added, updated)."""
        try:
            pack = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            rows = pack.execute(
                "SELECT key, provider, query, norm_query, params, response, fetched_at FROM entries"
            ).fetchall()
            pack.close()
        except sqlite3.Error:
            raise SearchError(f"{source} is not a qwq-edge search pack", "import") from None
        added = updated = 0
        with self._lock, transaction(self._conn):
            for row in rows:
                old = self._conn.execute(
                    "SELECT fetched_at FROM entries WHERE key = ?", (row[0],)
                ).fetchone()
                if old is None:
                    added += 1
                elif old[0] < row[6]:
                    updated += 1
                else:
                    continue
                self._conn.execute(
                    "INSERT OR REPLACE INTO entries"
                    " (key, provider, query, norm_query, params, response, fetched_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    tuple(row),
                )
        return added, updated

    def versions(self) -> dict[str, float]:
        """Every entry's key and when it was fetched (the library compares these)."""
        with self._lock:
            rows = self._conn.execute("SELECT key, fetched_at FROM entries").fetchall()
        return {r[0]: r[1] for r in rows}

    def entry(self, key: str) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(
                "SELECT * FROM entries WHERE key = ?", (key,)
            ).fetchone()
            return row


class CachedProvider:
    """A SearchProvider that answers from the cache first (see the module docstring)."""

    def __init__(
        self,
        inner: SearchProvider | None,
        cache: SearchCache,
        *,
        mode: CacheMode = "online",
        max_age: float | None = None,
        params: dict[str, Any] | None = None,
        on_store: Callable[[SearchResponse], object] | None = None,
    ) -> None:
        self.inner = inner
        self.on_store = on_store  # told of each response stored (the library indexes it)
        self.cache = cache
        self.mode: CacheMode = mode
        self.max_age = max_age
        self.params = params or {}
        self.name = inner.name if inner is not None else "tavily"
        self.went_offline = False  # set when the network was found unreachable
        self.problem: str | None = None  # the first search the disk would not keep

    def unavailable(self) -> str | None:
        if self.mode == "offline":
            return None  # answers from disk need no key
        return self.inner.unavailable() if self.inner is not None else "no search provider"

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        params = {**self.params, "max_results": max_results}
        key = cache_key(self.name, query, params)
        if self.mode != "refresh":
            # Offline, any age will do: a stale answer beats none on a plane.
            try:
                row = self.cache.get(key, None if self.mode == "offline" else self.max_age)
            except (sqlite3.Error, OSError) as exc:  # a full disk's WAL: a miss, said once
                where = self.cache.path
                self._failed(f"the search cache {where} cannot be read ({exc}); searching anyway")
                row = None
            if row is not None:
                hit = _decode(query, self.name, row["response"], key, row["fetched_at"])
                return replace(hit, offline=self.mode == "offline")
        if self.mode == "offline" or self.inner is None:
            raise SearchError(
                "offline: nothing is cached for this query, so it cannot be searched now", "offline"
            )
        try:
            response = self.inner.search(query, max_results=max_results)
        except SearchError as exc:
            if exc.kind == "network" and self.mode == "online":
                self.mode = "offline"
                self.went_offline = True
                raise SearchError(
                    "the network is unreachable: switched to offline mode, and nothing is "
                    "cached for this query",
                    "went_offline",
                ) from None
            raise  # failed searches are not cached
        when = time.time()
        try:
            self.cache.put(key, response, params, when)
        except (sqlite3.Error, OSError) as exc:  # a full disk: the answer goes on uncached
            where = self.cache.path
            self._failed(
                f"the search cache {where} cannot be written ({exc}); searches are not kept"
            )
            return replace(response, cached=False, offline=False, fetched_at=when)
        stored = replace(response, cached=False, offline=False, key=key, fetched_at=when)
        if self.on_store is not None:
            try:
                self.on_store(stored)
            except (sqlite3.Error, OSError) as exc:
                self._failed(
                    f"a search could not be added to the library ({exc}); it is not indexed"
                )
        return stored

    def _failed(self, sentence: str) -> None:
        """Remember the first thing the disk refused (the front end says it once)."""
        if self.problem is None:
            self.problem = sentence
