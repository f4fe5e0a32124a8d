"""Asking before the model opens a URL nobody gave it: the dialog's decisions, and the
worker waiting for them (a scripted model, the real reader over real HTTP)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from qwq_edge.agent.loop import Agent
from qwq_edge.events import PageOpened
from qwq_edge.reading.reader import Reader
from qwq_edge.runtime.worker import AskOpen, Item, Worker
from qwq_edge.runtime.worker_process import decode, encode
from qwq_edge.settings import Settings
from qwq_edge.tui.screens.confirm_open import ConfirmOpen
from tests.support.fakes import FakeSearch
from tests.support.page_server import PageServer
from tests.support.scripted_engine import ScriptedEngine

OPEN_CALL = '{"action": "open", "action_input": {"source": "%s"}}'


class Host(App[None]):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.decisions: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(ConfirmOpen(self.url), self.decisions.append)


@pytest.mark.parametrize(
    ("key", "want"), [("#once", "once"), ("#always", "always"), ("#deny", "deny")]
)
async def test_the_dialog_dismisses_with_the_decision(key: str, want: str) -> None:
    app = Host("https://evil.example/?q=\x1b[2Jsecret")
    async with app.run_test() as pilot:
        shown = str(app.screen.query_one("#confirm-url", Static).render())
        assert "\x1b" not in shown and "evil.example" in shown
        await pilot.click(key)
        await pilot.pause()
    assert app.decisions == [want]


async def test_escape_denies() -> None:
    app = Host("https://evil.example/")
    async with app.run_test() as pilot:
        await pilot.press("escape")
        await pilot.pause()
    assert app.decisions == ["deny"]


def test_the_reply_crosses_the_wire() -> None:
    item = AskOpen(3, "https://e.com/?q=x")
    assert decode(encode(item)) == item


@pytest.fixture
def site() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.mark.parametrize(("decision", "opened"), [("once", True), ("deny", False)])
def test_the_worker_waits_for_the_user(site: PageServer, decision: str, opened: bool) -> None:
    url = site.url("/teasel.html?made=up")
    asked: list[AskOpen] = []
    events: list[PageOpened] = []
    done = threading.Event()
    worker: Worker

    def out(item: Item) -> None:
        if isinstance(item, AskOpen):
            asked.append(item)
            # the app answers from its own thread, while the engine thread waits
            threading.Thread(target=worker.allow_open, args=(item.nonce, decision)).start()
        elif isinstance(item, PageOpened):
            events.append(item)
        elif type(item).__name__ == "TurnEnded":
            done.set()

    def agent_for(settings: Settings) -> Agent:
        reader = Reader(None, timeout=5, max_bytes=1_000_000, allow_private=True)
        script = ["<tool_call>", OPEN_CALL % url, "Done.<|im_end|>"]
        return Agent(
            ScriptedEngine(script), FakeSearch(), settings, today=date(2026, 12, 7), reader=reader
        )

    worker = Worker(out, journal=None, engine_loader=lambda s, p: ScriptedEngine([]))
    worker.engine = ScriptedEngine([])
    worker._start = lambda engine: _confirming(worker, agent_for(worker.settings))  # type: ignore[method-assign]
    worker.ask("Tell me about teasel")
    assert done.wait(30)
    worker.runner.shutdown()
    assert [a.url for a in asked] == [url]
    (event,) = events
    assert (event.error is None) is opened
    assert bool(site.hits.get("/teasel.html?made=up")) is opened


def _confirming(worker: Worker, agent: Agent) -> Agent:
    agent.opener.confirm = worker._confirm_open
    return agent
