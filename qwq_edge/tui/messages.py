"""How work off the UI thread reaches the app: the Textual messages for what the engine's
worker sends (an agent event, the model loaded or loading, a note, a turn done, a report's
plan to decide on, the worker dead), the library counted, and ``coalesce`` for showing a
journaled session in one pass.

Widgets are only touched on the UI thread; other threads never call into them, they post.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from textual.message import Message
from textual.notifications import SeverityLevel

from qwq_edge.engine.base import ModelInfo
from qwq_edge.events import AnswerDelta, Event, ReportPlanned, ThinkingDelta
from qwq_edge.runtime.worker import AskOpen, Item, Loaded, Loading, Said, TurnEnded
from qwq_edge.runtime.worker_process import Died
from qwq_edge.runtime.worker_research import PlanProposed
from qwq_edge.tui.library import LibraryState

# How often streamed text reaches the screen. Every redraw takes CPU from llama.cpp's decode
# threads on a small machine: measured on 2 cores with the 0.5B model, the TUI decoded at
# 0.83 of headless speed with 0.1 s and 0.88 with 0.2 s.
FLUSH_SECONDS = 0.2

TextDelta = ThinkingDelta | AnswerDelta


class Target(Protocol):
    """Where messages go: the app (any Textual message pump will do; tests pass a recorder)."""

    def post_message(self, message: Message) -> bool: ...


class AgentEvent(Message):
    """One event of a turn: live, replayed from the journal, or from an offline re-run."""

    def __init__(self, event: Event, live: bool = True) -> None:
        super().__init__()
        self.event = event
        self.live = live


class ModelReady(Message):
    """Load number ``seq`` ended: the model's ``info``, or why not in ``error`` (one
    sentence for the user)."""

    def __init__(self, info: ModelInfo | None, error: str | None = None, seq: int = 0) -> None:
        super().__init__()
        self.info = info
        self.error = error
        self.seq = seq


class LoadProgress(Message):
    """How far load number ``seq`` got, 0 to 1."""

    def __init__(self, seq: int, fraction: float) -> None:
        super().__init__()
        self.seq = seq
        self.fraction = fraction


class Told(Message):
    """A sentence from the engine side that belongs to no turn (a note on continuing)."""

    def __init__(self, text: str, severity: SeverityLevel = "warning") -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class EngineDied(Message):
    """The engine process ended unasked; ``message`` says how, in one sentence."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class TurnDone(Message):
    """A turn (or an offline re-run) ended; every event of it was posted before this.
    ``note``: a sentence for the user about how it went (a re-run says how it compares)."""

    def __init__(self, note: str = "", severity: SeverityLevel = "information") -> None:
        super().__init__()
        self.note = note
        self.severity = severity


class OpenAsked(Message):
    """The model wants to open a URL nobody gave it: the user decides (``ConfirmOpen``)."""

    def __init__(self, nonce: int, url: str) -> None:
        super().__init__()
        self.nonce = nonce
        self.url = url


class PlanReady(Message):
    """A report's plan is written: the user approves, edits or rejects it (``PlanScreen``),
    and the worker waits for the answer (``research_decide``)."""

    def __init__(self, plan: ReportPlanned) -> None:
        super().__init__()
        self.plan = plan


def message_for(item: Item | Died) -> Message:
    """The app's message for one thing the worker sent (or for its death)."""
    match item:
        case Loaded():
            return ModelReady(item.info, item.error, item.seq)
        case Loading():
            return LoadProgress(item.seq, item.fraction)
        case Said():
            return Told(item.text, item.severity)
        case TurnEnded():
            return TurnDone(item.note, item.severity)
        case AskOpen():
            return OpenAsked(item.nonce, item.url)
        case PlanProposed():
            return PlanReady(item.plan)
        case Died():
            return EngineDied(item.message)
        case _:
            return AgentEvent(item)


class LibraryCounted(Message):
    """The library's state for the status bar (None: searches do not use the library)."""

    def __init__(self, state: LibraryState | None) -> None:
        super().__init__()
        self.state = state


def _merge(pending: TextDelta | None, event: TextDelta) -> TextDelta | None:
    """``pending`` with ``event``'s text appended, or None when they are of different kinds."""
    if pending is not None and type(pending) is type(event):
        return replace(pending, text=pending.text + event.text)
    return None


def coalesce(events: Iterable[Event]) -> Iterable[Event]:
    """Merge runs of text deltas: a journaled session shows in one pass, not token by token."""
    pending: TextDelta | None = None
    for e in events:
        if isinstance(e, (ThinkingDelta, AnswerDelta)):
            merged = _merge(pending, e)
            if merged is None and pending is not None:
                yield pending
            pending = e if merged is None else merged
            continue
        if pending is not None:
            yield pending
            pending = None
        yield e
    if pending is not None:
        yield pending
