"""The conversation pane: the turns on screen, the last one possibly still streaming."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from qwq_edge.tui.widgets.turn import TurnView


class Conversation(VerticalScroll):
    """Finished turns, then ``turn``, the one events are added to (None before the first
    question, and after ``clear``). It follows the end as text arrives."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.turn: TurnView | None = None

    async def start_turn(self, question: str) -> TurnView:
        await self.flush()  # the previous turn's last text first
        self.turn = TurnView(question)
        await self.mount(self.turn)
        return self.turn

    async def flush(self, final: bool = False) -> None:
        """Draw the current turn's buffered text (on a timer, and before anything new is
        mounted), keeping the end in view."""
        if self.turn is not None and await self.turn.flush(final):
            self.scroll_end(animate=False)

    async def clear(self) -> None:
        await self.remove_children()
        self.turn = None

    def show_load_error(self, error: str | None) -> None:
        text = f"⚠ The model could not be loaded: {error}\nFix it in Settings (Ctrl+S)."
        self.mount(Static(text, classes="error load-error", markup=False))
