"""The sessions sidebar: past sessions from the journal, newest first, with a search box.

The app sets ``rows`` (it owns the journal); the sidebar posts ``Searched`` when the search
text changes and ``Opened`` when a session is picked.
"""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, ListItem, ListView, Static

from qwq_edge.store.journal import SessionRow


def session_label(row: SessionRow) -> str:
    """Two lines: the title, then when, how many searches, and the status unless done."""
    when = time.strftime("%m-%d %H:%M", time.localtime(row.created))
    mark = "" if row.status == "done" else f" [{row.status}]"
    return f"{row.title[:40]}\n{when} · {row.searches}⌕{mark}"


class SessionItem(ListItem):
    """One session in the list; ``session_id`` says which."""

    def __init__(self, row: SessionRow) -> None:
        super().__init__(Static(session_label(row), markup=False))
        self.session_id = row.id


class SessionsSidebar(Vertical):
    """A title, the search box, and the list of ``rows``."""

    # Rebuilt on every assignment, as the list was before it was a widget; the list starts
    # empty, so there is nothing to draw at mount.
    rows: reactive[tuple[SessionRow, ...]] = reactive((), always_update=True, init=False)

    class Searched(Message):
        """The search text changed: the app answers with the matching ``rows``."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Opened(Message):
        """The user picked a session in the list."""

        def __init__(self, session_id: str) -> None:
            super().__init__()
            self.session_id = session_id

    def compose(self) -> ComposeResult:
        yield Static("Sessions", id="sidebar-title")
        yield Input(placeholder="search sessions", id="session-search")
        yield ListView(id="sessions")

    def watch_rows(self, rows: tuple[SessionRow, ...]) -> None:
        view = self.query_one("#sessions", ListView)
        view.clear()
        view.extend(SessionItem(row) for row in rows)

    @on(Input.Changed, "#session-search")
    def _searched(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Searched(event.value))

    @on(ListView.Selected, "#sessions")
    def _opened(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, SessionItem):
            self.post_message(self.Opened(event.item.session_id))
