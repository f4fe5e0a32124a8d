"""Pages read with ``open`` in the TUI: the open call's card (passages read, or why not), a
search's results read for the model listed under its card, and the source screen showing
what was read, marked in the whole document when the library keeps it."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from qwq_edge.events import (
    FinalAnswer,
    PageOpened,
    QuestionAsked,
    ReadPassage,
    SearchHit,
    Source,
    ToolCall,
    ToolResult,
)
from qwq_edge.library.index import Library
from qwq_edge.library.pages import keep_page
from qwq_edge.library.passages import Passage
from qwq_edge.paths import paths
from qwq_edge.tui.library import SeenHits
from qwq_edge.tui.screens.source import SourceScreen, locate
from qwq_edge.tui.widgets import SourcesView, ToolCard, TurnView
from tests.tui.harness import make_app, wait_idle
from tests.tui.test_untrusted_text import HOSTILE, Host, assert_clean, painted

URL = "https://teasel.example/history"
SOURCE = Source(4, "Teasel history", URL)
PARTS = [
    Passage("Teasel history", "", "Teasel is a tall biennial plant.", URL),
    Passage("Teasel history", "Fulling", "Fullers raised the nap with teasel heads.", URL),
    Passage("Teasel history", "Fulling", "The hooked bracts combed the fibres.", URL),
    Passage("Teasel history", "Today", "Some mills still card cloth with teasels.", URL),
]


def opened(call_id: int = 2, *, auto: bool = False, **kw: Any) -> PageOpened:
    """An open of SOURCE that read its passages 2 and 3 (indices 1 and 2)."""
    read = tuple(ReadPassage(i, PARTS[i].heading, PARTS[i].text) for i in (1, 2))
    fields: dict[str, Any] = dict(
        source=SOURCE, title="Teasel history", passages=read, total=len(PARTS), seconds=0.42,
        tokens=812, auto=auto,
    )  # fmt: skip
    fields.update(kw)
    return PageOpened(call_id, URL, "fullers", **fields)


def open_call(call_id: int = 2, source: str = "4") -> ToolCall:
    return ToolCall(call_id, "open", {"source": source, "focus": "fullers"}, "{}", False)


def text_of(widget: Static) -> str:
    return str(widget.render())


async def until(pilot: Pilot[Any], done: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        await pilot.pause(0.05)


# -- the cards ------------------------------------------------------------------------------


async def test_an_open_card_shows_what_was_read() -> None:
    card, stored = ToolCard(open_call()), ToolCard(open_call(3))
    async with Host(card, stored).run_test(size=(150, 30)) as pilot:
        assert card.title == "↗ [4] · opening…"
        card.opened(opened())
        stored.opened(opened(3, cached=True))
        await pilot.pause()
        assert card.title == "↗ [4] Teasel history · passages 2–3 of 4 · 0.4s · 812 tokens"
        assert stored.title.endswith("passages 2–3 of 4 · stored copy · 812 tokens")
        assert not card.has_class("failed")
        inside = text_of(card.results)
        assert inside.startswith(URL + "\nfocus: fullers\n")
        assert "2. Fulling — Fullers raised the nap with teasel heads." in inside
        assert "3. Fulling — The hooked bracts combed the fibres." in inside


async def test_a_failed_open_is_one_sentence_and_hostile_text_is_only_words() -> None:
    card = ToolCard(open_call(2, f"https://x.test/{HOSTILE} [/]"))
    host = Host(card)
    async with host.run_test(size=(200, 30)) as pilot:
        error = f"the page could not be read{HOSTILE}\nsecond line"
        card.opened(PageOpened(2, "https://x.test/", error=error, error_kind="network"))
        card.collapsed = False
        await pilot.pause()
        assert card.has_class("failed")
        title = str(card.title)
        assert_clean(title)
        assert title.startswith("↗ https://x.test/]0;pwned") and "[/] · ✗ the page could" in title
        assert "\n" not in title and title.endswith("second line")
        assert_clean(painted(host))
        # A page whose title and text are hostile: words only, never markup.
        card.opened(
            opened(title=f"[b]T[/b]{HOSTILE}", passages=(ReadPassage(0, HOSTILE, HOSTILE),))
        )
        await pilot.pause()
        assert not card.has_class("failed")
        assert "[b]T[/b]]0;pwned" in str(card.title)
        assert_clean(str(card.title))
        assert_clean(painted(host))


async def test_a_search_result_read_for_the_model_is_listed_under_its_search() -> None:
    turn = TurnView("What were teasels for?")
    async with Host(turn).run_test(size=(150, 40)) as pilot:
        await turn.add_card(ToolCall(1, "web_search", {"query": "teasel"}, "{}", True))
        hit = SearchHit("Teasel history", URL, "Fullers used teasels.")
        turn.finish_card(ToolResult(1, "tavily", "teasel", (hit,), (SOURCE,), seconds=1.0))
        turn.finish_open(opened(1, auto=True))
        failed = PageOpened(1, "https://down.example/", source=Source(5, "Down", ""), auto=True,
                            error="the server did not answer", error_kind="network")  # fmt: skip
        turn.finish_open(failed)
        await pilot.pause()
        (card,) = turn.query(ToolCard)
        assert card.title == "⌕ teasel · 1 results · 1.0s"  # the search's own status stays
        assert not card.has_class("failed")
        lines = text_of(card.results).splitlines()
        assert lines[0].startswith("[4] Teasel history")
        assert "↳ opened [4] Teasel history · passages 2–3 of 4 · 0.4s" in lines
        assert "    2. Fulling — Fullers raised the nap with teasel heads." in lines
        assert lines[-1] == "↳ could not open [5] https://down.example/: the server did not answer"


# -- the source screen --------------------------------------------------------------------


def test_seen_keeps_the_pages_read_by_their_source() -> None:
    seen = SeenHits()
    seen.add(opened())
    seen.add(PageOpened(3, URL, error="gone"))  # a failed open read nothing
    seen.add(opened(4, passages=(ReadPassage(3, "Today", PARTS[3].text),)))
    assert [e.call_id for e in seen.read(SOURCE)] == [2, 4]
    assert seen.get(SOURCE) is None  # no search returned it: no snippet
    seen.clear()
    assert seen.read(SOURCE) == ()


def test_read_passages_are_found_by_index_or_by_text() -> None:
    read = {1: ReadPassage(1, "Fulling", PARTS[1].text), 9: ReadPassage(9, "", PARTS[3].text)}
    assert locate(PARTS, read) == {1, 3}
    assert locate(PARTS, {0: ReadPassage(0, "", "not on the page any more")}) is None


async def show(pilot: Pilot[Any], app: App[Any], screen: SourceScreen) -> SourceScreen:
    app.push_screen(screen)
    await until(pilot, lambda: bool(screen.query(".passage")))
    return screen


def texts(screen: SourceScreen, selector: str) -> list[str]:
    return [text_of(w) for w in screen.query(selector).results(Static)]


async def test_a_source_read_with_open_marks_its_passages_in_the_kept_page() -> None:
    library = Library(paths().library)
    keep_page(library, URL, "Teasel history", PARTS, 1_700_000_000.0)
    library.close()
    app = App[None]()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await show(pilot, app, SourceScreen(SOURCE, None, None, (opened(),)))
        assert screen.document is not None
        meta = text_of(screen.query_one("#source-meta", Static))
        assert meta.endswith("read passages 2–3 of 4")
        shown = texts(screen, ".passage")
        assert shown[0] == "Teasel history\nTeasel is a tall biennial plant."
        assert shown[1] == (
            "▶ read · passage 2 of 4\nFulling\nFullers raised the nap with teasel heads."
        )
        assert shown[2].startswith("▶ read · passage 3 of 4\nFulling\nThe hooked bracts")
        assert shown[3] == "Today\nSome mills still card cloth with teasels."
        assert len(texts(screen, ".read")) == 2


async def test_a_source_the_library_does_not_keep_shows_the_passages_read() -> None:
    hostile = ReadPassage(7, f"[b]H[/b]{HOSTILE}", f"[@click=app.quit]x[/]{HOSTILE}")
    event = opened(passages=(*opened().passages, hostile), total=31)
    app = App[None]()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await show(pilot, app, SourceScreen(SOURCE, None, None, (event,)))
        assert screen.document is None
        assert "keeps no copy" in text_of(screen.query_one(".source-note", Static))
        shown = texts(screen, ".read")
        assert [s.splitlines()[0] for s in shown] == [
            "▶ read · passage 2 of 31", "▶ read · passage 3 of 31", "▶ read · passage 8 of 31",
        ]  # fmt: skip
        assert shown[2].startswith("▶ read · passage 8 of 31\n[b]H[/b]]0;pwned")
        assert "[@click=app.quit]x[/]" in shown[2]
        for w in screen.query(".read").results(Static):
            assert isinstance(w.content, Text)  # drawn as text, never parsed as markup
            assert_clean(w.content.plain)


async def test_a_source_first_numbered_by_an_open_opens_from_the_sources_panel() -> None:
    app, _, _ = make_app(["ok<|im_end|>"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(app, pilot)
        await app.apply(QuestionAsked(1, "What were teasels for?"))
        await app.apply(open_call(1, URL))
        await app.apply(opened(1))
        await app.apply(FinalAnswer("Fullers used teasel heads [4].", (SOURCE,)))
        await pilot.pause()
        assert "[4] Teasel history" in str(app.query_one(ToolCard).title)
        app.query_one(SourcesView).focus()
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, SourceScreen))
        screen = app.screen
        assert isinstance(screen, SourceScreen)
        assert [e.call_id for e in screen.reads] == [1]
        await until(pilot, lambda: bool(screen.query(".read")))
        assert len(texts(screen, ".read")) == 2
