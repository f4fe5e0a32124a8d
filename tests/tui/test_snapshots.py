"""Snapshots of the app's key states (pytest-textual-snapshot; `--snapshot-update` to accept)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from textual.widgets import ListView

from qwq_edge.errors import ModelLoadError
from qwq_edge.events import (
    AnswerDelta,
    FinalAnswer,
    Finished,
    PageOpened,
    QuestionAsked,
    ReadPassage,
    SearchHit,
    SessionStarted,
    Source,
    ToolCall,
    ToolResult,
)
from qwq_edge.library.index import Document, Library
from qwq_edge.library.passages import passages
from qwq_edge.paths import paths
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.tui.app import QwqEdgeApp
from qwq_edge.tui.screens.source import SourceScreen
from qwq_edge.tui.widgets import PromptInput, SourcesView, ToolCard
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine
from tests.tui.harness import SCRIPT, make_app, record_session, wait_idle

SIZE = (110, 36)


def steady(app: QwqEdgeApp) -> None:
    """The prompt's cursor blinks: a snapshot would catch it on or off by chance."""
    app.query_one(PromptInput).cursor_blink = False


def test_empty_app(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = make_app(["ok<|im_end|>"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        steady(app)
        await wait_idle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


async def ask_gold(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """The scripted two-search turn, asked and finished."""
    steady(app)
    await wait_idle(app, pilot)
    await pilot.click("#prompt")
    await pilot.press(*"What is gold at?", "enter")
    await wait_idle(app, pilot)


def test_finished_turn_with_two_searches(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = make_app(SCRIPT)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await ask_gold(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_settings_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = make_app(["ok<|im_end|>"], tavily_api_key="tvly-secret")

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        steady(app)
        await wait_idle(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_model_failed_to_load(snap_compare) -> None:  # type: ignore[no-untyped-def]
    def fail(settings: Settings) -> ScriptedEngine:
        raise ModelLoadError(
            "qwq-32b-q4_k_m.gguf is truncated (1204.3 MB of tensor data missing); download it again"
        )

    app = QwqEdgeApp(Settings(), engine_loader=fail, provider_factory=lambda s: FakeSearch())

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        steady(app)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_tool_card_expanded(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = make_app(SCRIPT)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await ask_gold(app, pilot)
        card = app.query(ToolCard).first()
        await pilot.click(card, offset=(2, 0))  # on its title
        await pilot.pause(0.2)
        assert not card.collapsed  # the click opened it: its results show

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


@pytest.fixture
def utc() -> Iterator[None]:
    """The sidebar shows local times: pin the zone so the picture is the same everywhere."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


async def open_first_session(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """Open the newest session in the sidebar, as a click would."""
    steady(app)
    await wait_idle(app, pilot)
    view = app.query_one("#sessions", ListView)
    view.index = 0
    view.action_select_cursor()
    for _ in range(100):  # the session is rebuilt from its journal: wait for its sources
        await pilot.pause(0.05)
        if app.query(SourcesView):
            break
    await pilot.pause(0.2)


def test_past_session_with_its_sources(snap_compare, tmp_path, utc) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "j.sqlite3")
    record_session(journal, "gold", "What is gold at?", 1_700_000_000.0)
    app, _, _ = make_app(["ok<|im_end|>"], journal=journal)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_first_session(app, pilot)
        assert app.query_one(SourcesView).display  # the sources panel is on screen

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def library_session(journal: Journal, t0: float) -> None:
    """A library of one document at a fixed URI, and a journaled session that cites it."""
    uri = "file:///docs/teasel.md"
    blocks = [
        ("Teasel", "Teasel is a tall biennial plant with spiny flower heads."),
        ("Teasel › History", "Fullers used dried teasel heads to raise the nap on cloth."),
        ("Teasel › Growing", "Seeds sown in autumn flower in the second summer."),
        ("Teasel › Uses today", "Some mills still card fine cloth with teasels."),
    ]
    library = Library(paths().library)
    library.add_source("docs", "folder", "/docs")
    library.put(
        "docs", [Document("teasel.md", uri, "Teasel", "file", passages("Teasel", uri, blocks))]
    )
    library.close()
    rec = Recorder(journal)
    rec(SessionStarted("teasel", "What were teasels for?", "qwq-32b", {}, t=t0))
    rec(QuestionAsked(1, "What were teasels for?", seed=1, t=t0))
    rec(ToolCall(1, "web_search", {"query": "teasel heads cloth"}, "{}", True, t=t0 + 1))
    hit = SearchHit("Teasel › History", uri, "Fullers used dried teasel heads…", origin="file")
    sources = (Source(1, hit.title, uri, origin="file"),)
    rec(ToolResult(1, "library", "teasel heads cloth", (hit,), sources, t=t0 + 2))
    answer = "Fullers raised the nap of cloth with teasel heads [1]."
    rec(AnswerDelta(answer, t=t0 + 3))
    rec(FinalAnswer(answer, sources, t=t0 + 4))
    rec(Finished("eos", t=t0 + 4))


def test_a_library_source_opened(snap_compare, tmp_path, utc) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "j.sqlite3")
    library_session(journal, 1_700_000_000.0)
    app, _, _ = make_app(["ok<|im_end|>"], journal=journal)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_first_session(app, pilot)
        app.query_one(SourcesView).focus()
        await pilot.press("1")
        for _ in range(100):
            await pilot.pause(0.05)
            if app.screen.query(".matched"):
                break
        assert isinstance(app.screen, SourceScreen) and app.screen.excerpt is not None

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def opened_session(journal: Journal, t0: float) -> None:
    """A journaled session: a search whose top result was read for the model, then the
    model's own ``open`` of its second result, and an answer citing both."""
    rec = Recorder(journal)
    rec(SessionStarted("teasel", "What were teasels for?", "qwq-32b", {}, t=t0))
    rec(QuestionAsked(1, "What were teasels for?", seed=1, t=t0))
    rec(ToolCall(1, "web_search", {"query": "teasel fullers"}, "{}", True, t=t0 + 1))
    found = (
        SearchHit("Teasel", "https://plants.example/teasel", "Teasel is a tall biennial."),
        SearchHit("Fulling", "https://mills.example/fulling", "Fullers raised the nap."),
    )
    sources = tuple(Source(i, h.title, h.url) for i, h in enumerate(found, 1))
    rec(ToolResult(1, "tavily", "teasel fullers", found, sources, seconds=0.9, t=t0 + 2))
    top = (ReadPassage(0, "", "Teasel is a tall biennial plant with spiny flower heads."),)
    rec(PageOpened(1, found[0].url, "", sources[0], "Teasel", top, 12, auto=True,
                   seconds=0.6, tokens=240, t=t0 + 3))  # fmt: skip
    rec(ToolCall(2, "open", {"source": "2", "focus": "teasel heads"}, "{}", True, t=t0 + 4))
    read = (
        ReadPassage(3, "History", "Fullers used dried teasel heads to raise the nap on cloth."),
        ReadPassage(4, "History", "The hooked bracts combed the fibres into a soft surface."),
    )
    rec(PageOpened(2, found[1].url, "teasel heads", sources[1], "Fulling", read, 31,
                   seconds=0.4, tokens=812, t=t0 + 5))  # fmt: skip
    answer = "Teasel [1] heads raised the nap of woollen cloth [2]."
    rec(AnswerDelta(answer, t=t0 + 6))
    rec(FinalAnswer(answer, sources, t=t0 + 7))
    rec(Finished("eos", t=t0 + 7))


def test_pages_opened_under_their_cards(snap_compare, tmp_path, utc) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "j.sqlite3")
    opened_session(journal, 1_700_000_000.0)
    app, _, _ = make_app(["ok<|im_end|>"], journal=journal)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_first_session(app, pilot)
        search, page = app.query(ToolCard)
        search.collapsed = page.collapsed = False
        await pilot.pause(0.2)
        assert "[2] Fulling · passages 4–5 of 31" in str(page.title)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
