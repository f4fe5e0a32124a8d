"""Continuing a session when another model sits under the file name it was recorded with
(issue 28): its journaled tokens are not this model's, so it continues from its questions
and answers, and one line says why; it never decodes the foreign ids."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwq_edge.agent.loop import Agent
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.events import ErrorEvent, Event, FinalAnswer
from qwq_edge.runtime import continue_session, run_turn
from qwq_edge.settings import Sampling, Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from tests.support.env import load_test_engine

pytestmark = pytest.mark.model
SETTINGS = Settings(max_searches=0, max_tokens=12, sampling=Sampling(temperature=0.0, seed=0))


@pytest.fixture
def smollm(smollm_path: Path) -> Iterator[LlamaEngine]:
    eng = load_test_engine(smollm_path, 2048)
    yield eng
    eng.close()


def _recorded(tmp_path: Path, engine: LlamaEngine) -> tuple[Journal, str]:
    journal = Journal(tmp_path / "j.sqlite3")
    agent = Agent(engine, None, SETTINGS)
    run_turn(agent, "Name a colour.", lambda e: None, recorder=Recorder(journal))
    assert journal.context(agent.session_id)
    return journal, agent.session_id


def _under_the_name(tmp_path: Path, model: Path, name: str) -> LlamaEngine:
    impostor = tmp_path / "models" / name
    impostor.parent.mkdir()
    shutil.copyfile(model, impostor)
    return load_test_engine(impostor, 2048)


def _follow_up(agent: Agent) -> list[Event]:
    events: list[Event] = []
    run_turn(agent, "And another?", events.append)
    return events


@pytest.mark.parametrize("direction", ["ids past its vocabulary", "ids of another vocabulary"])
def test_another_model_under_the_recorded_name_is_said_in_one_line(
    tmp_path: Path,
    engine: LlamaEngine,
    smollm: LlamaEngine,
    smollm_path: Path,
    qwen_path: Path,
    direction: str,
) -> None:
    if direction == "ids past its vocabulary":  # Qwen's ids (151k) on SmolLM (49k)
        journal, sid = _recorded(tmp_path, engine)
        there = _under_the_name(tmp_path, smollm_path, qwen_path.name)
    else:  # SmolLM's ids, all inside Qwen's vocabulary, mean other words there
        journal, sid = _recorded(tmp_path, smollm)
        there = _under_the_name(tmp_path, qwen_path, smollm_path.name)
    try:
        done = continue_session(SETTINGS, there, journal, sid)
        assert len(done.notes) == 1, done.notes
        note = done.notes[0]
        assert "another model" in note and Path(there.info.path).name in note, note
        assert "\n" not in note
        events = _follow_up(done.agent)
        errors = [e for e in events if isinstance(e, ErrorEvent) and e.kind != "max_tokens"]
        assert errors == [], errors  # never "llama_decode returned -1"
        assert any(isinstance(e, FinalAnswer) for e in events)
    finally:
        there.close()
