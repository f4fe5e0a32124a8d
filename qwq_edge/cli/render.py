"""Plain-terminal rendering of the event stream (``ask``, ``chat``, ``replay``,
``sessions show``) and JSON lines (``--json``): the CLI's consumers of the spine."""

from __future__ import annotations

import sys
from typing import TextIO

from qwq_edge.agent.recognizer import dangling
from qwq_edge.cli.report_lines import ReportEvent, report_lines
from qwq_edge.events import (
    FROM_MEMORY,
    AnswerDelta,
    AnswerRetracted,
    ClaimChecked,
    ErrorEvent,
    Event,
    FinalAnswer,
    Finished,
    Notice,
    PageOpened,
    QuestionAsked,
    ReportPlanned,
    ReportWritten,
    SectionStarted,
    SectionWritten,
    SessionStarted,
    Stats,
    ThinkingDelta,
    ToolCall,
    ToolResult,
    assert_never,
    to_json,
)
from qwq_edge.reading.focus import Selection
from qwq_edge.text import printable

# Turns that end at a limit the user set: shown as a note, not an error; `ask` exits 0.
LIMITS: frozenset[str] = frozenset({"max_tokens", "budget"})


class JsonRenderer:
    """One JSON object per line: the same encoding the journal uses."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def __call__(self, event: Event) -> None:
        self.out.write(to_json(event) + "\n")
        self.out.flush()


class TextRenderer:
    """Thinking dimmed, the answer plain, searches as one line each, sources at the end."""

    def __init__(
        self,
        out: TextIO | None = None,
        color: bool | None = None,
        stats: bool = True,
        echo_questions: bool = False,
    ):
        self.out = out or sys.stdout
        self.color = self.out.isatty() if color is None else color
        self.show_stats = stats
        self.echo_questions = echo_questions  # replay shows what was asked
        self._section: str | None = None
        self._tokens = 0
        self._gen_tokens = 0
        self._gen_seconds = self._all_seconds = 0.0
        self._evaluated = 0
        self._drafted = self._accepted = 0  # speculation: drafted from the context, kept
        self._said: str | None = None  # the last search error shown (not said twice)
        self._held = ""  # the end of the answer, held while it could be a call's opener
        self._started = 0.0  # when the session began (a report's steps are timed from it)
        self._plan_sections = 0

    def _style(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def _enter(self, section: str) -> None:
        if self._section == section:
            return
        if self._held:
            self.out.write(printable(self._held))
            self._held = ""
        if self._section in ("thinking", "answer"):
            self.out.write("\n")
        if section == "thinking":
            self.out.write(self._style("2;3", "Thinking…") + "\n")
        self._section = section

    def __call__(self, event: Event) -> None:
        w = self.out.write
        match event:
            case SessionStarted():
                self._started = event.t
            case QuestionAsked(question=question):
                if self.echo_questions:
                    self._enter("question")
                    w(self._style("1", f"› {printable(question)}") + "\n")
            case ThinkingDelta(text=text):
                self._enter("thinking")
                w(self._style("2", printable(text)))
            case AnswerDelta(text=text):
                if self._section != "answer" and not text.strip():
                    return
                self._enter("answer")
                # Held back: call openers at the end, which an AnswerRetracted may take back.
                text = self._held + text
                hold = dangling(text)
                self._held = text[len(text) - hold :] if hold else ""
                w(printable(text[: len(text) - hold]))
            case AnswerRetracted(chars=chars):
                self._held = self._held[: max(0, len(self._held) - chars)]
            case ToolCall():
                self._enter("tool")
                where = " (while thinking)" if event.inside_think else ""
                w(self._style("36", f"{call_line(event)}{where}") + "\n")
            case ToolResult():
                self._enter("tool")
                self._result(event)
            case PageOpened():
                self._enter("tool")
                w(self._style("33" if event.error else "2", opened_line(event)) + "\n")
            case Stats():
                self._tokens += event.tokens_generated
                self._all_seconds += event.gen_seconds
                self._evaluated += event.tokens_evaluated
                if event.phase == "generate":  # the speed of free text, not of grammar JSON
                    self._gen_tokens += event.tokens_generated
                    self._gen_seconds += event.gen_seconds
                    self._drafted += event.drafted
                    self._accepted += event.accepted
            case Notice(message=message):
                if message == self._said:  # "the network is unreachable", once
                    return
                self._enter("notice")
                w(self._style("33", f"note: {printable(message)}") + "\n")
            case ErrorEvent(message=message, kind=kind):
                self._enter("error")
                message = printable(message)
                if kind in LIMITS:  # a limit that was set, not a failure (exit status 0)
                    w(self._style("33", f"note: {message}") + "\n")
                else:
                    w(self._style("31", f"error: {message}") + "\n")
            case FinalAnswer(sources=sources, unmatched=unmatched, from_memory=from_memory):
                self._enter("sources")
                if unmatched:
                    w(self._style("33", f"note: the answer {printable(_cites(unmatched))}") + "\n")
                if from_memory:
                    w(self._style("33", f"note: {FROM_MEMORY}") + "\n")
                if sources:
                    w("\n" + self._style("1", "Sources") + "\n")
                    for src in sources:
                        title, url = printable(src.title), printable(src.url)
                        w(f"  [{src.n}] {title}{_origin(src.origin)}\n      {url}\n")
            case Finished(reason=reason):
                self._finished(reason)
            case ReportPlanned() | SectionStarted() | ClaimChecked() | SectionWritten():
                self._report(event)
            case ReportWritten():
                self._report(event)
            case _:
                assert_never(event)
        self.out.flush()

    def _result(self, event: ToolResult) -> None:
        w = self.out.write
        if event.error:
            self._said = event.error
            w(self._style("33", f"  ✗ {printable(event.error)}") + "\n")
            return
        tag = " · cached" if event.cached else ""
        if event.cut:
            tag += f" · cut at {event.cut:,} bytes"
        w(self._style("2", f"  {len(event.hits)} results in {event.seconds:.1f}s{tag}") + "\n")
        for src in event.sources:
            line = f"  [{src.n}] {printable(src.title)}{_origin(src.origin)} — {printable(src.url)}"
            w(self._style("2", line) + "\n")

    def _report(self, event: ReportEvent) -> None:
        if isinstance(event, ReportPlanned):
            self._plan_sections = len(event.sections)
        self._enter("report")
        style = "2" if isinstance(event, ClaimChecked) else "1;36"
        for line in report_lines(event, self._started or event.t, self._plan_sections):
            self.out.write(self._style(style, line) + "\n")

    def _finished(self, reason: str) -> None:
        if self.show_stats and self._tokens:
            tps = self._gen_tokens / self._gen_seconds if self._gen_seconds > 0 else 0.0
            if not self._gen_tokens and self._all_seconds > 0:  # all under a grammar (a plan)
                tps = self._tokens / self._all_seconds
            drafts = (
                f"{self._accepted}/{self._drafted} drafted tokens kept · " if self._drafted else ""
            )
            line = (
                f"\n{self._tokens} tokens · {tps:.1f} tok/s · {drafts}"
                f"{self._evaluated} prompt tokens evaluated · {reason}"
            )
            self.out.write(self._style("2", line) + "\n")
        self._section = None
        self._tokens = self._gen_tokens = self._evaluated = self._drafted = self._accepted = 0
        self._gen_seconds = self._all_seconds = 0.0


def call_line(event: ToolCall) -> str:
    """ "⌕ web_search: QUERY" or "↗ open: [3] · focus: …" (untrusted text made printable)."""
    args = event.arguments
    if event.name == "open":
        focus = str(args.get("focus") or "")
        tail = f" · focus: {focus}" if focus else ""
        return printable(f"↗ open: {args.get('source', '')}{tail}")
    return printable(f"⌕ {event.name}: {args.get('query', '')}")


def opened_line(event: PageOpened) -> str:
    """ "  ↳ read [3] Title — passages 4–6 of 31 · 0.4s · 812 tokens", or why not."""
    if event.error:
        return printable(f"  ✗ {event.url}: {event.error}")
    n = f"[{event.source.n}] " if event.source else ""
    where = passages_label(event)
    how = "stored copy" if event.cached else f"{event.seconds:.1f}s"
    auto = "read for the model · " if event.auto else ""
    return printable(f"  ↳ {auto}{n}{event.title} — {where} · {how} · {event.tokens} tokens")


def passages_label(event: PageOpened) -> str:
    """Where the passages read sit: "passages 4–6, 9 of 31"."""
    return Selection(tuple(p.index for p in event.passages), event.total).where()


def _cites(unmatched: tuple[int, ...]) -> str:
    """The note's words, "cites [1], [2], which match no source": an answer that looks
    checked and is not."""
    verb = "matches" if len(unmatched) == 1 else "match"
    return f"cites {', '.join(f'[{n}]' for n in unmatched)}, which {verb} no source"


def _origin(origin: str) -> str:
    """A label after a source's title, except for live web results (the common case)."""
    return "" if origin == "web" else f" ({origin})"
