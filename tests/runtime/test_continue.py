"""Continuing a session exactly: journaled context tokens, KV snapshots, fallbacks, the LRU
cap, branching, old journals and bundles (scripted engine; the real model is in
test_continue_model.py)."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import date
from pathlib import Path

import pytest

from qwq_edge.agent.loop import Agent
from qwq_edge.events import Event, QuestionAsked, Stats
from qwq_edge.runtime import continue_session, run_turn
from qwq_edge.settings import Settings
from qwq_edge.store.bundle import export_bundle, import_bundle
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.store.snapshots import Snapshots
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

CALL = '{"action": "web_search", "action_input": {"query": "%s"}}'
FIRST = ["<tool_call>", CALL % "gold price", "Gold is up [1].<|im_end|>"]
FOLLOW = ["It rose 3% [1].<|im_end|>"]
FIXTURE = Path(__file__).parent.parent / "store" / "fixtures" / "journal-v1.sqlite3"


def _session(tmp_path: Path, snapshots: Snapshots | None) -> tuple[Journal, Agent]:
    journal = Journal(tmp_path / "j.sqlite3")
    agent = Agent(ScriptedEngine(FIRST), FakeSearch(), Settings(), today=date(2026, 11, 29))
    run_turn(agent, "Gold?", lambda e: None, recorder=Recorder(journal), snapshots=snapshots)
    return journal, agent


def _follow_up(agent: Agent) -> list[Stats]:
    events: list[Event] = []
    run_turn(agent, "By how much?", events.append)
    return [e for e in events if isinstance(e, Stats)]


def test_the_context_is_journaled_token_for_token(tmp_path: Path) -> None:
    journal, agent = _session(tmp_path, None)
    assert journal.context(agent.session_id) == agent.context
    assert journal.context_rows(agent.session_id)[0][:2] == (1, 0)


def test_a_continue_restores_the_snapshot_and_evaluates_only_the_new_tokens(
    tmp_path: Path,
) -> None:
    snaps = Snapshots(tmp_path / "kv", 1 << 30)
    journal, first = _session(tmp_path, snaps)
    engine = ScriptedEngine(FOLLOW)  # a new process: an empty KV cache
    done = continue_session(Settings(), engine, journal, first.session_id, snapshots=snaps)
    assert done.notes == [] and done.restored is not None
    assert done.restored.tokens == len(first.context)
    agent = done.agent
    assert agent.context == first.context and agent.turn == 1
    assert agent.session_id == first.session_id and agent.sources[1].url == first.sources[1].url
    before = len(agent.context)
    stats = _follow_up(agent)
    assert stats[0].tokens_reused == before  # everything journaled was in the KV cache
    assert stats[0].tokens_evaluated == len(engine.contexts[0]) - before  # only the new


@pytest.mark.parametrize("damage", ["missing", "corrupt", "truncated", "smaller", "kv_type"])
def test_a_bad_snapshot_falls_back_to_re_prefill_with_one_line(tmp_path: Path, damage: str) -> None:
    snaps = Snapshots(tmp_path / "kv", 1 << 30)
    journal, first = _session(tmp_path, snaps)
    kv = tmp_path / "kv" / f"{first.session_id}.kv"
    engine = ScriptedEngine(FOLLOW)
    if damage == "missing":
        kv.unlink()
    elif damage == "corrupt":
        kv.write_bytes(kv.read_bytes().replace(b"1", b"2"))
    elif damage == "truncated":
        kv.write_bytes(kv.read_bytes()[:20])
    elif damage == "smaller":
        engine = ScriptedEngine(FOLLOW, n_ctx=len(first.context) - 5)
    else:
        engine._info = dataclasses.replace(engine.info, kv_type="q8_0")
    done = continue_session(Settings(), engine, journal, first.session_id, snapshots=snaps)
    assert done.restored is not None and done.restored.tokens == 0
    assert len(done.notes) == 1 and "re-reading its" in done.notes[0], done.notes
    assert engine._kv == []  # never continues from a wrong state
    if damage != "smaller":
        stats = _follow_up(done.agent)
        assert stats[0].tokens_reused == 0  # a full re-prefill, then the same continuation


def test_the_lru_cap_deletes_the_oldest_and_never_the_one_in_use(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path / "kv", 1 << 30)
    sids = []
    for _ in range(3):
        _, agent = _session(tmp_path, snaps)
        sids.append(agent.session_id)
        time.sleep(0.01)
    sizes = [json.loads((tmp_path / "kv" / f"{s}.json").read_text())["size"] for s in sids]
    snaps.max_bytes = sizes[1] + sizes[2]
    assert snaps.evict(keep=sids[0]) == [sids[1]]  # the oldest is kept: it is in use
    assert not (tmp_path / "kv" / f"{sids[1]}.kv").exists()
    snaps.max_bytes = 0
    assert snaps.evict(keep=sids[2]) == [sids[0]]


def test_a_branch_shares_turn_one_and_leaves_the_original(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path / "kv", 1 << 30)
    journal, first = _session(tmp_path, snaps)
    first.engine.script[:] = FOLLOW
    run_turn(
        first,
        "By how much?",
        lambda e: None,
        recorder=Recorder(journal, session_id=first.session_id),
    )
    turn_one = journal.context(first.session_id, upto_turn=1)
    done = continue_session(
        Settings(), ScriptedEngine(["Silver too.<|im_end|>"]), journal, first.session_id,
        snapshots=snaps, from_turn=1,
    )  # fmt: skip
    branch = done.agent
    assert branch.session_id != first.session_id and branch.context == turn_one
    assert done.restored is not None and done.restored.tokens > 0  # the parent's snapshot
    recorder = Recorder(journal, session_id=branch.session_id)
    run_turn(branch, "And silver?", lambda e: None, recorder=recorder)
    asked = [e.question for e in journal.events(branch.session_id) if isinstance(e, QuestionAsked)]
    assert asked == ["Gold?", "And silver?"]
    original = [
        e.question for e in journal.events(first.session_id) if isinstance(e, QuestionAsked)
    ]
    assert original == ["Gold?", "By how much?"]
    row = journal.session(branch.session_id)
    assert (row.parent, row.parent_turn) == (first.session_id, 1)


def test_an_old_journal_continues_through_the_lossy_path_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    path.write_bytes(FIXTURE.read_bytes())
    journal = Journal(path)
    sid = journal.sessions()[1].id
    engine = ScriptedEngine(["Yes.<|im_end|>"], reasoning=True)
    done = continue_session(Settings(), engine, journal, sid)
    assert len(done.notes) == 1 and "before exact contexts were kept" in done.notes[0]
    assert done.agent.turn == 2 and done.agent.context


def test_a_bundle_carries_the_exact_context(tmp_path: Path) -> None:
    journal, first = _session(tmp_path, None)
    bundle = tmp_path / "b.json"
    export_bundle(journal, first.session_id, bundle)
    other = Journal(tmp_path / "other.sqlite3")
    assert import_bundle(other, bundle) == first.session_id
    assert other.context(first.session_id) == first.context
