"""How work off the UI thread reaches the app: the live turn's poster (text deltas batched
per flush interval), the journal's coalescing, model loads one at a time, and the palette."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from textual.message import Message

from qwq_edge.engine.thread import EngineThread
from qwq_edge.events import AnswerDelta, Event, Notice, Stats, ThinkingDelta
from qwq_edge.settings import Settings
from qwq_edge.tui import messages
from qwq_edge.tui.app import QwqEdgeApp
from qwq_edge.tui.commands import PALETTE
from qwq_edge.tui.loading import ModelLoader
from qwq_edge.tui.messages import AgentEvent, ModelReady, Poster, TurnDone, coalesce
from qwq_edge.tui.sessions import Resume
from tests.support.scripted_engine import ScriptedEngine


class Inbox:
    """Stands in for the app: keeps every message posted to it, from any thread."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.posted = threading.Event()

    def post_message(self, message: Message) -> bool:
        self.messages.append(message)
        self.posted.set()
        return True

    def events(self) -> list[Any]:
        return [m.event if isinstance(m, AgentEvent) else m for m in self.messages]


STATS = Stats("generate", 1, 0, 1, 0.1, 0.1, 10, 100)


def test_poster_batches_text_deltas_within_a_flush_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])  # the poster's clock
    inbox = Inbox()
    poster = Poster(inbox)
    for piece in ("a", "b", "c"):
        poster(ThinkingDelta(piece))
    assert inbox.messages == []  # held back: the interval has not passed
    poster(AnswerDelta("x"))  # another kind: the thinking so far goes first
    now[0] += messages.FLUSH_SECONDS
    poster(AnswerDelta("y"))  # the interval passed: out it goes
    poster(AnswerDelta("z"))
    poster(STATS)  # any other event first sends what is held back
    poster(Notice("n"))
    poster.close()
    texts = [(type(e).__name__, getattr(e, "text", None)) for e in inbox.events()]
    assert texts == [
        ("ThinkingDelta", "abc"),
        ("AnswerDelta", "xy"),
        ("AnswerDelta", "z"),
        ("Stats", None),
        ("Notice", None),
        ("TurnDone", None),
    ]
    assert all(m.live for m in inbox.messages if isinstance(m, AgentEvent))


def test_poster_close_sends_what_is_held_back_before_turn_done() -> None:
    inbox = Inbox()
    poster = Poster(inbox)
    poster(AnswerDelta("tail"))
    poster.close()
    assert [type(e).__name__ for e in inbox.events()] == ["AnswerDelta", "TurnDone"]


def test_coalesce_merges_runs_of_the_same_delta_only() -> None:
    events: list[Event] = [
        ThinkingDelta("a"), ThinkingDelta("b"), AnswerDelta("c"), AnswerDelta("d"), STATS,
        AnswerDelta("e"), ThinkingDelta("f"),
    ]  # fmt: skip
    merged = list(coalesce(events))
    assert [(type(e).__name__, getattr(e, "text", "")) for e in merged] == [
        ("ThinkingDelta", "ab"), ("AnswerDelta", "cd"), ("Stats", ""), ("AnswerDelta", "e"),
        ("ThinkingDelta", "f"),
    ]  # fmt: skip
    assert merged[0].t == events[0].t  # a merged delta keeps the time of its first part


def test_model_ready_carries_an_engine_or_one_sentence() -> None:
    engine = ScriptedEngine([])
    assert ModelReady.load(lambda s: engine, Settings()).engine is engine

    def broken(settings: Settings) -> ScriptedEngine:
        raise KeyError("n_ctx")

    failed = ModelReady.load(broken, Settings())
    assert failed.engine is None and failed.error == "unexpected KeyError: 'n_ctx'"


def test_a_load_asked_for_during_another_runs_after_it_and_the_stale_model_is_closed() -> None:
    loaded: list[int] = []
    closed: list[int] = []

    class Closable(ScriptedEngine):
        def close(self) -> None:
            closed.append(self.info.n_ctx)

    def loader(settings: Settings) -> Closable:
        loaded.append(settings.n_ctx)
        return Closable([], n_ctx=settings.n_ctx)

    runner, inbox = EngineThread(), Inbox()
    try:
        models = ModelLoader(runner, loader, inbox)
        models.load(Settings(n_ctx=1024))
        assert models.since is not None
        models.load(Settings(n_ctx=2048))  # the settings changed while it loads
        assert inbox.posted.wait(5)
        first = inbox.messages.pop()
        assert isinstance(first, ModelReady)
        inbox.posted.clear()
        assert not models.done(first)  # stale: closed, and the waiting load starts
        assert models.since is not None
        assert inbox.posted.wait(5)
        second = inbox.messages.pop()
        assert isinstance(second, ModelReady) and models.done(second)
        assert models.since is None
        runner.call(lambda: None)  # the close ran before this
        assert loaded == [1024, 2048] and closed == [1024]
        assert second.engine is not None and second.engine.info.n_ctx == 2048
    finally:
        runner.shutdown()


def test_turn_done_carries_an_optional_note() -> None:
    assert TurnDone().note == "" and TurnDone().severity == "information"
    assert TurnDone("bad", "error").severity == "error"


def test_resume_of_a_journaled_session_keeps_questions_answers_and_start() -> None:
    from qwq_edge.events import FinalAnswer, QuestionAsked

    events: list[Event] = [
        QuestionAsked(1, "one?", t=50.0), FinalAnswer("One."), QuestionAsked(2, "two?"),
    ]  # fmt: skip
    resume = Resume.of("sid", events)
    assert resume == Resume("sid", [("one?", "One."), ("two?", "")], 50.0)
    assert Resume() == Resume(None, [], None)


def test_every_palette_entry_runs_an_action_of_the_app() -> None:
    for title, _, action in PALETTE:
        assert callable(getattr(QwqEdgeApp, f"action_{action}", None)), title
    assert len({action for _, _, action in PALETTE}) == len(PALETTE)
