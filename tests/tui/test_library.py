"""The local library in the TUI: opening a cited source (a library passage in context, or the
snippet a web search gave), the status bar's library counts and reach, and adding and
removing library sources in the settings screen. A real library in the test's home."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.notifications import SeverityLevel
from textual.pilot import Pilot
from textual.widgets import Button, ListView, Static

from qwq_edge.library import index
from qwq_edge.library.folders import IndexReport, Progress
from qwq_edge.library.index import Library
from qwq_edge.paths import paths
from qwq_edge.runtime import make_provider, search_mode, web_part
from qwq_edge.runtime.library import Added, add_source
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.tui.app import QwqEdgeApp
from qwq_edge.tui.screens.settings import SettingsScreen
from qwq_edge.tui.screens.source import SourceScreen
from qwq_edge.tui.widgets import SourcesView
from qwq_edge.tui.widgets.library import LibraryPanel, RemoveButton
from tests.support.scripted_engine import ScriptedEngine
from tests.tui.harness import CALL, SCRIPT, ask, make_app, record_session, wait_idle

TEASEL = """# Teasel

Teasel is a tall biennial plant with spiny flower heads that grows along roadsides.

## History

Fullers used dried teasel heads to raise the nap on woollen cloth; the hooked bracts
combed the fibres into a soft surface.

## Growing

Seeds sown in autumn flower in the second summer; the plant prefers damp clay.

## Uses today

Some mills still card fine cloth with teasels, and finches eat the seeds in winter.
"""


def write_docs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "teasel.md").write_text(TEASEL, encoding="utf-8")
    (folder / "kettle.txt").write_text("A kettle boils water for tea.\n", encoding="utf-8")
    return folder


def build_library(tmp_path: Path) -> Path:
    """A library in the test's home with one folder of two documents; returns the folder."""
    docs = write_docs(tmp_path / "docs")
    library = Library(paths().library)
    try:
        add_source(library, docs)
    finally:
        library.close()
    return docs


def library_app(**kw: Any) -> QwqEdgeApp:
    """The app on a scripted engine that searches the real library once and cites [1]."""
    script = ["Let me check.<tool_call>", CALL % "teasel heads nap cloth",
              "</think>Fullers raised the nap with teasel heads [1].<|im_end|>"]  # fmt: skip
    engine = ScriptedEngine(script, reasoning=True)
    return QwqEdgeApp(Settings(sources="library", **kw), engine_loader=lambda s: engine)


async def until(pilot: Pilot[Any], done: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        await pilot.pause(0.05)


async def open_source(app: App[Any], pilot: Pilot[Any], n: int) -> SourceScreen:
    """Focus the last sources panel, press ``n``, and wait until the screen has its text."""
    app.query(SourcesView).last().focus()
    await pilot.press(str(n))
    await until(pilot, lambda: isinstance(app.screen, SourceScreen))
    screen = app.screen
    assert isinstance(screen, SourceScreen)
    await until(pilot, lambda: bool(screen.query(".passage")))
    return screen


def texts(screen: SourceScreen, selector: str) -> list[str]:
    return [str(w.render()) for w in screen.query(selector).results(Static)]


async def test_a_library_source_opens_on_its_matched_passage_with_its_neighbours(
    tmp_path: Path,
) -> None:
    docs = build_library(tmp_path)
    app = library_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ask(app, pilot, "What were teasels for?")
        await wait_idle(app, pilot)
        panel = str(app.query_one(SourcesView).render())
        assert " [1] file Teasel" in panel
        screen = await open_source(app, pilot, 1)
        assert str(screen.query_one("#source-url", Static).render()).startswith("file://")
        assert str(screen.query_one("#source-url", Static).render()).endswith("teasel.md")
        assert "from file" in str(screen.query_one("#source-meta", Static).render())
        passages = texts(screen, ".passage")
        assert len(passages) == 3  # the match and one passage either side
        assert "tall biennial plant" in passages[0]
        assert "Fullers used dried teasel heads" in passages[1]
        assert "Seeds sown in autumn" in passages[2]
        (matched,) = texts(screen, ".matched")
        assert matched.startswith("▶ matched passage\nTeasel › History\nFullers")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SourceScreen)
    assert docs.exists()


