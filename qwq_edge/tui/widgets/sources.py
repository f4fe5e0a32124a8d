"""The sources panel under an answer: the numbered sources it cites, each with its link."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from qwq_edge.events import Source


class SourcesView(Static):
    """The cited sources; hidden while there are none (an answer that cites nothing)."""

    sources: reactive[tuple[Source, ...]] = reactive(())

    def __init__(
        self, sources: tuple[Source, ...] = (), *, id: str | None = None, classes: str = "sources"
    ) -> None:
        super().__init__("", id=id, classes=classes)
        self.set_reactive(SourcesView.sources, sources)

    def watch_sources(self, sources: tuple[Source, ...]) -> None:
        text = Text("Sources\n", style="bold")
        for s in sources:
            text.append(f" [{s.n}] ", style="bold")
            text.append(s.title, style=f"link {s.url}")
            text.append(f"\n     {s.url}\n", style=f"dim link {s.url}")
        self.update(text)
        self.display = bool(sources)
