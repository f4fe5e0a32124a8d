"""Each widget on its own, driven with Pilot in a host app that mounts just that widget."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.color import Color
from textual.widget import Widget
from textual.widgets import Input, ListView, Markdown, Select, Static, Switch

from qwq_edge.engine.base import ModelInfo
from qwq_edge.events import (
    AnswerDelta,
    FinalAnswer,
    Origin,
    SearchHit,
    Source,
    Stats,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.tui import app as tui_app
from qwq_edge.tui.library import LibraryState
from qwq_edge.tui.screens.settings import SettingsScreen
from qwq_edge.tui.widgets import (
    Conversation,
    PromptInput,
    SessionItem,
    SessionsSidebar,
    SourcesView,
    Status,
    StatusBar,
    ThinkingView,
    ToolCard,
    TurnView,
)
from qwq_edge.tui.widgets.sources import sources_text
from qwq_edge.tui.widgets.status import Meter
from qwq_edge.tui.widgets.turn import mark_unmatched, only_citations
from tests.tui.harness import record_session


class Host(App[None]):
    """Mounts the widgets it is given, nothing else, and keeps what they post."""

    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self.widgets = widgets
        self.posted: list[Any] = []

    def compose(self) -> ComposeResult:
        yield from self.widgets

    @on(PromptInput.Submitted)
    @on(SessionsSidebar.Opened)
    @on(SourcesView.Opened)
    def keep(
        self, message: PromptInput.Submitted | SessionsSidebar.Opened | SourcesView.Opened
    ) -> None:
        self.posted.append(message)


class StyledHost(Host):
    """A host with the app's stylesheet, for a test of what a CSS class looks like."""

    CSS_PATH = Path(tui_app.__file__).with_name("app.tcss")


def text_of(widget: Widget) -> str:
    return str(widget.render())


def call(call_id: int, query: str, inside_think: bool = False) -> ToolCall:
    return ToolCall(call_id, "web_search", {"query": query}, "{}", inside_think)


def hits(n: int) -> tuple[tuple[SearchHit, ...], tuple[Source, ...]]:
    found = tuple(
        SearchHit(f"Title {i}", f"https://site{i}.example/page", f"snippet {i} " * 5)
        for i in range(1, n + 1)
    )
    return found, tuple(Source(i, h.title, h.url) for i, h in enumerate(found, 1))


# -- the prompt ---------------------------------------------------------------------------


async def test_prompt_sends_on_enter_and_adds_a_line_on_ctrl_j() -> None:
    host = Host(PromptInput())
    async with host.run_test() as pilot:
        prompt = host.query_one(PromptInput)
        prompt.focus()
        assert prompt.border_title == "Ask (Enter sends, Ctrl+J newline)"
        await pilot.press("space", "enter")  # blank: nothing to send
        await pilot.pause()
        assert host.posted == []
        prompt.clear()
        await pilot.press("a", "ctrl+j", "b")
        assert prompt.text == "a\nb"
        await pilot.press("enter")
        await pilot.pause()
        assert [m.text for m in host.posted] == ["a\nb"]
        assert prompt.text == "a\nb"  # Enter inserted nothing; clearing is the app's choice


# -- a turn ---------------------------------------------------------------------------------


async def test_thinking_shows_the_tail_while_streaming_and_everything_when_finished() -> None:
    view = ThinkingView()
    host = Host(view)
    async with host.run_test() as pilot:
        text = "".join(f"word{i} " for i in range(1000))  # far more than TAIL characters
        view.add(text)
        assert text_of(view.body) == ""  # nothing drawn before a flush
        view.flush()
        await pilot.pause()
        shown = text_of(view.body)
        assert shown == "…" + text[-ThinkingView.TAIL :]
        assert not view.collapsed and view.title == "Thinking…"
        view.finish()
        await pilot.pause()
        assert text_of(view.body) == text
        assert view.collapsed and view.title == "Thought for 1000 words"


