"""Snapshots of the app's key states (pytest-textual-snapshot; `--snapshot-update` to accept)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from textual.widgets import ListView

from qwq_edge.errors import ModelLoadError
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.tui.app import QwqEdgeApp
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


def test_past_session_with_its_sources(snap_compare, tmp_path, utc) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "j.sqlite3")
    record_session(journal, "gold", "What is gold at?", 1_700_000_000.0)
    app, _, _ = make_app(["ok<|im_end|>"], journal=journal)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        steady(app)
        await wait_idle(app, pilot)
        view = app.query_one("#sessions", ListView)
        view.index = 0
        view.action_select_cursor()
        await pilot.pause(0.3)
        assert app.query_one(SourcesView).display  # the sources panel is on screen

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
