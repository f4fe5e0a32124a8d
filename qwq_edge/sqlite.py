"""Opening qwq-edge's SQLite files: WAL, versioned schemas, and recovery from bad files.

A corrupt or foreign file is renamed aside (never deleted) and a fresh one is created; the
caller gets one sentence to show the user. Whatever rows of a damaged file can still be
read, table by table, are copied into the fresh one (the salvage), and the sentence says
how many ``marker_table`` rows (sessions, cache entries) came back.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from qwq_edge.errors import QwqEdgeError

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
    """Runs inside the caller's transaction (statements are split on ';', so a migration
    must not hold one inside a string)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for i in range(version, len(migrations)):
        for statement in migrations[i].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {i + 1}")


def _setup(conn: sqlite3.Connection, marker_table: str, migrations: Sequence[Migration]) -> None:
    # IMMEDIATE: two processes opening a new file at once must not both create the schema,
    # nor see the other's half-made schema and set a good file aside.
    conn.execute("BEGIN IMMEDIATE")
    try:
        _check(conn, marker_table, len(migrations))
        _migrate(conn, migrations)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    # Only now: switching to WAL rewrites the header, and a file we set aside stays as it was.
    conn.execute("PRAGMA journal_mode = WAL")


def open_db(
    path: Path,
    marker_table: str,
    migrations: Sequence[Migration],
    what: str,
    noun: str = "rows",
    salvage_tables: Sequence[str] | None = None,
) -> tuple[sqlite3.Connection, str | None]:
    """Open (creating, migrating or replacing) ``path``. Returns the connection and a notice;
    ``noun`` names ``marker_table``'s rows in it ("sessions"); ``salvage_tables``: recover
    only these (an index that is rebuilt from elsewhere need not be copied row by row)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _open(path, marker_table, migrations), None
    except (sqlite3.DatabaseError, SetAside) as exc:
        if isinstance(exc, sqlite3.OperationalError) and not _corrupt(exc):
            raise QwqEdgeError(f"cannot open the {what} at {path}: {exc}") from None
        reason = str(exc) if isinstance(exc, SetAside) else "it is not a readable SQLite database"
    aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
    path.rename(aside)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    conn = _open(path, marker_table, migrations)
    damaged = reason in ("it is damaged", "it is not a readable SQLite database")
    saved = salvage(aside, conn, marker_table, salvage_tables) if damaged else None
    kept = f", and {saved} {noun} were recovered into it" if saved is not None else ""
    notice = (
        f"the {what} at {path} could not be used ({reason}); it was moved to "
        f"{aside.name} and a new one was started{kept}"
    )
    return conn, notice


SALVAGE_BATCH = 500
SALVAGE_SKIPS = 40  # probes past an unreadable stretch of rows before a table is given up


def salvage(
    source: Path,
    target: sqlite3.Connection,
    marker_table: str,
    only: Sequence[str] | None = None,
) -> int | None:
    """Copy every row of ``source`` that can still be read into ``target`` (same schema,
    newer or equal), table by table in rowid order, stepping over unreadable stretches.
    Returns how many ``marker_table`` rows were copied (None: nothing could be read).
    ``source`` is opened read-only: the file set aside stays as it was."""
    try:
        old = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    copied: int | None = None
    try:
        tables = [
            r[0] for r in target.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]  # fmt: skip
        for table in tables if only is None else [t for t in tables if t in only]:
            n = _copy_table(old, target, table)
            if table == marker_table:
                copied = n if n is not None else 0 if copied is None else copied
            elif n is not None and copied is None:
                copied = 0  # something was readable, if not the marker table
    except sqlite3.Error:
        return None
    finally:
        old.close()
    return copied


def _copy_table(old: sqlite3.Connection, new: sqlite3.Connection, table: str) -> int | None:
    """Rows copied; None when the table cannot be read at all."""
    try:
        columns = [r[1] for r in old.execute(f'PRAGMA table_info("{table}")')]
    except sqlite3.Error:
        return None
    wanted = {r[1] for r in new.execute(f'PRAGMA table_info("{table}")')}
    columns = [c for c in columns if c in wanted]
    if not columns:
        return None
    names = ", ".join(f'"{c}"' for c in columns)
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
    select = f'SELECT rowid, {names} FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?'
    copied = 0
    last, skips, step = -(2**63), 0, 1
    while skips <= SALVAGE_SKIPS:
        try:
            rows = old.execute(select, (last, SALVAGE_BATCH)).fetchall()
        except sqlite3.DatabaseError:
            rows = _one_by_one(old, select, last)
            if not rows:  # a damaged stretch: probe further and further past it
                last, skips, step = last + step, skips + 1, step * 2
                continue
        if not rows:
            break
        skips, step = 0, 1
        with transaction(new):
            for row in rows:
                copied += new.execute(insert, tuple(row[1:])).rowcount
        last = rows[-1][0]
    return copied


def _one_by_one(old: sqlite3.Connection, select: str, last: int) -> list[tuple[object, ...]]:
    """The readable rows at the start of a batch that failed as a whole."""
    rows: list[tuple[object, ...]] = []
    while len(rows) < SALVAGE_BATCH:
        try:
            row = old.execute(select, (last, 1)).fetchone()
        except sqlite3.DatabaseError:
            break
        if row is None:
            break
        rows.append(tuple(row))
        last = row[0]
    return rows


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN … COMMIT, rolled back on any error: a transaction left open would make every
    later write on the connection fail and hold the write lock against other processes."""
    conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def _hopeless(exc: sqlite3.Error) -> bool:
    """A full disk or a read-only or failing one: waiting will not help (only a lock may)."""
    text = str(exc).lower()
    return "disk is full" in text or "readonly" in text or "disk i/o" in text


def _open(path: Path, marker_table: str, migrations: Sequence[Migration]) -> sqlite3.Connection:
    # Another process may hold the lock while it creates the file: that is contention, not
    # damage, so wait and retry instead of setting a good file aside.
    deadline = time.monotonic() + 15
    while True:
        conn = None
        try:
            conn = _connect(path)
            _setup(conn, marker_table, migrations)
            return conn
        except sqlite3.OperationalError as exc:
            if conn is not None:
                conn.close()
            if _corrupt(exc) or _hopeless(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        except BaseException:
            if conn is not None:
                conn.close()
            raise


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    # NORMAL in WAL mode: a commit survives a killed process (SIGKILL), which is what the
    # journal promises; fsync on every event would cost more than it buys.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.row_factory = sqlite3.Row
    return conn
