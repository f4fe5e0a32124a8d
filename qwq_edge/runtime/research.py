"""Research reports for every front end: a report started or continued, its phases run on
the engine thread with every event journaled, and its files written whatever happened.

A phase (the plan, the person's decision, the sections) is a generator of events from
``research/run.py``; ``run_phase`` journals each one, then hands it on, and turns an
unexpected failure into an ``ErrorEvent`` and a ``Finished``, as ``run_turn`` does for a
question. ``finish`` writes the report from the journaled events, so a report cut short by
Ctrl+C, a budget or a dead engine still arrives, marked partial.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwq_edge.agent.state import Controls
from qwq_edge.engine.base import Engine
from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import (
    ErrorEvent,
    Event,
    Finished,
    FinishReason,
    Notice,
    ReportWritten,
    SessionStarted,
)
from qwq_edge.paths import Paths, paths
from qwq_edge.research.document import Report, bibliography, from_events, markdown
from qwq_edge.research.provenance import provenance
from qwq_edge.research.run import ReportOptions, Research
from qwq_edge.runtime.build import build_agent, recorder_for
from qwq_edge.runtime.continuing import open_snapshots
from qwq_edge.runtime.turn import Consumer, Journaled
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal, JournalError

FILES = ("report.md", "report.bib", "report.ris", "report.json", "report.provenance.md")


@dataclass
class Session:
    """A report in progress: its research, where its events are journaled and kept."""

    research: Research
    journal: Journal | None
    events: list[Event]  # every event of the session so far (the report is made of them)

    @property
    def session_id(self) -> str:
        return self.research.agent.session_id


def report_options(events: list[Event]) -> ReportOptions:
    """The options a journaled report was started with (its ``SessionStarted`` settings)."""
    start = next((e for e in events if isinstance(e, SessionStarted)), None)
    given: Any = start.settings.get("report", {}) if start is not None else {}
    if not isinstance(given, dict):
        return ReportOptions()
    sections = given.get("sections", 5)
    return ReportOptions(
        sections=sections if isinstance(sections, int) else 5, fix=given.get("fix") is True
    )


def reports_dir(where: Paths | None = None) -> Path:
    return (where or paths()).data_dir / "reports"


def start(
    settings: Settings,
    engine: Engine,
    journal: Journal | None,
    options: ReportOptions,
    provider: SearchProvider | None = None,
) -> Session:
    """A new report on ``engine`` (run on the engine thread)."""
    agent = build_agent(settings, engine, provider)
    recorder = recorder_for(journal, engine) if journal is not None else None
    research = Research(agent, options, recorder=recorder, snapshots=open_snapshots(settings))
    return Session(research, journal, [])


def resume(
    settings: Settings,
    engine: Engine,
    journal: Journal,
    session_id: str,
    options: ReportOptions,
    provider: SearchProvider | None = None,
) -> tuple[Session, Iterator[Event]]:
    """A journaled report picked up where it stopped; the iterator says how far it got."""
    row = journal.session(session_id)
    if row.kind != "report":
        raise JournalError(
            f"session {session_id} is not a report; continue it with `qwq-edge ask --continue`"
        )
    events = list(journal.events(session_id))
    context = journal.context(session_id, upto_turn=1)
    if context is None:
        raise JournalError(f"report {session_id} has no journaled plan context to continue from")
    agent = build_agent(settings, engine, provider, session_id=session_id)
    recorder = recorder_for(journal, engine, session_id)
    research = Research(agent, options, recorder=recorder, snapshots=open_snapshots(settings))
    told = list(research.resume(events, context))  # now, on the engine thread
    return Session(research, journal, events), iter(told)


Phase = Callable[[Controls], Iterator[Event]]


def run_phase(
    session: Session, phase: Phase, consumer: Consumer, controls: Controls
) -> FinishReason:
    """One phase on the calling (engine) thread: every event journaled, kept for the
    report, then consumed. Returns how the last turn in it finished."""
    recorder = session.research.recorder
    emit = Journaled(consumer, recorder)
    reason: FinishReason = "eos"

    def out(event: Event) -> None:
        session.events.append(event)
        emit(event)

    try:
        for event in phase(controls):
            out(event)
            if isinstance(event, Finished):
                reason = event.reason
    except Exception as exc:  # one line for the user; the journal keeps every event so far
        detail = str(exc) if isinstance(exc, QwqEdgeError) else f"{type(exc).__name__}: {exc}"
        out(ErrorEvent(f"the report stopped: {detail}", kind="error"))
        out(Finished("error", turn=max(1, session.research.agent.turn)))
        reason = "error"
    session.research.recorder = emit.recorder  # a journal that failed stays off
    return "cancelled" if controls.cancelled else reason


def finish(session: Session, folder: Path | None, consumer: Consumer) -> ReportWritten:
    """Write the report's files from its events into ``folder`` (default: the data dir's
    ``reports/ID``), journal that it was written, and say so. A file that cannot be
    written is one sentence; the journal still holds everything to write it again."""
    report = from_events(session.events)
    target = folder or reports_dir() / session.session_id
    if report.plan is None:  # planning stopped: there is nothing to write yet
        Journaled(consumer, session.research.recorder)(
            Notice("the report stopped before its plan was written; nothing was written")
        )
        return ReportWritten(str(target), True, (), ())
    missing = tuple(report.missing())
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, text in zip(FILES, _texts(report), strict=True):
            _write(target / name, text)
    except OSError as exc:
        error = ErrorEvent(f"the report could not be written to {target}: {exc.strerror or exc}")
        Journaled(consumer, session.research.recorder)(error)
        return ReportWritten(str(target), True, missing, ())
    done = ReportWritten(str(target), bool(missing), missing, FILES)
    session.events.append(done)
    Journaled(consumer, session.research.recorder)(done)  # a journal error is said, once
    return done


def _texts(report: Report) -> list[str]:
    """The files' contents, in the order of ``FILES``."""
    bib, ris, csl = bibliography(report)
    return [markdown(report), bib, ris, csl, provenance(report)]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def rewrite(journal: Journal, session_id: str, folder: Path) -> list[Path]:
    """A journaled report's files written again from its events (``sessions export``)."""
    report = from_events(journal.events(session_id))
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in zip(FILES, _texts(report), strict=True):
        _write(folder / name, text)
        out.append(folder / name)
    return out
