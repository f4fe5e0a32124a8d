"""Journal the event stream as it happens (a consumer like any front end)."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from qwq_edge.events import Event, SessionStarted
from qwq_edge.store.journal import Journal


class Recorder:
    """Call it with every event. The model's sha256 is computed on a background thread (a
    20 GB file takes a while) and filled in when ready; it is remembered per file."""

    def __init__(
        self,
        journal: Journal,
        *,
        model_path: Path | None = None,
        quant: str | None = None,
        session_id: str | None = None,
    ) -> None:
        self.journal = journal
        self.model_path = model_path
        self.quant = quant
        self.session_id = session_id  # set to continue a journaled session
        self._hasher: threading.Thread | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, SessionStarted) and self.session_id is None:
            size = self.model_path.stat().st_size if self.model_path else None
            self.journal.start(event, model_size=size, quant=self.quant)
            self.session_id = event.session_id
            if self.model_path is not None:
                self._hasher = threading.Thread(
                    target=self._hash, args=(self.model_path, event.session_id), daemon=True
                )
                self._hasher.start()
        if self.session_id is not None:
            self.journal.append(self.session_id, event)

    def record_context(self, turn: int, start: int, tokens: list[int]) -> None:
        """Journal the exact tokens a turn appended (after the turn, with its events)."""
        if self.session_id is not None:
            self.journal.record_context(self.session_id, turn, start, tokens)

    def _hash(self, path: Path, session_id: str) -> None:
        # If the model moved away, the session keeps its name and size.
        with contextlib.suppress(OSError):
            self.journal.set_model_sha256(session_id, self.journal.model_sha256(path))

    def wait(self, timeout: float | None = None) -> None:
        if self._hasher is not None:
            self._hasher.join(timeout)
