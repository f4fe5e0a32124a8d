"""A tool card: one search or one ``open`` in the conversation, its status in the title, what
it found inside (collapsed until clicked).

The query, the error, every result and every page read are untrusted (the model wrote the
query, a server the rest): they pass ``printable`` on the way in, and the title is plain
text, never markup."""

from __future__ import annotations

from urllib.parse import urlparse

from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.widgets import Collapsible, Static

from qwq_edge.cli.render import passages_label
from qwq_edge.events import PageOpened, ToolCall, ToolResult
from qwq_edge.text import printable

SNIPPET = 240  # characters of each result's text: enough to judge it, short enough to scan


def one_line(text: str) -> str:
    """Untrusted ``text`` made printable, on one line."""
    return " ".join(printable(text).split())


def clip(text: str, limit: int = SNIPPET) -> str:
    text = one_line(text)
    return text[:limit] + ("…" if len(text) > limit else "")


def how_read(event: PageOpened) -> str:
    """ "passages 4–6 of 31 · 0.4s" or "… · stored copy": where and how a page was read."""
    how = "stored copy" if event.cached else f"{event.seconds:.1f}s"
    return f"{passages_label(event)} · {how}"


def open_title(asked: str, event: PageOpened) -> str:
    """The card's title once its ``open`` ended: what was read, or why nothing was."""
    if event.error:
        return f"↗ {asked} · ✗ {clip(event.error)}"
    n = f"[{event.source.n}] " if event.source else ""
    title = one_line(event.title) or asked
    return f"↗ {n}{title} · {how_read(event)} · {event.tokens} tokens"


def auto_line(event: PageOpened) -> str:
    """The line under a search card for one of its results read for the model."""
    n = f"[{event.source.n}] " if event.source else ""
    if event.error:
        return f"↳ could not open {n}{one_line(event.url)}: {clip(event.error)}"
    return f"↳ opened {n}{one_line(event.title) or one_line(event.url)} · {how_read(event)}"


def read_text(event: PageOpened, *, indent: str = "") -> Text:
    """The passages read, each under its heading (dim), cut to a snippet."""
    out = Text()
    for p in event.passages:
        head = one_line(p.heading) or "¶"
        out.append(f"{indent}{p.index + 1}. {head} — ", style="bold dim")
        out.append(f"{clip(p.text)}\n", style="dim")
    return out


class ToolCard(Collapsible):
    """One search or open: what was asked, the status, the time, and what came back."""

    def __init__(self, call: ToolCall) -> None:
        self.is_open = call.name == "open"
        args = call.arguments
        said = args.get("source", "") if self.is_open else args.get("query", "")
        said = str(said).strip()
        if self.is_open and said.isdigit():
            said = f"[{said}]"  # a source number, as the answer cites it
        # Not ``query``: that would shadow DOMNode.query().
        self.search_query = printable(said or call.raw)
        self.focus_text = one_line(str(args.get("focus") or "")) if self.is_open else ""
        self.results = Static("", classes="results")
        self._lines = Text()  # the search's results, or the open's passages
        self.reads = Text()  # the search's results read for the model (read_top)
        where = " · while thinking" if call.inside_think else ""
        doing = "opening…" if self.is_open else "searching…"
        icon = "↗" if self.is_open else "⌕"
        # A str title is parsed as markup ("[/]" would raise): set it once _watch_title is ours.
        super().__init__(self.results, title="", collapsed=True, classes="tool")
        self.title = f"{icon} {self.search_query} · {doing}{where}"

    def _watch_title(self, title: str) -> None:
        self._title.label = Content(title)  # literal text: a query's brackets are not markup

    def _draw(self) -> None:
        self.results.update(Text.assemble(self._lines, self.reads))

    def finish(self, result: ToolResult) -> None:
        """Show how the search ended: the results, or why there are none."""
        if result.error:
            status = "offline" if result.offline else "error"
            self.title = f"⌕ {self.search_query} · {status}: {printable(result.error)}"
            self.add_class("failed")
            return
        status = "from cache" if result.cached else f"{result.seconds:.1f}s"
        self.title = f"⌕ {self.search_query} · {len(result.hits)} results · {status}"
        lines = Text()
        for hit, src in zip(result.hits, result.sources, strict=False):
            url = printable(hit.url)
            domain = _domain(url)
            lines.append(f"[{src.n}] ", style="bold")
            lines.append(printable(hit.title), style=Style(link=url or None))
            lines.append(f"  {domain}\n", style="dim")
            lines.append(f"    {clip(hit.content)}\n", style="dim")
        self._lines = lines
        self._draw()

    def opened(self, event: PageOpened) -> None:
        """A page read for this call: the ``open`` call's own outcome (in the title, its
        passages inside), or one of the search's results read for the model (``read_top``),
        a line under the results."""
        if event.auto:
            self.reads.append(f"{auto_line(event)}\n", style="italic")
            self.reads.append_text(read_text(event, indent="    "))
            self._draw()
            return
        self.title = open_title(self.search_query, event)
        self.set_class(bool(event.error), "failed")
        url = one_line(event.url)
        lines = Text()
        if not event.error:
            lines.append(url, style=Style(dim=True, link=url or None))
            lines.append("\n")
        if self.focus_text:
            lines.append(f"focus: {self.focus_text}\n", style="italic")
        if event.cut:
            lines.append(f"the page was read up to {event.cut:,} bytes\n", style="dim")
        lines.append_text(read_text(event))
        self._lines = lines
        self._draw()


def _domain(url: str) -> str:
    """The host part of ``url``, or the whole of it when it has none or will not parse."""
    try:
        return urlparse(url).netloc or url
    except ValueError:  # "https://[x/": an unclosed IPv6 bracket
        return url
