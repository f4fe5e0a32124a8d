"""The settings screen: model, context, GPU layers, format, search budget, key, offline,
and the local library's sources (added and removed at once, not on Save).

It dismisses with the values to save (a dict of settings fields), or None when cancelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Switch

from qwq_edge.settings import Settings, save_file
from qwq_edge.tui.widgets.library import LibraryPanel

MODEL_KEYS = ("model", "n_ctx", "n_gpu_layers")  # what the loaded model depends on


def save(values: dict[str, Any], settings: Settings) -> tuple[Settings, Path, bool]:
    """Write the screen's ``values`` to the config file. Returns ``settings`` with them, the
    file, and whether the model must be loaded again (a setting it depends on changed)."""
    reload = any(k in values for k in MODEL_KEYS) and any(
        values.get(k) != getattr(settings, k) for k in MODEL_KEYS
    )
    path = save_file(values)
    return settings.replace(**{k: v for k, v in values.items() if v is not None}), path, reload


class SettingsScreen(ModalScreen[dict[str, Any] | None]):
    """A dialog over the app; Save checks the numbers before it closes."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss_none", "Close")]

    def __init__(self, settings: Settings, library: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.library = library  # the library's file (None: the one in the data directory)

    def compose(self) -> ComposeResult:
        s = self.settings
        key = s.tavily_api_key or ""
        with Vertical(id="settings"):
            yield Label("Settings", id="settings-title")
            with VerticalScroll(id="settings-body"):
                with Grid(id="settings-grid"):
                    yield Label("Model")
                    yield Input(
                        s.model or "",
                        placeholder="qwq-32b, or a .gguf path (empty: best on disk)",
                        id="model",
                    )
                    yield Label("Context (tokens)")
                    yield Input(
                        str(s.n_ctx) if s.n_ctx else "",
                        placeholder="auto (fits this machine)",
                        type="integer",
                        id="n_ctx",
                    )
                    yield Label("GPU layers")
                    yield Input(
                        "" if s.n_gpu_layers is None else str(s.n_gpu_layers),
                        placeholder="auto",
                        id="n_gpu_layers",
                    )
                    yield Label("Prompt format")
                    yield Select(
                        [("seed", "seed"), ("qwen", "qwen")],
                        value=s.prompt_format,
                        allow_blank=False,
                        id="prompt_format",
                    )
                    yield Label("Search budget")
                    yield Input(str(s.max_searches), type="integer", id="max_searches")
                    yield Label("Tavily API key")
                    # Masked: the screen may be shared or recorded.
                    yield Input(key, password=True, placeholder="tvly-…", id="tavily_api_key")
                    yield Label("Offline by default")
                    yield Switch(value=s.offline, id="offline")
                yield LibraryPanel(self.library)
            with Horizontal(id="settings-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "save":
            self.dismiss(None)
            return
        values: dict[str, Any] = {}
        try:
            values["model"] = self.query_one("#model", Input).value.strip() or None
            ctx = self.query_one("#n_ctx", Input).value.strip()
            values["n_ctx"] = int(ctx) if ctx else 0
            layers = self.query_one("#n_gpu_layers", Input).value.strip()
            values["n_gpu_layers"] = int(layers) if layers and layers != "auto" else None
            values["prompt_format"] = str(self.query_one("#prompt_format", Select).value)
            values["max_searches"] = int(self.query_one("#max_searches", Input).value)
        except ValueError:
            self.notify("Context, GPU layers and budget must be whole numbers.", severity="error")
            return
        key = self.query_one("#tavily_api_key", Input).value.strip()
        values["tavily_api_key"] = key or None
        values["offline"] = self.query_one("#offline", Switch).value
        self.dismiss(values)
