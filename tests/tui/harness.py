"""Shared by the TUI tests: the app on a scripted engine and a fake search, a scripted turn
with two searches, and Pilot helpers that wait for the model and for a turn to end."""

from __future__ import annotations

import time
from typing import Any

from textual.pilot import Pilot

from qwq_edge.events import (
    AnswerDelta,
    FinalAnswer,
    Finished,
    QuestionAsked,
    SearchHit,
    SessionStarted,
    Source,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.tui.app import QwqEdgeApp
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

CALL = '{"action": "web_search", "action_input": {"query": "%s"}}'
SCRIPT = [
    "I should look this up.<tool_call>",
    CALL % "gold price today",
    "One more check.<tool_call>",
    CALL % "gold price trend",
    "Enough.</think>Gold is **up** today [1] and trending higher [3].<|im_end|>",
]


def make_app(
    script: list[str], *, journal: Journal | None = None, slow: float = 0.0, **kw: Any
) -> tuple[QwqEdgeApp, ScriptedEngine, FakeSearch]:
    engine = ScriptedEngine(script, reasoning=True)
    if slow:
        engine.on_token = lambda i: time.sleep(slow)
    search = FakeSearch()
    app = QwqEdgeApp(
        Settings(**kw),
        journal=journal,
        engine_loader=lambda s: engine,
        provider_factory=lambda s: search,
    )
    return app, engine, search


async def wait_idle(app: QwqEdgeApp, pilot: Pilot[Any], timeout: float = 20) -> None:
    """Until the model is loaded and no turn runs (or ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    await pilot.pause(0.05)
    while (app.running or app.model is None) and time.monotonic() < deadline:
        await pilot.pause(0.05)
    await pilot.pause(0.1)


async def ask(app: QwqEdgeApp, pilot: Pilot[Any], question: str) -> None:
    """Type ``question`` into the prompt and send it, once the app is idle."""
    await wait_idle(app, pilot)
    await pilot.click("#prompt")
    await pilot.press(*question)
    await pilot.press("enter")


def record_session(
    journal: Journal, session_id: str, question: str, t0: float, *, finished: bool = True
) -> None:
    """Journal a one-question session at fixed times: one search with three results and an
    answer citing all three (``finished=False``: only the question, still running)."""
    rec = Recorder(journal)
    rec(SessionStarted(session_id, question, "qwq-32b", {"prompt_format": "seed"}, t=t0))
    rec(QuestionAsked(1, question, seed=1, t=t0))
    if not finished:
        return
    rec(ThinkingDelta("The user asks about a price; I should search.", t=t0 + 1))
    rec(ToolCall(1, "web_search", {"query": question}, "{}", True, t=t0 + 2))
    found = tuple(
        SearchHit(f"{site} report", f"https://{site}.example/gold", f"Gold rose {i}% today. " * 4)
        for i, site in enumerate(("markets", "metals", "news"), 1)
    )
    sources = tuple(Source(i, h.title, h.url) for i, h in enumerate(found, 1))
    rec(ToolResult(1, "tavily", question, found, sources, seconds=0.8, t=t0 + 3))
    answer = "Gold is up today [1], by about 2% [2], on a weaker dollar [3]."
    rec(ThinkingDelta("Three sources agree.", t=t0 + 4))
    rec(AnswerDelta(answer, t=t0 + 5))
    rec(FinalAnswer(answer, sources, t=t0 + 6))
    rec(Finished("eos", t=t0 + 6))