async def test_tool_card_title_and_results_for_a_result() -> None:
    card = ToolCard(call(1, "gold price", inside_think=True))
    host = Host(card)
    async with host.run_test() as pilot:
        assert card.title == "⌕ gold price · searching… · while thinking"
        found, sources = hits(2)
        long = SearchHit("Long", "https://long.example/x", "y" * 300)
        card.finish(
            ToolResult(1, "tavily", "gold price", (*found, long), (*sources, Source(3, "Long", "")),
                       seconds=1.24)
        )  # fmt: skip
        await pilot.pause()
        assert card.title == "⌕ gold price · 3 results · 1.2s"
        assert not card.has_class("failed")
        results = text_of(card.results)
        assert "[1] Title 1  site1.example" in results and "[2] Title 2" in results
        assert "snippet 1 snippet 1" in results
        assert "y" * 240 + "…" in results and "y" * 241 not in results
        cached = ToolCard(call(2, "again"))
        await host.mount(cached)
        cached.finish(ToolResult(2, "tavily", "again", *hits(1), cached=True))
        assert cached.title == "⌕ again · 1 results · from cache"


async def test_tool_card_title_for_an_error_and_an_offline_result() -> None:
    failed, offline = ToolCard(call(1, "a")), ToolCard(call(2, "b"))
    host = Host(failed, offline)
    async with host.run_test() as pilot:
        failed.finish(ToolResult(1, "tavily", "a", error="rate limited"))
        offline.finish(ToolResult(2, "tavily", "b", offline=True, error="not in the cache"))
        await pilot.pause()
        assert failed.title == "⌕ a · error: rate limited"
        assert offline.title == "⌕ b · offline: not in the cache"
        assert failed.has_class("failed") and offline.has_class("failed")
        assert text_of(failed.results) == ""


async def test_tool_card_keeps_the_dom_query_method() -> None:
    card = ToolCard(call(1, "q"))
    async with Host(card).run_test():
        assert card.search_query == "q"
        assert card.query(Static).first() is not None  # query() is still DOMNode.query


async def test_sources_list_each_source_and_hide_when_there_are_none() -> None:
    _, sources = hits(2)
    view, empty = SourcesView(sources), SourcesView(())
    async with Host(view, empty).run_test():
        shown = text_of(view)
        assert shown.startswith("Sources")
        assert " [1] web Title 1\n     https://site1.example/page" in shown
        assert " [2] web Title 2" in shown
        assert view.display and view.has_class("sources")
        assert not empty.display


def test_each_source_is_labelled_with_its_origin() -> None:
    origins: list[Origin] = ["web", "cache", "pack", "zim", "file"]
    sources = tuple(Source(i, f"T{i}", f"https://s{i}.example/", origin=o)
                    for i, o in enumerate(origins, 1))  # fmt: skip
    text = sources_text(sources)
    lines = text.plain.splitlines()[1::2]
    assert lines == [" [1] web T1", " [2] cached T2", " [3] pack T3", " [4] zim T4", " [5] file T5"]
    tags = {text.plain[s.start : s.end]: str(s.style) for s in text.spans}
    assert tags["web"] == "dim" and tags["cached"] == "dim cyan" and tags["file"] == "yellow"


def test_a_source_title_is_never_markup() -> None:
    sneaky = Source(1, "[bold red]pwn[/] [@click=app.quit]x[/]", "https://e.example/")
    assert "[bold red]pwn[/] [@click=app.quit]x[/]" in sources_text((sneaky,)).plain


async def test_a_source_opens_by_number_by_enter_and_by_click() -> None:
    _, sources = hits(3)
    sources = (sources[0], sources[2])  # the answer cites [1] and [3]
    view = SourcesView(sources)
    host = Host(view)
    async with host.run_test() as pilot:
        view.focus()
        await pilot.press("3")
        await pilot.press("2")  # no source [2]: nothing opens
        await pilot.press("up", "enter")
        await pilot.click(view, offset=(8, 2))  # on the first source's URL line
        await pilot.pause()
        opened = [m.source.n for m in host.posted if isinstance(m, SourcesView.Opened)]
        assert opened == [3, 1, 1]
    marked = [str(s.style) for s in sources_text(sources, 0).spans if "reverse" in str(s.style)]
    assert marked == ["bold reverse"]  # the cursor, drawn while the panel has focus
    assert not any("reverse" in str(s.style) for s in sources_text(sources).spans)


