"""The prompt: a multi-line input where Enter sends and Ctrl+J (or Shift+Enter) adds a line."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import TextArea


class PromptInput(TextArea):
    """Multi-line input: Enter sends, Shift+Enter or Ctrl+J adds a newline."""

    BORDER_TITLE = "Ask (Enter sends, Ctrl+J newline)"

    class Submitted(Message):
        """The user pressed Enter on a non-blank prompt (``text`` is stripped)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text.strip()
            if text:
                self.post_message(self.Submitted(text))
            return
        if event.key in ("shift+enter", "ctrl+j"):
            # Most terminals send Shift+Enter as plain Enter; Ctrl+J always arrives.
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        await super()._on_key(event)
