"""Research reports in the app, on a scripted engine: the key, the topic, the plan screen
(edited, approved, rejected, an outline it cannot read), the sections followed in the report
panel, Esc leaving a partial report that "Continue report" finishes, the report written from
the journal when the engine process dies, and the plan crossing the worker's pipe."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static, TextArea

from qwq_edge.agent.state import Controls
from qwq_edge.events import (
    Event,
    PlanSection,
    ReportPlanned,
    SectionStarted,
)
from qwq_edge.research.run import ReportOptions
from qwq_edge.runtime import research as rt
from qwq_edge.runtime.worker_process import decode, encode
from qwq_edge.runtime.worker_research import PlanProposed
from qwq_edge.settings import Sampling, Settings
from qwq_edge.store.journal import Journal
from qwq_edge.tui.app import QwqEdgeApp
from qwq_edge.tui.messages import EngineDied
from qwq_edge.tui.screens.plan import PlanScreen
from qwq_edge.tui.screens.report_topic import ReportTopic
from qwq_edge.tui.widgets import PromptInput, TurnView
from qwq_edge.tui.widgets.report_panel import ReportPanel, plain
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine
from tests.support.tavily_server import TavilyServer

CALL = '{"action": "web_search", "action_input": {"query": "%s"}}'
PLAN = json.dumps(
    {
        "title": "Gold in 2026",
        "sections": [
            {"title": "Prices", "goal": "Where the price stands.", "questions": ["Price?"]},
            {"title": "Demand", "goal": "Who buys gold.", "questions": ["Buyers?"]},
            {"title": "Outlook", "goal": "What comes next.", "questions": ["Next?"]},
        ],
    }
)
SUPPORTED = '{"verdict": "supported", "passage": 1}'
UNSUPPORTED = '{"verdict": "unsupported", "passage": 0}'
SIZE = (130, 40)


def section(query: str, text: str) -> list[str]:
    return ["<tool_call>", CALL % query, text + "<|im_end|>"]


def report_app(
    script: list[str], journal: Journal | None
) -> tuple[QwqEdgeApp, ScriptedEngine, FakeSearch]:
    """The app on a scripted model that does not think, a fake search, default settings."""
    engine, search = ScriptedEngine(script), FakeSearch()
    app = QwqEdgeApp(
        Settings(), journal=journal, engine_loader=lambda s: engine,
        provider_factory=lambda s: search,
    )  # fmt: skip
    return app, engine, search


async def until(pilot: Pilot[Any], done: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        await pilot.pause(0.05)
    assert done(), "timed out"
    await pilot.pause(0.1)


async def plan_screen(app: QwqEdgeApp, pilot: Pilot[Any], topic: str = "gold") -> PlanScreen:
    """Ctrl+G, the topic, Enter: until the plan is on screen."""
    await until(pilot, lambda: app.model is not None)
    await pilot.press("ctrl+g")
    await until(pilot, lambda: isinstance(app.screen, ReportTopic))
    await pilot.press(*topic, "enter")
    await until(pilot, lambda: isinstance(app.screen, PlanScreen))
    assert isinstance(app.screen, PlanScreen)
    return app.screen


def without_demand(screen: PlanScreen) -> None:
    """Delete the second section from the outline, as a person editing it would."""
    area = screen.query_one("#plan-text", TextArea)
    text = area.text
    area.text = text[: text.index("## Demand")] + text[text.index("## Outlook") :]


def report_md(app: QwqEdgeApp) -> str:
    assert app.session_id is not None
    return (rt.reports_dir() / app.session_id / "report.md").read_text()


def states(app: QwqEdgeApp) -> list[tuple[str, str]]:
    return [(row.title, row.state) for row in app.progress.rows]


async def test_a_report_from_the_key_to_its_files_with_an_edited_plan(tmp_path: Path) -> None:
    script = [
        PLAN,
        *section("gold price", "Gold costs 10 [1]. It rose [2]."),
        SUPPORTED,
        UNSUPPORTED,
        *section("gold outlook", "It may rise [3]."),
        SUPPORTED,
    ]
    journal = Journal(tmp_path / "j.sqlite3")
    app, engine, search = report_app(script, journal)
    async with app.run_test(size=SIZE) as pilot:
        screen = await plan_screen(app, pilot, "gold")
        panel = app.query_one(ReportPanel)
        assert panel.display and states(app) == [
            ("Prices", "waiting"), ("Demand", "waiting"), ("Outlook", "waiting"),
        ]  # fmt: skip
        assert engine.grammars[0] is not None  # the plan was written under its grammar
        without_demand(screen)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not app.running)
        assert not isinstance(app.screen, PlanScreen)
        assert search.queries == ["gold price", "gold outlook"]
        assert states(app) == [("Prices", "done"), ("Outlook", "done")]
        shown = plain(app.progress)
        assert "2 ✓ · 1 ✗" in shown.split("Claims:")[1]  # the report's verdicts
        assert f"Report in\n{rt.reports_dir() / str(app.session_id)}" in shown
        # The conversation: the plan's turn, then each section's, under its title.
        questions = [t.question for t in app.query(TurnView)]
        assert questions == ["gold", "Section 1: Prices", "Section 2: Outlook"]
        assert any("The report is in" in n.message for n in app._notifications)
    md = report_md(app)
    assert md.startswith("# Gold in 2026")
    assert "## Prices" in md and "## Outlook" in md and "## Demand" not in md
    assert "Partial" not in md
    assert app.session_id is not None
    plans = [e for e in journal.events(app.session_id) if isinstance(e, ReportPlanned)]
    assert [p.status for p in plans] == ["proposed", "edited"]
    assert journal.session(app.session_id).kind == "report"


async def test_esc_in_section_two_leaves_a_partial_report_that_continue_finishes(
    tmp_path: Path,
) -> None:
    script = [PLAN, *section("gold price", "Gold costs 10 [1]."), SUPPORTED,
              *section("gold outlook", "It may rise " + "and rise " * 300 + "[3].")]  # fmt: skip
    journal = Journal(tmp_path / "j.sqlite3")
    app, engine, _ = report_app(script, journal)
    async with app.run_test(size=SIZE) as pilot:
        screen = await plan_screen(app, pilot)
        without_demand(screen)
        engine.on_token = lambda i: time.sleep(0.005)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.progress.current == 2)
        await pilot.press("escape")
        await until(pilot, lambda: not app.running)
        assert states(app) == [("Prices", "done"), ("Outlook", "missing")]
        assert "Partial report in" in plain(app.progress)
        md = report_md(app)
        assert "**Partial report.**" in md and "## Prices" in md and "## Outlook" not in md

        # Continue report (the palette's): section 2 only, and the report written whole.
        engine.on_token = None
        engine.script = [*section("gold outlook", "It may rise [3]."), SUPPORTED]
        app.action_continue_report()
        await until(pilot, lambda: not app.running)
        assert states(app) == [("Prices", "done"), ("Outlook", "done")]
        assert "Partial" not in plain(app.progress)
    md = report_md(app)
    assert "Partial" not in md and "## Prices" in md and "## Outlook" in md


async def test_a_rejected_plan_researches_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    app, engine, search = report_app([PLAN], journal)
    async with app.run_test(size=SIZE) as pilot:
        await plan_screen(app, pilot)
        await pilot.press("escape")
        await until(pilot, lambda: not app.running)
        assert search.queries == [] and len(engine.contexts) == 1
        assert "plan rejected" in plain(app.progress)
        assert any("rejected" in n.message for n in app._notifications)
    assert app.session_id is not None
    plans = [e for e in journal.events(app.session_id) if isinstance(e, ReportPlanned)]
    assert [p.status for p in plans] == ["proposed", "rejected"]


async def test_the_topic_comes_from_the_prompt_and_is_required() -> None:
    app, _, _ = report_app([PLAN], None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model is not None)
        app.query_one(PromptInput).text = "the price of gold"
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, ReportTopic))
        assert app.screen.query_one("#topic").value == "the price of gold"  # type: ignore[attr-defined]
        app.screen.query_one("#topic").value = " "  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause(0.1)
        error = str(app.screen.query_one("#report-topic-error", Static).render())
        assert error == "⚠ Say what the report is about." and not app.running
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ReportTopic) and not app.running


class Host(App[None]):
    """The plan screen alone, over an app that records what it dismissed with."""

    def __init__(self, plan: ReportPlanned) -> None:
        super().__init__()
        self.plan = plan
        self.results: list[ReportPlanned | None] = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(PlanScreen(self.plan), self.results.append)


def a_plan() -> ReportPlanned:
    sections = (
        PlanSection("Prices", "Where the price stands.", ("Price?",)),
        PlanSection("Demand", "Who buys gold.", ("Buyers?", "Why?")),
    )
    return ReportPlanned("Gold in 2026", sections, "proposed", "gold")


async def test_an_outline_with_no_section_is_one_sentence_and_the_plan_stays() -> None:
    app = Host(a_plan())
    async with app.run_test() as pilot:
        app.screen.query_one("#plan-text", TextArea).text = "# Gold\n\nJust a title.\n"
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        error = str(app.screen.query_one("#plan-error", Static).render())
        assert error == "⚠ the edited plan has no section; write each one as a line '## Title'"
        assert isinstance(app.screen, PlanScreen) and app.results == []
        await pilot.click("#approve")  # the same outline: the same sentence
        await pilot.pause(0.1)
        assert isinstance(app.screen, PlanScreen)
        await pilot.click("#reject")
        await pilot.pause(0.1)
    assert app.results == [None]


async def test_approved_unchanged_the_plan_comes_back_whole() -> None:
    plan = a_plan()
    app = Host(plan)
    async with app.run_test() as pilot:
        await pilot.click("#approve")
        await pilot.pause(0.1)
    (got,) = app.results
    assert got is not None and got.sections == plan.sections and got.title == plan.title


def test_the_plan_crosses_the_worker_pipe() -> None:
    item = PlanProposed(a_plan())
    assert decode(encode(item)) == item


async def test_a_report_is_written_from_the_journal_when_the_engine_dies(tmp_path: Path) -> None:
    """The worker died in section 2 (no ReportWritten journaled): the app writes the report
    from the journal, and says where."""
    journal = Journal(tmp_path / "j.sqlite3")
    engine = ScriptedEngine([PLAN, *section("gold price", "Gold costs 10 [1]."), SUPPORTED])
    session = rt.start(Settings(), engine, journal, ReportOptions(sections=3), FakeSearch())
    r = session.research

    def died_in_two(controls: Controls) -> Iterator[Event]:
        for event in r.write(controls):
            yield event
            if isinstance(event, SectionStarted) and event.index == 2:
                return  # as far as the dead worker got: nothing more is journaled

    rt.run_phase(session, lambda c: r.propose("gold", c), lambda e: None, Controls())
    rt.run_phase(session, lambda c: r.decide(r.plan), lambda e: None, Controls())
    rt.run_phase(session, died_in_two, lambda e: None, Controls())
    sid = session.session_id

    app, _, _ = report_app(["ok<|im_end|>"], journal)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model is not None)
        await app.show_session(sid)
        app.running = True  # the report was running when its worker died
        app.post_message(EngineDied("The engine process was killed; press Ctrl+R to restart it."))
        await until(pilot, lambda: app.link.dead is not None)
        folder = rt.reports_dir() / sid
        said = f"The report so far is in {folder / 'report.md'}; Continue report finishes it."
        assert said in [n.message for n in app._notifications]
    md = (folder / "report.md").read_text()
    assert "**Partial report.**" in md and "## Prices" in md and "## Demand" not in md


def test_plan_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _, _ = report_app([PLAN], None)

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        app.query_one(PromptInput).cursor_blink = False
        screen = await plan_screen(app, pilot)
        screen.query_one(TextArea).cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(110, 36), run_before=run)


async def test_a_report_across_the_process_boundary_cancelled_in_its_section(
    qwen_path: Path, tavily: TavilyServer, tmp_path: Path
) -> None:
    """The real worker process and model: the plan comes back through the pipe, the
    approved plan goes down it, Esc stops the section, and the report is still written."""
    journal = Journal(tmp_path / "j.sqlite3")
    settings = Settings(
        model=str(qwen_path), n_ctx=4096, sampling=Sampling(seed=0), tavily_api_key="tvly-test",
        tavily_url=tavily.url, max_tokens=300,
    )  # fmt: skip
    app = QwqEdgeApp(settings, journal=journal)
    assert not app.link.in_process
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model is not None, 120)
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, ReportTopic))
        app.screen.query_one("#sections").value = "1"  # type: ignore[attr-defined]
        app.screen.query_one("#topic").value = "the history of tea"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), 180)
        assert len(app.progress.rows) == 1
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.progress.current == 1, 60)
        await pilot.press("escape")
        await until(pilot, lambda: not app.running, 60)
        assert app.progress.partial and app.progress.rows[0].state == "missing"
    assert app.session_id is not None
    assert "**Partial report.**" in report_md(app)
    plans = [e for e in journal.events(app.session_id) if isinstance(e, ReportPlanned)]
    assert [p.status for p in plans] == ["proposed", "approved"]
