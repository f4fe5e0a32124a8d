"""The settings screen's library section: the library's sources (name, kind, documents,
passages), each with a Remove button, and a path (plus an optional name) to add a folder of
documents or a .zim archive.

Opening the library, adding (indexing a folder can take minutes: progress is shown and
Cancel stops it, keeping what was written) and removing all run in a thread worker, one at a
time. Errors are shown as their one sentence; a library that cannot open (no FTS5) leaves
the section showing why. After a change the panel posts ``Changed``, which bubbles to the
app (the status bar's counts, the live session's archives).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widgets import Button, Input, Label, ProgressBar, Static

from qwq_edge.errors import QwqEdgeError
from qwq_edge.library.index import Library, SourceInfo
from qwq_edge.paths import paths
from qwq_edge.runtime import load_settings
from qwq_edge.runtime.library import add_source, embed

Work = Callable[[], str]  # runs on the worker thread; returns what to tell the user
PROGRESS_SECONDS = 0.1  # at most this often a progress message (a walk reports per file)


def source_line(info: SourceInfo) -> Text:
    """One source in the list: its name, then its kind and size."""
    items = "articles" if info.kind == "zim" else "documents"
    text = Text(info.name, style="bold")
    text.append(f"  {info.kind} · {info.documents:,} {items}", style="dim")
    if info.kind != "zim":
        text.append(f" · {info.passages:,} passages", style="dim")
    if not info.complete and info.kind == "folder":
        text.append(" · incomplete: add it again to go on", style="yellow")
    if info.failed:
        text.append(f" · {info.failed} unreadable", style="yellow")
    return text


class RemoveButton(Button):
    """Remove one source from the library (its files are never touched)."""

    def __init__(self, name: str) -> None:
        super().__init__("Remove", compact=True, classes="library-remove")
        self.source_name = name


class LibraryPanel(Vertical):
    """The library's sources, and adding or removing one."""

    class Changed(Message):
        """A source was added or removed (or an add stopped part-way)."""

    class Progress(Message):
        bubble = False

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Done(Message):
        """A job ended: what to say, and the sources now (None: the library is off)."""

        bubble = False

        def __init__(
            self, note: str, severity: SeverityLevel, sources: list[SourceInfo] | None, off: str
        ) -> None:
            super().__init__()
            self.note, self.severity, self.sources, self.off = note, severity, sources, off

    def __init__(self, path: Path | None = None, *, id: str = "library-panel") -> None:
        super().__init__(id=id)
        self.path = path
        self.library: Library | None = None
        self.off = ""  # why the library cannot open
        self.stop: threading.Event | None = None  # an add is running: Cancel sets it
        self.changes = False  # the running job changes the library
        self.running = False
        self.closed = False  # the panel went away: the running job closes the library
        self._lock = threading.Lock()
        self._reported = 0.0

    def compose(self) -> ComposeResult:
        yield Label("Library", classes="section-title")
        yield Static("Opening the library…", id="library-note", markup=False)
        yield Vertical(id="library-sources")
        with Horizontal(id="library-add-row"):
            yield Input(placeholder="a folder of documents, or a .zim", id="library-path")
            yield Input(placeholder="name (optional)", id="library-name")
            yield Button("Add", id="library-add", disabled=True)
            yield Button("Cancel", id="library-cancel", disabled=True)
        yield ProgressBar(id="library-progress", show_eta=False)

    def on_mount(self) -> None:
        self.query_one("#library-progress").display = False
        self.start(self._open, changes=False)

    def on_unmount(self) -> None:
        if self.stop is not None:
            self.stop.set()  # an add stops at its next file and keeps what it wrote
        if self.running and self.changes:  # its Done will find no one: tell the app now
            self.app.post_message(self.Changed())
        with self._lock:
            self.closed = True
            if not self.running and self.library is not None:
                self.library.close()

    # -- jobs (on a worker thread) ---------------------------------------------------------

    def start(self, work: Work, *, changes: bool) -> None:
        with self._lock:
            self.running, self.changes = True, changes
        self.enable()
        self.run_worker(lambda: self._run(work), thread=True, group="library")

    def _run(self, work: Work) -> None:
        severity: SeverityLevel = "information"
        note = ""
        sources: list[SourceInfo] | None = None
        try:
            note = work()
        except QwqEdgeError as exc:
            note, severity = str(exc), "error"
        except Exception as exc:  # never a traceback: the worker would end the app
            note, severity = f"the library failed ({type(exc).__name__}: {exc})", "error"
        with self._lock:
            try:
                sources = self.library.sources() if self.library is not None else None
            except Exception as exc:
                sources, self.off = None, f"the library could not be read ({exc})"
            self.running = False
            if self.closed and self.library is not None:
                self.library.close()
        self.post_message(self.Done(note, severity, sources, self.off))

    def _open(self) -> str:
        try:
            self.library = Library(self.path or paths().library)
        except QwqEdgeError as exc:
            self.off = str(exc)
            return ""
        return self.library.notice or ""

    def _report(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._reported < PROGRESS_SECONDS:
            return
        self._reported = now
        self.post_message(self.Progress(done, total))

    # -- on the UI thread ------------------------------------------------------------------

    def enable(self) -> None:
        idle = not self.running and self.library is not None
        self.query_one("#library-add", Button).disabled = not idle
        self.query_one("#library-cancel", Button).disabled = self.stop is None
        for button in self.query(RemoveButton):
            button.disabled = not idle

    def on_library_panel_progress(self, message: LibraryPanel.Progress) -> None:
        self.query_one("#library-progress", ProgressBar).update(
            total=message.total or None, progress=message.done
        )

    async def on_library_panel_done(self, message: LibraryPanel.Done) -> None:
        self.stop = None
        self.query_one("#library-progress").display = False
        if message.note:
            self.notify(message.note, title="Library", severity=message.severity, timeout=8)
        await self.show_sources(message.sources, message.off)
        self.enable()
        if self.changes:
            self.post_message(self.Changed())

    async def show_sources(self, sources: list[SourceInfo] | None, off: str) -> None:
        note = self.query_one("#library-note", Static)
        if sources is None:
            note.update(f"The library is off: {off}" if off else "The library is off.")
        elif not sources:
            note.update("No sources yet: add a folder of documents or a .zim archive below.")
        else:
            note.update(f"{len(sources)} source{'s' if len(sources) != 1 else ''}:")
        rows = self.query_one("#library-sources", Vertical)
        await rows.remove_children()
        await rows.mount_all(
            Horizontal(Label(source_line(s), classes="library-source"), RemoveButton(s.name),
                       classes="library-row")
            for s in sources or []
        )  # fmt: skip

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()  # not the settings screen's Save/Cancel
        if isinstance(event.button, RemoveButton):
            self.start_remove(event.button.source_name)
        elif event.button.id == "library-add":
            self.start_add()
        elif event.button.id == "library-cancel" and self.stop is not None:
            self.stop.set()
            self.notify("Stopping: what was indexed so far is kept.", title="Library")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id in ("library-path", "library-name") and not self.running:
            self.start_add()

    def start_add(self) -> None:
        raw = self.query_one("#library-path", Input).value.strip()
        if not raw:
            self.notify("Type the path of a folder or a .zim first.", severity="warning")
            return
        name = self.query_one("#library-name", Input).value.strip() or None
        library, stop = self.library, threading.Event()
        assert library is not None  # Add is disabled without one
        self.stop = stop
        bar = self.query_one("#library-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True

        settings = load_settings()

        def work() -> str:
            added = add_source(library, Path(raw), name, progress=self._report, stop=stop)
            if stop.is_set():
                return added.summary()
            vectors = embed(library, settings, progress=self._report, stop=stop)
            return added.summary() + (f"; {vectors}" if vectors else "")

        self.start(work, changes=True)

    def start_remove(self, name: str) -> None:
        library = self.library
        assert library is not None

        def work() -> str:
            documents = library.remove_source(name)
            return f"removed {name!r} from the library ({documents:,} documents forgotten)"

        self.start(work, changes=True)
