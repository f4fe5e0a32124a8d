"""The app's research reports: start one (a topic, then the plan to approve, edit or reject),
follow it in the report panel, continue one that stopped, and write one from the journal
when the engine process died in the middle of it (a report always arrives). Also the
command palette's entries, reports' among them (``commands.py``).

A mixin of ``QwqEdgeApp`` (over ``SessionActions``): the app's state it uses is declared
below for the type checker. The worker runs the phases (``runtime/worker_research.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.screen import Screen

from qwq_edge.events import Event
from qwq_edge.runtime.research import reports_dir, rewrite
from qwq_edge.settings import Settings
from qwq_edge.store.journal import JournalError
from qwq_edge.tui.commands import PALETTE
from qwq_edge.tui.messages import PlanReady
from qwq_edge.tui.screens.plan import PlanScreen
from qwq_edge.tui.screens.report_topic import ReportRequest, ReportTopic
from qwq_edge.tui.session_actions import SessionActions
from qwq_edge.tui.widgets import PromptInput
from qwq_edge.tui.widgets.report_panel import ReportPanel, ReportProgress


class ReportActions(SessionActions):
    progress: ReportProgress

    if TYPE_CHECKING:
        settings: Settings
        load_error: str | None

    def init_reports(self) -> None:
        self.progress = ReportProgress()

    # -- starting one ------------------------------------------------------------------

    def ready_for_report(self) -> bool:
        """Whether a report can start now; if not, the user is told why."""
        if self.link.dead is not None:
            self.notify("The engine stopped: Ctrl+R restarts it.", severity="warning")
        elif self.running:
            self.notify("An answer is still running: Esc stops it.", severity="warning")
        elif self.model is None:
            self.notify(self.load_error or "The model is still loading…", severity="warning")
        else:
            return True
        return False

    def action_research_report(self) -> None:
        """Ask for the topic (the prompt's text, if any, as a start), then plan the report."""
        if self.ready_for_report():
            topic = " ".join(self.query_one(PromptInput).text.split())
            self.push_screen(ReportTopic(topic), self.start_report)

    async def start_report(self, request: ReportRequest | None) -> None:
        if request is None or not self.ready_for_report():
            return
        self.query_one(PromptInput).clear()
        await self.clear_conversation()  # a report is a session of its own
        self.session_id = None
        self.running = True
        self.link.send("research", request.topic, request.sections, request.fix)
        self.update_status()

    # Named, not @on: the decorator's table is only built for Textual classes, not mixins.
    def on_plan_ready(self, message: PlanReady) -> None:
        """The plan is written: the user decides, the worker waits for the answer."""
        self.push_screen(PlanScreen(message.plan), partial(self.link.send, "research_decide"))

    def action_continue_report(self) -> None:
        """Research what the report on screen is missing and write it again."""
        session_id = self.session_id
        if self.journal is None or session_id is None or not self.is_report(session_id):
            self.notify("Open a report in the sidebar first.", severity="warning")
            return
        if self.ready_for_report():
            self.running = True
            self.link.send("research_continue", session_id)
            self.update_status()

    def is_report(self, session_id: str) -> bool:
        assert self.journal is not None
        try:
            return self.journal.session(session_id).kind == "report"
        except JournalError:
            return False

    # -- following one -----------------------------------------------------------------

    def track_report(self, event: Event) -> None:
        """The report panel follows ``event`` (it shows only while a report is on screen)."""
        if self.progress.apply(event):
            self.query_one(ReportPanel).show(self.progress)

    async def clear_conversation(self) -> None:
        await super().clear_conversation()
        self.progress.reset()
        self.query_one(ReportPanel).show(self.progress)

    def report_died(self) -> None:
        """The engine process died: a report it was writing is written from the journal,
        and the user told where, in one sentence."""
        if isinstance(self.screen, PlanScreen):  # nobody waits for the answer now
            self.screen.dismiss(None)
        session_id, progress = self.session_id, self.progress
        if not self.running or progress.status not in ("approved", "edited") or progress.folder:
            return
        if self.journal is None or session_id is None or not self.is_report(session_id):
            return
        folder = reports_dir() / session_id
        try:
            rewrite(self.journal, session_id, folder)
        except (OSError, JournalError) as exc:
            self.notify(f"The report could not be written to {folder}: {exc}", severity="error")
            return
        self.notify(
            f"The report so far is in {folder / 'report.md'}; Continue report finishes it.",
            title="Report written", severity="warning", timeout=15,
        )  # fmt: skip

    # -- the command palette -----------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in PALETTE:
            yield SystemCommand(title, help_text, partial(self.run_action, action))
