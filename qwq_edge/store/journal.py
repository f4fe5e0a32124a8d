"""The session journal: every session and every event it produced, in order, in SQLite.

Events are written as they happen, one committed row each, so a process killed mid-answer
leaves a journal that opens and replays up to its last event; such a session is listed as
interrupted. Sessions carry their own search results, so replay never needs the cache.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import (
    Event,
    FinalAnswer,
    Finished,
    ReportPlanned,
    ReportWritten,
    SessionStarted,
    ToolResult,
    event_type,
    from_dict,
    to_dict,
)
from qwq_edge.models.files import sha256_file
from qwq_edge.sqlite import open_db, transaction
from qwq_edge.store.tokens import pack_tokens, unpack_tokens

MIGRATIONS = [
    # v1
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        title TEXT NOT NULL,
        model TEXT NOT NULL,
        model_size INTEGER,
        quant TEXT,
        prompt_format TEXT,
        settings TEXT NOT NULL,
        seed INTEGER,
        status TEXT NOT NULL,
        answer TEXT NOT NULL DEFAULT '',
        searches INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE events (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        t REAL NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    );
    CREATE INDEX sessions_created ON sessions(created)
    """,
    # v2: the model's identity by content, and the process that owns a running session
    """
    ALTER TABLE sessions ADD COLUMN model_sha256 TEXT;
    ALTER TABLE sessions ADD COLUMN pid INTEGER;
    CREATE TABLE model_hashes (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL
    )
    """,
    # v3: the exact context of every turn (packed token ids), and where a branch came from
    """
    CREATE TABLE contexts (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        turn INTEGER NOT NULL,
        start INTEGER NOT NULL,
        tokens BLOB NOT NULL,
        PRIMARY KEY (session_id, turn)
    );
    ALTER TABLE sessions ADD COLUMN parent TEXT;
    ALTER TABLE sessions ADD COLUMN parent_turn INTEGER
    """,
    # v4: what a session is: an answer, or a research report (its plan, then its sections)
    """
    ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'answer'
    """,
]

FINAL_STATUS = {
    "eos": "done", "budget": "done", "max_tokens": "done",
    "cancelled": "cancelled", "error": "failed", "context_full": "failed",
}  # fmt: skip


class JournalError(QwqEdgeError):
    kind = "journal"


# A session id as ``agent.state.new_session_id`` makes it: 20260131-235959-1a2b3c. An id
# from elsewhere (a bundle) is checked against it: ids are printed, and used in file names.
SESSION_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")


