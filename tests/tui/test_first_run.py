"""A first run that tells the truth: the welcome panel of an empty session, the note under an
answer made from the model's memory, and an empty answer flagged (Pilot, one widget each)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.app import App, ComposeResult
from textual.color import Color
from textual.widget import Widget
from textual.widgets import Markdown, Static

from qwq_edge.engine.base import ModelInfo
from qwq_edge.events import AnswerDelta, FinalAnswer
from qwq_edge.tui import app as tui_app
from qwq_edge.tui.library import LibraryState
from qwq_edge.tui.widgets import Conversation, TurnView, Welcome, WelcomePanel
from qwq_edge.tui.widgets.turn import answer_warnings
from qwq_edge.tui.widgets.welcome import plain, render_welcome


class Host(App[None]):
    """The widgets given, under the app's stylesheet."""

    CSS_PATH = Path(tui_app.__file__).with_name("app.tcss")

    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self.widgets = widgets

    def compose(self) -> ComposeResult:
        yield from self.widgets


def qwq(**kw: Any) -> ModelInfo:
    base = dict(
        path="/models/qwq-32b-q4_k_m.gguf", name="qwq-32b", architecture="qwen2",
        quant="Q4_K_M", file_size=19_851_336_256, n_ctx=32768, n_ctx_train=131072,
        n_layers=64, n_gpu_layers=64, gpu_offload=True, n_vocab=152064, reasoning=True,
    )  # fmt: skip
    return ModelInfo(**{**base, **kw})


def test_the_welcome_says_the_model_where_answers_come_from_and_the_keys() -> None:
    text = plain(Welcome("web", key_set=True, model=qwq(), library=LibraryState((2, 84_213))))
    assert "qwq-32b · Q4_K_M · 19.9 GB · GPU, 64 of 64 layers offloaded · context 32,768" in text
    assert "Web search (key set) and the library (2 sources, 84k passages)." in text
    assert (
        "Enter ask · Esc cancel · Ctrl+A answer now · Ctrl+B sessions · Ctrl+S settings"
        " · Ctrl+Q quit"
    ) in text
    assert "Get a key" not in text and "library add" not in text  # nothing is missing


def test_without_a_key_it_says_so_and_how_to_get_one() -> None:
    text = plain(Welcome("no search key", key_set=False, model=qwq(n_gpu_layers=0)))
    assert "· CPU ·" in text
    assert "No search key: answers come from the model's memory alone." in text
    assert "TAVILY_API_KEY" in text and "https://tavily.com" in text
    assert "qwq-edge library add PATH" in text
    empty = plain(Welcome("library only", key_set=False, library=LibraryState((0, 0))))
    assert "The model's memory alone: the library has nothing to search yet." in empty
    lib = plain(Welcome("library only", key_set=False, library=LibraryState((1, 5))))
    assert "Only the library (1 source, 5 passages): no web search." in lib
    off = plain(Welcome("library only", key_set=True, library=LibraryState(off="no FTS5")))
    assert "The library is off: no FTS5." in off


def test_offline_loading_a_failed_load_and_a_server_are_said() -> None:
    offline = plain(Welcome("offline", key_set=True, loading=True))
    assert "Offline: answers from the cache and library only." in offline
    assert "Loading the model…" in offline
    failed = plain(Welcome("web", key_set=True, load_error="qwq.gguf is truncated."))
    assert "⚠ The model could not be loaded: qwq.gguf is truncated. Fix it in Settings" in failed
    served = plain(Welcome("web", key_set=True, model=qwq(server="http://gpu:8080")))
    assert "on the llama-server at http://gpu:8080" in served


def test_a_model_name_from_a_file_is_shown_as_it_is() -> None:
    hostile = "[bold red]x[/] \x1b[2Jname"
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    console.print(render_welcome(Welcome("web", key_set=True, model=qwq(name=hostile))))
    assert "[bold red]x[/] [2Jname · Q4_K_M" in out.getvalue()  # no markup read, no escape
    assert "\x1b" not in out.getvalue()


async def test_the_welcome_shows_on_an_empty_session_and_leaves_for_a_turn() -> None:
    conv = Conversation(id="conversation")
    async with Host(conv).run_test() as pilot:
        await conv.show_welcome(Welcome("web", key_set=True, loading=True))
        await pilot.pause()
        assert "Loading the model…" in plain(conv.query_one(WelcomePanel).welcome)
        await conv.show_welcome(Welcome("web", key_set=True, model=qwq()))  # redrawn in place
        await pilot.pause()
        panels = conv.query(WelcomePanel)
        assert len(panels) == 1 and panels.first().welcome.model is not None
        await conv.start_turn("Capital of France?")
        await pilot.pause()
        assert not conv.query(WelcomePanel)
        await conv.show_welcome(Welcome("web", key_set=True))  # a turn is on screen: not shown
        assert not conv.query(WelcomePanel)
        await conv.clear()
        assert not conv.query(WelcomePanel)  # back only when shown again
        await conv.show_welcome(Welcome("offline", key_set=False))
        await pilot.pause()
        assert isinstance(conv.children[0], WelcomePanel)


async def test_an_answer_from_memory_gets_a_dim_note_not_a_warning() -> None:
    turn = TurnView("Capital of France?")
    async with Host(turn).run_test() as pilot:
        await turn.add_text(AnswerDelta("Paris."))
        await turn.finish(FinalAnswer("Paris.", from_memory=True))
        await pilot.pause()
        note = turn.query_one(".answer-memory", Static)
        assert str(note.render()) == "answered from the model's memory, no search made"
        assert not turn.query(".answer-warning")
        assert [type(w).__name__ for w in turn.children] == ["Static", "Markdown", "Static"]
        assert note.styles.color != Color.parse(pilot.app.get_css_variables()["warning"])
        assert "italic" in str(note.styles.text_style)


async def test_an_empty_answer_is_flagged() -> None:
    turn = TurnView("Capital of France?")
    async with Host(turn).run_test() as pilot:
        await turn.finish(FinalAnswer(""))
        await pilot.pause()
        warnings = [str(w.render()) for w in turn.query(".answer-warning")]
        assert warnings == ["⚠ the answer is empty"]
        assert not turn.query(Markdown)
    assert answer_warnings("  \n", ()) == ["⚠ the answer is empty"]
    assert answer_warnings("Paris.", ()) == []
