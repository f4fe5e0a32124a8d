"""The conversation pane: the turns on screen, the last one possibly still streaming; on an
empty session, the welcome panel."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from qwq_edge.tui.widgets.turn import TurnView
from qwq_edge.tui.widgets.welcome import Welcome, WelcomePanel


class Conversation(VerticalScroll):
    """Finished turns, then ``turn``, the one events are added to (None before the first
    question, and after ``clear``). It follows the end as text arrives."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.turn: TurnView | None = None

    def follow(self) -> None:
        self.scroll_end(animate=False)

    async def show_welcome(self, welcome: Welcome) -> None:
        """Show ``welcome`` while no turn is on screen: mounted first, redrawn after. A turn
        takes its place; after ``clear`` it comes back only when shown again."""
        panels = self.query(WelcomePanel)
        if panels:
            panels.first().show(welcome)
        elif not self.query(TurnView):
            await self.mount(WelcomePanel(welcome), before=0 if self.children else None)

    async def start_turn(self, question: str) -> TurnView:
        await self.query(WelcomePanel).remove()
        await self.flush()  # the previous turn's last text first
        self.turn = TurnView(question)
        await self.mount(self.turn)
        return self.turn

    async def flush(self, final: bool = False) -> None:
        """Draw the current turn's buffered text (on a timer, and before anything new is
        mounted), keeping the end in view."""
        if self.turn is not None and await self.turn.flush(final):
            self.follow()

    async def clear(self) -> None:
        await self.remove_children()
        self.turn = None

    def show_load_error(self, error: str | None) -> None:
        text = f"⚠ The model could not be loaded: {error}\nFix it in Settings (Ctrl+S)."
        self.mount(Static(text, classes="error load-error", markup=False))
