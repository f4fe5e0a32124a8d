"""How work off the UI thread reaches the app: the journal's coalescing, the worker's
replies as messages, and the palette (the worker's own batching: tests/runtime)."""

from __future__ import annotations

import threading
from typing import Any

from textual.message import Message

from qwq_edge.events import AnswerDelta, Event, Stats, ThinkingDelta
from qwq_edge.tui.app import QwqEdgeApp
from qwq_edge.tui.commands import PALETTE
from qwq_edge.tui.messages import AgentEvent, ModelReady, TurnDone, coalesce
from qwq_edge.tui.sessions import Resume


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


def test_every_reply_of_the_worker_becomes_the_apps_message() -> None:
    from qwq_edge.runtime.worker import Loaded, Loading, Said, TurnEnded
    from qwq_edge.runtime.worker_process import Died
    from qwq_edge.tui.messages import EngineDied, LoadProgress, Told, message_for

    ready = message_for(Loaded(2, None, "no model"))
    assert isinstance(ready, ModelReady) and (ready.seq, ready.error) == (2, "no model")
    progress = message_for(Loading(2, 0.25))
    assert isinstance(progress, LoadProgress) and progress.fraction == 0.25
    told = message_for(Said("a note", "error"))
    assert isinstance(told, Told) and told.severity == "error"
    assert isinstance(message_for(TurnEnded("done")), TurnDone)
    died = message_for(Died("The engine process was killed."))
    assert isinstance(died, EngineDied) and "killed" in died.message
    delta = AnswerDelta("x")
    event = message_for(delta)
    assert isinstance(event, AgentEvent) and event.event == delta


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
