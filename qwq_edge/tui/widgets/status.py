"""The status bar: what the app is doing, the model, speed, context, searches, where searches
can go (web, no search key, offline, library only) and the library's size; and the ``Meter``
that counts those numbers from the session's events."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.reactive import reactive
from textual.widgets import Static

from qwq_edge.engine.base import ModelInfo
from qwq_edge.events import Stats
from qwq_edge.runtime import search_mode
from qwq_edge.settings import SearchMode, Settings
from qwq_edge.tui.library import LibraryState, describe


@dataclass
class Meter:
    """Decode speed, context use and searches of the session on screen."""

    ctx: tuple[int, int]  # tokens in context, context size (0: not known yet)
    gen: tuple[int, float] = (0, 0.0)  # tokens decoded and seconds, in this turn
    tps: float = 0.0
    searches: int = 0  # searches that returned results, in this session

    def count(self, stats: Stats) -> None:
        if stats.phase == "generate" and stats.tokens_generated > 1:
            # Over the whole turn: one short burst says little about the speed. The first
            # token is left out: its time is in the prefill, not in gen_seconds.
            n, secs = self.gen
            self.gen = (n + stats.tokens_generated - 1, secs + stats.gen_seconds)
            self.tps = self.gen[0] / self.gen[1] if self.gen[1] > 0 else 0.0
        self.ctx = (stats.context_used, stats.n_ctx)


@dataclass(frozen=True)
class Status:
    """Everything the status line shows; the app builds one and hands it down."""

    max_searches: int
    mode: SearchMode  # where searches can go (runtime.search_mode)
    running: bool = False
    state: str = ""  # "no model"
    loading_since: float | None = None  # a load is running: the bar counts its seconds
    model: ModelInfo | None = None
    tps: float = 0.0  # decode speed over the turn so far
    ctx: tuple[int, int] = (0, 0)  # tokens in context, context size (0: not known yet)
    searches: int = 0
    library: LibraryState | None = None  # None: searches do not use the library
    think_budget: int = 0  # the thinking budget in use, for a model that thinks (0: none)

    @classmethod
    def of(
        cls,
        meter: Meter,
        settings: Settings,
        *,
        model: ModelInfo | None,
        running: bool,
        state: str = "",
        loading_since: float | None = None,
        mode: SearchMode | None = None,
        library: LibraryState | None = None,
    ) -> Status:
        """The status now: ``meter``'s counts, ``settings``' budget, where searches can go
        (``mode``, as the app knows it; None: worked out from the settings), the
        ``library``'s counts, the rest."""
        return cls(
            max_searches=settings.max_searches,
            mode=search_mode(settings, None) if mode is None else mode, running=running,
            state=state, loading_since=loading_since, model=model,
            tps=meter.tps, ctx=meter.ctx, searches=meter.searches, library=library,
            think_budget=settings.max_thinking_tokens if model and model.reasoning else 0,
        )  # fmt: skip

    def line(self) -> str:
        parts = []
        if self.running:
            parts.append("answering… Esc stops")
        if self.loading_since is not None:
            parts.append(f"loading model… {time.monotonic() - self.loading_since:.0f}s")
        if self.state:
            parts.append(self.state)
        info = self.model
        if info is not None:
            where = f"GPU {info.n_gpu_layers}/{info.n_layers}" if info.n_gpu_layers else "CPU"
            parts.append(f"{info.quant} {where}")
        # Most telling first: a narrow terminal cuts the end of the line (the model name).
        parts.append(f"{self.tps:.1f} tok/s")
        n_ctx = self.ctx[1] or (info.n_ctx if info is not None else 0)
        parts.append(f"ctx {self.ctx[0]}/{n_ctx or 'auto'}")
        parts.append(f"searches {self.searches}/{self.max_searches}")
        if self.think_budget:
            parts.append(f"think ≤{self.think_budget}")
        parts.append(self.mode)
        if self.library is not None:
            parts.append(describe(self.library))
        if info is not None:  # "NAME on http://server" for a model a llama-server runs
            parts.append(f"{info.name} on {info.server}" if info.server else info.name)
        return " · ".join(parts)


class StatusBar(Static):
    """One line at the bottom; shows ``status`` (None: nothing yet)."""

    status: reactive[Status | None] = reactive(None, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        # Not markup: a model's name is shown as it is, brackets included.
        super().__init__("", id=id, markup=False)

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        if self.status is not None and self.status.loading_since is not None:
            self.update(self.status.line())  # the seconds went on

    def watch_status(self, status: Status | None) -> None:
        self.update("" if status is None else status.line())
