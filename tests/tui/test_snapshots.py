"""Snapshots of the app's key states (pytest-textual-snapshot; `--snapshot-update` to accept)."""

from __future__ import annotations

from test_tui import SCRIPT, make_app, wait_idle

from qwq_edge.errors import ModelLoadError
from qwq_edge.settings import Settings
from qwq_edge.tui.app import QwqEdgeApp
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

SIZE = (110, 36)


def test_empty_app(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = make_app(["ok<|im_end|>"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_idle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_finished_turn_with_two_searches(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = make_app(SCRIPT)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_idle(app, pilot)
        await pilot.click("#prompt")
        await pilot.press(*"What is gold at?", "enter")
        await wait_idle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_settings_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = make_app(["ok<|im_end|>"], tavily_api_key="tvly-secret")

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
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
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
