"""What a bundle import checks (issue 28, finding 2) still takes everything qwq-edge itself
writes: its session ids, a branch's parent, every event of a real session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from qwq_edge.agent.loop import Agent
from qwq_edge.agent.state import new_session_id
from qwq_edge.runtime import run_turn
from qwq_edge.search.cache import SearchCache
from qwq_edge.settings import Settings
from qwq_edge.store.branch import branch
from qwq_edge.store.bundle import export_bundle, import_bundle
from qwq_edge.store.journal import Journal, is_session_id
from qwq_edge.store.recorder import Recorder
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

CALL = '{"action": "web_search", "action_input": {"query": "%s"}}'


def test_the_journals_own_ids_are_session_ids() -> None:
    assert all(is_session_id(new_session_id()) for _ in range(20))
    assert not is_session_id("20260101-120000-abc12")  # too short
    assert not is_session_id("20260101-120000-abc123\n")  # a trailing newline
    assert not is_session_id("٢٠٢٦٠١٠١-120000-abc123")  # digits, but not ASCII ones
    assert not is_session_id(20260101)


def test_a_real_session_and_its_branch_import_elsewhere(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    script = ["<tool_call>", CALL % "gold", "Gold is up [1].<|im_end|>", "By 3% [1].<|im_end|>"]
    agent = Agent(ScriptedEngine(script), FakeSearch(), Settings(), today=date(2026, 1, 1))
    recorder = Recorder(journal)
    run_turn(agent, "Gold?", lambda e: None, recorder=recorder)
    run_turn(agent, "How much?", lambda e: None, recorder=recorder)
    child = new_session_id()
    branch(journal, agent.session_id, 1, child)
    other = Journal(tmp_path / "other.sqlite3")
    cache = SearchCache(tmp_path / "cache.sqlite3")
    for sid in (agent.session_id, child):
        export_bundle(journal, sid, tmp_path / f"{sid}.json", cache)
        assert import_bundle(other, tmp_path / f"{sid}.json", cache) == sid
        assert list(other.events(sid)) == list(journal.events(sid))
    assert other.session(child).parent == agent.session_id
