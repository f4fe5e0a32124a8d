"""A research report's plan, for the person to approve, edit or reject before any section is
researched (``qwq-edge research`` asks the same at the terminal).

The plan is shown as its outline (``research.plan.outline``) in an editable text area:
``# title``, then per section ``## title``, a ``Goal:`` line and ``- question`` lines.
Approve (Ctrl+S) reads it back with ``parse_outline``: an outline it cannot read (no
section, too many) is one sentence under the text, and the screen stays. Reject (Esc)
dismisses with None. The outline came from the model: it passes ``printable`` first.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from qwq_edge.events import ReportPlanned
from qwq_edge.research.plan import PlanError, outline, parse_outline
from qwq_edge.text import printable


def editable(plan: ReportPlanned) -> str:
    """The outline to edit, without the editor's comment (the hint is under the text)."""
    lines = printable(outline(plan)).splitlines()
    return "\n".join(line for line in lines if not line.startswith("<!--")).strip() + "\n"


class PlanScreen(ModalScreen[ReportPlanned | None]):
    """Dismisses with the plan to run (as edited) or None (rejected)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "approve", "Approve", priority=True),
        Binding("escape", "reject", "Reject"),
    ]

    def __init__(self, plan: ReportPlanned) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        count = len(self.plan.sections)
        with Vertical(id="plan"):
            yield Label("The report's plan", id="plan-title")
            yield Static(
                Content(f"{printable(self.plan.topic)} · {count} sections"), id="plan-topic"
            )
            yield TextArea(
                editable(self.plan), id="plan-text", soft_wrap=True, show_line_numbers=False
            )
            yield Static("", id="plan-error", markup=False)
            yield Label(
                "Edit, add or remove sections (## lines); Ctrl+S approves, Esc rejects.",
                id="plan-hint",
            )
            with Horizontal(id="plan-buttons"):
                yield Button("Approve", variant="primary", id="approve")
                yield Button("Reject", variant="error", id="reject")

    def on_mount(self) -> None:
        self.query_one("#plan-text", TextArea).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "approve":
            self.action_approve()
        else:
            self.action_reject()

    def action_approve(self) -> None:
        text = self.query_one("#plan-text", TextArea).text
        try:
            plan = parse_outline(text, self.plan)
        except PlanError as exc:
            self.query_one("#plan-error", Static).update(f"⚠ {exc}")
            return
        self.dismiss(plan)

    def action_reject(self) -> None:
        self.dismiss(None)
