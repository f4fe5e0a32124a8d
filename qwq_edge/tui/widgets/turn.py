"""One turn of the conversation: the question, then its thinking sections, tool cards,
answer and sources, mounted in the order they arrive.

Streamed text is buffered here and drawn by ``flush``, which the app calls on a timer and
before anything new is mounted, so the screen is redrawn a few times a second, not per token.

Everything drawn here came from the model, a search or a journal: it passes ``printable`` on
the way in (no escape sequence reaches the terminal); the buffers keep the text as received,
so a retraction counts the characters the core counted.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Collapsible, Markdown, Static
from textual.widgets.markdown import MarkdownStream

from qwq_edge.agent.citations import cited_numbers
from qwq_edge.events import (
    FROM_MEMORY,
    AnswerDelta,
    FinalAnswer,
    PageOpened,
    Source,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.text import printable
from qwq_edge.tui.widgets.folding import fold_above, unfold
from qwq_edge.tui.widgets.sources import SourcesView
from qwq_edge.tui.widgets.tool_card import ToolCard

# A citation group as agent/citations.py reads one: [1], [2, 3], [4-6].
_CITE = re.compile(r"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")
_COMMA = re.compile(r"(\s*,\s*)")


def mark_unmatched(text: str, unmatched: Collection[int]) -> str:
    """``text`` with each cited number that matches no source marked: [4] -> [4?], and
    [2, 4] -> [2, 4?] (a range that takes in one is marked whole: [3-5?])."""
    if not unmatched:
        return text

    def mark(match: re.Match[str]) -> str:
        parts = _COMMA.split(match.group(1))  # numbers and ranges, with their separators
        for i in range(0, len(parts), 2):
            if any(n in unmatched for n in cited_numbers(f"[{parts[i]}]")):
                parts[i] += "?"
        return f"[{''.join(parts)}]"

    return _CITE.sub(mark, text)


def only_citations(text: str) -> bool:
    """An answer with citations and no words: "[4]", "[1] [2]."."""
    return bool(text.strip()) and not any(c.isalnum() for c in _CITE.sub("", text))


def answer_warnings(text: str, unmatched: tuple[int, ...]) -> list[str]:
    """The lines drawn under a finished answer when it is empty or its citations cannot be
    trusted."""
    warnings = []
    if not text.strip():
        warnings.append("⚠ the answer is empty")
    if unmatched:
        cited = ", ".join(f"[{n}]" for n in unmatched)
        verb = "matches" if len(unmatched) == 1 else "match"
        warnings.append(f"⚠ cites {cited}, which {verb} no source")
    if only_citations(text):
        warnings.append("⚠ the answer has no text, only citations")
    return warnings


class ThinkingView(Collapsible):
    """Streamed reasoning; collapses when the answer starts, expandable later.

    While it streams only the tail is drawn (constant cost per flush, however long QwQ
    thinks); the whole text is drawn once, when the section ends."""

    TAIL = 1500  # characters: a dozen wrapped lines

    def __init__(self) -> None:
        self.body = Static("", classes="thinking-text", markup=False)
        super().__init__(self.body, title="Thinking…", collapsed=False, classes="thinking")
        self.text = ""
        self.dirty = False

    def add(self, text: str) -> None:
        self.text += printable(text)
        self.dirty = True

    def flush(self) -> None:
        if self.dirty:
            self.dirty = False
            tail = self.text[-self.TAIL :]
            self.body.update(("…" + tail) if len(tail) < len(self.text) else tail)

    def finish(self) -> None:
        self.dirty = False
        self.body.update(self.text)
        words = len(self.text.split())
        self.title = f"Thought for {words} words"
        self.collapsed = True


class TurnView(Vertical):
    """One question and everything that followed it, mounted in order of arrival."""

    def __init__(self, question: str) -> None:
        super().__init__(classes="turn")
        self.question = question
        self.thinking: ThinkingView | None = None  # the open section, if any
        self.answer: Markdown | None = None
        self.answer_text = ""  # what the answer widget was given so far
        self.pending_answer = ""  # arrived, not yet drawn
        self.stream: MarkdownStream | None = None
        self.cards: dict[int, ToolCard] = {}
        self.unmatched: frozenset[int] = frozenset()  # cited numbers that match no source

    def compose(self) -> ComposeResult:
        yield Static(Text(f"› {printable(self.question)}", style="bold"), classes="question")

    def shown_answer(self) -> str:
        """The answer as drawn: printable, unmatched citations marked (once finished)."""
        return printable(mark_unmatched(self.answer_text, self.unmatched))

    async def add_text(self, delta: ThinkingDelta | AnswerDelta) -> None:
        """Buffer streamed text (``flush`` draws it), opening its section if needed."""
        if isinstance(delta, ThinkingDelta):
            (await self.thinking_view()).add(delta.text)
        else:
            await self.answer_view()
            self.pending_answer += delta.text

    async def retract(self, chars: int) -> None:
        """Take back the end of the answer (a call's opener streamed before the call)."""
        if chars <= len(self.pending_answer):
            self.pending_answer = self.pending_answer[: len(self.pending_answer) - chars]
            return
        chars -= len(self.pending_answer)
        self.pending_answer = ""
        self.answer_text = self.answer_text[: max(0, len(self.answer_text) - chars)]
        if self.stream is not None:
            await self.stream.stop()
            self.stream = None
        if self.answer is not None:
            await unfold(self.answer)  # update() replaces the blocks, not the fold
            await self.answer.update(self.shown_answer())

    async def thinking_view(self) -> ThinkingView:
        if self.thinking is None or self.thinking.collapsed:
            self.thinking = ThinkingView()
            await self.mount(self.thinking)
        return self.thinking

    async def add_card(self, call: ToolCall) -> ToolCard:
        card = ToolCard(call)
        self.cards[call.call_id] = card
        if self.thinking is not None:
            self.thinking.finish()
        self.thinking = None  # thinking after a search opens a new section
        await self.mount(card)
        return card

    def finish_card(self, result: ToolResult) -> None:
        card = self.cards.get(result.call_id)
        if card is not None:
            card.finish(result)

    def finish_open(self, opened: PageOpened) -> None:
        card = self.cards.get(opened.call_id)
        if card is not None:
            card.opened(opened)

    async def answer_view(self) -> Markdown:
        if self.answer is None:
            if self.thinking is not None:
                self.thinking.finish()
            self.answer = Markdown("", classes="answer")
            await self.mount(self.answer)
        return self.answer

    async def finish(self, final: FinalAnswer) -> None:
        """The turn's answer is complete: close the thinking, draw all of it, then sources."""
        if self.thinking is not None:
            self.thinking.finish()
        if final.text and self.answer is None:
            # An answer that came without deltas: draw it whole.
            await self.answer_view()
            self.pending_answer = final.text
        self.unmatched = frozenset(final.unmatched)
        await self.flush(final=True)  # redrawn whole, with the marks
        for warning in answer_warnings(self.answer_text, final.unmatched):
            await self.mount(Static(warning, classes="answer-warning", markup=False))
        if final.from_memory:  # a note, not a warning: said plainly, dimmed
            await self.mount(Static(FROM_MEMORY, classes="answer-memory", markup=False))
        await self.show_sources(final.sources)

    async def show_sources(self, sources: tuple[Source, ...]) -> None:
        if sources:
            await self.mount(SourcesView(sources))

    async def show_error(self, message: str) -> None:
        await self.mount(Static(f"⚠ {printable(message)}", classes="error", markup=False))

    async def show_stopped(self) -> None:
        await self.mount(Static("stopped — what was written is kept", classes="stopped"))

    async def flush(self, final: bool = False) -> bool:
        """Draw the text that arrived since the last flush; True when anything changed.

        The answer goes through Markdown.get_stream, which re-parses only the last block, not
        the whole answer; the blocks above the screen are folded (``folding.py``), so a layout
        walks a screenful of them, however long the answer."""
        changed = self.thinking is not None and self.thinking.dirty
        if self.thinking is not None:
            self.thinking.flush()
        if self.pending_answer and self.answer is not None:
            fragment, self.pending_answer = self.pending_answer, ""
            self.answer_text += fragment
            if self.stream is None:
                self.stream = Markdown.get_stream(self.answer)
            await self.stream.write(printable(fragment))
            await fold_above(self.answer)  # a long answer lays out as a screenful does
            changed = True
        if final:
            if self.stream is not None:
                await self.stream.stop()
                self.stream = None
            shown = self.shown_answer()
            if self.answer is not None and self.answer.source != shown:
                await unfold(self.answer)  # update() replaces the blocks, not the fold
                await self.answer.update(shown)  # whatever the stream had pending, the marks
            if self.answer is not None:  # once laid out: a finished turn stays cheap
                self.call_after_refresh(fold_above, self.answer)
        return changed
