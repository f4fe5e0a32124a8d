"""What the app does with journaled sessions: showing one (and what a follow-up needs to
continue it), exporting one to Markdown, and playing one back at its recorded pace. Starting,
continuing and re-running sessions is the engine worker's (``runtime/worker.py``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qwq_edge.agent.replay import recorded_turns
from qwq_edge.events import Event
from qwq_edge.paths import paths
from qwq_edge.store.bundle import to_markdown
from qwq_edge.store.journal import Journal
from qwq_edge.tui.messages import AgentEvent, Target, coalesce

# A replay waits at most this long between two events: a session journaled over a coffee
# break should not replay one.
MAX_PAUSE = 5.0


@dataclass(frozen=True)
class Resume:
    """What a follow-up needs to continue a journaled session (empty: start a new one)."""

    session_id: str | None = None
    history: list[tuple[str, str]] = field(default_factory=list)  # (question, answer) per turn
    started: float | None = None  # when the session began: its questions' "today"

    @classmethod
    def of(cls, session_id: str, events: Sequence[Event]) -> Resume:
        turns = recorded_turns(list(events))
        history = [(q.question, f.text if f else "") for q, f in turns]
        return cls(session_id, history, events[0].t if events else None)


async def show(
    journal: Journal, session_id: str, apply: Callable[[Event], Awaitable[None]]
) -> Resume:
    """Hand a journaled session's events to ``apply`` (runs of text deltas merged: it shows
    in one pass, not token by token); returns what a follow-up needs to continue it."""
    events = list(journal.events(session_id))
    for e in coalesce(events):
        await apply(e)
    return Resume.of(session_id, events)


def export_markdown(journal: Journal, session_id: str) -> Path:
    """Write the session as Markdown under the data directory; returns where."""
    target = paths().data_dir / "exports" / f"{session_id}.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    row = journal.session(session_id)
    target.write_text(to_markdown(row, list(journal.events(session_id))), encoding="utf-8")
    return target


def replay(journal: Journal, session_id: str, target: Target) -> None:
    """Post a journaled session's events with the pauses they were recorded with (blocks:
    run it in a worker thread)."""
    events = list(journal.events(session_id))
    last = events[0].t if events else 0.0
    for e in events:
        time.sleep(max(0.0, min(e.t - last, MAX_PAUSE)))
        last = e.t
        target.post_message(AgentEvent(e, live=False))
