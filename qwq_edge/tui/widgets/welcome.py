"""The welcome panel on an empty session: the model (or its load, or why it failed), where
answers come from (web search, the library, offline, or the model's memory alone), the keys
that matter, and one line each on getting a search key and adding a library.

The app builds a ``Welcome`` from what it knows and hands it to ``Conversation.show_welcome``.
A model's name and a load error come from files and other programs: they pass ``printable``
and are drawn as plain text, never parsed as markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from qwq_edge.engine.base import ModelInfo
from qwq_edge.settings import SearchMode
from qwq_edge.text import printable
from qwq_edge.tui.library import LibraryState, human

# The app's bindings that a first question (or report) needs (tui/app.py, BINDINGS).
KEYS = (
    ("Enter", "ask"),
    ("Esc", "cancel"),
    ("Ctrl+A", "answer now"),
    ("Ctrl+B", "sessions"),
    ("Ctrl+S", "settings"),
    ("Ctrl+Q", "quit"),
    ("Ctrl+G", "research report"),
)
TITLE = "qwq-edge answers with a local model, and searches first when it can."
GET_KEY = (
    "Set a Tavily key in Settings (Ctrl+S) or as TAVILY_API_KEY; get a free one at "
    "https://tavily.com."
)
ADD_LIBRARY = (
    "Run `qwq-edge library add PATH` on a folder of documents or a Kiwix .zim, or add one "
    "in Settings (Ctrl+S)."
)
LABEL = 10  # the labels column, and the space after it


@dataclass(frozen=True)
class Welcome:
    """What the welcome panel says; the app builds it from its state."""

    mode: SearchMode  # where searches can go (runtime.search_mode)
    key_set: bool  # the web search has its key or server (runtime.can_search_web)
    model: ModelInfo | None = None  # the loaded model (None: loading, failed, or not yet)
    loading: bool = False
    load_error: str | None = None  # why the model could not be loaded
    library: LibraryState | None = None  # None: searches do not use the library


def model_line(welcome: Welcome) -> str:
    """The model's name, size, where it runs and its context; or its load, or the error."""
    info = welcome.model
    if info is None:
        if welcome.load_error:
            error = printable(welcome.load_error).rstrip(". ")
            return f"⚠ The model could not be loaded: {error}. Fix it in Settings (Ctrl+S)."
        return "Loading the model…" if welcome.loading else "No model is loaded yet."
    if info.server:
        where = f"on the llama-server at {printable(info.server)}"
    elif info.n_gpu_layers:
        where = f"GPU, {info.n_gpu_layers} of {info.n_layers} layers offloaded"
    else:
        where = "CPU"
    parts = [printable(info.name), printable(info.quant), _size(info.file_size), where]
    parts.append(f"context {info.n_ctx:,} tokens")
    return " · ".join(p for p in parts if p)


def _size(n: int) -> str:
    if n <= 0:
        return ""
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{max(1, round(n / 1e6))} MB"


def library_words(library: LibraryState | None) -> str | None:
    """The library as a source: "the library (2 sources, 84k passages)"; None when it has
    nothing to search (not used, off, or empty)."""
    if library is None or library.counts is None or library.counts[0] == 0:
        return None
    sources, passages = library.counts
    plural = "" if sources == 1 else "s"
    return f"the library ({sources} source{plural}, {human(passages)} passages)"


def sources_lines(welcome: Welcome) -> list[str]:
    """Where answers come from, one sentence a line."""
    library = library_words(welcome.library)
    match welcome.mode:
        case "web":
            line = f"Web search (key set){f' and {library}' if library else ''}."
        case "offline":
            line = "Offline: answers from the cache and library only."
        case "library only" if library:
            line = f"Only {library}: no web search."
        case "library only":
            line = "The model's memory alone: the library has nothing to search yet."
        case "no search key":
            line = "No search key: answers come from the model's memory alone."
    lines = [line]
    state = welcome.library
    if state is not None and state.counts is None and state.off:
        lines.append(f"The library is off: {printable(state.off).rstrip('. ')}.")
    return lines


def rows(welcome: Welcome) -> list[tuple[str, Text]]:
    """The panel's rows, (label, value), every value built as plain text (no markup)."""
    error = welcome.model is None and bool(welcome.load_error)
    out = [("Model", Text(model_line(welcome), style="bold red" if error else ""))]
    out += [
        ("Answers" if i == 0 else "", Text(line)) for i, line in enumerate(sources_lines(welcome))
    ]
    keys = Text()
    for i, (key, what) in enumerate(KEYS):
        if i:
            keys.append(" · ", style="dim")
        keys.append(key, style="bold")
        keys.append(f" {what}")
    out.append(("Keys", keys))
    if not welcome.key_set:
        out.append(("Get a key", Text(GET_KEY, style="dim")))
    if library_words(welcome.library) is None:
        out.append(("Library", Text(ADD_LIBRARY, style="dim")))
    return out


def plain(welcome: Welcome) -> str:
    """The panel as plain lines, "Label  value" (for tests and logs)."""
    lines = [TITLE] + [f"{label:<{LABEL}}{value.plain}" for label, value in rows(welcome)]
    return "\n".join(lines)


def render_welcome(welcome: Welcome) -> Group:
    """The title, then the rows in two columns: a long value wraps under its own column."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True, width=LABEL - 1)
    grid.add_column(ratio=1)
    for label, value in rows(welcome):
        grid.add_row(Text(label), value)
    return Group(Text(TITLE, style="bold"), Text(""), grid)


class WelcomePanel(Static):
    """The welcome panel: shows ``Welcome``, redrawn by ``show``."""

    def __init__(self, welcome: Welcome) -> None:
        super().__init__(render_welcome(welcome), id="welcome", markup=False)
        self.welcome = welcome

    def show(self, welcome: Welcome) -> None:
        if welcome != self.welcome:
            self.welcome = welcome
            self.update(render_welcome(welcome))
