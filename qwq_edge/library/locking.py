"""Taking the library database's write lock when another process holds it.

Two ``library add`` runs (or an add and the background embedder) write the same file. A
deferred transaction that has read fails its first write at once with "database is locked"
if another process committed meanwhile (SQLite cannot upgrade its stale snapshot), however
long the busy timeout. So every write begins with ``BEGIN IMMEDIATE``, which takes the lock
first and waits for it under the busy timeout: quietly for a moment, then, after telling
the user once that it waits, for up to ``LOCK_WAIT`` seconds. Another run writes a batch at
a time, so the wait is short; past it, the write fails with one sentence.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from qwq_edge.errors import LibraryError

QUIET_WAIT = 1.0  # seconds a write waits for another process's before saying so
LOCK_WAIT = 120.0  # ... and in all
BUSY = (
    f"the library stayed locked by another qwq-edge for over {LOCK_WAIT:g} s; "
    "try again when it has finished"
)


def begin_write(conn: sqlite3.Connection, waiting: Callable[[], None] | None) -> bool:
    """``BEGIN IMMEDIATE`` on ``conn``, waiting for another process's write lock; ``waiting``
    is called when that takes longer than ``QUIET_WAIT``. Returns whether it was called.
    Raises ``LibraryError`` when the lock stays taken for ``LOCK_WAIT`` seconds."""
    before = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    told = False
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(QUIET_WAIT * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return told
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        if waiting is not None:
            waiting()
            told = True
        conn.execute(f"PRAGMA busy_timeout = {int(LOCK_WAIT * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            raise LibraryError(BUSY) from None
        return told
    finally:
        conn.execute(f"PRAGMA busy_timeout = {before}")


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