async def test_turn_mounts_in_order_of_arrival_and_draws_on_flush() -> None:
    turn = TurnView("Why?")
    async with Host(turn).run_test() as pilot:
        await turn.add_text(ThinkingDelta("Let me look."))
        await turn.add_card(call(1, "why"))
        turn.finish_card(ToolResult(1, "tavily", "why", *hits(2), seconds=0.5))
        await turn.add_text(ThinkingDelta("Found it."))
        await turn.add_text(AnswerDelta("Because "))
        assert turn.pending_answer == "Because "  # buffered until a flush
        assert await turn.flush()
        await turn.add_text(AnswerDelta("[1]."))
        _, sources = hits(1)
        await turn.finish(FinalAnswer("Because [1].", sources))
        await pilot.pause()
        kinds = [type(w).__name__ for w in turn.children]
        assert kinds == [
            "Static", "ThinkingView", "ToolCard", "ThinkingView", "Markdown", "SourcesView",
        ]  # fmt: skip
        assert text_of(turn.children[0]) == "› Why?"
        assert all(t.collapsed for t in turn.query(ThinkingView))
        assert turn.query_one(Markdown).source == "Because [1]."
        assert turn.cards[1].title == "⌕ why · 2 results · 0.5s"
        assert not await turn.flush()  # nothing left to draw


async def test_an_answer_without_deltas_is_drawn_whole_and_no_sources_mount_nothing() -> None:
    turn = TurnView("Q")
    async with Host(turn).run_test() as pilot:
        await turn.finish(FinalAnswer("Whole answer."))
        await turn.show_stopped()
        await pilot.pause()
        assert turn.query_one(Markdown).source == "Whole answer."
        assert not turn.query(SourcesView)
        assert "stopped" in text_of(turn.query_one(".stopped"))


async def test_citations_that_match_no_source_are_marked_and_said_under_the_answer() -> None:
    turn = TurnView("Capital of France?")
    async with StyledHost(turn).run_test() as pilot:
        await turn.add_text(AnswerDelta("Paris [1] [4], as [2, 4] say."))
        await turn.flush()
        assert turn.query_one(Markdown).source == "Paris [1] [4], as [2, 4] say."  # streaming
        paris = Source(1, "France", "https://fr.example/")
        text = "Paris [1] [4], as [2, 4] say."
        await turn.finish(FinalAnswer(text, (paris,), unmatched=(4, 2)))
        await pilot.pause()
        assert turn.query_one(Markdown).source == "Paris [1] [4?], as [2?, 4?] say."
        warning = turn.query_one(".answer-warning", Static)
        assert text_of(warning) == "⚠ cites [4], [2], which match no source"
        kinds = [type(w).__name__ for w in turn.children]
        assert kinds == ["Static", "Markdown", "Static", "SourcesView"]  # under the answer
        assert warning.styles.color == Color.parse(pilot.app.get_css_variables()["warning"])


async def test_one_unmatched_citation_and_an_answer_of_citations_alone_are_said() -> None:
    one, bare = TurnView("Q"), TurnView("Q")
    async with Host(one, bare).run_test() as pilot:
        await one.finish(FinalAnswer("Paris [1] [3-4].", (Source(1, "F", "https://f.example/"),
                                                          Source(3, "G", "https://g.example/")),
                                     unmatched=(4,)))  # fmt: skip
        await bare.add_text(AnswerDelta("[1] [2]."))
        await bare.finish(FinalAnswer("[1] [2].", unmatched=(1, 2)))
        await pilot.pause()
        assert one.query_one(Markdown).source == "Paris [1] [3-4?]."
        assert [text_of(w) for w in one.query(".answer-warning")] == [
            "⚠ cites [4], which matches no source"
        ]
        assert bare.query_one(Markdown).source == "[1?] [2?]."
        assert [text_of(w) for w in bare.query(".answer-warning")] == [
            "⚠ cites [1], [2], which match no source",
            "⚠ the answer has no text, only citations",
        ]


def test_marks_and_bare_citations_follow_the_cores_reading_of_citations() -> None:
    assert mark_unmatched("a [1] b [12] c [1, 2]", {1}) == "a [1?] b [12] c [1?, 2]"
    assert mark_unmatched("[2–3] [5]", {3}) == "[2–3?] [5]"
    assert mark_unmatched("no marks [4]", set()) == "no marks [4]"
    assert only_citations("[4]") and only_citations(" [1] [2]. ") and only_citations("[1,2]")
    assert not only_citations("") and not only_citations("Paris [1]")
    assert not only_citations("[x]")


