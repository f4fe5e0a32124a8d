"""A tool card: one search in the conversation, its status in the title, results inside.

The query, the error and every result are untrusted (the model wrote the query, a server the
rest): they pass ``printable`` on the way in, and the title is plain text, never markup."""

from __future__ import annotations

from urllib.parse import urlparse

from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.widgets import Collapsible, Static

from qwq_edge.cli.render import opened_line
from qwq_edge.events import PageOpened, ToolCall, ToolResult
from qwq_edge.text import printable

SNIPPET = 240  # characters of each result's text: enough to judge it, short enough to scan


class ToolCard(Collapsible):
    """One search: query, status, time, and the results (collapsed until opened)."""

    def __init__(self, call: ToolCall) -> None:
        self.icon = "↗" if call.name == "open" else "⌕"
        args = call.arguments
        said = args.get("source", "") if call.name == "open" else args.get("query", "")
        # Not ``query``: that would shadow DOMNode.query().
        self.search_query = printable(str(said) or call.raw)
        self.results = Static("", classes="results")
        self._lines = Text()  # the search's results
        self.reads = Text()  # pages opened for this call: its own open, or read_top's
        where = " · while thinking" if call.inside_think else ""
        doing = "opening…" if call.name == "open" else "searching…"
        # A str title is parsed as markup ("[/]" would raise): set it once _watch_title is ours.
        super().__init__(self.results, title="", collapsed=True, classes="tool")
        self.title = f"{self.icon} {self.search_query} · {doing}{where}"

    def _watch_title(self, title: str) -> None:
        self._title.label = Content(title)  # literal text: a query's brackets are not markup

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
            snippet = " ".join(printable(hit.content).split())
            more = "…" if len(snippet) > SNIPPET else ""
            lines.append(f"    {snippet[:SNIPPET]}{more}\n", style="dim")
        self._lines = lines
        self.results.update(Text.assemble(lines, self.reads))

    def opened(self, event: PageOpened) -> None:
        """A page read for this call: the ``open`` call's own outcome, or one of the search's
        results read for the model (``read_top``), listed under its results."""
        line = opened_line(event).strip()
        if not event.auto:
            self.title = f"{self.icon} {self.search_query} · {line}"
            if event.error:
                self.add_class("failed")
                return
        self.reads.append(f"{line}\n", style="italic")
        for p in event.passages:
            text = " ".join(printable(p.text).split())
            more = "…" if len(text) > SNIPPET else ""
            self.reads.append(
                f"    {printable(p.heading) or '¶'} — {text[:SNIPPET]}{more}\n", style="dim"
            )
        self.results.update(Text.assemble(self._lines, self.reads))


def _domain(url: str) -> str:
    """The host part of ``url``, or the whole of it when it has none or will not parse."""
    try:
        return urlparse(url).netloc or url
    except ValueError:  # "https://[x/": an unclosed IPv6 bracket
        return url
