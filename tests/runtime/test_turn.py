"""The one place a turn runs: every event journaled then consumed, failures as events."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from qwq_edge.agent.loop import Agent
from qwq_edge.agent.state import Controls
from qwq_edge.engine.thread import EngineThread
from qwq_edge.events import ErrorEvent, Event, FinalAnswer, Finished, Notice, ToolResult
from qwq_edge.runtime import run_in_foreground, run_turn
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

CALL = '{"action": "web_search", "action_input": {"query": "%s"}}'


def _agent(script: list[str], engine: Any = None) -> Agent:
    return Agent(
        engine or ScriptedEngine(script), FakeSearch(), Settings(), today=date(2026, 11, 29)
    )


def test_every_event_is_journaled_before_it_is_consumed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    recorder = Recorder(journal)
    seen: list[tuple[Event, int]] = []

    def consume(event: Event) -> None:
        sid = recorder.session_id
        seen.append((event, len(list(journal.events(sid))) if sid else 0))

    agent = _agent(["<tool_call>", CALL % "gold", "Gold is up [1].<|im_end|>"])
    assert run_turn(agent, "Gold?", consume, recorder=recorder) == "eos"
    assert [n for _, n in seen] == list(range(1, len(seen) + 1))  # already written
    assert isinstance(seen[-1][0], Finished)
    assert journal.session(agent.session_id).status == "done"


class _Exploding(ScriptedEngine):
    def stream(self, *args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug in a backend")


def test_an_unexpected_failure_becomes_events_and_a_failed_session(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    recorder = Recorder(journal)
    events: list[Event] = []
    agent = _agent([], engine=_Exploding([]))
    assert run_turn(agent, "Anything?", events.append, recorder=recorder) == "error"
    error = next(e for e in events if isinstance(e, ErrorEvent))
    assert error.message == "the answer stopped: ZeroDivisionError: a bug in a backend"
    assert isinstance(events[-1], Finished) and events[-1].reason == "error"
    assert journal.session(agent.session_id).status == "failed"
    assert [type(e) for e in journal.events(agent.session_id)] == [type(e) for e in events]


class _FullDisk(Recorder):
    def __call__(self, event: Event) -> None:
        if isinstance(event, ToolResult):
            raise sqlite3.OperationalError("database or disk is full")
        super().__call__(event)


def test_a_journal_that_cannot_write_is_said_once_and_the_answer_goes_on(
    tmp_path: Path,
) -> None:
    events: list[Event] = []
    agent = _agent(["<tool_call>", CALL % "gold", "Gold is up [1].<|im_end|>"])
    recorder = _FullDisk(Journal(tmp_path / "j.sqlite3"))
    assert run_turn(agent, "Gold?", events.append, recorder=recorder) == "eos"
    notices = [e for e in events if isinstance(e, Notice)]
    assert [n.kind for n in notices] == ["journal"]
    assert "database or disk is full" in notices[0].message
    assert next(e for e in events if isinstance(e, FinalAnswer)).text == "Gold is up [1]."


def test_the_foreground_runs_on_the_engine_thread_and_cancels(tmp_path: Path) -> None:
    threads: set[str] = set()

    def paced(i: int) -> None:
        threads.add(threading.current_thread().name)
        time.sleep(0.005)  # a loaded machine must not let the story end before the Ctrl+C

    engine = ScriptedEngine(["A long story " * 50], on_token=paced)
    agent = _agent([], engine=engine)
    runner = EngineThread()
    events: list[Event] = []

    def consume(event: Event) -> None:
        events.append(event)
        if len(events) == 5:
            raise KeyboardInterrupt  # Ctrl+C while rendering: cancels the turn, keeps going

    assert run_in_foreground(runner, agent, "Tell me a story", consume) == "cancelled"
    assert threads == {"qwq-edge-engine"}
    assert isinstance(events[-1], Finished) and events[-1].reason == "cancelled"
    runner.shutdown()


def test_controls_passed_to_run_turn_steer_it() -> None:
    controls = Controls()
    controls.cancel()
    events: list[Event] = []
    assert run_turn(_agent(["Never shown."]), "Q?", events.append, controls=controls) == (
        "cancelled"
    )
    assert not any(isinstance(e, ErrorEvent) for e in events)


@pytest.mark.model
def test_a_real_turn_through_the_runtime(engine: Any, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    from qwq_edge.runtime import recorder_for

    agent = Agent(
        engine, FakeSearch(), Settings().replace(max_tokens=24, seed=3), today=date(2026, 1, 1)
    )
    events: list[Event] = []
    reason = run_turn(agent, "Say hello.", events.append, recorder=recorder_for(journal, engine))
    assert reason in ("eos", "max_tokens")
    assert [type(e) for e in journal.events(agent.session_id)] == [type(e) for e in events]
    assert journal.session(agent.session_id).model == Path(engine.info.path).name


def test_ctrl_c_in_the_foreground_only_cancels_and_the_handler_is_restored() -> None:
    import signal

    before = signal.getsignal(signal.SIGINT)
    # Paced like a model (1 ms a token): the main thread must get to the fifth event while
    # the story is still being written, however busy the machine is.
    paced = ScriptedEngine(["A long story " * 50], on_token=lambda _: time.sleep(0.001))
    agent = _agent([], paced)
    runner = EngineThread()
    events: list[Event] = []

    def consume(event: Event) -> None:
        events.append(event)
        if len(events) == 5:
            signal.raise_signal(signal.SIGINT)  # Ctrl+C, wherever the main thread is

    assert run_in_foreground(runner, agent, "Tell me a story", consume) == "cancelled"
    assert isinstance(events[-1], Finished) and events[-1].reason == "cancelled"
    assert signal.getsignal(signal.SIGINT) is before
    runner.shutdown()