async def test_conversation_starts_turns_and_clears() -> None:
    conv = Conversation()
    async with Host(conv).run_test() as pilot:
        first = await conv.start_turn("one")
        await first.add_text(AnswerDelta("drawn when the next turn starts"))
        second = await conv.start_turn("two")
        assert conv.turn is second and list(conv.query(TurnView)) == [first, second]
        assert first.answer is not None and first.pending_answer == ""
        conv.show_load_error("no file")
        await pilot.pause()
        error = text_of(conv.query_one(".load-error"))
        assert "could not be loaded: no file" in error and "Settings (Ctrl+S)" in error
        await conv.clear()
        assert conv.turn is None and not conv.children


# -- the sessions sidebar ---------------------------------------------------------------------


async def test_sidebar_lists_sessions_searches_and_opens_one(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    t0 = 1_700_000_000.0
    record_session(journal, "old", "What is gold at?", t0)
    record_session(journal, "new", "Who won the cup?", t0 + 3600, finished=False)
    sidebar = SessionsSidebar(journal)
    host = Host(sidebar)
    async with host.run_test(size=(60, 30)) as pilot:
        sidebar.show_sessions()
        await pilot.pause()
        view = sidebar.query_one("#sessions", ListView)
        items = list(view.query(SessionItem))
        assert [i.session_id for i in items] == ["new", "old"]  # newest first
        label = text_of(items[1].query_one(Static))
        when = time.strftime("%m-%d %H:%M", time.localtime(t0))
        assert label == f"What is gold at?\n{when} · 1⌕"
        assert text_of(items[0].query_one(Static)).endswith("· 0⌕ [running]")
        sidebar.query_one("#session-search", Input).value = "gold"
        await pilot.pause()
        assert [i.session_id for i in view.query(SessionItem)] == ["old"]
        view.index = 0
        view.action_select_cursor()
        await pilot.pause()
        assert [m.session_id for m in host.posted] == ["old"]


async def test_sidebar_without_a_journal_is_empty_and_follows_the_width_until_toggled() -> None:
    sidebar = SessionsSidebar(None)
    async with Host(sidebar).run_test() as pilot:
        sidebar.show_sessions()
        await pilot.pause()
        assert not sidebar.query(SessionItem)
        sidebar.fit(80)
        assert not sidebar.display
        sidebar.fit(120)
        assert sidebar.display
        sidebar.toggle()
        sidebar.fit(120)
        assert not sidebar.display  # the user's choice wins over the width


# -- the settings screen ---------------------------------------------------------------------


class SettingsHost(App[None]):
    """Opens the settings screen over an empty app and keeps what it was closed with."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.results: list[dict[str, Any] | None] = []

    def on_mount(self) -> None:
        self.push_screen(SettingsScreen(self.settings), self.results.append)


async def test_settings_save_returns_the_edited_values() -> None:
    host = SettingsHost(Settings(n_ctx=4096, tavily_api_key="tvly-OLD", max_searches=5))
    async with host.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        screen = host.screen
        assert screen.query_one("#n_ctx", Input).value == "4096"
        assert screen.query_one("#tavily_api_key", Input).password
        screen.query_one("#model", Input).value = "  qwq-32b  "
        screen.query_one("#n_ctx", Input).value = ""
        screen.query_one("#n_gpu_layers", Input).value = "12"
        screen.query_one("#max_searches", Input).value = "3"
        screen.query_one("#tavily_api_key", Input).value = ""
        screen.query_one("#prompt_format", Select).value = "qwen"
        screen.query_one("#offline", Switch).value = True
        await pilot.click("#save")
        await pilot.pause()
    assert host.results == [
        {
            "model": "qwq-32b", "n_ctx": 0, "n_gpu_layers": 12, "prompt_format": "qwen",
            "max_searches": 3, "tavily_api_key": None, "offline": True,
        }
    ]  # fmt: skip


async def test_settings_cancel_and_escape_return_nothing_and_bad_numbers_keep_it_open() -> None:
    host = SettingsHost(Settings())
    async with host.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        host.screen.query_one("#n_gpu_layers", Input).value = "many"
        await pilot.click("#save")
        await pilot.pause()
        assert isinstance(host.screen, SettingsScreen) and host.results == []
        await pilot.click("#cancel")
        await pilot.pause()
        assert host.results == [None] and not isinstance(host.screen, SettingsScreen)
        host.push_screen(SettingsScreen(host.settings), host.results.append)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert host.results == [None, None]


# -- the status bar -----------------------------------------------------------------------------


KEYED = Settings(tavily_api_key="tvly-test")  # web search that can run


def model_info(**kw: Any) -> ModelInfo:
    base = dict(
        path="/m.gguf", name="qwq-32b", architecture="qwen2", quant="Q4_K_M", file_size=1,
        n_ctx=8192, n_ctx_train=32768, n_layers=64, n_gpu_layers=0, gpu_offload=True,
        n_vocab=152064, reasoning=True,
    )  # fmt: skip
    return ModelInfo(**{**base, **kw})


def test_the_status_line_puts_the_most_telling_first() -> None:
    meter = Meter(ctx=(0, 0))
    meter.count(Stats("generate", 10, 0, 11, 0.1, 2.0, 1200, 4096))
    meter.count(Stats("tool_call", 5, 1200, 1, 0.1, 0.0, 1300, 4096))  # speed unchanged
    meter.searches = 2
    settings = Settings(max_searches=5, offline=True)
    line = Status.of(meter, settings, model=model_info(n_gpu_layers=40), running=True).line()
    assert line == (
        "answering… Esc stops · Q4_K_M GPU 40/64 · 5.0 tok/s · ctx 1300/4096 · searches 2/5"
        " · offline · qwq-32b"
    )
    idle = Status.of(Meter(ctx=(0, 0)), KEYED, model=None, running=False, state="no model")
    assert idle.line() == "no model · 0.0 tok/s · ctx 0/auto · searches 0/5 · web"
    assert "CPU" in Status.of(meter, settings, model=model_info(), running=False).line()


def test_the_status_line_says_where_searches_go_and_how_big_the_library_is() -> None:
    meter = Meter(ctx=(0, 0))

    def line(settings: Settings, library: LibraryState | None = None) -> str:
        return Status.of(meter, settings, model=None, running=False, library=library).line()

    assert line(KEYED, LibraryState((2, 84_213))).endswith(
        "searches 0/5 · web · library: 2 sources · 84k passages"
    )
    assert line(Settings(offline=True), LibraryState((1, 1_234))).endswith(
        "· offline · library: 1 source · 1.2k passages"
    )
    assert line(Settings(sources="library"), LibraryState((0, 0))).endswith(
        "· library only · library empty"
    )
    assert line(KEYED.replace(sources="web")).endswith("searches 0/5 · web")
    assert line(KEYED, LibraryState(off="no FTS5")).endswith("web · library off")
    # Never "web" without a way to search it: no key, the library searched alone or nothing.
    assert line(Settings(), LibraryState((2, 84_213))).endswith(
        "· library only · library: 2 sources · 84k passages"
    )
    assert line(Settings(sources="web")).endswith("searches 0/5 · no search key")
    mode = Status.of(meter, Settings(), model=None, running=False, mode="offline").line()
    assert mode.endswith("searches 0/5 · offline")  # the mode a session reports wins


async def test_status_bar_shows_its_status_and_counts_the_loading_seconds() -> None:
    bar = StatusBar()
    async with Host(bar).run_test() as pilot:
        assert text_of(bar) == ""
        since = time.monotonic() - 3
        bar.status = Status.of(
            Meter(ctx=(0, 2048)), Settings(), model=None, running=False, loading_since=since
        )
        assert text_of(bar).startswith("loading model… 3s · 0.0 tok/s · ctx 0/2048")
        await pilot.pause(1.2)  # the bar ticks by itself while a load runs
        seconds = re.match(r"loading model… (\d+)s", text_of(bar))
        assert seconds is not None and int(seconds.group(1)) >= 4
        bar.status = Status.of(Meter(ctx=(0, 2048)), Settings(), model=model_info(), running=False)
        assert text_of(bar).startswith("Q4_K_M CPU · 0.0 tok/s")


def test_a_branch_is_marked_in_the_sidebar() -> None:
    from qwq_edge.store.journal import SessionRow
    from qwq_edge.tui.widgets.sidebar import session_label

    row = SessionRow(
        id="b", created=0.0, title="Gold?", model="m", model_size=None, model_sha256=None,
        quant=None, prompt_format=None, settings={}, seed=None, status="done", answer="",
        searches=1, parent="a", parent_turn=1,
    )  # fmt: skip
    assert session_label(row).endswith("1⌕ · branch after turn 1")
    plain = session_label(SessionRow(**{**row.__dict__, "parent": None, "parent_turn": None}))
    assert "branch" not in plain
