"""The sources panel under an answer: the numbered sources it cites, each with its link."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from qwq_edge.events import Source


def sources_text(sources: tuple[Source, ...]) -> Text:
    text = Text("Sources\n", style="bold")
    for s in sources:
        text.append(f" [{s.n}] ", style="bold")
        text.append(s.title, style=f"link {s.url}")
        text.append(f"\n     {s.url}\n", style=f"dim link {s.url}")
    return text


class SourcesView(Static):
    """The cited sources; hidden when there are none (an answer that cites nothing)."""

    def __init__(
        self, sources: tuple[Source, ...], *, id: str | None = None, classes: str = "sources"
    ) -> None:
        super().__init__(sources_text(sources), id=id, classes=classes)
        self.sources = sources
        self.display = bool(sources)
