"""Plain-terminal rendering of the event stream (``ask``; later ``replay``): a front end."""

from __future__ import annotations

import sys
from typing import TextIO

from qwq_edge.events import (
    AnswerDelta,
    ErrorEvent,
    Event,
    FinalAnswer,
    Finished,
    Notice,
    QuestionAsked,
    Stats,
    ThinkingDelta,
    ToolCall,
    ToolResult,
    to_json,
)


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
        self._gen_seconds = 0.0
        self._evaluated = 0

    def _style(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def _enter(self, section: str) -> None:
        if self._section == section:
            return
        if self._section in ("thinking", "answer"):
            self.out.write("\n")
        if section == "thinking":
            self.out.write(self._style("2;3", "Thinking…") + "\n")
        self._section = section

    def __call__(self, event: Event) -> None:
        w = self.out.write
        if isinstance(event, QuestionAsked):
            if self.echo_questions:
                self._enter("question")
                w(self._style("1", f"› {event.question}") + "\n")
        elif isinstance(event, ThinkingDelta):
            self._enter("thinking")
            w(self._style("2", event.text))
        elif isinstance(event, AnswerDelta):
            if self._section != "answer" and not event.text.strip():
                return
            self._enter("answer")
            w(event.text)
        elif isinstance(event, ToolCall):
            self._enter("tool")
            query = event.arguments.get("query", "")
            where = " (while thinking)" if event.inside_think else ""
            w(self._style("36", f"⌕ {event.name}: {query}{where}") + "\n")
        elif isinstance(event, ToolResult):
            self._enter("tool")
            if event.error:
                w(self._style("33", f"  ✗ {event.error}") + "\n")
            else:
                tag = " · cached" if event.cached else ""
                w(
                    self._style("2", f"  {len(event.hits)} results in {event.seconds:.1f}s{tag}")
                    + "\n"
                )
                for src in event.sources:
                    w(self._style("2", f"  [{src.n}] {src.title} — {src.url}") + "\n")
        elif isinstance(event, Stats):
            self._tokens += event.tokens_generated
            self._evaluated += event.tokens_evaluated
            if event.phase == "generate":  # the speed of free text, not of grammar-bound JSON
                self._gen_tokens += event.tokens_generated
                self._gen_seconds += event.gen_seconds
        elif isinstance(event, Notice):
            self._enter("notice")
            w(self._style("33", f"note: {event.message}") + "\n")
        elif isinstance(event, ErrorEvent):
            self._enter("error")
            w(self._style("31", f"error: {event.message}") + "\n")
        elif isinstance(event, FinalAnswer):
            self._enter("sources")
            if event.sources:
                w("\n" + self._style("1", "Sources") + "\n")
                for src in event.sources:
                    w(f"  [{src.n}] {src.title}\n      {src.url}\n")
        elif isinstance(event, Finished):
            if self.show_stats and self._tokens:
                tps = self._gen_tokens / self._gen_seconds if self._gen_seconds > 0 else 0.0
                line = (
                    f"\n{self._tokens} tokens · {tps:.1f} tok/s · "
                    f"{self._evaluated} prompt tokens evaluated · {event.reason}"
                )
                w(self._style("2", line) + "\n")
            self._section = None
            self._tokens = self._gen_tokens = self._evaluated = 0
            self._gen_seconds = 0.0
        self.out.flush()
