"""The Textual app, driven with Pilot: a scripted engine for behaviour, the real model once."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import get_args

import pytest
from textual.widgets import Input, ListView, Markdown

from qwq_edge.errors import ModelLoadError
from qwq_edge.events import (
    AnswerDelta,
    AnswerRetracted,
    ClaimChecked,
    ErrorEvent,
    Event,
    FinalAnswer,
    Finished,
    Notice,
    PageOpened,
    PlanSection,
    QuestionAsked,
    ReportPlanned,
    ReportWritten,
    SectionStarted,
    SectionWritten,
    SessionStarted,
    Stats,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.paths import paths
from qwq_edge.search.tavily import TavilyProvider
from qwq_edge.settings import Sampling, Settings, load_file
from qwq_edge.store.journal import Journal
from qwq_edge.tui.app import QwqEdgeApp
from qwq_edge.tui.widgets import SourcesView, ThinkingView, ToolCard, TurnView
from qwq_edge.tui.widgets.report_panel import plain
from qwq_edge.tui.widgets.welcome import WelcomePanel, model_line
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine
from tests.support.tavily_server import TavilyServer
from tests.tui.harness import CALL, SCRIPT, ask, make_app, wait_idle


async def test_a_turn_streams_in_order_with_cards_sources_and_collapsed_thinking() -> None:
    app, _, search = make_app(SCRIPT)
    async with app.run_test(size=(120, 40)) as pilot:
        await ask(app, pilot, "What is gold at?")
        await wait_idle(app, pilot)
        turn = app.query_one(TurnView)
        kinds = [type(w).__name__ for w in turn.children]
        assert kinds == [
            "Static", "ThinkingView", "ToolCard", "ThinkingView", "ToolCard", "ThinkingView",
            "Markdown", "SourcesView",
        ]  # fmt: skip
        assert search.queries == ["gold price today", "gold price trend"]
        cards = list(turn.query(ToolCard))
        assert "gold price today · 2 results" in str(cards[0].title)
        assert all(t.collapsed for t in turn.query(ThinkingView))
        assert turn.query_one(Markdown).source.startswith("Gold is **up** today [1]")
        sources = str(turn.query_one(SourcesView).render())
        assert "[1]" in sources and "Result 1.1" in sources and "[3]" in sources
        assert "searches 2/5" in str(app.query_one("#status").render())


async def test_enter_sends_and_ctrl_j_adds_a_newline() -> None:
    app, engine, _ = make_app(["Fine.<|im_end|>"])
    async with app.run_test() as pilot:
        await wait_idle(app, pilot)
        await pilot.click("#prompt")
        await pilot.press("a", "ctrl+j", "b", "enter")
        await wait_idle(app, pilot)
        assert app.query_one(TurnView).question == "a\nb"
        assert "a\nb" in engine.detokenize(engine.contexts[0])


async def test_escape_cancels_and_the_partial_answer_is_journaled(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    app, _, _ = make_app(["</think>" + "word " * 400 + "<|im_end|>"], journal=journal, slow=0.005)
    async with app.run_test() as pilot:
        await ask(app, pilot, "Tell me everything")
        await pilot.pause(0.6)
        assert app.running
        await pilot.press("escape")
        await wait_idle(app, pilot)
        assert "stopped" in str(app.query(".stopped").first().render())
        shown = app.query_one(TurnView).query_one(Markdown).source
    [row] = journal.sessions()
    assert row.status == "cancelled"
    assert row.answer and row.answer.startswith("word word") and len(row.answer) < 2000
    assert shown.strip().startswith(row.answer.strip()[:50])


async def test_ctrl_a_answers_now_without_more_searches() -> None:
    app, _, search = make_app(
        ["thinking " * 200 + "<tool_call>", CALL % "late", "Answer.<|im_end|>"], slow=0.003
    )
    async with app.run_test() as pilot:
        await ask(app, pilot, "q?")
        await pilot.pause(0.3)
        await pilot.press("ctrl+a")
        await wait_idle(app, pilot)
        assert search.queries == []
        card = app.query_one(ToolCard)
        assert "error" in str(card.title) and "No searches remain" in str(card.title)


async def test_offline_toggle_reaches_settings_and_status() -> None:
    app, _, _ = make_app(["ok<|im_end|>"])
    async with app.run_test() as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+o")
        assert app.settings.offline
        assert "offline" in str(app.query_one("#status").render())
        await pilot.press("ctrl+o")
        assert not app.settings.offline


async def test_thinking_and_sidebar_toggles() -> None:
    app, _, _ = make_app(["ok<|im_end|>"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+t")
        assert app.query_one("#conversation").has_class("hide-thinking")
        assert app.query_one("#sidebar").display
        await pilot.press("ctrl+b")
        assert not app.query_one("#sidebar").display


async def test_narrow_terminals_hide_the_sidebar() -> None:
    app, _, _ = make_app(["ok<|im_end|>"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        assert not app.query_one("#sidebar").display
        await pilot.press("ctrl+b")
        assert app.query_one("#sidebar").display


async def test_sidebar_shows_a_past_session_without_the_model(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    app, engine, _ = make_app(SCRIPT, journal=journal)
    async with app.run_test(size=(120, 40)) as pilot:
        await ask(app, pilot, "What is gold at?")
        await wait_idle(app, pilot)
        await pilot.press("ctrl+n")
        await pilot.pause(0.1)
        assert not app.query(TurnView)
        calls = len(engine.contexts)
        view = app.query_one("#sessions", ListView)
        assert len(view.children) == 1
        view.index = 0
        view.action_select_cursor()
        await pilot.pause(0.3)
        turn = app.query_one(TurnView)
        assert turn.question == "What is gold at?" and len(turn.query(ToolCard)) == 2
        assert len(engine.contexts) == calls  # shown from the journal, no model call
        await pilot.click("#session-search")
        await pilot.press(*"nothing like this")
        await pilot.pause(0.1)
        assert len(view.children) == 0


async def test_settings_persist_with_a_masked_key(tmp_path: Path) -> None:
    app, _, _ = make_app(["ok<|im_end|>"], tavily_api_key="tvly-OLD")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        key = app.screen.query_one("#tavily_api_key", Input)
        assert key.password
        n_ctx = app.screen.query_one("#n_ctx", Input)
        n_ctx.value = "8192"
        key.value = "tvly-NEW-KEY"
        await pilot.click("#save")
        await pilot.pause(0.3)
    config = paths().config_file
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    saved = load_file(config)
    assert saved["n_ctx"] == 8192 and saved["tavily_api_key"] == "tvly-NEW-KEY"
    assert app.settings.n_ctx == 8192


async def test_model_load_failure_is_one_actionable_sentence() -> None:
    def fail(settings: Settings) -> ScriptedEngine:
        raise ModelLoadError("model file not found: /nope.gguf; pass --model PATH.gguf")

    app = QwqEdgeApp(Settings(), engine_loader=fail, provider_factory=lambda s: FakeSearch())
    async with app.run_test() as pilot:
        await pilot.pause(0.3)
        welcome = app.query_one(WelcomePanel).welcome  # an empty session: said there
        error = model_line(welcome)
        assert "model file not found" in error and "Settings (Ctrl+S)" in error
        assert "no model" in str(app.query_one("#status").render())


@pytest.mark.model
async def test_real_model_question_search_answer(engine, tavily: TavilyServer) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(min_searches=1, max_tokens=120, sampling=Sampling(seed=0), n_ctx=4096)
    provider = TavilyProvider("tvly-test", base_url=tavily.url, timeout=10)
    app = QwqEdgeApp(settings, engine_loader=lambda s: engine, provider_factory=lambda s: provider)
    async with app.run_test(size=(120, 40)) as pilot:
        await ask(app, pilot, "Who won the 2022 FIFA World Cup?")
        await wait_idle(app, pilot, timeout=120)
        turn = app.query_one(TurnView)
        assert tavily.queries and "2 results" in str(turn.query_one(ToolCard).title)
        assert turn.query_one(Markdown).source.strip()
        assert "tok/s" in str(app.query_one("#status").render())


async def test_follow_up_to_a_past_session_continues_it(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    app, engine, _ = make_app(
        ["</think>First.<|im_end|>", "</think>Second.<|im_end|>"], journal=journal
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await ask(app, pilot, "One?")
        await wait_idle(app, pilot)
        await pilot.press("ctrl+n")
        view = app.query_one("#sessions", ListView)
        view.index = 0
        view.action_select_cursor()
        await pilot.pause(0.3)
        await ask(app, pilot, "Two?")
        await wait_idle(app, pilot)
    [row] = journal.sessions()
    questions = [e.question for e in journal.events(row.id) if type(e).__name__ == "QuestionAsked"]
    assert questions == ["One?", "Two?"]
    assert "First.<|im_end|>\n<|im_start|>user\nTwo?" in engine.detokenize(engine.contexts[-1])


async def test_replay_and_rerun_from_the_palette(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    app, engine, _ = make_app(SCRIPT, journal=journal)
    async with app.run_test(size=(120, 40)) as pilot:
        await ask(app, pilot, "What is gold at?")
        await wait_idle(app, pilot)
        await app.action_replay()
        await pilot.pause(0.5)
        assert app.query_one(TurnView).question == "What is gold at?"
        engine.script = list(SCRIPT)
        await app.action_rerun()
        await wait_idle(app, pilot)
        turn = app.query_one(TurnView)
        assert len(turn.query(ToolCard)) == 2
        assert "from cache" in str(turn.query(ToolCard).first().title)


async def test_the_fit_planners_choice_is_shown_when_the_model_is_ready() -> None:
    import dataclasses

    app, engine, _ = make_app(["ok<|im_end|>"])
    engine._info = dataclasses.replace(engine.info, fit="CPU · 8,192 ctx · f16 KV")
    async with app.run_test() as pilot:
        await wait_idle(app, pilot)
        shown = [n.message for n in app._notifications]
        assert "CPU · 8,192 ctx · f16 KV" in shown


async def test_apply_shows_every_event_type() -> None:
    samples: list[Event] = [
        SessionStarted("sid", "q", "m.gguf", {}), QuestionAsked(1, "q"), ThinkingDelta("hm"),
        ToolCall(1, "web_search", {"query": "x"}, "{}", True),
        ToolResult(1, "fake", "x", error="down"), Stats("generate", 5, 0, 3, 0.1, 1.0, 50, 512),
        ToolCall(2, "open", {"source": "https://e.example/"}, "{}", False),
        PageOpened(2, "https://e.example/", error="refused", error_kind="refused"),
        AnswerDelta("ans\n```json"), AnswerRetracted(8), Notice("a note"), ErrorEvent("it broke"),
        FinalAnswer("ans"),
        Finished("cancelled"),
        ReportPlanned("Gold", (PlanSection("Prices", "Where it stands."),), "approved"),
        SectionStarted(1, "Prices"), ClaimChecked(1, "Gold rose [1].", (1,), "partly"),
        SectionWritten(1, "Prices", "Gold rose [1]."), ReportWritten("/tmp/r", True, ("Outlook",)),
    ]  # fmt: skip
    assert {type(e) for e in samples} == set(get_args(Event))  # a new type needs a sample here
    app, _, _ = make_app(["ok<|im_end|>"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(app, pilot)
        for e in samples:
            await app.apply(e)
        await pilot.pause(0.3)
        turn = app.query_one(TurnView)
        assert app.session_id == "sid" and app.meter.gen == (2, 1.0)
        search, page = turn.query(ToolCard)
        assert "error: down" in str(search.title)
        assert str(page.title) == "↗ https://e.example/ · ✗ refused"
        assert turn.query_one(Markdown).source == "ans"
        assert "it broke" in str(turn.query_one(".error").render())
        assert turn.query(".stopped")
        assert "a note" in [n.message for n in app._notifications]
        assert "ctx 50/512" in str(app.query_one("#status").render())
        shown = plain(app.progress)  # the report panel: the plan, the section, the files
        assert "✓ 1. Prices" in shown and "Partial report in\n/tmp/r" in shown


async def test_a_key_set_in_the_settings_searches_at_once(tavily: TavilyServer) -> None:
    """No key: the status says so and the call is refused; a key saved in the settings is
    used by the next question, with no restart (the real Tavily client, a local server)."""
    engine = ScriptedEngine(
        ["<tool_call>", CALL % "gold price today", "</think>Gold [1].<|im_end|>"] * 2,
        reasoning=True,
    )
    app = QwqEdgeApp(Settings(tavily_url=tavily.url, sources="web"), engine_loader=lambda s: engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(app, pilot)
        assert "no search key" in str(app.query_one("#status").render())
        await ask(app, pilot, "Gold?")
        await wait_idle(app, pilot)
        assert tavily.queries == []  # refused: no key
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        app.screen.query_one("#tavily_api_key", Input).value = "tvly-FROM-SETTINGS"
        await pilot.click("#save")
        await pilot.pause(0.3)
        assert " web " in f" {app.query_one('#status').render()} "
        await ask(app, pilot, "Gold?")
        await wait_idle(app, pilot)
    assert tavily.queries == ["gold price today"]
    assert tavily.requests[0].get("api_key") == "tvly-FROM-SETTINGS" or any(
        "tvly-FROM-SETTINGS" in v for v in tavily.headers[0].values()
    )
