"""The sessions sidebar: past sessions from the journal, newest first, with a search box.

It reads the list from the journal it is given; picking a session posts ``Opened``, and the
app shows that session.
"""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, ListItem, ListView, Static

from qwq_edge.store.journal import Journal, SessionRow
from qwq_edge.text import printable

LIMIT = 200  # sessions listed; the search box reaches the older ones


def session_label(row: SessionRow) -> str:
    """Two lines: the title, then when, how many searches, the status unless done, and the
    turn it branched after (for a branch)."""
    when = time.strftime("%m-%d %H:%M", time.localtime(row.created))
    mark = "" if row.status == "done" else f" [{row.status}]"
    if row.parent:
        mark += f" · branch after turn {row.parent_turn}"
    return f"{printable(row.title)[:40]}\n{when} · {row.searches}⌕{mark}"


class SessionItem(ListItem):
    """One session in the list; ``session_id`` says which."""

    def __init__(self, row: SessionRow) -> None:
        super().__init__(Static(session_label(row), markup=False))
        self.session_id = row.id


class SessionsSidebar(Vertical):
    """A title, the search box, and the sessions of ``journal`` (none without one)."""

    class Opened(Message):
        """The user picked a session in the list."""

        def __init__(self, session_id: str) -> None:
            super().__init__()
            self.session_id = session_id

    def __init__(self, journal: Journal | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.journal = journal
        self.chosen = False  # the user showed or hid it: the width no longer decides

    def toggle(self) -> None:
        self.display = not self.display
        self.chosen = True

    def fit(self, width: int) -> None:
        """Below 100 columns the conversation needs the room, unless the user asked otherwise."""
        if not self.chosen:
            self.display = width >= 100

    def compose(self) -> ComposeResult:
        yield Static("Sessions", id="sidebar-title")
        yield Input(placeholder="search sessions", id="session-search")
        yield ListView(id="sessions")

    def show_sessions(self, search: str = "") -> None:
        """List the sessions whose title contains ``search`` (all of them for "")."""
        view = self.query_one("#sessions", ListView)
        view.clear()
        if self.journal is not None:
            view.extend(SessionItem(row) for row in self.journal.sessions(LIMIT, search))

    @on(Input.Changed, "#session-search")
    def _searched(self, event: Input.Changed) -> None:
        event.stop()
        self.show_sessions(event.value)

    @on(ListView.Selected, "#sessions")
    def _opened(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, SessionItem):
            self.post_message(self.Opened(event.item.session_id))
