"""The bench's table: one row per measure, with the median, the spread, a ratio against a
baseline measured in the same run, and the goal it was held to."""

from __future__ import annotations

import resource
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Row:
    metric: str
    loop: str
    median: float | None
    low: float | None = None
    high: float | None = None
    unit: str = ""
    ratio: float | None = None  # against the row's baseline, measured in this run
    goal: str = ""
    met: bool | None = None
    note: str = ""

    def cells(self) -> list[str]:
        def num(x: float | None) -> str:
            if x is None:
                return "–"
            return f"{x:.3g}" if abs(x) < 10 else f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.1f}"

        value = num(self.median)
        if self.low is not None and self.high is not None and self.low != self.high:
            value += f" ({num(self.low)}–{num(self.high)})"
        goal = f"{self.goal}: {'met' if self.met else 'not met'}" if self.goal else ""
        note = "; ".join(x for x in (goal, self.note) if x)
        ratio = f"{self.ratio:.2f}×" if self.ratio is not None else ""
        return [self.metric, self.loop, f"{value} {self.unit}".strip(), ratio, note]


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB here


def markdown(rows: list[Row]) -> str:
    lines = ["| measure | loop | median (min–max) | ratio | goal / note |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)
