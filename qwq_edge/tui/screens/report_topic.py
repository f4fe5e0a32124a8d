"""Starting a research report: what it is about, how many sections at most, and whether a
sentence its sources do not support is rewritten or dropped (``--fix``).

Dismisses with a ``ReportRequest``, or None (Esc, Cancel). A topic is required and the
sections are 1 to 10; either mistake is one sentence under the fields, and the dialog stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from qwq_edge.research.plan import MAX_SECTIONS


@dataclass(frozen=True)
class ReportRequest:
    topic: str
    sections: int = 5
    fix: bool = False


class ReportTopic(ModalScreen[ReportRequest | None]):
    BINDINGS: ClassVar[list[BindingType]] = [("escape", "cancel", "Cancel")]

    def __init__(self, topic: str = "") -> None:
        super().__init__()
        self.topic = topic  # what the prompt held: the likely topic

    def compose(self) -> ComposeResult:
        with Vertical(id="report-topic"):
            yield Label("Research report", id="report-topic-title")
            yield Input(self.topic, placeholder="What is the report about?", id="topic")
            with Horizontal(id="report-topic-options"):
                yield Label("Sections (at most)")
                yield Input("5", type="integer", max_length=2, id="sections")
                yield Checkbox("Fix unsupported sentences", id="fix")
            yield Static("", id="report-topic-error", markup=False)
            with Horizontal(id="report-topic-buttons"):
                yield Button("Plan it", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#topic", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.start()
        else:
            self.dismiss(None)

    def start(self) -> None:
        topic = " ".join(self.query_one("#topic", Input).value.split())
        count = self.query_one("#sections", Input).value.strip()
        error = self.query_one("#report-topic-error", Static)
        if not topic:
            error.update("⚠ Say what the report is about.")
            return
        if not count.isdigit() or not 1 <= int(count) <= MAX_SECTIONS:
            error.update(f"⚠ A report has 1 to {MAX_SECTIONS} sections.")
            return
        fix = self.query_one("#fix", Checkbox).value
        self.dismiss(ReportRequest(topic, int(count), fix))

    def action_cancel(self) -> None:
        self.dismiss(None)
