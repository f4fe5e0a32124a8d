"""The app's actions on journaled sessions: open one from the sidebar (a follow-up
continues it), start a new one, export, replay at the recorded pace, re-run offline.

A mixin of ``QwqEdgeApp``: the app's state it uses is declared below for the type checker.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from qwq_edge.events import Event
from qwq_edge.store.journal import Journal
from qwq_edge.tui import sessions
from qwq_edge.tui.engine_link import EngineLink
from qwq_edge.tui.library import SeenHits
from qwq_edge.tui.widgets import Conversation, SessionsSidebar
from qwq_edge.tui.widgets.status import Meter

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[None]
else:
    _Base = object


class SessionActions(_Base):
    if TYPE_CHECKING:
        journal: Journal | None
        link: EngineLink
        running: bool
        session_id: str | None
        turn_number: int
        meter: Meter
        seen: SeenHits
        model: object
        _showing: asyncio.Lock

        async def apply(self, event: Event) -> None: ...

        def update_status(self) -> None: ...

    # Named, not @on: the decorator's table is only built for Textual classes, not mixins.
    async def on_sessions_sidebar_opened(self, message: SessionsSidebar.Opened) -> None:
        if self.journal is not None and not self.running:
            await self.show_session(message.session_id)

    async def show_session(self, session_id: str) -> None:
        """Show a journaled session in full, one at a time; a follow-up continues it."""
        assert self.journal is not None
        async with self._showing:
            await self.clear_conversation()
            resume = await sessions.show(self.journal, session_id, self.apply)
            await self.query_one(Conversation).flush(final=True)
        self.session_id = session_id
        if resume.history:  # a follow-up continues it
            self.link.send("resume", session_id)

    async def clear_conversation(self) -> None:
        await self.query_one(Conversation).clear()
        self.link.send("resume", None)
        self.meter.searches = 0
        self.turn_number = 0
        self.seen.clear()

    async def action_new_session(self) -> None:
        if self.running:
            self.link.send("cancel")
            self.notify("Stopping the answer; press Ctrl+N again for a new session.")
            return
        await self.clear_conversation()
        self.session_id = None
        self.update_status()

    def action_export(self) -> None:
        if self.journal is None or self.session_id is None:
            self.notify("Nothing to export yet.", severity="warning")
            return
        self.notify(f"Exported to {sessions.export_markdown(self.journal, self.session_id)}")

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
        if self.session_id is None or self.journal is None or self.running or self.model is None:
            self.notify("Select a session (and wait for the model) first.", severity="warning")
            return
        session_id = self.session_id
        await self.clear_conversation()
        self.running = True
        self.update_status()
        self.link.send("rerun", session_id)
