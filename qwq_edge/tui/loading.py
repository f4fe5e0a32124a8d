"""Loading the model: on the engine thread, one load at a time, as only one model fits in
memory; the app learns the outcome from a ``ModelReady`` message."""

from __future__ import annotations

import time

from qwq_edge.engine.thread import EngineThread
from qwq_edge.settings import Settings
from qwq_edge.tui.messages import EngineLoader, ModelReady, Target

__all__ = ["EngineLoader", "ModelLoader"]


class ModelLoader:
    """Starts loads and says which outcomes count. A load asked for while one runs is done
    once that one ends: the settings changed meanwhile, so the model it brings is stale."""

    def __init__(self, runner: EngineThread, loader: EngineLoader, target: Target) -> None:
        self.runner = runner
        self.loader = loader
        self.target = target
        self.since: float | None = None  # when the running load started (None: none runs)
        self._next: Settings | None = None  # the settings of the load that waits for it

    def load(self, settings: Settings) -> None:
        if self.since is not None:
            self._next = settings
            return
        self.since = time.monotonic()
        loader, target = self.loader, self.target
        self.runner.submit(lambda: target.post_message(ModelReady.load(loader, settings)))

    def done(self, message: ModelReady) -> bool:
        """Call with every ``ModelReady``: False when its model is stale (then it is closed
        and the waiting load starts), True when it is the one to use (or the error to show)."""
        self.since = None
        settings, self._next = self._next, None
        if settings is None:
            return True
        close = getattr(message.engine, "close", None)  # not in the Engine protocol
        if close is not None:
            self.runner.submit(close)
        self.load(settings)
        return False
