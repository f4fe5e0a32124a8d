"""What every group of bench measures shares: the loaded model, the run settings, the rows
they append, and the progress line on stderr."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from qwq_edge.bench.report import Row
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.settings import Sampling


class Measures:
    """Set up by ``Bench.__init__``; the measure mixins read these and append ``rows``."""

    engine: LlamaEngine
    llm: Any  # the engine's llama_cpp.Llama, for the baseline loops
    model: Path
    log: Path
    runs: int
    sampling: Sampling
    rows: list[Row]
    decode: dict[str, float]  # decode tok/s per loop, for the ratios that follow
    rss_after_decode: int

    def progress(self, what: str) -> None:
        print(f"bench: {what} …", file=sys.stderr, flush=True)
