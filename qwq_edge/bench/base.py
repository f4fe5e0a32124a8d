"""What every group of bench measures shares: the loaded model, the run settings, the rows
they append, and the progress line on stderr."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from qwq_edge.agent.loop import Agent
from qwq_edge.bench.fixtures import STORY, NoSearch
from qwq_edge.bench.report import Row
from qwq_edge.engine.base import Engine
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.events import AnswerDelta, Event, Stats, ThinkingDelta
from qwq_edge.runtime import run_turn
from qwq_edge.settings import Sampling, Settings


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


def timed_turn(engine: Engine, tokens: int, seed: int) -> tuple[float, float, int, list[int]]:
    """One question on ``engine`` through the agent, no search: free-text decode tok/s (the
    first token of each call left out: its time is the prefill's), seconds to the first
    token, tokens generated, and the prompt it ran on."""
    settings = Settings(max_tokens=tokens, max_searches=0, sampling=Sampling(seed=seed))
    agent = Agent(engine, NoSearch(), settings)
    t0 = time.perf_counter()
    first = None
    gen: list[Stats] = []

    def consume(e: Event) -> None:
        nonlocal first
        if isinstance(e, Stats) and e.phase == "generate":
            gen.append(e)
        elif first is None and isinstance(e, (ThinkingDelta, AnswerDelta)):
            first = time.perf_counter() - t0

    run_turn(agent, STORY, consume)
    n = sum(s.tokens_generated for s in gen)
    rate = (n - len(gen)) / max(sum(s.gen_seconds for s in gen), 1e-9)
    prompt = agent.context[: gen[0].tokens_reused + gen[0].tokens_evaluated]
    return rate, first or 0.0, n, prompt
