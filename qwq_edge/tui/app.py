"""The full-screen app: sessions sidebar, live conversation, prompt, status bar, footer.

Blocking work (loading the model, running a turn, replaying) runs in thread workers that
post the agent's events as messages; widgets are only touched on the UI thread, and
streamed text is flushed to the screen in batches, so rendering never throttles decoding.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, ListItem, ListView, Markdown, Static

from qwq_edge.agent.loop import Agent, Controls
from qwq_edge.engine.base import Engine
from qwq_edge.engine.thread import EngineThread
from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import (
    AnswerDelta,
    ErrorEvent,
    Event,
    FinalAnswer,
    Finished,
    Notice,
    QuestionAsked,
    SessionStarted,
    Stats,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.runtime import recorder_for, submit_turn
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.tui.widgets import PromptInput, TurnView

# How often streamed text reaches the screen. Every redraw takes CPU from llama.cpp's decode
# threads on a small machine: measured on 2 cores with the 0.5B model, the TUI decoded at
# 0.83 of headless speed with 0.1 s and 0.88 with 0.2 s.
FLUSH_SECONDS = 0.2

EngineLoader = Callable[[Settings], Engine]
ProviderFactory = Callable[[Settings], SearchProvider]


def coalesce(events: Iterable[Event]) -> Iterable[Event]:
    """Merge runs of text deltas: a journaled session shows in one pass, not token by token."""
    pending: ThinkingDelta | AnswerDelta | None = None
    for e in events:
        if isinstance(e, (ThinkingDelta, AnswerDelta)):
            if pending is not None and type(pending) is type(e):
                pending = replace(pending, text=pending.text + e.text)
                continue
            if pending is not None:
                yield pending
            pending = e
            continue
        if pending is not None:
            yield pending
            pending = None
        yield e
    if pending is not None:
        yield pending


class Poster:
    """The TUI's consumer of a live turn, called on the engine thread: posts events to the
    app as messages, with text deltas coalesced to at most one message per flush interval.
    On a 2-core machine every message the UI thread handles is CPU and GIL time taken from
    llama.cpp's decode threads."""

    def __init__(self, app: App[None]) -> None:
        self.app = app
        self.pending: ThinkingDelta | AnswerDelta | None = None
        self.last = time.monotonic()

    def __call__(self, event: Event) -> None:
        if isinstance(event, (ThinkingDelta, AnswerDelta)):
            pending = self.pending
            if pending is not None and type(pending) is type(event):
                self.pending = replace(pending, text=pending.text + event.text)
            else:
                if pending is not None:
                    self.app.post_message(AgentEvent(pending))
                self.pending = event
            now = time.monotonic()
            if now - self.last < FLUSH_SECONDS:
                return
            self.last = now
            event, self.pending = self.pending, None
        elif self.pending is not None:
            self.app.post_message(AgentEvent(self.pending))
            self.pending = None
        self.app.post_message(AgentEvent(event))

    def close(self) -> None:
        if self.pending is not None:
            self.app.post_message(AgentEvent(self.pending))
            self.pending = None
        self.app.post_message(TurnDone())


class AgentEvent(Message):
    def __init__(self, event: Event, live: bool = True) -> None:
        super().__init__()
        self.event = event
        self.live = live


