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


def test_the_objects_inside_an_event_are_checked_too() -> None:
    """A bundled open whose passage text is a number, or whose source number is text,
    would crash the renderers later: it is refused at import."""
    from qwq_edge.events import PageOpened, ReadPassage, SearchHit, Source, ToolResult
    from qwq_edge.store.bundle import _well_typed

    good = PageOpened(1, "https://e.com", "f", Source(1, "T", "https://e.com"), "T",
                      (ReadPassage(0, "h", "text"),))  # fmt: skip
    assert _well_typed(good)
    assert not _well_typed(PageOpened(1, "u", "f", Source("zz", "T", "u"), "T"))  # type: ignore[arg-type]
    assert not _well_typed(PageOpened(1, "u", "f", None, "T", (ReadPassage(0, "h", 5),)))  # type: ignore[arg-type]
    assert not _well_typed(ToolResult(1, "p", "q", hits=(SearchHit(5, "u", "c"),)))  # type: ignore[arg-type]
