"""The app with its real engine worker (a child process on the real test model): ask,
stream, cancel and answer-now across the process boundary, and a worker killed mid-answer
(SIGKILL, SIGABRT) that the app survives, says, and restarts into the same session."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Markdown, Static

from qwq_edge.events import (
    AnswerDelta,
    ErrorEvent,
    FinalAnswer,
    Finished,
    QuestionAsked,
    SessionStarted,
)
from qwq_edge.runtime.worker_process import WorkerProcess
from qwq_edge.settings import Sampling, Settings
from qwq_edge.store.journal import Journal
from qwq_edge.tui.app import QwqEdgeApp
from qwq_edge.tui.widgets import ToolCard, TurnView
from tests.support.tavily_server import TavilyServer
from tests.tui.harness import ask

STORY = "Write a long story about a lighthouse keeper and a storm, in many paragraphs."


def real_app(qwen_path: Path, journal: Journal, **kw: Any) -> QwqEdgeApp:
    settings = Settings(
        model=str(qwen_path), n_ctx=4096, sampling=Sampling(seed=0), tavily_api_key="tvly-test",
        **kw,
    )  # fmt: skip
    app = QwqEdgeApp(settings, journal=journal)
    assert not app.link.in_process  # the real worker process
    return app


async def until(pilot: Pilot[Any], check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.1)


async def streaming(app: QwqEdgeApp, pilot: Pilot[Any]) -> TurnView:
    """Wait until answer text has reached the screen."""
    await until(pilot, lambda: app.query(TurnView), 60, "the turn")
    turn = app.query_one(TurnView)
    await until(pilot, lambda: len(turn.answer_text) > 40 or not app.running, 120, "text")
    assert app.running, "the answer ended before it could be interrupted"
    return turn


async def test_ask_stream_search_cancel_across_the_process_boundary(
    qwen_path: Path, tavily: TavilyServer, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    app = real_app(qwen_path, journal, min_searches=1, max_tokens=400, tavily_url=tavily.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.model is not None, 120, "the model")
        worker = app.link.host
        assert isinstance(worker, WorkerProcess) and worker.process.pid != os.getpid()
        await ask(app, pilot, STORY)  # a search is forced first, then a long answer
        turn = await streaming(app, pilot)
        assert tavily.queries and "2 results" in str(turn.query_one(ToolCard).title)
        await pilot.press("escape")  # cancel reaches the worker at once
        t0 = time.monotonic()
        await until(pilot, lambda: not app.running, 20, "the cancelled turn to end")
        assert time.monotonic() - t0 < 5
        assert any("stopped" in str(s.render()) for s in turn.query(Static))
        assert "tok/s" in str(app.query_one("#status").render())
    events = list(journal.events(journal.sessions()[0].id))
    assert isinstance(events[0], SessionStarted)
    assert events[-1] == Finished("cancelled", turn=1, t=events[-1].t)
    assert "tvly-test" not in str(events)  # the key crossed the pipe, never the journal


async def test_answer_now_across_the_process_boundary(
    qwen_path: Path, tavily: TavilyServer, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    app = real_app(qwen_path, journal, min_searches=1, max_tokens=60, tavily_url=tavily.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.model is not None, 120, "the model")
        await ask(app, pilot, "Who won the 2022 FIFA World Cup?")
        await pilot.press("ctrl+a")  # before the forced search is made
        await until(pilot, lambda: not app.running, 120, "the turn to end")
        await pilot.pause(0.3)
    assert tavily.queries == []  # "answer now": no search reached the server
    events = list(journal.events(journal.sessions()[0].id))
    assert any(isinstance(e, FinalAnswer) for e in events)
    assert isinstance(events[-1], Finished) and events[-1].reason != "error"


@pytest.mark.parametrize(
    ("sig", "words"), [(signal.SIGKILL, "was killed"), (signal.SIGABRT, "was aborted")]
)
async def test_worker_killed_mid_answer_app_survives_and_restarts(
    qwen_path: Path, tmp_path: Path, sig: signal.Signals, words: str
) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    app = real_app(qwen_path, journal, max_searches=0, max_tokens=500)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.model is not None, 120, "the model")
        await ask(app, pilot, STORY)
        turn = await streaming(app, pilot)
        worker = app.link.host
        assert isinstance(worker, WorkerProcess)
        os.kill(worker.process.pid, sig)
        await until(pilot, lambda: app.link.dead is not None, 20, "the death to be noticed")
        assert words in (app.link.dead or "") and "Ctrl+R" in (app.link.dead or "")
        await pilot.pause(0.3)
        errors = [str(s.render()) for s in turn.query(".error")]
        assert any(words in e for e in errors)  # said where the answer stopped
        shown = turn.query_one(Markdown).source
        assert len(shown) > 40  # the transcript stays
        assert "engine stopped" in str(app.query_one("#status").render())
        assert not app.running
        [row] = journal.sessions()
        events = list(journal.events(row.id))
        streamed = "".join(e.text for e in events if isinstance(e, AnswerDelta))
        assert streamed and shown.startswith(streamed[:40])  # up to the last event
        assert not any(isinstance(e, Finished) for e in events)

        await pilot.press("ctrl+r")  # restart: reload, and continue the session
        await until(pilot, lambda: app.model is not None, 120, "the model again")
        assert app.link.dead is None and app.link.host is not worker
        await ask(app, pilot, "Give the story a title.")
        await until(pilot, lambda: not app.running, 120, "the follow-up")
        await pilot.pause(0.3)
    events = list(journal.events(row.id))  # the same session, continued
    assert [e.turn for e in events if isinstance(e, QuestionAsked)] == [1, 2]
    crash = [e for e in events if isinstance(e, ErrorEvent)]
    assert crash and words in crash[0].message
    finished = [e for e in events if isinstance(e, Finished)]
    assert finished[0].reason == "error" and finished[0].turn == 1
    assert finished[-1].turn == 2 and finished[-1].reason in ("eos", "max_tokens")
