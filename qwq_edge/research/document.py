"""A report rebuilt from its journaled events: ``report.md`` (title, summary, sections with
their checked claims marked, references numbered as cited), the bibliography files, and
``report.provenance.md`` (the plan, every query, source and verdict, the model, timings and
token counts).

The same events make the same files, live, after a Ctrl+C (a ``partial`` report lists the
sections not written), after ``--continue``, and from ``sessions export``. Every text that
came from a page or the model is printed safe: no control characters, and no Markdown or
HTML that a title could use to pass itself off as something else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from qwq_edge.agent.citations import cited_numbers
from qwq_edge.events import (
    ClaimChecked,
    Event,
    PageOpened,
    ReportPlanned,
    SectionStarted,
    SectionWritten,
    SessionStarted,
    Source,
    Stats,
    ToolResult,
)
from qwq_edge.research.references import Reference, bibtex, csl_json, reference, ris
from qwq_edge.research.verify import lead, sentences
from qwq_edge.text import printable

_CITE = re.compile(r"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")
MARKS = {
    "partly": "*[partly supported]*",
    "unsupported": "*[unsupported]*",
    "unmatched": "*[cites no source]*",
}


UNCITED = "This section cites no source: nothing in it could be checked."


@dataclass
class SectionLog:
    """What happened while one section was researched."""

    index: int
    title: str
    started: float = 0.0
    ended: float = 0.0
    queries: list[ToolResult] = field(default_factory=list)
    opened: list[PageOpened] = field(default_factory=list)
    stats: list[Stats] = field(default_factory=list)
    checks: list[ClaimChecked] = field(default_factory=list)
    written: SectionWritten | None = None


@dataclass
class Report:
    session_id: str = ""
    topic: str = ""
    model: str = ""
    quant: str = ""
    started: float = 0.0
    plans: list[ReportPlanned] = field(default_factory=list)
    plan_stats: list[Stats] = field(default_factory=list)
    sections: dict[int, SectionLog] = field(default_factory=dict)
    sources: dict[int, Source] = field(default_factory=dict)
    pages: dict[int, PageOpened] = field(default_factory=dict)  # what a page said of itself

    @property
    def plan(self) -> ReportPlanned | None:
        return self.plans[-1] if self.plans else None

    def missing(self) -> list[str]:
        plan = self.plan
        if plan is None:
            return []
        return [
            s.title
            for i, s in enumerate(plan.sections, 1)
            if i not in self.sections or self.sections[i].written is None
        ]


def from_events(events: Iterable[Event]) -> Report:
    report = Report()
    current: SectionLog | None = None
    for event in events:
        if isinstance(event, SessionStarted):
            report.session_id, report.topic, report.model = (
                event.session_id, event.question, event.model,
            )  # fmt: skip
            report.quant = str(event.settings.get("quant") or "")
            report.started = event.t
        elif isinstance(event, ReportPlanned):
            report.plans.append(event)
        elif isinstance(event, SectionStarted):
            current = SectionLog(event.index, event.title, started=event.t)
            report.sections[event.index] = current
        elif isinstance(event, ToolResult):
            report.sources.update((s.n, s) for s in event.sources)
            if current is not None:
                current.queries.append(event)
        elif isinstance(event, PageOpened):
            if event.source is not None:
                report.sources.setdefault(event.source.n, event.source)
                if event.error is None:
                    report.pages[event.source.n] = event
            if current is not None:
                current.opened.append(event)
        elif isinstance(event, Stats):
            (current.stats if current is not None else report.plan_stats).append(event)
        elif isinstance(event, ClaimChecked) and current is not None:
            current.checks.append(event)
        elif isinstance(event, SectionWritten) and current is not None:
            current.written, current.ended = event, event.t
            current = None
    return report


def safe(text: str) -> str:
    """Untrusted text for Markdown: one line, no control characters, no brackets or angle
    brackets that could make a link, an image or HTML of it."""
    text = " ".join(printable(text).split())
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)


def final_text(log: SectionLog) -> str:
    """The section as it goes into the report: fixes applied, doubtful claims marked. Each
    check is applied where its sentence stands (checks come in the text's order), never
    to an earlier sentence that happens to read the same."""
    assert log.written is not None
    text = printable(log.written.text)
    pos = 0
    for check in log.checks:
        at = text.find(check.sentence, pos)
        if at < 0:
            continue
        new = check.sentence
        if check.fixed is not None:
            new = check.fixed + (" *[revised after checking]*" if check.fixed else "")
        elif check.verdict in MARKS:
            new = f"{check.sentence} {MARKS[check.verdict]}"
        text = text[:at] + new + text[at + len(check.sentence) :]
        pos = at + len(new)
    unmatched = set(log.written.unmatched)
    pos = 0
    for sentence in sentences(text) if unmatched else []:
        at = text.find(sentence, pos)
        if at < 0:
            continue
        pos = at + len(sentence)
        if set(cited_numbers(sentence)) & unmatched and not text[pos:].startswith(
            f" {MARKS['unmatched']}"
        ):
            text = f"{text[:pos]} {MARKS['unmatched']}{text[pos:]}"
            pos += len(MARKS["unmatched"]) + 1
    return text


_LINK = re.compile(r"!?\[([^\]\n]*)\]\(((?:[^()\n]|\([^()\n]*\))*)\)")  # one level of ()


def prose(text: str) -> str:
    """A section's text as Markdown that cannot carry HTML, images or links (it is the
    model's, and the model read pages): angle brackets escaped, ``[text](url)`` kept as
    its text. Emphasis, lists and citations stay."""
    text = _LINK.sub(lambda m: m.group(1), text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def numbering(texts: Sequence[str], known: Iterable[int]) -> dict[int, int]:
    """Session numbers -> report numbers, in order of first citation."""
    have = set(known)
    order: dict[int, int] = {}
    for text in texts:
        for n in cited_numbers(text):
            if n in have and n not in order:
                order[n] = len(order) + 1
    return order


def renumber(text: str, mapping: dict[int, int]) -> str:
    """Every ``[n]`` group rewritten with report numbers; a number that matches no source
    stays, followed by a question mark."""

    def one(m: re.Match[str]) -> str:
        nums = cited_numbers(m.group(0))
        out = sorted({mapping[n] for n in nums if n in mapping})
        lost = [f"{n}?" for n in nums if n not in mapping]
        return "[" + ", ".join([str(n) for n in out] + lost) + "]"

    return _CITE.sub(one, text)


def references(report: Report, mapping: dict[int, int]) -> list[Reference]:
    out = []
    for old, new in sorted(mapping.items(), key=lambda kv: kv[1]):
        src = report.sources[old]
        page = report.pages.get(old)
        out.append(
            reference(
                new,
                printable(src.title),
                src.url,
                src.origin,
                accessed=src.fetched_at or (page.t if page else report.started),
                author=page.author if page else "",
                published=page.published if page else "",
            )
        )
    return out


def _date(t: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(t)) if t else "unknown date"


def markdown(report: Report) -> str:
    plan = report.plan
    title = safe(plan.title if plan else report.topic)
    logs = [report.sections[i] for i in sorted(report.sections)]
    done = [log for log in logs if log.written is not None]
    texts = [final_text(log) for log in done]
    mapping = numbering(texts, report.sources)
    lines = [f"# {title}", ""]
    missing = report.missing()
    if missing:
        lines += [
            "> **Partial report.** Sections not written: " + "; ".join(safe(m) for m in missing)
            + f". Finish it with `qwq-edge research --continue {report.session_id}`.",
            "",
        ]  # fmt: skip
    firsts = [
        s for log, t in zip(done, texts, strict=True)
        if (s := lead(t, {c.sentence for c in log.checks if c.verdict != "supported"}))
    ]  # fmt: skip
    if firsts:
        lines += ["## Summary", "", prose(renumber(" ".join(firsts), mapping)), ""]
    for log, text in zip(done, texts, strict=True):
        lines += [f"## {safe(log.title)}", ""]
        if not cited_numbers(text):
            lines += [f"*{UNCITED}*", ""]
        lines += [prose(renumber(text, mapping)).strip() or "*(nothing was written)*", ""]
    if mapping:
        lines += ["## References", ""]
        for ref in references(report, mapping):
            site = f" {safe(ref.site)}." if ref.site else ""
            lines.append(
                f"{ref.n}. {safe(ref.title)}.{site} <{link(ref.url)}> "
                f"(accessed {_date(ref.accessed)})"
            )
        lines.append("")
    stamp = _date(report.started)
    lines.append(f"*Written by qwq-edge with {safe(report.model)} on {stamp}; how it was made: "
                 "report.provenance.md.*")  # fmt: skip
    return "\n".join(lines) + "\n"


def link(url: str) -> str:
    """A URL for a Markdown autolink ``<...>``, where backslash escapes do not work:
    spaces, angle brackets and controls percent-encoded."""
    return re.sub(r"[\s<>]", lambda m: f"%{ord(m.group(0)):02X}", printable(url))


def bibliography(report: Report) -> tuple[str, str, str]:
    """(BibTeX, RIS, CSL-JSON) of the sources the report cites, numbered as in it."""
    texts = [final_text(log) for log in report.sections.values() if log.written is not None]
    refs = references(report, numbering(texts, report.sources))
    return bibtex(refs), ris(refs), csl_json(refs)
