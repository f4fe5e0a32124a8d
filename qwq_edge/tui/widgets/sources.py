"""The sources panel under an answer: the numbered sources it cites, each with where it came
from (web, cached, pack, zim, file) and its link. Each source opens: click it, or focus the
panel and press its number, or move with ↑/↓ and press Enter; the panel posts ``Opened``.

Titles and URLs came from a server (or an imported bundle): they pass ``printable`` here, so
no escape sequence reaches the terminal, not even inside a hyperlink's target."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from qwq_edge.events import Origin, Source
from qwq_edge.text import printable
from qwq_edge.tui.library import ORIGIN_LABELS

# The origin tag's colour: the web plain, what came from disk in colours of its own.
ORIGIN_STYLES: dict[Origin, str] = {
    "web": "dim",
    "cache": "dim cyan",
    "pack": "magenta",
    "zim": "green",
    "file": "yellow",
    "page": "green",
}


def sources_text(sources: tuple[Source, ...], cursor: int | None = None) -> Text:
    """The panel's text; ``cursor``: the index of the source to mark (the panel has focus).
    Titles and URLs are plain text, never markup; each source's lines open it on a click."""
    text = Text("Sources\n", style="bold")
    for i, s in enumerate(sources):
        start = len(text)
        text.append(f" [{s.n}] ", style="bold reverse" if i == cursor else "bold")
        label = ORIGIN_LABELS.get(s.origin, printable(s.origin))
        text.append(label, style=ORIGIN_STYLES.get(s.origin, "dim"))
        text.append(" ")
        url = printable(s.url)
        link = Style(link=url or None)  # a Style, not "link {url}": a space would end the URL
        text.append(printable(s.title), style=link)
        text.append(f"\n     {url}", style=Style(dim=True) + link)
        text.stylize(Style(meta={"@click": f"open_source({s.n})"}), start, len(text))
        text.append("\n")
    return text


DIGITS: list[BindingType] = [
    Binding(str(d), f"open_source({d})", "Open [n]", show=d == 1, key_display="1…9")
    for d in range(1, 10)
]


class SourcesView(Static, can_focus=True):
    """The cited sources; hidden when there are none (an answer that cites nothing)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_source", "Open source"),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("down", "move(1)", "Next", show=False),
        *DIGITS,
    ]

    class Opened(Message):
        """The user opened ``source``."""

        def __init__(self, source: Source) -> None:
            super().__init__()
            self.source = source

    def __init__(
        self, sources: tuple[Source, ...], *, id: str | None = None, classes: str = "sources"
    ) -> None:
        super().__init__(sources_text(sources), id=id, classes=classes)
        self.sources = sources
        self.cursor = 0
        self.display = bool(sources)

    def redraw(self) -> None:
        self.update(sources_text(self.sources, self.cursor if self.has_focus else None))

    def on_focus(self) -> None:
        self.redraw()

    def on_blur(self) -> None:
        self.redraw()

    def action_move(self, step: int) -> None:
        if self.sources:
            self.cursor = (self.cursor + step) % len(self.sources)
            self.redraw()

    def action_open_source(self, n: int | None = None) -> None:
        """Open source number ``n`` (None: the one under the cursor)."""
        if not self.sources:
            return
        if n is not None:
            at = next((i for i, s in enumerate(self.sources) if s.n == n), None)
            if at is None:
                self.app.bell()  # no source has that number
                return
            self.cursor = at
            self.redraw()
        self.post_message(self.Opened(self.sources[self.cursor]))
