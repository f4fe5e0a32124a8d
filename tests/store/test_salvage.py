"""A journal with one damaged page: it is set aside, and every row that can still be read is
copied into the new one, with a sentence saying how many sessions came back (issue 13)."""

from __future__ import annotations

import os
import sqlite3
from datetime import date
from pathlib import Path

from qwq_edge.agent.loop import Agent
from qwq_edge.runtime import run_turn
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

PAGE = 4096


def _journal_with_sessions(path: Path, n: int) -> list[str]:
    journal = Journal(path)
    ids = []
    for i in range(n):
        agent = Agent(
            ScriptedEngine([f"Answer number {i}. " * 20 + "<|im_end|>"]),
            FakeSearch(),
            Settings(),
            today=date(2026, 1, 1),
        )
        run_turn(agent, f"Question {i}?", lambda _: None, recorder=Recorder(journal))
        ids.append(agent.session_id)
    journal.close()
    return ids


def _damage_a_middle_page(path: Path) -> None:
    """Overwrite one page in the middle with garbage that sqlite's own check notices."""
    pages = path.stat().st_size // PAGE
    original = path.read_bytes()
    for page in range(pages // 2, pages - 1):
        damaged = bytearray(original)
        damaged[page * PAGE : (page + 1) * PAGE] = os.urandom(PAGE)
        path.write_bytes(bytes(damaged))
        conn = sqlite3.connect(path)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            ok = False
        conn.close()
        if not ok:
            return
    raise AssertionError("no page whose damage sqlite notices")


def test_a_damaged_page_loses_only_what_it_held(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    ids = _journal_with_sessions(path, 40)
    _damage_a_middle_page(path)
    damaged = path.read_bytes()

    journal = Journal(path)
    sessions = journal.sessions()
    assert journal.notice is not None
    assert f"and {len(sessions)} sessions were recovered into it" in journal.notice
    assert len(sessions) >= len(ids) // 2  # one page held a few rows, not half the journal
    assert {s.id for s in sessions} <= set(ids)
    readable = [s for s in sessions if list(journal.events(s.id))]
    assert len(readable) >= len(ids) // 2  # their events came back too, and replay
    [aside] = [
        p for p in tmp_path.iterdir() if ".bad-" in p.name and not p.name.endswith(("-wal", "-shm"))
    ]
    assert aside.read_bytes() == damaged  # the damaged file is kept as it was
    journal.close()
    assert Journal(path).notice is None  # the new journal is sound
