"""The source screen: one cited source opened from the sources panel.

It shows the source's title, URL and origin. A source the model read with ``open`` shows
the whole document (the library's file or ZIM article, or the copy kept of a web page) with
the passages read marked, or, when the library holds no copy, just those passages. Otherwise,
for a library document (a file, a ZIM article, a pack) the passage the hit came from with the
passages around it, the matched one marked; for a web result, or a document the library no
longer holds, the snippet the model saw and when it was fetched. The library is read in a
thread worker. Everything shown is untrusted text from the web or from files: Rich Text only,
never markup. Escape closes it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from qwq_edge.events import PageOpened, ReadPassage, Source
from qwq_edge.library.passages import Passage
from qwq_edge.library.provider import Excerpt
from qwq_edge.reading.focus import Selection
from qwq_edge.search.base import SearchProvider
from qwq_edge.text import printable
from qwq_edge.tui.library import ORIGIN_LABELS, Seen, document_for, excerpt_for

Document = tuple[str, list[Passage]]  # a title and its passages, in order


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def heading_of(title: str, heading: str) -> str:
    return heading if heading and heading != title else title


def passages_read(reads: Sequence[PageOpened]) -> dict[int, ReadPassage]:
    """Every passage read over the opens of one source, by its place in the document."""
    return {p.index: p for event in reads for p in event.passages}


def _same(text: str) -> str:
    return " ".join(text.split())


def locate(parts: Sequence[Passage], read: Mapping[int, ReadPassage]) -> set[int] | None:
    """Where in ``parts`` each passage read sits: at its own index when the text there is
    the same, else wherever the same text is. None when one is not there at all (the copy
    kept is not the page that was read): the document cannot be marked truthfully."""
    texts = [_same(p.text) for p in parts]
    found = set()
    for i, passage in read.items():
        text = _same(passage.text)
        if i < len(texts) and texts[i] == text:
            found.add(i)
        elif text in texts:
            found.add(texts.index(text))
        else:
            return None
    return found


def read_marker(i: int, total: int) -> Text:
    return Text(f"▶ read · passage {i + 1} of {total}\n", style="bold")


def whole_document(document: Document, marked: set[int]) -> list[Static]:
    """The document's text, each passage read a block of its own, marked; the passages
    between them run together (a few widgets, however long the document)."""
    title, parts = document
    out: list[Static] = []
    rest = Text()
    heading = None

    def close_rest() -> None:
        nonlocal rest
        if rest.plain.strip():
            rest.rstrip()
            out.append(Static(rest, classes="passage"))
        rest = Text()

    for i, p in enumerate(parts):
        head = printable(heading_of(title, p.heading))
        if i in marked:
            close_rest()
            text = read_marker(i, len(parts))
            text.append(head + "\n", style="bold dim")
            text.append(printable(p.text))
            out.append(Static(text, classes="passage read"))
        else:
            if head != heading:
                rest.append(head + "\n", style="bold dim")
            rest.append(printable(p.text) + "\n\n")
        heading = head
    close_rest()
    return out


def read_only(title: str, read: Mapping[int, ReadPassage], total: int) -> list[Static]:
    """The passages read, in document order, when the library holds no copy to show."""
    note = "The library keeps no copy of this source: only the passages read are shown."
    out = [Static(Text(note, style="dim italic"), classes="source-note")]
    for i in sorted(read):
        text = read_marker(i, total)
        text.append(printable(heading_of(title, read[i].heading)) + "\n", style="bold dim")
        text.append(printable(read[i].text))
        out.append(Static(text, classes="passage read"))
    return out


class SourceScreen(ModalScreen[None]):
    """A dialog over the app with one source in it."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss", "Close")]

    class Looked(Message):
        """The library was read: ``excerpt`` around a hit, or the whole ``document`` of a
        source that was opened (None: it does not hold the source)."""

        def __init__(self, excerpt: Excerpt | None, document: Document | None = None) -> None:
            super().__init__()
            self.excerpt = excerpt
            self.document = document

    def __init__(
        self,
        source: Source,
        seen: Seen | None,
        provider: SearchProvider | None,
        reads: Sequence[PageOpened] = (),
    ) -> None:
        """``reads``: every ``open`` of the source in the session, oldest first."""
        super().__init__()
        self.source = source
        self.seen = seen
        self.provider = provider
        self.reads = tuple(reads)
        self.read = passages_read(self.reads)
        self.excerpt: Excerpt | None = None
        self.document: Document | None = None

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
        if self.read:
            where = Selection(tuple(sorted(self.read)), self.reads[-1].total).where()
            parts.append(f"read {where}")
        return " · ".join(parts)

    def on_mount(self) -> None:
        content = self.seen.hit.content if self.seen is not None else ""
        source, provider, opened = self.source, self.provider, bool(self.read)

        def look() -> None:
            if opened:
                self.post_message(self.Looked(None, document_for(source.url, provider)))
            else:
                self.post_message(self.Looked(excerpt_for(source, content, provider)))

        self.run_worker(look, thread=True, group="source")

    async def on_source_screen_looked(self, message: SourceScreen.Looked) -> None:
        self.excerpt, self.document = message.excerpt, message.document
        body = self.query_one("#source-body", VerticalScroll)
        await body.remove_children()
        if self.read:
            shown = self.opened()
        else:
            shown = self.passages() if message.excerpt else self.snippet()
        await body.mount_all(shown)
        first = body.query(".read" if self.document is not None else ".matched")
        if first:
            body.scroll_to_widget(first.first(), animate=False, top=True)

    def opened(self) -> list[Static]:
        """The source as it was read with ``open``: the whole document, its passages read
        marked, when the library holds it as it was read; else the passages read alone."""
        title = self.reads[-1].title or self.source.title
        if self.document is not None:
            marked = locate(self.document[1], self.read)
            if marked is not None:
                return whole_document(self.document, marked)
            self.document = None  # not the copy that was read
        return read_only(title, self.read, self.reads[-1].total)

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
