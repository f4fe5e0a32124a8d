"""The source screen: one cited source opened from the sources panel.

It shows the source's title, URL and origin; for a library document (a file, a ZIM article,
a pack) the passage the hit came from with the passages around it, the matched one marked;
for a web result, or a document the library no longer holds, the snippet the model saw and
when it was fetched. The library is read in a thread worker. Everything shown is untrusted
text from the web or from files: Rich Text only, never markup. Escape closes it.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from qwq_edge.events import Source
from qwq_edge.library.provider import Excerpt
from qwq_edge.search.base import SearchProvider
from qwq_edge.text import printable
from qwq_edge.tui.library import ORIGIN_LABELS, Seen, excerpt_for


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def heading_of(title: str, heading: str) -> str:
    return heading if heading and heading != title else title


class SourceScreen(ModalScreen[None]):
    """A dialog over the app with one source in it."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss", "Close")]

    class Looked(Message):
        """The library was read: ``excerpt`` (None: it does not hold the source)."""

        def __init__(self, excerpt: Excerpt | None) -> None:
            super().__init__()
            self.excerpt = excerpt

    def __init__(self, source: Source, seen: Seen | None, provider: SearchProvider | None) -> None:
        super().__init__()
        self.source = source
        self.seen = seen
        self.provider = provider
        self.excerpt: Excerpt | None = None

    def compose(self) -> ComposeResult:
        s = self.source
        origin = ORIGIN_LABELS.get(s.origin, s.origin)
        with Vertical(id="source"):
            url = printable(s.url)
            yield Static(Text(f"[{s.n}] {printable(s.title)}", style="bold"), id="source-title")
            yield Static(Text(url, style=Style(link=url)), id="source-url")
            yield Static(Text(self.meta(origin), style="dim"), id="source-meta")
            yield VerticalScroll(Static("Looking in the library…", markup=False), id="source-body")
            yield Static("Esc closes", id="source-hint", markup=False)

    def meta(self, origin: str) -> str:
        parts = [f"from {origin}"]
        fetched = self.source.fetched_at
        if not fetched and self.source.origin == "web" and self.seen is not None:
            fetched = self.seen.t  # a live search: fetched when its result arrived
        if fetched and self.source.origin not in ("file", "zim"):  # documents: not fetched
            parts.append(f"fetched {when(fetched)}")
        if self.seen is not None and self.seen.query:
            parts.append(f"found by the search {self.seen.query!r}")
        return " · ".join(parts)

    def on_mount(self) -> None:
        content = self.seen.hit.content if self.seen is not None else ""
        source, provider = self.source, self.provider

        def look() -> None:
            self.post_message(self.Looked(excerpt_for(source, content, provider)))

        self.run_worker(look, thread=True, group="source")

    async def on_source_screen_looked(self, message: SourceScreen.Looked) -> None:
        self.excerpt = message.excerpt
        body = self.query_one("#source-body", VerticalScroll)
        await body.remove_children()
        await body.mount_all(self.passages() if message.excerpt else self.snippet())
        matched = body.query(".matched")
        if matched:
            body.scroll_to_widget(matched.first(), animate=False, top=True)

    def passages(self) -> list[Static]:
        assert self.excerpt is not None
        out = []
        for i, p in enumerate(self.excerpt.passages):
            text = Text(printable(heading_of(p.title, p.heading)) + "\n", style="bold dim")
            text.append(printable(p.text))
            matched = i == self.excerpt.matched
            if matched:
                text = Text("▶ matched passage\n", style="bold") + text
            out.append(Static(text, classes="passage matched" if matched else "passage"))
        return out

    def snippet(self) -> list[Static]:
        if self.seen is None or not self.seen.hit.content:
            return [Static("What the model saw of this source was not kept.", markup=False)]
        text = Text("What the model saw\n", style="bold")
        text.append(printable(" ".join(self.seen.hit.content.split())))
        return [Static(text, classes="passage matched")]
