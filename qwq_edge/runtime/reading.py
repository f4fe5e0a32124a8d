"""Reading a source with no model loaded (``qwq-edge open``): what the model would read.

A number is a source of a journaled session (the given one, or the last); the focus
defaults to that session's last question. The URL is the user's own, so the "given to the
model" rule does not apply; private addresses are still refused unless allowed.
"""

from __future__ import annotations

import time
from dataclasses import replace

from qwq_edge.agent.opening import opened_event
from qwq_edge.errors import ReadError
from qwq_edge.events import PageOpened, QuestionAsked, Source, ToolResult
from qwq_edge.reading.focus import estimate, select
from qwq_edge.runtime.build import open_journal
from qwq_edge.runtime.sources import make_reader, open_library
from qwq_edge.settings import Settings


def session_sources(session_id: str | None) -> tuple[str, dict[int, Source], str]:
    """The session (given, or the last one), its numbered sources and its last question."""
    journal = open_journal()
    try:
        if session_id:
            sid = journal.resolve(session_id)
        else:
            rows = journal.sessions(limit=1)
            if not rows:
                raise ReadError("there is no session yet, so a number names no source", "invalid")
            sid = rows[0].id
        sources: dict[int, Source] = {}
        question = ""
        for event in journal.events(sid):
            if isinstance(event, ToolResult):
                sources.update({s.n: s for s in event.sources})
            elif isinstance(event, PageOpened) and event.source is not None:
                sources[event.source.n] = event.source
            elif isinstance(event, QuestionAsked):
                question = event.question
        return sid, sources, question
    finally:
        journal.close()


def open_source(
    settings: Settings, target: str, focus: str = "", session_id: str | None = None
) -> PageOpened:
    """Read ``target`` (a URL, or a number of a session) around ``focus``, as ``open``
    would for the model; ``ReadError`` (one sentence) when it cannot."""
    t0 = time.perf_counter()
    number = target.strip().strip("[]").strip()
    source: Source | None = None
    url = target.strip()
    if number.isdigit():
        sid, sources, question = session_sources(session_id)
        source = sources.get(int(number))
        if source is None or not source.url:
            raise ReadError(f"session {sid[:8]} has no source [{number}]", "invalid")
        url, focus = source.url, focus or question
    library = open_library(settings=None)
    try:
        page = make_reader(settings, library).read(url)
    finally:
        library.close()
    chosen = select(page.passages, focus, max_tokens=settings.open_max_tokens, measure=estimate)
    event = opened_event(0, url, focus, source, page, chosen.indices)
    words = sum(estimate(p.text) for p in event.passages)
    return replace(event, seconds=time.perf_counter() - t0, tokens=words)