async def test_a_web_source_shows_the_snippet_the_model_saw_and_when() -> None:
    app, _, _ = make_app(SCRIPT)
    async with app.run_test(size=(120, 40)) as pilot:
        await ask(app, pilot, "What is gold at?")
        await wait_idle(app, pilot)
        await app.run_action("focus_sources")  # the palette's "Open a source"
        await pilot.pause()
        assert isinstance(app.focused, SourcesView)
        screen = await open_source(app, pilot, 3)
        assert str(screen.query_one("#source-title", Static).render()) == "[3] Result 2.1"
        meta = str(screen.query_one("#source-meta", Static).render())
        assert meta.startswith("from web · fetched 2") and "'gold price trend'" in meta
        (snippet,) = texts(screen, ".passage")
        assert snippet == "What the model saw\n" + " ".join(["content 2.1"] * 3)


async def test_a_journaled_session_opens_its_sources_with_their_snippets(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    record_session(journal, "gold", "What is gold at?", 1_700_000_000.0)
    app, _, _ = make_app(["ok<|im_end|>"], journal=journal)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(app, pilot)
        view = app.query_one("#sessions", ListView)
        view.index = 0
        view.action_select_cursor()
        await until(pilot, lambda: bool(app.query(SourcesView)))
        screen = await open_source(app, pilot, 2)
        (snippet,) = texts(screen, ".passage")
        assert "Gold rose 2% today." in snippet
        await pilot.press("escape")
        await pilot.click(app.query_one(SourcesView), offset=(6, 5))  # [3]'s title line
        await until(pilot, lambda: isinstance(app.screen, SourceScreen))
        assert isinstance(app.screen, SourceScreen) and app.screen.source.n == 3


async def test_source_text_is_never_markup(tmp_path: Path) -> None:
    from qwq_edge.events import SearchHit, Source
    from qwq_edge.tui.library import Seen

    hit = SearchHit("[b]x[/b]", "https://e.example/", "[@click=app.quit]boom[/] [red]")
    source = Source(1, "[b]x[/b] [@click=app.quit]q[/]", hit.url)
    app = App[None]()
    async with app.run_test() as pilot:
        app.push_screen(SourceScreen(source, Seen(hit, "[q]", 0.0), None))
        await until(pilot, lambda: bool(app.screen.query(".passage")))
        screen = app.screen
        assert isinstance(screen, SourceScreen)
        assert str(screen.query_one("#source-title", Static).render()).endswith(source.title)
        assert texts(screen, ".passage") == ["What the model saw\n" + hit.content]


async def test_the_status_bar_has_the_library_counts_and_says_offline(tmp_path: Path) -> None:
    build_library(tmp_path)
    app = library_app()
    async with app.run_test(size=(160, 40)) as pilot:
        status = app.query_one("#status")
        await until(pilot, lambda: "library:" in str(status.render()))
        assert "library only · library: 1 source · 5 passages" in str(status.render())
    app, _, _ = make_app(["ok<|im_end|>"], offline=True)
    async with app.run_test(size=(160, 40)) as pilot:
        status = app.query_one("#status")
        await until(pilot, lambda: "library:" in str(status.render()))
        assert "· offline · library: 1 source · 5 passages" in str(status.render())


def test_offline_is_the_setting_or_the_web_search_going_offline() -> None:
    keyed = Settings(sources="web,library", tavily_api_key="tvly-test")
    provider = make_provider(keyed)
    web = web_part(provider)
    assert web is not None
    assert search_mode(keyed, provider) == "web"
    web.mode, web.went_offline = "offline", True  # the network was found unreachable
    assert search_mode(keyed, provider) == "offline"
    assert search_mode(Settings(offline=True), None) == "offline"
    assert search_mode(Settings(sources="library"), None) == "library only"
    assert search_mode(Settings(), make_provider(Settings(sources="library"))) == "library only"


# -- the settings screen's library section ---------------------------------------------------


class Host(App[None]):
    """Opens the settings screen and keeps every notification and library change."""

    CSS_PATH = "../../qwq_edge/tui/app.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[tuple[str, SeverityLevel]] = []
        self.changes = 0

    def on_mount(self) -> None:
        self.push_screen(SettingsScreen(Settings()))

    def notify(self, message: str, *, severity: SeverityLevel = "information", **kw: Any) -> None:
        self.notes.append((message, severity))

    def on_library_panel_changed(self) -> None:
        self.changes += 1


async def idle(pilot: Pilot[Any], panel: LibraryPanel) -> None:
    await pilot.pause(0.05)
    await until(pilot, lambda: not panel.running and panel.stop is None)
    await pilot.pause(0.05)


async def test_settings_add_a_folder_then_remove_it(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "my docs")
    host = Host()
    async with host.run_test(size=(110, 40)) as pilot:
        panel = host.screen.query_one(LibraryPanel)
        await idle(pilot, panel)
        assert "No sources yet" in str(panel.query_one("#library-note", Static).render())
        panel.query_one("#library-path").value = str(docs)  # type: ignore[attr-defined]
        panel.query_one("#library-name").value = "notes"  # type: ignore[attr-defined]
        panel.query_one("#library-add", Button).press()
        await idle(pilot, panel)
        assert host.notes[-1][0].startswith("notes: indexed — 2 new")
        rows = [str(w.render()) for w in panel.query(".library-source").results(Static)]
        assert rows == ["notes  folder · 2 documents · 5 passages"]
        assert host.changes == 1
        library = Library(paths().library)
        try:
            (hit,) = library.search("teasel nap", 1)
            assert hit.url.endswith("teasel.md") and hit.origin == "file"
        finally:
            library.close()
        panel.query_one(RemoveButton).press()
        await idle(pilot, panel)
        assert host.notes[-1] == ("removed 'notes' from the library (2 documents forgotten)",
                                  "information")  # fmt: skip
        assert not panel.query(RemoveButton) and host.changes == 2
        assert isinstance(host.screen, SettingsScreen)  # the buttons did not close it
    library = Library(paths().library)
    try:
        assert library.sources() == [] and library.search("teasel", 1) == []
    finally:
        library.close()


async def test_settings_a_bad_path_is_one_sentence(tmp_path: Path) -> None:
    host = Host()
    async with host.run_test(size=(110, 40)) as pilot:
        panel = host.screen.query_one(LibraryPanel)
        await idle(pilot, panel)
        for bad in (tmp_path / "nowhere", write_docs(tmp_path / "d") / "kettle.txt"):
            panel.query_one("#library-path").value = str(bad)  # type: ignore[attr-defined]
            panel.query_one("#library-add", Button).press()
            await idle(pilot, panel)
        assert host.notes == [
            (f"{tmp_path / 'nowhere'} does not exist", "error"),
            (f"{tmp_path / 'd' / 'kettle.txt'} is a file; add a folder of documents or a .zim "
             "archive", "error"),
        ]  # fmt: skip
        assert not panel.query(RemoveButton)


async def test_settings_cancel_stops_an_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_add(
        library: Library, path: Path, name: str | None = None, *,
        progress: Progress | None = None, stop: threading.Event | None = None,
    ) -> Added:  # fmt: skip
        assert progress is not None and stop is not None
        progress(1, 10)
        stopped = stop.wait(10)
        return Added("big", "folder", IndexReport(seen=10, added=1, stopped=stopped))

    monkeypatch.setattr("qwq_edge.tui.widgets.library.add_source", slow_add)
    host = Host()
    async with host.run_test(size=(110, 40)) as pilot:
        panel = host.screen.query_one(LibraryPanel)
        await idle(pilot, panel)
        panel.query_one("#library-path").value = str(tmp_path)  # type: ignore[attr-defined]
        panel.query_one("#library-add", Button).press()
        await until(pilot, lambda: panel.query_one("#library-progress").display)
        assert not panel.query_one("#library-cancel", Button).disabled
        assert panel.query_one("#library-add", Button).disabled
        panel.query_one("#library-cancel", Button).press()
        await idle(pilot, panel)
        assert host.notes[-1][0].startswith("big: stopped; reindex it to go on")
        assert panel.query_one("#library-cancel", Button).disabled
        assert not panel.query_one("#library-progress").display


async def test_settings_without_fts5_says_why_and_stays_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index, "FTS_MODULE", "no_such_fts")
    host = Host()
    async with host.run_test(size=(110, 40)) as pilot:
        panel = host.screen.query_one(LibraryPanel)
        await idle(pilot, panel)
        note = str(panel.query_one("#library-note", Static).render())
        assert note == f"The library is off: {index.NO_FTS}"
        assert panel.query_one("#library-add", Button).disabled
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(host.screen, SettingsScreen)
