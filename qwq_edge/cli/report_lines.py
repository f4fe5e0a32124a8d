"""One line per step of a research report in the terminal (``research``, ``replay``): the
plan, each section starting and written, each claim's verdict, and where the files are,
each with the time since the report began."""

from __future__ import annotations

from qwq_edge.events import (
    ClaimChecked,
    ReportPlanned,
    ReportWritten,
    SectionStarted,
    SectionWritten,
)
from qwq_edge.text import printable

ReportEvent = ReportPlanned | SectionStarted | ClaimChecked | SectionWritten | ReportWritten
_VERDICT = {"supported": "✓", "partly": "~", "unsupported": "✗", "unmatched": "?"}


def _clock(seconds: float) -> str:
    m, s = divmod(max(0, int(seconds)), 60)
    return f"{m:02d}:{s:02d}"


def report_lines(event: ReportEvent, started: float, sections: int) -> list[str]:
    """What to print for ``event``; ``started``: when the report began; ``sections``: how
    many its plan has (0 before the plan)."""
    at = f"[{_clock(event.t - started)}]"
    match event:
        case ReportPlanned(status="proposed"):
            lines = [f"{at} plan: {event.title}"]
            for i, s in enumerate(event.sections, 1):
                lines.append(f"  {i}. {s.title} — {s.goal}")
                lines += [f"       · {q}" for q in s.questions]
            out = lines
        case ReportPlanned():
            out = [f"{at} plan {event.status}: {len(event.sections)} sections"]
        case SectionStarted():
            of = f"/{sections}" if sections else ""
            out = [f"{at} ── section {event.index}{of}: {event.title}"]
        case ClaimChecked():
            text = " ".join(event.sentence.split())
            short = text if len(text) <= 90 else text[:89] + "…"
            fixed = ""
            if event.fixed is not None:
                fixed = " → revised" if event.fixed else " → dropped"
            out = [f"  {_VERDICT[event.verdict]} {event.verdict}: {short}{fixed}"]
        case SectionWritten():
            words = len(event.text.split())
            out = [
                f"{at} section {event.index} written: {words} words, "
                f"{len(event.sources)} sources cited"
            ]
        case ReportWritten():
            tail = f" (partial: not written: {'; '.join(event.missing)})" if event.partial else ""
            out = [f"{at} report written to {event.folder}/report.md{tail}"]
    return [printable(line) for line in out]
