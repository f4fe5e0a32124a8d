"""The full-screen app: sessions sidebar, conversation, prompt, status bar, footer.

Blocking work (loading the model, a turn, an offline re-run) runs on the engine thread and
reaches the app as messages (``messages.py``); the widgets (``widgets/``) are only touched
here, on the UI thread, and streamed text is drawn in batches, so rendering never throttles
decoding.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from qwq_edge import events as ev
from qwq_edge.agent import Agent, Controls
from qwq_edge.engine.base import Engine
from qwq_edge.engine.thread import EngineThread
from qwq_edge.paths import paths
from qwq_edge.runtime import load_engine, make_provider, submit_turn
from qwq_edge.search.base import SearchProvider
from qwq_edge.search.cache import CachedProvider
from qwq_edge.settings import Settings, save_file
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.tui import sessions
from qwq_edge.tui.commands import PALETTE
from qwq_edge.tui.messages import (
    FLUSH_SECONDS,
    AgentEvent,
    EngineLoader,
    ModelReady,
    Poster,
    TurnDone,
    coalesce,
)
from qwq_edge.tui.screens.settings import SettingsScreen
from qwq_edge.tui.widgets import Conversation, PromptInput, SessionsSidebar, Status, StatusBar
from qwq_edge.tui.widgets.status import Meter

ProviderFactory = Callable[[Settings], SearchProvider]


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
        provider_factory: ProviderFactory | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.journal = journal
        self.engine_loader: EngineLoader = engine_loader or load_engine
        self.provider_factory: ProviderFactory = provider_factory or make_provider
        self.engine: Engine | None = None
        self.runner = EngineThread()
        self.agent: Agent | None = None  # None: the next question builds one
        self.recorder: Recorder | None = None
        self.controls: Controls | None = None
        self.running = False
        self.load_error: str | None = None
        self.session_id: str | None = None
        self._resume = sessions.Resume()  # the journaled session a follow-up continues
        self.meter = Meter(ctx=(0, settings.n_ctx))
        self._sidebar_chosen = False  # the user toggled it: the width no longer decides
        self._load_started: float | None = None
        self._reload_after = False
        self.theme = "textual-dark"

    @property
    def _gen(self) -> tuple[int, float]:
        """Tokens decoded and seconds in this turn (the bench reads it)."""
        return self.meter.gen

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield SessionsSidebar(id="sidebar")
            with Vertical(id="main"):
                yield Conversation(id="conversation")
                yield PromptInput(id="prompt", soft_wrap=True, show_line_numbers=False)
                yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_sessions()
        self.set_interval(FLUSH_SECONDS, self.query_one(Conversation).flush)
        self.set_interval(0.5, self._loading_tick)
        self.load_model()
        self.query_one(PromptInput).focus()

    def on_unmount(self) -> None:
        if self.controls is not None:
            self.controls.cancel()  # a running answer stops between tokens
        self.runner.shutdown()

    # -- model -----------------------------------------------------------------------

    def _loading_tick(self) -> None:
        if self._load_started is not None:
            self.update_status(f"loading model… {time.monotonic() - self._load_started:.0f}s")

    def load_model(self) -> None:
        if self._load_started is not None:
            self._reload_after = True  # one model in memory at a time: load again when done
            return
        self._load_started = time.monotonic()
        loader, settings = self.engine_loader, self.settings
        self.runner.submit(lambda: self.post_message(ModelReady.load(loader, settings)))

    def on_model_ready(self, message: ModelReady) -> None:
        self._load_started = None
        if self._reload_after:  # settings changed while loading: that model is stale
            self._reload_after = False
            close = getattr(message.engine, "close", None)
            if close is not None:
                self.runner.submit(close)
            self.load_model()
            return
        if message.engine is None:
            self.load_error = message.error
            error = f"The model could not be loaded: {message.error}"
            self.query_one(Conversation).show_load_error(error, "Fix it in Settings (Ctrl+S).")
            self.update_status("no model")
            return
        self.engine = message.engine
        self.load_error = None
        self.update_status()
        if self.engine.info.fit:  # what the fit planner chose for this machine
            self.notify(self.engine.info.fit, title=self.engine.info.name, timeout=8)

    # -- a turn ----------------------------------------------------------------------

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
            provider = self.provider_factory(self.settings)
            self.agent, self.recorder = sessions.start_agent(
                self.settings, self.engine, provider, self.journal, self._resume
            )
            self.meter.searches = 0
        self.controls = Controls()
        self.running = True
        poster = Poster(self)
        future = submit_turn(
            self.runner, self.agent, message.text, poster,
            controls=self.controls, recorder=self.recorder,
        )  # fmt: skip
        future.add_done_callback(lambda _: poster.close())

    async def on_turn_done(self, _: TurnDone) -> None:
        self.running = False
        await self.query_one(Conversation).flush()
        self.refresh_sessions()
        self.update_status()

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
            case ev.ThinkingDelta():
                await turn.add_thinking(event.text)  # drawn by the next flush
            case ev.AnswerDelta():
                await turn.add_answer(event.text)
            case ev.ToolCall():
                await conv.flush()
                await turn.add_card(event)
            case ev.ToolResult():
                turn.finish_card(event)
                if event.error is None:
                    self.meter.searches += 1  # shown with the next status update
            case ev.Stats():
                self.meter.count(event)
                self.update_status()
            case ev.FinalAnswer():
                await turn.finish(event)
            case ev.Notice():
                self.notify(event.message, title="Note", severity="information")
            case ev.ErrorEvent():
                await turn.show_error(event.message)
            case ev.Finished():
                if event.reason != "cancelled":
                    return
                await turn.show_stopped()
            case _:
                ev.assert_never(event)
        conv.scroll_end(animate=False)

    def update_status(self, state: str = "") -> None:
        info = self.engine.info if self.engine is not None else None
        status = Status.of(self.meter, self.settings, info, self.running, state)
        self.query_one(StatusBar).status = status

    # -- sessions --------------------------------------------------------------------

    def refresh_sessions(self, search: str = "") -> None:
        rows = self.journal.sessions(limit=200, search=search) if self.journal else []
        self.query_one(SessionsSidebar).rows = tuple(rows)

    @on(SessionsSidebar.Searched)
    def search_sessions(self, message: SessionsSidebar.Searched) -> None:
        self.refresh_sessions(message.text)

    @on(SessionsSidebar.Opened)
    async def open_session(self, message: SessionsSidebar.Opened) -> None:
        if self.journal is not None and not self.running:
            await self.show_session(message.session_id)

    async def show_session(self, session_id: str) -> None:
        """Show a journaled session in full, instantly; a follow-up continues it."""
        assert self.journal is not None
        await self.clear_conversation()
        events = list(self.journal.events(session_id))
        for e in coalesce(events):
            await self.apply(e)
        await self.query_one(Conversation).flush(final=True)
        self.session_id = session_id
        self._resume = sessions.Resume.of(session_id, events)

    async def clear_conversation(self) -> None:
        await self.query_one(Conversation).clear()
        self.agent = None
        self.recorder = None
        self.meter.searches = 0
        self._resume = sessions.Resume()

    # -- actions ---------------------------------------------------------------------

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
        self.settings = self.settings.replace(offline=not self.settings.offline)
        provider = self.agent.provider if self.agent is not None else None
        if isinstance(provider, CachedProvider):  # the running session follows at once
            provider.mode = "offline" if self.settings.offline else "online"
        self.notify(
            "Offline: searches come from the cache only." if self.settings.offline else "Online."
        )
        self.update_status()

    def action_toggle_thinking(self) -> None:
        self.query_one(Conversation).toggle_class("hide-thinking")

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(SessionsSidebar)
        sidebar.display = not sidebar.display
        self._sidebar_chosen = True

    def on_resize(self) -> None:
        # Below 100 columns the conversation needs the room, unless the user asked otherwise.
        if not self._sidebar_chosen:
            self.query_one(SessionsSidebar).display = self.size.width >= 100

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
        keys = ("model", "n_ctx", "n_gpu_layers")  # what the loaded model depends on
        reload = any(k in result for k in keys) and any(
            result.get(k) != getattr(self.settings, k) for k in keys
        )
        path = save_file(result)
        self.settings = self.settings.replace(**{k: v for k, v in result.items() if v is not None})
        self.notify(f"Saved to {path}")
        self.agent = None
        if reload or self.engine is None:
            self.engine = None
            self.load_model()
        else:
            self.update_status()

    @work(thread=True, exclusive=True, group="turn")
    def replay(self, session_id: str) -> None:
        """Play a journaled session back at its recorded pace."""
        assert self.journal is not None
        sessions.replay_paced(list(self.journal.events(session_id)), self._post_recorded)

    def _post_recorded(self, event: ev.Event) -> None:
        self.post_message(AgentEvent(event, live=False))

    async def action_replay(self) -> None:
        if self.session_id is None or self.journal is None or self.running:
            self.notify("Select a session in the sidebar first.", severity="warning")
            return
        sid = self.session_id
        await self.clear_conversation()
        self.replay(sid)

    async def action_rerun(self) -> None:
        if self.session_id is None or self.journal is None or self.running or self.engine is None:
            self.notify("Select a session (and wait for the model) first.", severity="warning")
            return
        events = list(self.journal.events(self.session_id))
        await self.clear_conversation()
        self.running = True
        self.update_status()
        self.runner.submit(self._rerun, events, self.engine)

    def _rerun(self, events: list[ev.Event], engine: Engine) -> None:
        """On the engine thread: the session's questions again, searches from disk."""
        try:
            note, severity = sessions.rerun_offline(events, engine, self._post_recorded)
            self.call_from_thread(self.notify, note, severity=severity)
        finally:
            self.post_message(TurnDone())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in PALETTE:
            yield SystemCommand(title, help_text, partial(self.run_action, action))


def run(settings: Settings) -> None:
    journal = Journal(paths().data_dir / "journal.sqlite3")
    app = QwqEdgeApp(settings, journal=journal)
    if journal.notice:
        app.call_later(app.notify, journal.notice, severity="warning")
    app.run()
