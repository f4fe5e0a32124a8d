"""A tool card: one search in the conversation, its status in the title, results inside."""

from __future__ import annotations

from urllib.parse import urlparse

from rich.text import Text
from textual.widgets import Collapsible, Static

from qwq_edge.events import ToolCall, ToolResult

SNIPPET = 240  # characters of each result's text: enough to judge it, short enough to scan


class ToolCard(Collapsible):
    """One search: query, status, time, and the results (collapsed until opened)."""

    def __init__(self, call: ToolCall) -> None:
        # Not ``query``: that would shadow DOMNode.query().
        self.search_query = str(call.arguments.get("query", "")) or call.raw
        self.results = Static("", classes="results")
        where = " · while thinking" if call.inside_think else ""
        super().__init__(
            self.results,
            title=f"⌕ {self.search_query} · searching…{where}",
            collapsed=True,
            classes="tool",
        )

    def finish(self, result: ToolResult) -> None:
        """Show how the search ended: the results, or why there are none."""
        if result.error:
            status = "offline" if result.offline else "error"
            self.title = f"⌕ {self.search_query} · {status}: {result.error}"
            self.add_class("failed")
            return
        status = "from cache" if result.cached else f"{result.seconds:.1f}s"
        self.title = f"⌕ {self.search_query} · {len(result.hits)} results · {status}"
        lines = Text()
        for hit, src in zip(result.hits, result.sources, strict=False):
            domain = urlparse(hit.url).netloc or hit.url
            lines.append(f"[{src.n}] ", style="bold")
            lines.append(hit.title, style=f"link {hit.url}")
            lines.append(f"  {domain}\n", style="dim")
            snippet = " ".join(hit.content.split())
            more = "…" if len(snippet) > SNIPPET else ""
            lines.append(f"    {snippet[:SNIPPET]}{more}\n", style="dim")
        self.results.update(lines)
