"""Asking the user before the model opens a URL that no result, page or message gave it
(docs/architecture.md, "Tools, and reading what you cite"): the model may have built it
with text from the conversation in its query string.

Dismisses with the decision: "once", "always" (this host, for the session) or "deny".
Escape denies. The URL is untrusted: shown through ``printable``, never as markup.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from qwq_edge.runtime.worker import Decision
from qwq_edge.text import printable

MAX_SHOWN = 400  # characters of the URL shown (a long query string is the point to see)


class ConfirmOpen(ModalScreen[Decision]):
    BINDINGS: ClassVar[list[BindingType]] = [("escape", "deny", "Deny")]

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = printable(url)

    def compose(self) -> ComposeResult:
        shown = self.url if len(self.url) <= MAX_SHOWN else self.url[:MAX_SHOWN] + "…"
        with Vertical(id="confirm-open"):
            yield Label("The model wants to open a URL that no result, page or message gave it")
            yield Static(Content(shown), id="confirm-url")
            yield Label("Text from the conversation could leave this machine in it.", classes="dim")
            with Horizontal(id="confirm-buttons"):
                yield Button("Allow once", variant="primary", id="once")
                yield Button("Always for this site", id="always")
                yield Button("Deny", variant="error", id="deny")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        decision: Decision = "once" if event.button.id == "once" else "deny"
        if event.button.id == "always":
            decision = "always"
        self.dismiss(decision)

    def action_deny(self) -> None:
        self.dismiss("deny")