def is_session_id(value: object) -> bool:
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class SessionRow:
    id: str
    created: float
    title: str
    model: str
    model_size: int | None
    model_sha256: str | None
    quant: str | None
    prompt_format: str | None
    settings: dict[str, Any]
    seed: int | None
    status: str  # running / done / cancelled / failed / interrupted
    answer: str
    searches: int
    parent: str | None = None  # the session this one branched from
    parent_turn: int | None = None  # the last turn it shares with its parent
    kind: str = "answer"  # "report": a research report (`qwq-edge research`)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn, self.notice = open_db(
            path, "sessions", MIGRATIONS, "session journal", "sessions"
        )
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._owned: set[str] = set()  # sessions this process is writing

    def close(self) -> None:
        self._conn.close()

    # -- writing ---------------------------------------------------------------------

    def start(self, event: SessionStarted, *, model_size: int | None, quant: str | None) -> None:
        settings = dict(event.settings)
        seed = (settings.get("sampling") or {}).get("seed")
        with self._lock:
            self._conn.execute(
                "INSERT INTO sessions (id, created, updated, title, model, model_size, quant,"
                " prompt_format, settings, seed, status, pid, kind)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    event.session_id, event.t, event.t, event.question[:500], event.model,
                    model_size, quant, settings.get("prompt_format"),
                    json.dumps(settings, ensure_ascii=False), seed, "running", os.getpid(),
                    "report" if "report" in settings else "answer",  # a report from its start
                ),
            )  # fmt: skip
            self._seq[event.session_id] = -1  # the first appended event is seq 0
            self._owned.add(event.session_id)

    def append(self, session_id: str, event: Event) -> None:
        """Write one event (committed at once) and keep the session row's summary current."""
        data = to_dict(event)
        with self._lock:
            seq = self._seq.get(session_id)
            if seq is None:
                row = self._conn.execute(
                    "SELECT MAX(seq) FROM events WHERE session_id = ?", (session_id,)
                ).fetchone()
                seq = -1 if row[0] is None else row[0]
                self._conn.execute(
                    "UPDATE sessions SET status = 'running', pid = ? WHERE id = ?",
                    (os.getpid(), session_id),
                )
                self._owned.add(session_id)
            seq += 1
            self._seq[session_id] = seq
            with transaction(self._conn):
                self._conn.execute(
                    "INSERT INTO events (session_id, seq, type, t, data) VALUES (?, ?, ?, ?, ?)",
                    (
                        session_id,
                        seq,
                        event_type(event),
                        event.t,
                        json.dumps(data, ensure_ascii=False),
                    ),
                )
                if isinstance(event, ToolResult) and event.error is None:
                    self._conn.execute(
                        "UPDATE sessions SET searches = searches + 1 WHERE id = ?", (session_id,)
                    )
                elif isinstance(event, FinalAnswer):
                    self._conn.execute(
                        "UPDATE sessions SET answer = ? WHERE id = ?", (event.text, session_id)
                    )
                elif isinstance(event, Finished):
                    self._conn.execute(
                        "UPDATE sessions SET status = ?, updated = ? WHERE id = ?",
                        (FINAL_STATUS.get(event.reason, "done"), event.t, session_id),
                    )
                elif isinstance(event, ReportPlanned):
                    self._conn.execute(
                        "UPDATE sessions SET kind = 'report' WHERE id = ?", (session_id,)
                    )
                elif isinstance(event, ReportWritten):  # a report's status is the report's
                    self._conn.execute(
                        "UPDATE sessions SET status = ?, updated = ? WHERE id = ?",
                        ("partial" if event.partial else "done", event.t, session_id),
                    )

    def set_model_sha256(self, session_id: str, digest: str) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE sessions SET model_sha256 = ? WHERE id = ?", (digest, session_id)
            )

    def model_sha256(self, path: Path) -> str:
        """The model file's sha256, hashed once and remembered by path, size and mtime."""
        st = path.stat()
        with self._lock:
            row = self._conn.execute(
                "SELECT sha256 FROM model_hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
                (str(path), st.st_size, st.st_mtime_ns),
            ).fetchone()
        if row is not None:
            return str(row[0])
        digest = sha256_file(path)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO model_hashes (path, size, mtime_ns, sha256)"
                " VALUES (?, ?, ?, ?)",
                (str(path), st.st_size, st.st_mtime_ns, digest),
            )
        return digest

    # -- reading ---------------------------------------------------------------------

    def _row(self, r: sqlite3.Row) -> SessionRow:
        status = r["status"]
        if status == "running" and r["id"] not in self._owned and not _alive(r["pid"]):
            status = "interrupted"
        return SessionRow(
            id=r["id"], created=r["created"], title=r["title"], model=r["model"],
            model_size=r["model_size"], model_sha256=r["model_sha256"], quant=r["quant"],
            prompt_format=r["prompt_format"], settings=json.loads(r["settings"]),
            seed=r["seed"], status=status, answer=r["answer"], searches=r["searches"],
            parent=r["parent"], parent_turn=r["parent_turn"], kind=r["kind"],
        )  # fmt: skip

    def sessions(self, limit: int = 50, search: str = "") -> list[SessionRow]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM sessions WHERE title LIKE ? ORDER BY created DESC LIMIT ?",
                (f"%{search}%", limit),
            ).fetchall()
        return [self._row(r) for r in rows]

    def resolve(self, prefix: str) -> str:
        """A full session id from an id or a unique prefix of one."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM sessions WHERE id LIKE ? ORDER BY created DESC LIMIT 2",
                (prefix.replace("%", "") + "%",),
            ).fetchall()
        if not rows:
            raise JournalError(f"no session {prefix!r}; `qwq-edge sessions` lists them")
        if len(rows) > 1 and rows[0][0] != prefix:
            raise JournalError(f"{prefix!r} matches several sessions; give more of the id")
        return str(rows[0][0])

    def session(self, session_id: str) -> SessionRow:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None:
            raise JournalError(f"no session {session_id!r}; `qwq-edge sessions` lists them")
        return self._row(row)

    def events(self, session_id: str) -> Iterator[Event]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT data FROM events WHERE session_id = ? ORDER BY seq", (session_id,)
            ).fetchall()
        for (data,) in rows:
            yield from_dict(json.loads(data))

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # -- exact contexts --------------------------------------------------------------

    def record_context(self, session_id: str, turn: int, start: int, tokens: list[int]) -> None:
        """The tokens turn ``turn`` appended to the context from offset ``start``: the
        prompt, the thinking, the calls and the search results, exactly as evaluated."""
        with self._lock, transaction(self._conn):
            self._conn.execute(
                "INSERT OR REPLACE INTO contexts (session_id, turn, start, tokens)"
                " VALUES (?, ?, ?, ?)",
                (session_id, turn, start, pack_tokens(tokens)),
            )

    def context(self, session_id: str, upto_turn: int | None = None) -> list[int] | None:
        """The session's context token for token, through ``upto_turn`` (default: all);
        None when a turn was not journaled that way (written by an older qwq-edge, or the
        process died mid-turn)."""
        rows = self.context_rows(session_id)
        want = upto_turn if upto_turn is not None else self._turns(session_id)
        out: list[int] = []
        for expected, (turn, start, blob) in enumerate(rows[:want], 1):
            if turn != expected or start != len(out):
                return None
            out += unpack_tokens(blob)
        return out if want and len(rows) >= want else None

    def context_rows(
        self, session_id: str, upto_turn: int | None = None
    ) -> list[tuple[int, int, bytes]]:
        """(turn, start, packed tokens) of each journaled turn, in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT turn, start, tokens FROM contexts WHERE session_id = ? AND turn <= ?"
                " ORDER BY turn",
                (session_id, upto_turn if upto_turn is not None else 1 << 30),
            ).fetchall()
        return [(int(t), int(st), bytes(b)) for t, st, b in rows]

    def _turns(self, session_id: str) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM events WHERE session_id = ? AND type = 'question_asked'",
                (session_id,),
            ).fetchone()
        return int(row[0])

    def insert_recorded(
        self,
        row: dict[str, Any],
        events: list[dict[str, Any]],
        contexts: list[tuple[int, int, bytes]] = (),  # type: ignore[assignment]
    ) -> None:
        """Add a session from a bundle (or a branch), as it was recorded."""
        with self._lock:
            if self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (row["id"],)).fetchone():
                raise JournalError(f"session {row['id']} is already in this journal")
            with transaction(self._conn):
                self._conn.execute(
                    "INSERT INTO sessions (id, created, updated, title, model, model_size, quant,"
                    " prompt_format, settings, seed, status, answer, searches, model_sha256,"
                    " kind) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        row["id"], row["created"], time.time(), row["title"], row["model"],
                        row.get("model_size"), row.get("quant"), row.get("prompt_format"),
                        json.dumps(row.get("settings", {})), row.get("seed"),
                        "interrupted" if row["status"] == "running" else row["status"],
                        row.get("answer", ""), row.get("searches", 0), row.get("model_sha256"),
                        row.get("kind", "answer"),
                    ),
                )  # fmt: skip
                for seq, data in enumerate(events):
                    self._conn.execute(
                        "INSERT INTO events (session_id, seq, type, t, data)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (row["id"], seq, data["type"], data.get("t", 0.0), json.dumps(data)),
                    )
                self._conn.executemany(
                    "INSERT INTO contexts (session_id, turn, start, tokens) VALUES (?, ?, ?, ?)",
                    [(row["id"], turn, start, blob) for turn, start, blob in contexts],
                )
                if row.get("parent"):
                    self._conn.execute(
                        "UPDATE sessions SET parent = ?, parent_turn = ? WHERE id = ?",
                        (row["parent"], row.get("parent_turn"), row["id"]),
                    )
