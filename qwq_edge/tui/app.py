"""The full-screen app: sessions sidebar, conversation, report panel, prompt, status bar, footer.

The model, the turns and the journal writer live in a worker process (``engine_link.py``,
``runtime/worker_process.py``): drawing never takes the GIL from llama.cpp, and a crash in
llama.cpp leaves the app, the transcript and the journal standing (Ctrl+R restarts it).
What the worker sends arrives as messages (``messages.py``); widgets are only touched on
the UI thread, and streamed text is drawn in batches.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from qwq_edge import events as ev
from qwq_edge.engine.base import ModelInfo
from qwq_edge.runtime import can_search_web, make_provider, open_journal
from qwq_edge.runtime.worker import ProviderFactory
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.text import printable
from qwq_edge.tui.engine_link import EngineLink, EngineLoader
from qwq_edge.tui.library import LibraryState, SeenHits, library_state, shown_mode
from qwq_edge.tui.messages import (
    FLUSH_SECONDS,
    AgentEvent,
    EngineDied,
    LibraryCounted,
    LoadProgress,
    ModelReady,
    OpenAsked,
    Told,
    TurnDone,
)
from qwq_edge.tui.report_actions import ReportActions
from qwq_edge.tui.screens.confirm_open import ConfirmOpen
from qwq_edge.tui.screens.settings import SettingsScreen, save
from qwq_edge.tui.screens.source import SourceScreen
from qwq_edge.tui.widgets import Conversation, PromptInput, SessionsSidebar, Status, StatusBar
from qwq_edge.tui.widgets.report_panel import REPORT_EVENTS, ReportPanel
from qwq_edge.tui.widgets.sources import SourcesView
from qwq_edge.tui.widgets.status import Meter
from qwq_edge.tui.widgets.welcome import Welcome


def layout(journal: Journal | None) -> ComposeResult:
    """The app's widgets: sidebar, conversation, prompt and status bar, footer (the UI bench
    composes the same)."""
    with Horizontal():
        yield SessionsSidebar(journal, id="sidebar")
        with Vertical(id="main"):
            yield ReportPanel(id="report-panel")  # docked at the right while a report runs
            yield Conversation(id="conversation")
            yield PromptInput(id="prompt", soft_wrap=True, show_line_numbers=False)
            yield StatusBar(id="status")
    yield Footer()


class QwqEdgeApp(ReportActions, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "qwq-edge"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Stop the answer, keep what was written"),
        # priority: the prompt's TextArea would otherwise take Ctrl+A / Ctrl+E (line start/end)
        Binding("ctrl+a", "answer_now", "Answer now", priority=True),
        Binding("ctrl+n", "new_session", "New"),
        Binding("ctrl+o", "toggle_offline", "Offline"),
        Binding("ctrl+t", "toggle_thinking", "Thinking"),
        Binding("ctrl+b", "toggle_sidebar", "Sessions"),
        Binding("ctrl+g", "research_report", "Report", show=False),
        Binding("ctrl+e", "export", "Export", priority=True),
        Binding("ctrl+s", "settings", "Settings"),
        Binding("ctrl+r", "restart_engine", "Restart engine", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        journal: Journal | None = None,
        engine_loader: EngineLoader | None = None,
        provider_factory: ProviderFactory | None = None,
    ) -> None:
        """``engine_loader``/``provider_factory``: a scripted engine or search (tests); the
        worker then runs on a thread of this process instead of its own process."""
        super().__init__()
        self.settings = settings
        self.journal = journal
        self.link = EngineLink(
            self, journal, engine_loader=engine_loader, provider_factory=provider_factory
        )
        self.provider_factory = provider_factory or make_provider
        self._reader: SearchProvider | None = None  # for showing sources; built when needed
        self.model: ModelInfo | None = None
        self.load_error: str | None = None
        self.running = False
        self.session_id: str | None = None
        self.turn_number = 0  # the turn on screen (what a crash closes in the journal)
        self.went_offline = False  # the session's web search found no network
        self._showing = asyncio.Lock()
        self.meter = Meter(ctx=(0, settings.n_ctx))
        self.seen = SeenHits()  # the results and pages on screen: what a source opens with
        self.library: LibraryState | None = None  # counted off the UI thread
        self.library_changed = False  # in the settings: the live session's archives follow
        self.theme = "textual-dark"
        self.init_reports()

    def compose(self) -> ComposeResult:
        yield from layout(self.journal)

    def on_mount(self) -> None:
        self.query_one(SessionsSidebar).show_sessions()
        # Runs only while text streams: at rest the app wakes for nothing.
        self.flusher = self.set_interval(
            FLUSH_SECONDS, self.query_one(Conversation).flush, pause=True
        )
        self.link.start()
        self.link.load(self.settings)
        self.update_status()
        self.count_library()
        self.query_one(PromptInput).focus()
        # Everything built so far lives as long as the app: out of the collector's sight, a
        # collection while text streams scans far less (measured: half the GC time).
        gc.freeze()

    def on_unmount(self) -> None:
        self.link.close()  # a running answer stops and is journaled; the worker exits

    def on_model_ready(self, message: ModelReady) -> None:
        if not self.link.loaded(message):
            return  # stale: the settings changed as it loaded, and a newer load runs
        self.model, self.load_error = message.info, message.error
        conv = self.query_one(Conversation)
        if self.model is None:
            if conv.turn is not None:  # else the welcome says it
                conv.show_load_error(message.error)
        elif self.model.fit:  # what the fit planner chose for this machine
            self.notify(self.model.fit, title=self.model.name, timeout=8)
        self.update_status()

    def on_load_progress(self, message: LoadProgress) -> None:
        if message.seq == self.link.seq and self.link.since is not None:
            self.link.fraction = message.fraction
            self.update_status()

    def on_open_asked(self, message: OpenAsked) -> None:
        """The model wants a URL nobody gave it: the user decides, the worker waits."""
        nonce = message.nonce
        self.push_screen(ConfirmOpen(message.url), lambda d: self.link.send("allow_open", nonce, d))

    def on_told(self, message: Told) -> None:
        self.notify(printable(message.text), title="Note", severity=message.severity, markup=False)

    async def on_engine_died(self, message: EngineDied) -> None:
        """The worker is gone: say how, keep everything on screen, offer a restart."""
        self.link.died(message.message)
        self.report_died()  # a report it was writing is written from the journal
        conv = self.query_one(Conversation)
        await conv.flush(final=True)
        if self.running and conv.turn is not None:
            await conv.turn.show_error(message.message)
        else:
            await conv.mount(Static(f"⚠ {message.message}", classes="error", markup=False))
        self.running = False
        self.notify(message.message, title="Engine stopped", severity="error", timeout=15)
        self.refresh_bindings()
        self.update_status()

    def action_restart_engine(self) -> None:
        """After a crash: a new worker loads the model and continues the session on screen
        from the journal, after journaling how the crashed turn ended."""
        why = self.link.dead
        if why is None:
            self.notify("The engine is running.", severity="information")
            return
        self.model = None
        self.link.start()
        self.link.load(self.settings)
        if self.session_id is not None and self.journal is not None:
            if self.turn_number:
                self.link.send("record_crash", self.session_id, self.turn_number, why)
            self.link.send("resume", self.session_id)
        self.refresh_bindings()
        self.update_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restart_engine":
            return self.link.dead is not None  # in the footer only when it is needed
        return True

    @on(PromptInput.Submitted)
    def submit(self, message: PromptInput.Submitted) -> None:
        if self.link.dead is not None:
            self.notify("The engine stopped: Ctrl+R restarts it.", severity="warning")
            return
        if self.running:
            self.notify("An answer is still running: Esc stops it.", severity="warning")
            return
        if self.model is None:
            self.notify(self.load_error or "The model is still loading…", severity="warning")
            return
        self.query_one(PromptInput).clear()
        if self.library_changed:  # in the settings; the live session's archives follow
            self.link.send("library_changed")
            self.library_changed = False
        self.running = True
        self.link.send("ask", message.text)
        self.update_status()

    async def on_turn_done(self, message: TurnDone) -> None:
        self.running = False
        if isinstance(self.screen, ConfirmOpen):  # the worker stopped waiting (cancel, time)
            self.screen.dismiss("deny")
        await self.query_one(Conversation).flush()
        self.flusher.pause()
        if message.note:
            self.notify(message.note, severity=message.severity)
        self.query_one(SessionsSidebar).show_sessions()
        self.update_status()
        self.count_library()  # the turn's web results were indexed into it

    async def on_agent_event(self, message: AgentEvent) -> None:
        await self.apply(message.event)
        if message.live and isinstance(message.event, (ev.ThinkingDelta, ev.AnswerDelta)):
            # The worker already paces its text (SEND_SECONDS): drawn as it arrives, one
            # layout per message. A replay's token-by-token events wait for the timer.
            await self.query_one(Conversation).flush()

    async def apply(self, event: ev.Event) -> None:
        """Show one event (live, replayed or loaded from the journal)."""
        conv = self.query_one(Conversation)
        turn = conv.turn
        self.track_report(event)  # the report panel, while a report is on screen
        if isinstance(event, REPORT_EVENTS):
            return  # the panel's alone: a section's text streams as its turn's
        match event:
            case ev.SessionStarted():
                self.session_id = event.session_id
            case ev.QuestionAsked():
                self.meter.gen = (0, 0.0)
                self.turn_number = event.turn
                await conv.start_turn(self.progress.question(event.question))
            case _ if turn is None:
                return  # nothing on screen to add it to
            case ev.ThinkingDelta() | ev.AnswerDelta():
                await turn.add_text(event)  # drawn by the next flush
                self.flusher.resume()
            case ev.AnswerRetracted():
                await turn.retract(event.chars)
            case ev.ToolCall():
                await conv.flush()
                await turn.add_card(event)
            case ev.ToolResult():
                self.seen.add(event)
                self.went_offline |= event.error_kind == "went_offline"
                turn.finish_card(event)
                if event.error is None:
                    self.meter.searches += 1  # shown with the next status update
            case ev.PageOpened():
                self.seen.add(event)  # a source's passages read: what the source shows
                turn.finish_open(event)
            case ev.Stats():
                self.meter.count(event)
                self.update_status()
            case ev.FinalAnswer():
                await turn.finish(event)
            case ev.Notice():
                self.notify(printable(event.message), title="Note", markup=False)
            case ev.ErrorEvent():
                await turn.show_error(event.message)
            case ev.Finished():
                if event.reason != "cancelled":
                    return
                await turn.show_stopped()
            case _:
                ev.assert_never(event)
        if not isinstance(event, (ev.ThinkingDelta, ev.AnswerDelta)):  # a flush draws those
            conv.follow()

    @property
    def provider(self) -> SearchProvider:
        """The searches as the settings make them, in this process: what a source on screen
        is read from (the session's own searches run in the worker)."""
        if self._reader is None:
            self._reader = self.provider_factory(self.settings)
        return self._reader

    def update_status(self) -> None:
        mode = shown_mode(self.settings, self.library, went_offline=self.went_offline)
        self.query_one(StatusBar).status = Status.of(
            self.meter, self.settings, model=self.model,
            running=self.running, state=self.link.state(self.model is not None),
            loading_since=self.link.since, mode=mode, library=self.library,
        )  # fmt: skip
        conv = self.query_one(Conversation)
        if conv.turn is None:  # an empty session: the welcome says the same, at length
            welcome = Welcome(
                mode, can_search_web(self.settings), self.model,
                loading=self.link.since is not None, load_error=self.load_error,
                library=self.library,
            )  # fmt: skip
            self.call_next(conv.show_welcome, welcome)

    def count_library(self) -> None:
        """Count the library's sources and passages off the UI thread, for the status bar."""
        count = partial(library_state, self.settings, None)
        post = self.post_message
        self.run_worker(lambda: post(LibraryCounted(count())), thread=True, group="library")

    def on_library_counted(self, message: LibraryCounted) -> None:
        self.library = message.state
        bar = self.query_one(StatusBar)
        if bar.status is not None:  # the rest as it was ("no model", a load's seconds)
            bar.status = replace(bar.status, library=message.state)

    def on_library_panel_changed(self) -> None:
        self.library_changed = True
        self.count_library()

    @on(SourcesView.Opened)
    def open_source(self, message: SourcesView.Opened) -> None:
        source = message.source
        seen, reads = self.seen.get(source), self.seen.read(source)
        self.push_screen(SourceScreen(source, seen, self.provider, reads))

    def action_focus_sources(self) -> None:
        panels = self.query(SourcesView)
        if not panels:
            self.notify("No sources on screen yet.", severity="warning")
            return
        panels.last().focus()
        panels.last().scroll_visible()

    def action_cancel(self) -> None:
        if self.running:
            self.link.send("cancel")

    def action_answer_now(self) -> None:
        if self.running:
            self.link.send("answer_now")
            self.notify("No more searches: the model will answer now.")

    def action_toggle_offline(self) -> None:
        offline = not self.settings.offline
        self.settings = self.settings.replace(offline=offline)
        self.went_offline = False
        self.link.send("set_offline", offline)  # the session on screen follows at once
        self.notify("Offline: searches come from the cache only." if offline else "Online.")
        self.update_status()

    def action_toggle_thinking(self) -> None:
        self.query_one(Conversation).toggle_class("hide-thinking")

    def action_toggle_sidebar(self) -> None:
        self.query_one(SessionsSidebar).toggle()

    def on_resize(self) -> None:
        self.query_one(SessionsSidebar).fit(self.size.width)

    def action_settings(self) -> None:
        self.push_screen(SettingsScreen(self.settings), self.apply_settings)

    def apply_settings(self, result: dict[str, Any] | None) -> None:
        if not result:
            return
        self.settings, path, reload = save(result, self.settings)
        self.notify(f"Saved to {path}")
        self._reader = None
        self.link.send("use_settings", self.settings)  # the next question uses them
        if reload or self.model is None:
            self.model = None
            self.link.load(self.settings)
        self.update_status()
        self.count_library()  # the sources setting may have changed


def run(settings: Settings) -> None:
    app = QwqEdgeApp(settings, journal=(journal := open_journal()))
    if journal.notice:
        app.call_later(app.notify, journal.notice, severity="warning")
    app.run()
