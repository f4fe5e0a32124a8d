"""Snapshots of a first run that tells the truth (pytest-textual-snapshot; `--snapshot-update`
to accept): the welcome panel with a key, without one and offline, with the status bar's mode
under it; an answer made from the model's memory; a citation that matches no source."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.containers import Vertical

from qwq_edge.engine.base import ModelInfo
from qwq_edge.events import FinalAnswer, Source
from qwq_edge.runtime import can_search_web, search_mode
from qwq_edge.settings import Settings
from qwq_edge.tui import app as tui_app
from qwq_edge.tui.library import LibraryState
from qwq_edge.tui.widgets import Conversation, Status, StatusBar, Welcome
from qwq_edge.tui.widgets.status import Meter

SIZE = (110, 30)
QWQ = ModelInfo(
    path="/models/qwq-32b-q4_k_m.gguf", name="qwq-32b", architecture="qwen2", quant="Q4_K_M",
    file_size=19_851_336_256, n_ctx=32768, n_ctx_train=131072, n_layers=64, n_gpu_layers=64,
    gpu_offload=True, n_vocab=152064, reasoning=True, kv_type="q8_0",
)  # fmt: skip


class FirstRun(App[None]):
    """The conversation and the status bar, as the app lays them out, for ``settings``."""

    CSS_PATH = Path(tui_app.__file__).with_name("app.tcss")

    def __init__(self, settings: Settings, library: LibraryState | None) -> None:
        super().__init__()
        self.settings = settings
        self.library = library
        self.theme = "textual-dark"

    def compose(self) -> ComposeResult:
        with Vertical(id="main"):
            yield Conversation(id="conversation")
            yield StatusBar(id="status")

    def on_mount(self) -> None:
        self.query_one(StatusBar).status = Status.of(
            Meter(ctx=(0, QWQ.n_ctx)), self.settings, model=QWQ, running=False,
            mode=search_mode(self.settings, None), library=self.library,
        )  # fmt: skip

    def welcome(self) -> Welcome:
        return Welcome(
            mode=search_mode(self.settings, None), key_set=can_search_web(self.settings),
            model=QWQ, library=self.library,
        )  # fmt: skip


def welcome_snapshot(snap_compare, settings: Settings, library: LibraryState | None) -> bool:  # type: ignore[no-untyped-def]
    app = FirstRun(settings, library)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await app.query_one(Conversation).show_welcome(app.welcome())
        await pilot.pause()

    return bool(snap_compare(app, terminal_size=SIZE, run_before=run))


def test_welcome_with_a_key(snap_compare) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(tavily_api_key="tvly-test")
    assert welcome_snapshot(snap_compare, settings, LibraryState((2, 84_213)))


def test_welcome_without_a_key(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert welcome_snapshot(snap_compare, Settings(), LibraryState((0, 0)))


def test_welcome_offline(snap_compare) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(offline=True)
    assert welcome_snapshot(snap_compare, settings, LibraryState((1, 1_234)))


def turn_snapshot(snap_compare, question: str, final: FinalAnswer) -> bool:  # type: ignore[no-untyped-def]
    app = FirstRun(Settings(tavily_api_key="tvly-test"), None)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        conv = app.query_one(Conversation)
        await conv.show_welcome(app.welcome())
        turn = await conv.start_turn(question)
        await turn.finish(final)
        await pilot.pause()

    return bool(snap_compare(app, terminal_size=SIZE, run_before=run))


def test_an_answer_from_the_models_memory(snap_compare) -> None:  # type: ignore[no-untyped-def]
    final = FinalAnswer("The capital of France is Paris.", from_memory=True)
    assert turn_snapshot(snap_compare, "What is the capital of France?", final)


def test_a_citation_that_matches_no_source(snap_compare) -> None:  # type: ignore[no-untyped-def]
    paris = Source(1, "France — Wikipedia", "https://en.wikipedia.org/wiki/France")
    final = FinalAnswer("Paris is the capital [1], home to 2.1 million people [4].",
                        (paris,), unmatched=(4,))  # fmt: skip
    assert turn_snapshot(snap_compare, "What is the capital of France?", final)
