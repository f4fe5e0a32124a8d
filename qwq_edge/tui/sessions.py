"""What the app does with sessions besides showing them: starting or continuing one (an agent
and its recorder), exporting one to Markdown, playing one back at its recorded pace, and
running one again offline."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from textual.notifications import SeverityLevel

from qwq_edge.agent import Agent
from qwq_edge.agent.replay import recorded_turns
from qwq_edge.engine.base import Engine
from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import Event
from qwq_edge.paths import paths
from qwq_edge.runtime import (
    build_agent,
    continue_session,
    offline_provider,
    open_snapshots,
    provider_notices,
    recorder_for,
    rerun_session,
)
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings
from qwq_edge.store.bundle import to_markdown
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.store.snapshots import Snapshots
from qwq_edge.tui.messages import AgentEvent, Target, TurnDone, coalesce

ProviderFactory = Callable[[Settings], SearchProvider]

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


def start_agent(
    settings: Settings,
    engine: Engine,
    providers: ProviderFactory,
    journal: Journal | None,
    resume: Resume,
    notify: Callable[[str], None] | None = None,
) -> tuple[Agent, Recorder | None, Snapshots | None]:
    """The agent for the next question, what journals it (None: no journal) and the KV
    snapshots. A follow-up to a session picked in the sidebar continues that session
    exactly (its journaled context, its KV snapshot when one matches), in the journal too;
    anything less, and a corrupt search cache set aside, is said through ``notify``."""
    snapshots = open_snapshots(settings) if journal is not None else None
    provider = providers(settings)
    notes = provider_notices(provider)
    resuming = resume.session_id is not None and bool(resume.history)
    if journal is None or not resuming or resume.session_id is None:
        agent = build_agent(settings, engine, provider)
        recorder = recorder_for(journal, engine) if journal is not None else None
    else:
        done = continue_session(
            settings, engine, journal, resume.session_id, provider=provider, snapshots=snapshots
        )
        agent, notes = done.agent, notes + done.notes
        recorder = recorder_for(journal, engine, resume.session_id)
    for note in notes:
        if notify is not None:
            notify(note)
    return agent, recorder, snapshots


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


def rerun_offline(events: Sequence[Event], engine: Engine, target: Target) -> None:
    """Run the model again on the session's questions, searches from disk, never the net,
    on the calling thread (the engine thread); posts the events, then a ``TurnDone`` saying
    how the re-run compares with the recording, or why it could not run."""
    note = ""
    severity: SeverityLevel = "information"

    def post(event: Event) -> None:
        target.post_message(AgentEvent(event, live=False))

    try:
        # Not journaled: a re-run is there to be compared with the recording.
        results = rerun_session(events, engine, offline_provider(), on_event=post)
        same = all(r.identical for r in results)
        note = "identical to the recording" if same else "different from the recording"
        note = f"Re-run finished: {note}."
    except QwqEdgeError as exc:
        note, severity = str(exc), "error"
    finally:  # whatever happened, the app stops waiting for it
        target.post_message(TurnDone(note, severity))
