"""The full-screen app: sessions sidebar, conversation, prompt, status bar, footer.

Blocking work (loading the model, a turn, a re-run) runs on the engine thread and reaches
the app as messages (``messages.py``); widgets are only touched on the UI thread, and
streamed text is drawn in batches, so rendering never throttles decoding.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from qwq_edge import events as ev
from qwq_edge.agent import Agent, Controls
from qwq_edge.engine.base import Engine
from qwq_edge.engine.thread import EngineThread
from qwq_edge.runtime import load_engine, make_provider, open_journal, submit_turn, web_part
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.store.snapshots import Snapshots
from qwq_edge.text import printable
from qwq_edge.tui import sessions
from qwq_edge.tui.commands import PALETTE
from qwq_edge.tui.library import LibraryState, SeenHits, library_state, refresh_archives
from qwq_edge.tui.loading import EngineLoader, ModelLoader
from qwq_edge.tui.messages import (
    FLUSH_SECONDS,
    AgentEvent,
    LibraryCounted,
    ModelReady,
    Poster,
    TurnDone,
)
from qwq_edge.tui.screens.settings import SettingsScreen, save
from qwq_edge.tui.screens.source import SourceScreen
from qwq_edge.tui.widgets import Conversation, PromptInput, SessionsSidebar, Status, StatusBar
from qwq_edge.tui.widgets.sources import SourcesView
from qwq_edge.tui.widgets.status import Meter


class QwqEdgeApp(App[None]):
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
        Binding("ctrl+e", "export", "Export", priority=True),
        Binding("ctrl+s", "settings", "Settings"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        journal: Journal | None = None,
        engine_loader: EngineLoader | None = None,
        provider_factory: sessions.ProviderFactory | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.journal = journal
        self.provider_factory = provider_factory or make_provider
        self.runner = EngineThread()
        self.models = ModelLoader(self.runner, engine_loader or load_engine, self)
        self.engine: Engine | None = None
        self.load_error: str | None = None
        self.agent: Agent | None = None  # None: the next question builds one
        self.recorder: Recorder | None = None
        self.snapshots: Snapshots | None = None  # KV saved after each turn, for continuing
        self.controls: Controls | None = None
        self.running = False
        self.session_id: str | None = None
        self._resume = sessions.Resume()  # the journaled session a follow-up continues
        self._showing = asyncio.Lock()
        self.meter = Meter(ctx=(0, settings.n_ctx))
        self.seen = SeenHits()  # the search results on screen: what a source opens with
        self.library: LibraryState | None = None  # counted off the UI thread
        self.library_changed = False  # in the settings: the live session's archives follow
        self.theme = "textual-dark"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield SessionsSidebar(self.journal, id="sidebar")
            with Vertical(id="main"):
                yield Conversation(id="conversation")
                yield PromptInput(id="prompt", soft_wrap=True, show_line_numbers=False)
                yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(SessionsSidebar).show_sessions()
        self.set_interval(FLUSH_SECONDS, self.query_one(Conversation).flush)
        self.models.load(self.settings)
        self.update_status()
        self.count_library()
        self.query_one(PromptInput).focus()

    def on_unmount(self) -> None:
        if self.controls is not None:
            self.controls.cancel()  # a running answer stops between tokens
        self.runner.shutdown()

    def on_model_ready(self, message: ModelReady) -> None:
        state = ""
        if self.models.done(message):  # else stale: the settings changed as it loaded
            self.engine, self.load_error = message.engine, message.error
            if self.engine is None:
                self.query_one(Conversation).show_load_error(message.error)
                state = "no model"
            elif self.engine.info.fit:  # what the fit planner chose for this machine
                self.notify(self.engine.info.fit, title=self.engine.info.name, timeout=8)
        self.update_status(state)

    @on(PromptInput.Submitted)
    def submit(self, message: PromptInput.Submitted) -> None:
        if self.running:
            self.notify("An answer is still running: Esc stops it.", severity="warning")
            return
        if self.engine is None:
            self.notify(self.load_error or "The model is still loading…", severity="warning")
            return
        self.query_one(PromptInput).clear()
        if self.agent is None:
            self.agent, self.recorder, self.snapshots = sessions.start_agent(
                self.settings, self.engine, self.provider_factory, self.journal, self._resume,
                lambda note: self.notify(note, title="Note", severity="warning"),
            )  # fmt: skip
            self.meter.searches = 0
        elif self.library_changed:  # in the settings; now no search is running
            for note in refresh_archives(self.agent.provider):
                self.notify(note, title="Note", severity="warning")
        self.library_changed = False
        self.controls = Controls()
        self.running = True
        poster = Poster(self)
        submit_turn(
            self.runner, self.agent, message.text, poster,
            controls=self.controls, recorder=self.recorder, snapshots=self.snapshots,
        ).add_done_callback(lambda _: poster.close())  # fmt: skip

    async def on_turn_done(self, message: TurnDone) -> None:
        self.running = False
        await self.query_one(Conversation).flush()
        if message.note:
            self.notify(message.note, severity=message.severity)
        self.query_one(SessionsSidebar).show_sessions()
        self.update_status()
        self.count_library()  # the turn's web results were indexed into it

    async def on_agent_event(self, message: AgentEvent) -> None:
        await self.apply(message.event)

    async def apply(self, event: ev.Event) -> None:
        """Show one event (live, replayed or loaded from the journal)."""
        conv = self.query_one(Conversation)
        turn = conv.turn
        match event:
            case ev.SessionStarted():
                self.session_id = event.session_id
            case ev.QuestionAsked():
                self.meter.gen = (0, 0.0)
                await conv.start_turn(event.question)
            case _ if turn is None:
                return  # nothing on screen to add it to
            case ev.ThinkingDelta() | ev.AnswerDelta():
                await turn.add_text(event)  # drawn by the next flush
            case ev.AnswerRetracted():
                await turn.retract(event.chars)
            case ev.ToolCall():
                await conv.flush()
                await turn.add_card(event)
            case ev.ToolResult():
                self.seen.add(event)
                turn.finish_card(event)
                if event.error is None:
                    self.meter.searches += 1  # shown with the next status update
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
        conv.scroll_end(animate=False)

    @property
    def provider(self) -> SearchProvider | None:
        """Where the session on screen searches (None: no session yet)."""
        return self.agent.provider if self.agent is not None else None

    def update_status(self, state: str = "") -> None:
        self.query_one(StatusBar).status = Status.of(
            self.meter, self.settings, model=self.engine.info if self.engine is not None else None,
            running=self.running, state=state, loading_since=self.models.since,
            provider=self.provider, library=self.library,
        )  # fmt: skip

    def count_library(self) -> None:
        """Count the library's sources and passages off the UI thread, for the status bar."""
        count = partial(library_state, self.settings, self.provider)
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
        self.push_screen(SourceScreen(source, self.seen.get(source), self.provider))

    def action_focus_sources(self) -> None:
        panels = self.query(SourcesView)
        if not panels:
            self.notify("No sources on screen yet.", severity="warning")
            return
        panels.last().focus()
        panels.last().scroll_visible()

    @on(SessionsSidebar.Opened)
    async def open_session(self, message: SessionsSidebar.Opened) -> None:
        if self.journal is not None and not self.running:
            await self.show_session(message.session_id)

    async def show_session(self, session_id: str) -> None:
        """Show a journaled session in full, one at a time; a follow-up continues it."""
        assert self.journal is not None
        async with self._showing:
            await self.clear_conversation()
            self._resume = await sessions.show(self.journal, session_id, self.apply)
            await self.query_one(Conversation).flush(final=True)
        self.session_id = session_id

    async def clear_conversation(self) -> None:
        await self.query_one(Conversation).clear()
        self.agent, self.recorder = None, None
        self.meter.searches = 0
        self.seen.clear()
        self._resume = sessions.Resume()

    def action_cancel(self) -> None:
        if self.running and self.controls is not None:
            self.controls.cancel()

    def action_answer_now(self) -> None:
        if self.running and self.controls is not None:
            self.controls.answer_now()
            self.notify("No more searches: the model will answer now.")

    async def action_new_session(self) -> None:
        if self.running and self.controls is not None:
            self.controls.cancel()
            self.notify("Stopping the answer; press Ctrl+N again for a new session.")
            return
        await self.clear_conversation()
        self.session_id = None
        self.update_status()

    def action_toggle_offline(self) -> None:
        offline = not self.settings.offline
        self.settings = self.settings.replace(offline=offline)
        web = web_part(self.provider)
        if web is not None:  # the session on screen follows at once
            web.mode = "offline" if offline else "online"
        self.notify("Offline: searches come from the cache only." if offline else "Online.")
        self.update_status()

    def action_toggle_thinking(self) -> None:
        self.query_one(Conversation).toggle_class("hide-thinking")

    def action_toggle_sidebar(self) -> None:
        self.query_one(SessionsSidebar).toggle()

    def on_resize(self) -> None:
        self.query_one(SessionsSidebar).fit(self.size.width)

    def action_export(self) -> None:
        if self.journal is None or self.session_id is None:
            self.notify("Nothing to export yet.", severity="warning")
            return
        self.notify(f"Exported to {sessions.export_markdown(self.journal, self.session_id)}")

    def action_settings(self) -> None:
        self.push_screen(SettingsScreen(self.settings), self.apply_settings)

    def apply_settings(self, result: dict[str, Any] | None) -> None:
        if not result:
            return
        self.settings, path, reload = save(result, self.settings)
        self.notify(f"Saved to {path}")
        self.agent = None
        if reload or self.engine is None:
            self.engine = None
            self.models.load(self.settings)
        self.update_status()
        self.count_library()  # the sources setting may have changed

    async def action_replay(self) -> None:
        """Play the session on screen back at its recorded pace."""
        if self.session_id is None or self.journal is None or self.running:
            self.notify("Select a session in the sidebar first.", severity="warning")
            return
        play = partial(sessions.replay, self.journal, self.session_id, self)
        await self.clear_conversation()
        self.run_worker(play, thread=True, exclusive=True, group="turn")

    async def action_rerun(self) -> None:
        """Run the model again on the session on screen, searches from disk."""
        if self.session_id is None or self.journal is None or self.running or self.engine is None:
            self.notify("Select a session (and wait for the model) first.", severity="warning")
            return
        events = list(self.journal.events(self.session_id))
        await self.clear_conversation()
        self.running = True
        self.update_status()
        self.runner.submit(sessions.rerun_offline, events, self.engine, self)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in PALETTE:
            yield SystemCommand(title, help_text, partial(self.run_action, action))


def run(settings: Settings) -> None:
    app = QwqEdgeApp(settings, journal=(journal := open_journal()))
    if journal.notice:
        app.call_later(app.notify, journal.notice, severity="warning")
    app.run()