class ModelReady(Message):
    def __init__(self, engine: Engine | None, error: str | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.error = error


class TurnDone(Message):
    pass


class SessionItem(ListItem):
    def __init__(self, session_id: str, label: str) -> None:
        super().__init__(Static(label, markup=False))
        self.session_id = session_id


class QwqEdgeApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "qwq-edge"
    BINDINGS: ClassVar = [
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
        self.engine_loader = engine_loader
        self.provider_factory = provider_factory
        self.engine: Engine | None = None
        self.runner = EngineThread()
        self.agent: Agent | None = None
        self.recorder: Recorder | None = None
        self.controls: Controls | None = None
        self.turn: TurnView | None = None
        self.running = False
        self.load_error: str | None = None
        self.session_id: str | None = None
        self._tps = 0.0
        self._ctx = (0, settings.n_ctx)
        self._searches = 0
        self._sidebar_chosen = False
        self._gen = (0, 0.0)  # decoded tokens and seconds in this turn
        self._load_started: float | None = None
        self._reload_after = False
        self._history = []
        self._resume_id = None
        self._resume_started = None
        self.theme = "textual-dark"

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="sidebar"):
                yield Static("Sessions", id="sidebar-title")
                yield Input(placeholder="search sessions", id="session-search")
                yield ListView(id="sessions")
            with Vertical(id="main"):
                yield VerticalScroll(id="conversation")
                yield PromptInput(id="prompt", soft_wrap=True, show_line_numbers=False)
                yield Static("", id="status")
        yield Footer()

    def on_unmount(self) -> None:
        if self.controls is not None:
            self.controls.cancel()  # a running answer stops between tokens
        self.runner.shutdown()

    def on_mount(self) -> None:
        self.query_one("#prompt", PromptInput).border_title = "Ask (Enter sends, Ctrl+J newline)"
        self.refresh_sessions()
        self.set_interval(FLUSH_SECONDS, self.flush)
        self.set_interval(0.5, self._loading_tick)
        self.load_model()
        self.query_one("#prompt").focus()

    # -- model -----------------------------------------------------------------------

    def _loading_tick(self) -> None:
        if self._load_started is not None:
            elapsed = time.monotonic() - self._load_started
            self.update_status(f"loading model… {elapsed:.0f}s")

    def load_model(self) -> None:
        if self._load_started is not None:
            self._reload_after = True  # one model in memory at a time: load again when done
            return
        self._load_started = time.monotonic()
        self.runner.submit(self._load_model)

    def _load_model(self) -> None:
        try:
            loader = self.engine_loader
            if loader is None:
                from qwq_edge.runtime import load_engine

                loader = load_engine
            engine = loader(self.settings)
        except QwqEdgeError as exc:
            self.post_message(ModelReady(None, str(exc)))
            return
        except Exception as exc:  # never leave the status at "loading" for good
            self.post_message(ModelReady(None, f"unexpected {type(exc).__name__}: {exc}"))
            return
        self.post_message(ModelReady(engine))

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
            self.show_error(
                f"The model could not be loaded: {message.error}", "Fix it in Settings (Ctrl+S)."
            )
            self.update_status("no model")
            return
        self.engine = message.engine
        self.load_error = None
        self.update_status()
        fit = getattr(self.engine.info, "fit", "")
        if fit:  # what the fit planner chose for this machine
            self.notify(fit, title=self.engine.info.name, timeout=8)

    def _provider(self) -> SearchProvider:
        if self.provider_factory is not None:
            return self.provider_factory(self.settings)
        from qwq_edge.runtime import make_provider

        return make_provider(self.settings)

    # -- a turn ----------------------------------------------------------------------

    @on(PromptInput.Submitted)
    def submit(self, message: PromptInput.Submitted) -> None:
        if self.running:
            self.notify("An answer is still running: Esc stops it.", severity="warning")
            return
        if self.engine is None:
            self.notify(self.load_error or "The model is still loading…", severity="warning")
            return
        self.query_one("#prompt", PromptInput).clear()
        if self.agent is None:
            self.agent = Agent(
                self.engine, self._provider(), self.settings, session_id=self._resume_id
            )
            resuming = self._resume_id is not None and bool(self._history)
            if resuming:
                # A follow-up to a session picked in the sidebar continues that session.
                self.agent.resume(self._history, self._resume_started)
            self.recorder = (
                recorder_for(self.journal, self.engine, self._resume_id if resuming else None)
                if self.journal is not None
                else None
            )
            self._searches = 0
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
        await self.flush()
        self.refresh_sessions()
        self.update_status()

    async def on_agent_event(self, message: AgentEvent) -> None:
        await self.apply(message.event)

    async def apply(self, e: Event) -> None:
        """Show one event (live, replayed or loaded from the journal)."""
        conv = self.query_one("#conversation", VerticalScroll)
        if isinstance(e, SessionStarted):
            self.session_id = e.session_id
        elif isinstance(e, QuestionAsked):
            self._gen = (0, 0.0)
            await self.flush()
            self.turn = TurnView(e.question)
            await conv.mount(self.turn)
        elif self.turn is None:
            return
        elif isinstance(e, ThinkingDelta):
            (await self.turn.thinking_view()).add(e.text)
        elif isinstance(e, AnswerDelta):
            await self.turn.answer_view()
            self.turn.pending_answer += e.text
        elif isinstance(e, ToolCall):
            await self.flush()
            await self.turn.add_card(e)
        elif isinstance(e, ToolResult):
            card = self.turn.cards.get(e.call_id)
            if card is not None:
                card.finish(e)
            if e.error is None:
                self._searches += 1
        elif isinstance(e, Stats):
            if e.phase == "generate" and e.tokens_generated > 1:
                # over the whole turn: one short burst says little about the speed
                n, secs = self._gen
                self._gen = (n + e.tokens_generated - 1, secs + e.gen_seconds)
                self._tps = self._gen[0] / self._gen[1] if self._gen[1] > 0 else 0.0
            self._ctx = (e.context_used, e.n_ctx)
            self.update_status()
        elif isinstance(e, FinalAnswer):
            if self.turn.thinking is not None:
                self.turn.thinking.finish()
            if e.text and self.turn.answer is None:
                await self.turn.answer_view()
                self.turn.pending_answer = e.text
            await self.flush(final=True)
            await self.turn.show_sources(e.sources)
        elif isinstance(e, Notice):
            self.notify(e.message, title="Note", severity="information")
        elif isinstance(e, ErrorEvent):
            await self.turn.mount(Static(f"⚠ {e.message}", classes="error", markup=False))
        elif isinstance(e, Finished) and e.reason == "cancelled":
            await self.turn.mount(Static("stopped — what was written is kept", classes="stopped"))
        else:
            return  # text deltas reach the screen with the next flush
        conv.scroll_end(animate=False)

    async def flush(self, final: bool = False) -> None:
        """Push batched text to the screen (every 50 ms, and before structure changes).

        The answer goes through Markdown.get_stream, which appends to the last block instead
        of re-parsing the whole answer each time."""
        turn = self.turn
        if turn is None:
            return
        changed = turn.thinking is not None and turn.thinking.dirty
        if turn.thinking is not None:
            turn.thinking.flush()
        if turn.pending_answer and turn.answer is not None:
            fragment, turn.pending_answer = turn.pending_answer, ""
            turn.answer_text += fragment
            if turn.stream is None:
                turn.stream = Markdown.get_stream(turn.answer)
            await turn.stream.write(fragment)
            changed = True
        if final and turn.stream is not None:
            await turn.stream.stop()
            turn.stream = None
            if turn.answer is not None and turn.answer.source != turn.answer_text:
                await turn.answer.update(turn.answer_text)  # whatever the stream had pending
        if changed:
            self.query_one("#conversation", VerticalScroll).scroll_end(animate=False)

    # -- status and errors -----------------------------------------------------------

    def update_status(self, state: str | None = None) -> None:
        s = self.settings
        parts = []
        if self.running:
            parts.append("answering… Esc stops")
        if state:
            parts.append(state)
        if self.engine is not None:
            info = self.engine.info
            where = f"GPU {info.n_gpu_layers}/{info.n_layers}" if info.n_gpu_layers else "CPU"
            parts.append(f"{info.quant} {where}")
        # Most telling first: a narrow terminal cuts the end of the line (the model name).
        parts.append(f"{self._tps:.1f} tok/s")
        n_ctx = self._ctx[1] or (self.engine.info.n_ctx if self.engine is not None else 0)
        parts.append(f"ctx {self._ctx[0]}/{n_ctx or 'auto'}")
        parts.append(f"searches {self._searches}/{s.max_searches}")
        parts.append("offline" if s.offline else "online")
        if self.engine is not None:
            parts.append(self.engine.info.name)
        self.query_one("#status", Static).update(" · ".join(parts))

    def show_error(self, message: str, hint: str) -> None:
        conv = self.query_one("#conversation", VerticalScroll)
        conv.mount(Static(f"⚠ {message}\n{hint}", classes="error load-error", markup=False))

    # -- sessions --------------------------------------------------------------------

    def refresh_sessions(self, search: str = "") -> None:
        view = self.query_one("#sessions", ListView)
        view.clear()
        if self.journal is None:
            return
        for row in self.journal.sessions(limit=200, search=search):
            when = time.strftime("%m-%d %H:%M", time.localtime(row.created))
            mark = "" if row.status == "done" else f" [{row.status}]"
            view.append(SessionItem(row.id, f"{row.title[:40]}\n{when} · {row.searches}⌕{mark}"))

    @on(Input.Changed, "#session-search")
    def search_sessions(self, event: Input.Changed) -> None:
        self.refresh_sessions(event.value)

    @on(ListView.Selected, "#sessions")
    async def open_session(self, event: ListView.Selected) -> None:
        item = event.item
        if isinstance(item, SessionItem) and self.journal is not None and not self.running:
            await self.show_session(item.session_id)

    async def show_session(self, session_id: str) -> None:
        """Show a journaled session in full, instantly; follow-ups start a new session."""
        assert self.journal is not None
        await self.clear_conversation()
        events = list(self.journal.events(session_id))
        for e in coalesce(events):
            await self.apply(e)
        await self.flush(final=True)
        self.session_id = session_id
        from qwq_edge.agent.replay import recorded_turns

        self._history = [(q.question, f.text if f else "") for q, f in recorded_turns(events)]
        self._resume_id = session_id
        self._resume_started = events[0].t if events else None

    async def clear_conversation(self) -> None:
        await self.query_one("#conversation", VerticalScroll).remove_children()
        self.turn = None
        self.agent = None
        self.recorder = None
        self._searches = 0
        self._history: list[tuple[str, str]] = []
        self._resume_id: str | None = None
        self._resume_started: float | None = None

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
        if provider is not None and hasattr(provider, "mode"):
            provider.mode = "offline" if self.settings.offline else "online"
        self.notify(
            "Offline: searches come from the cache only." if self.settings.offline else "Online."
        )
        self.update_status()

    def action_toggle_thinking(self) -> None:
        self.query_one("#conversation").toggle_class("hide-thinking")

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one("#sidebar")
        sidebar.display = not sidebar.display
        self._sidebar_chosen = True

    def on_resize(self) -> None:
        # Below 100 columns the conversation needs the room, unless the user asked otherwise.
        if not self._sidebar_chosen:
            self.query_one("#sidebar").display = self.size.width >= 100

    def action_export(self) -> None:
        if self.journal is None or self.session_id is None:
            self.notify("Nothing to export yet.", severity="warning")
            return
        from qwq_edge.paths import paths
        from qwq_edge.store.bundle import to_markdown

        target = paths().data_dir / "exports" / f"{self.session_id}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        row = self.journal.session(self.session_id)
        target.write_text(
            to_markdown(row, list(self.journal.events(self.session_id))), encoding="utf-8"
        )
        self.notify(f"Exported to {target}")

    def action_settings(self) -> None:
        from qwq_edge.tui.settings import SettingsScreen

        self.push_screen(SettingsScreen(self.settings), self.apply_settings)

    def apply_settings(self, result: dict[str, Any] | None) -> None:
        if not result:
            return
        from qwq_edge.settings import save_file

        reload = any(k in result for k in ("model", "n_ctx", "n_gpu_layers")) and any(
            result.get(k) != getattr(self.settings, k) for k in ("model", "n_ctx", "n_gpu_layers")
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
        events = list(self.journal.events(session_id))
        last = events[0].t if events else 0.0
        for e in events:
            time.sleep(max(0.0, min(e.t - last, 5.0)))
            last = e.t
            self.post_message(AgentEvent(e, live=False))

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
        self.runner.submit(self.rerun_offline, events)

    def rerun_offline(self, events: list[Event]) -> None:
        """Run the model again on the session's questions; searches from disk, never the net."""
        from qwq_edge.runtime import offline_provider, rerun_session

        assert self.engine is not None
        try:
            results = rerun_session(
                events,
                self.engine,
                offline_provider(),
                on_event=lambda e: self.post_message(AgentEvent(e, live=False)),
            )  # a re-run is not journaled: it is compared with the recording
            same = all(r.identical for r in results)
            note = "identical to the recording" if same else "different from the recording"
            self.call_from_thread(self.notify, f"Re-run finished: {note}.")
        except QwqEdgeError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
        finally:
            self.post_message(TurnDone())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "New session", "Start a new conversation (Ctrl+N)", self.action_new_session
        )
        yield SystemCommand("Cancel answer", "Stop the running answer (Esc)", self.action_cancel)
        yield SystemCommand("Answer now", "No more searches (Ctrl+A)", self.action_answer_now)
        yield SystemCommand(
            "Toggle offline", "Searches from the cache only (Ctrl+O)", self.action_toggle_offline
        )
        yield SystemCommand("Show/hide thinking", "Ctrl+T", self.action_toggle_thinking)
        yield SystemCommand("Toggle sessions sidebar", "Ctrl+B", self.action_toggle_sidebar)
        yield SystemCommand("Export session to Markdown", "Ctrl+E", self.action_export)
        yield SystemCommand(
            "Settings", "Model, context, search budget, key (Ctrl+S)", self.action_settings
        )
        yield SystemCommand(
            "Replay session", "Play the selected session at recorded pace", self.action_replay
        )
        yield SystemCommand(
            "Re-run session offline", "Run the model again, searches from disk", self.action_rerun
        )


def run(settings: Settings) -> None:
    from qwq_edge.paths import paths

    journal = Journal(paths().data_dir / "journal.sqlite3")
    app = QwqEdgeApp(settings, journal=journal)
    if journal.notice:
        app.call_later(app.notify, journal.notice, severity="warning")
    app.run()
