"""Opening qwq-edge's SQLite files: WAL, versioned schemas, and recovery from bad files.

A corrupt or foreign file is renamed aside (never deleted) and a fresh one is created; the
caller gets one sentence to show the user.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

Migration = str  # a SQL script taking the schema from version i to i + 1


class SetAside(Exception):
    pass


def _check(conn: sqlite3.Connection, marker_table: str, latest: int) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if version > latest:
        raise SetAside(f"it was written by a newer qwq-edge (schema {version})")
    if tables and marker_table not in tables:
        raise SetAside("it is not a qwq-edge database")
    if tables and version == 0:
        raise SetAside("it has tables but no schema version")
    if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
        raise SetAside("it is damaged")


def _migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for i in range(version, len(migrations)):
        conn.executescript(f"BEGIN; {migrations[i]}; PRAGMA user_version = {i + 1}; COMMIT;")


def open_db(
    path: Path, marker_table: str, migrations: Sequence[Migration], what: str
) -> tuple[sqlite3.Connection, str | None]:
    """Open (creating, migrating or replacing) ``path``. Returns the connection and a notice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notice = None
    try:
        conn = _connect(path)
        _check(conn, marker_table, len(migrations))
    except (sqlite3.DatabaseError, SetAside) as exc:
        reason = str(exc) if isinstance(exc, SetAside) else "it is not a readable SQLite database"
        with contextlib.suppress(NameError, sqlite3.Error):
            conn.close()
        aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(aside.with_name(aside.name + suffix))
        notice = (
            f"the {what} at {path} could not be used ({reason}); it was moved to "
            f"{aside.name} and a new one was started"
        )
        conn = _connect(path)
    _migrate(conn, migrations)
    return conn, notice


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode: a commit survives a killed process (SIGKILL), which is what the
    # journal promises; fsync on every event would cost more than it buys.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.row_factory = sqlite3.Row
    return conn
