"""The conversation's widgets: a turn, its thinking, tool cards, answer and sources."""

from __future__ import annotations

from urllib.parse import urlparse

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Collapsible, Markdown, Static, TextArea
from textual.widgets.markdown import MarkdownStream

from qwq_edge.events import Source, ToolCall, ToolResult


class PromptInput(TextArea):
    """Multi-line input: Enter sends, Shift+Enter or Ctrl+J adds a newline."""

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text.strip()
            if text:
                self.post_message(self.Submitted(text))
            return
        if event.key in ("shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        await super()._on_key(event)


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
        self.text += text
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


class ToolCard(Collapsible):
    """One search: query, status, time, and the results (expandable)."""

    def __init__(self, call: ToolCall) -> None:
        self.query = str(call.arguments.get("query", "")) or call.raw
        self.results = Static("", classes="results")
        where = " · while thinking" if call.inside_think else ""
        super().__init__(
            self.results,
            title=f"⌕ {self.query} · searching…{where}",
            collapsed=True,
            classes="tool",
        )

    def finish(self, result: ToolResult) -> None:
        if result.error:
            status = "offline" if result.offline else "error"
            self.title = f"⌕ {self.query} · {status}: {result.error}"
            self.add_class("failed")
            return
        status = "from cache" if result.cached else f"{result.seconds:.1f}s"
        self.title = f"⌕ {self.query} · {len(result.hits)} results · {status}"
        lines = Text()
        for hit, src in zip(result.hits, result.sources, strict=False):
            domain = urlparse(hit.url).netloc or hit.url
            lines.append(f"[{src.n}] ", style="bold")
            lines.append(hit.title, style=f"link {hit.url}")
            lines.append(f"  {domain}\n", style="dim")
            snippet = " ".join(hit.content.split())
            lines.append(f"    {snippet[:240]}{'…' if len(snippet) > 240 else ''}\n", style="dim")
        self.results.update(lines)


class SourcesView(Static):
    def show(self, sources: tuple[Source, ...]) -> None:
        text = Text("Sources\n", style="bold")
        for s in sources:
            text.append(f" [{s.n}] ", style="bold")
            text.append(s.title, style=f"link {s.url}")
            text.append(f"\n     {s.url}\n", style=f"dim link {s.url}")
        self.update(text)
        self.display = bool(sources)


class TurnView(Vertical):
    """One question and everything that followed it, mounted in order of arrival."""

    def __init__(self, question: str) -> None:
        super().__init__(classes="turn")
        self.question = question
        self.thinking: ThinkingView | None = None
        self.answer: Markdown | None = None
        self.answer_text = ""
        self.pending_answer = ""
        self.stream: MarkdownStream | None = None
        self.cards: dict[int, ToolCard] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text(f"› {self.question}", style="bold"), classes="question")

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

    async def answer_view(self) -> Markdown:
        if self.answer is None:
            if self.thinking is not None:
                self.thinking.finish()
            self.answer = Markdown("", classes="answer")
            await self.mount(self.answer)
        return self.answer

    async def show_sources(self, sources: tuple[Source, ...]) -> None:
        if sources:
            view = SourcesView("", classes="sources")
            await self.mount(view)
            view.show(sources)
