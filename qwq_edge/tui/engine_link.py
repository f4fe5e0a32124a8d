"""The app's link to its engine: the worker process (or, for a scripted engine in tests, a
worker on a thread of this process), the model loads in flight, and what is known when the
worker dies. Everything the worker sends arrives as a Textual message (``messages.py``).
"""

from __future__ import annotations

import time
from typing import Any

from qwq_edge.runtime.worker import EngineLoader, Host, InProcess, Item, ProviderFactory, Worker
from qwq_edge.runtime.worker_process import Died, WorkerProcess
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.tui.messages import EngineDied, ModelReady, Target, message_for


class EngineLink:
    """Starts the worker, numbers the loads (only the newest one's outcome counts: the
    settings changed while an older one ran), and restarts the worker after a crash."""

    def __init__(
        self,
        target: Target,
        journal: Journal | None,
        *,
        engine_loader: EngineLoader | None = None,
        provider_factory: ProviderFactory | None = None,
    ) -> None:
        self.target = target
        self.journal = journal
        self.engine_loader = engine_loader
        self.provider_factory = provider_factory
        self.host: Host | None = None
        self.seq = 0  # the newest load asked for
        self.since: float | None = None  # when it started (None: no load runs)
        self.fraction: float | None = None  # how far it got, when the engine says
        self.dead: str | None = None  # why the worker died (None: it lives)

    @property
    def in_process(self) -> bool:
        """A scripted engine (tests): it cannot cross a process boundary."""
        return self.engine_loader is not None or self.provider_factory is not None

    def start(self) -> None:
        self.close()  # a dead worker's pipe (a restart)
        self.dead = None
        post = self.target.post_message

        def receive(item: Item | Died) -> None:
            post(message_for(item))

        if self.in_process:
            loader = self.engine_loader
            worker = Worker(
                receive,
                journal=self.journal,
                engine_loader=(lambda s, progress: loader(s)) if loader is not None else None,
                provider_factory=self.provider_factory,
            )
            self.host = InProcess(worker)
        else:
            journal_path = self.journal.path if self.journal is not None else None
            try:
                self.host = WorkerProcess(receive, journal=journal_path)
            except (OSError, ValueError) as exc:  # no process could be started at all
                self.host = None
                post(EngineDied(f"The engine process could not start ({exc}); Ctrl+R tries again."))

    def send(self, command: str, *args: Any) -> None:
        if self.host is not None and self.dead is None:
            self.host.send(command, *args)

    def load(self, settings: Settings) -> None:
        self.seq += 1
        self.since, self.fraction = time.monotonic(), None
        self.send("load", settings, self.seq)

    def loaded(self, message: ModelReady) -> bool:
        """Call with every ``ModelReady``: True when it is the newest load's outcome."""
        if message.seq != self.seq:
            return False
        self.since = self.fraction = None
        return True

    def state(self, loaded: bool) -> str:
        """What the status bar says about the engine ("" when all is well)."""
        if self.dead is not None:
            return "engine stopped · Ctrl+R restarts"
        if not loaded and self.since is None:
            return "no model"
        if self.fraction is not None:
            return f"{self.fraction:.0%} loaded"
        return ""

    def died(self, message: str) -> None:
        self.dead = message
        self.since = self.fraction = None

    def close(self) -> None:
        if self.host is not None:
            self.host.close()
            self.host = None


__all__ = ["EngineLink", "EngineLoader"]
